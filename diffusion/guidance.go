package diffusion

import (
	"context"
	"fmt"
)

// Guided is classifier-free guidance (Ho & Salimans 2022) around a
// class-conditional model trained with a null class:
//
//	ε = ε_uncond + Scale·(ε_cond − ε_uncond)
//
// Both predictions come from one forward pass over the doubled batch.
// Scale 1 is plain conditional sampling (one pass), 0 unconditional. A model
// with a learned variance (2·C outputs) has its ε half guided and its
// variance half taken from the conditional prediction.
type Guided struct {
	Model Denoiser
	Null  int // the null ("no class") label
	Scale float64
	buf   []float32
	out   []float32
}

// Predict implements Denoiser.
func (g *Guided) Predict(ctx context.Context, x []float32, shape Shape, t []int, classes []int) ([]float32, error) {
	if classes == nil {
		return nil, fmt.Errorf("guidance needs class labels (use the null class %d for unconditional samples)", g.Null)
	}
	allNull := true
	for _, c := range classes {
		allNull = allNull && c == g.Null
	}
	if g.Scale == 1 || allNull {
		return g.Model.Predict(ctx, x, shape, t, classes)
	}
	n := shape.Len()
	g.buf = grow(g.buf, 2*n)
	copy(g.buf, x)
	copy(g.buf[n:], x)
	t2 := append(append(make([]int, 0, 2*len(t)), t...), t...)
	c2 := append(make([]int, 0, 2*len(classes)), classes...)
	for range classes {
		c2 = append(c2, g.Null)
	}
	double := shape
	double.N *= 2
	out, err := g.Model.Predict(ctx, g.buf, double, t2, c2)
	if err != nil {
		return nil, err
	}
	if len(out)%(2*shape.N) != 0 {
		return nil, fmt.Errorf("%w: guided model output of %d values for a batch of %d", errShape, len(out), 2*shape.N)
	}
	half := len(out) / 2
	per := half / shape.N // output values per sample (C or 2·C channels)
	epsLen := shape.SampleLen()
	g.out = grow(g.out, half)
	s := float32(g.Scale)
	for b := 0; b < shape.N; b++ {
		cond, unc, dst := out[b*per:(b+1)*per], out[half+b*per:half+(b+1)*per], g.out[b*per:(b+1)*per]
		for i := range dst {
			if i < epsLen {
				dst[i] = unc[i] + mul(s, cond[i]-unc[i])
			} else {
				dst[i] = cond[i]
			}
		}
	}
	return g.out, nil
}
