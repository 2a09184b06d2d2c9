package studio

import (
	"bytes"
	"context"
	"testing"

	"github.com/ddpmstudio/ddpmstudio/diffusion"
	"github.com/ddpmstudio/ddpmstudio/imageio"
)

// refuse is a denoiser that fails the test: what a run's model becomes
// while its timeline is read from the kept pictures.
type refuse struct {
	diffusion.Denoiser
	t *testing.T
}

func (r refuse) Predict(ctx context.Context, x []float32, s diffusion.Shape, ts []int, classes []int) ([]float32, error) {
	r.t.Fatalf("the U-Net ran while reading the kept pictures")
	return nil, nil
}

// TestShotsAreWhatARecomputationDisplays: with float states kept only
// every few steps, every position of a run's and of its fork's timeline
// is served from the kept pictures without the U-Net, and those bytes are
// what a view displays of the frame recomputed from the nearest state.
func TestShotsAreWhatARecomputationDisplays(t *testing.T) {
	s := tinySession(t, 0)
	r := recipeFor(s, DDPM, 30, 5, 2)
	frameBytes := int64(4 * 4 * 2 * 64)                                            // x, x̂₀, ε̂, noise of two 8×8 samples
	opt := StartOptions{WithEps: true, WithNoise: true, Retention: 6 * frameBytes} // a state every five steps
	parent, _ := run(t, s, r, opt)
	if parent.KeepEvery() < 2 {
		t.Fatalf("every %d: the test needs recomputed frames", parent.KeepEvery())
	}
	seed := uint64(77)
	fork, err := s.Fork(context.Background(), parent, 11, Changes{Seed: &seed}, opt)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fork.Wait(); err != nil {
		t.Fatal(err)
	}
	for _, rn := range []*Run{parent, fork} {
		shots := make([]Shot, rn.PlanLen()+1)
		models := []diffusion.Denoiser{rn.model, parent.model}
		rn.model, parent.model = refuse{t: t}, refuse{t: t}
		for i := range shots {
			var err error
			if shots[i], err = rn.Shot(i); err != nil {
				t.Fatal(err)
			}
		}
		rn.model, parent.model = models[0], models[1]
		for i, sh := range shots {
			f, err := rn.Shown(context.Background(), i)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range []struct {
				name string
				got  []uint8
				want []float32
			}{{"x_t", sh.X, f.X}, {"x̂₀", sh.X0, f.X0}, {"ε̂", sh.Eps, f.Eps}, {"noise", sh.Noise, f.Noise}} {
				if p.want == nil && i == rn.PlanLen() {
					continue // the final position shows the sample alone
				}
				if !bytes.Equal(p.got, imageio.Quantize(nil, p.want)) {
					t.Fatalf("position %d (kept state: %v): the kept %s picture is not what the recomputed frame displays", i, f.Kept, p.name)
				}
			}
		}
	}
	// Four pictures a step, but for the last step's noise (none is drawn).
	if h := parent.Holding(); h.Pictures != 30 || h.States >= 30 || h.PictureBytes != (30*4-1)*2*64 {
		t.Fatalf("the parent holds %+v", h)
	}
}

// TestForkBetweenKeptStatesIsTheUninterruptedRun: a fork from a step whose
// state was not kept recomputes it from the nearest kept one, reporting
// progress, and an unchanged fork then gives the bits of a run that kept
// every state.
func TestForkBetweenKeptStatesIsTheUninterruptedRun(t *testing.T) {
	s := tinySession(t, 0)
	for _, sampler := range []string{DDPM, DDIM} {
		r := recipeFor(s, sampler, 24, 9, 2)
		full, fres := run(t, s, r, StartOptions{})
		sparse, _ := run(t, s, r, StartOptions{Retention: 5 * 2 * 4 * 2 * 64}) // five frames of x and x̂₀
		k := sparse.KeepEvery()
		at := k + k/2 + 1 // between the states kept at k and 2k
		if k < 3 || at >= 24 || at%k == 0 {
			t.Fatalf("%s: every %d, fork at %d: not between kept states", sampler, k, at)
		}
		var last, total int
		fork, err := s.Fork(context.Background(), sparse, at, Changes{}, StartOptions{
			Recompute: func(done, n int) { last, total = done, n },
		})
		if err != nil {
			t.Fatal(err)
		}
		res, err := fork.Wait()
		if err != nil {
			t.Fatal(err)
		}
		if total != at-k+1 || last != total {
			t.Errorf("%s: recompute progress %d of %d, want %d of %d", sampler, last, total, at-k+1, at-k+1)
		}
		for i := at; i < 24; i++ {
			if !equalBits(frame(t, fork, i).X, frame(t, full, i).X) {
				t.Fatalf("%s: frame %d of the fork differs from the uninterrupted run", sampler, i)
			}
		}
		for n := range fres.Samples {
			if !equalBits(res.Samples[n], fres.Samples[n]) {
				t.Fatalf("%s: sample %d differs from the uninterrupted run", sampler, n)
			}
		}
	}
}
