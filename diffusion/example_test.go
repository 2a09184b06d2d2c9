package diffusion_test

import (
	"context"
	"fmt"

	"github.com/ddpmstudio/ddpmstudio/diffusion"
)

// A model stand-in: predicts ε as half of x_t.
func halfModel(_ context.Context, x []float32, _ diffusion.Shape, _ []int, _ []int) ([]float32, error) {
	out := make([]float32, len(x))
	for i, v := range x {
		out[i] = 0.5 * v
	}
	return out, nil
}

func ExampleSample() {
	cfg := diffusion.DefaultSchedulerConfig() // linear β, T = 1000, fixed_small, clip_sample
	sampler, err := diffusion.NewDDIM(cfg, 10, 0, false)
	if err != nil {
		panic(err)
	}
	chain, err := diffusion.Sample(context.Background(), diffusion.Params{
		Model:     diffusion.DenoiserFunc(halfModel),
		Sampler:   sampler,
		Shape:     diffusion.Shape{N: 1, C: 1, H: 4, W: 4},
		Seed:      42,
		KeepEvery: 5,
	})
	if err != nil {
		panic(err)
	}
	for _, f := range chain.Frames {
		fmt.Printf("frame %d: t=%d → %d\n", f.Index, f.Event.T, f.Event.Next)
	}
	fmt.Println(len(chain.Final), "values in the sample")
	// Output:
	// frame 0: t=900 → 800
	// frame 5: t=400 → 300
	// frame 9: t=0 → -100
	// 16 values in the sample
}

func ExampleNewSchedule() {
	s, err := diffusion.NewSchedule(diffusion.Linear, 1000, 1e-4, 0.02)
	if err != nil {
		panic(err)
	}
	fmt.Printf("ᾱ_0 = %.4f, ᾱ_499 = %.4f, ᾱ_999 = %.6f\n", s.AlphaBar(0), s.AlphaBar(499), s.AlphaBar(999))
	// Output: ᾱ_0 = 0.9999, ᾱ_499 = 0.0786, ᾱ_999 = 0.000040
}

func ExampleSetTimesteps() {
	ts, _ := diffusion.SetTimesteps(1000, 5, diffusion.Trailing, 0)
	fmt.Println(ts)
	// Output: [999 799 599 399 199]
}
