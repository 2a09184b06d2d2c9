package studio

import (
	"context"
	"errors"
	"fmt"
	"image"
	"math"

	"github.com/ddpmstudio/ddpmstudio/diffusion"
	"github.com/ddpmstudio/ddpmstudio/imageio"
)

// Comparing two chains on the same noise: a second run that starts from
// the first one's x_T and draws from the same noise stream, differing only
// in how it denoises. Because every Gaussian is a pure function of (seed,
// step, draw, sample, element), "the same noise" is "the same seed and
// samples"; what differs between DDPM 1000 and DDIM 50 is then the
// sampler's doing alone.

// CompareRecipe is the recipe of a chain to set beside base: base's seed,
// samples and input pictures (so the same x_T and noise stream), with the
// sampler, steps, η, clipping, schedule, class and guidance of want.
func CompareRecipe(base, want Recipe) (Recipe, error) {
	if base.Fork != nil {
		return Recipe{}, errors.New("compare from a run that is not a fork (select its first run)")
	}
	if base.Inpaint != nil {
		return Recipe{}, errors.New("inpainting runs cannot be compared yet: compare the sampler settings on a generated chain")
	}
	r := want
	r.Seed, r.Count, r.First, r.Init = base.Seed, base.Count, base.First, base.Init
	r.Model, r.ModelHash, r.Inpaint, r.Fork, r.Checksum = base.Model, base.ModelHash, nil, nil, ""
	if r.Init != nil {
		in := *r.Init
		r.Init = &in
	}
	return r, nil
}

// EventList is a plan read in place, as Run's PlanLen and EventAt read it:
// views that redraw on every frame walk it without copying the plan.
type EventList interface {
	PlanLen() int
	EventAt(i int) diffusion.Event
}

// AlignByT is the event of run's plan shown beside timestep t of another
// chain: the event whose T is the nearest at or above t (a chain with
// fewer steps shows its last step not yet past t), the earliest such
// event when several start at that T (RePaint comes back to a t), the
// first event when every T is below t. t < 0 is the final sample:
// PlanLen.
func AlignByT(run EventList, t int) int {
	n := run.PlanLen()
	if t < 0 {
		return n
	}
	best, bestT := 0, math.MaxInt
	for i := range n {
		if et := run.EventAt(i).T; et >= t && et < bestT {
			best, bestT = i, et
		}
	}
	return best
}

// DiffSample is |a − b| as a sample in [−1, 1] (−1 = equal), so that
// Picture shows the difference in display levels: a pixel of the
// difference picture is |a − b|·127.5, the change in 8-bit grey.
func DiffSample(a, b []float32) ([]float32, error) {
	if len(a) != len(b) {
		return nil, fmt.Errorf("comparing samples of %d and %d values", len(a), len(b))
	}
	d := make([]float32, len(a))
	for i := range a {
		v := a[i] - b[i]
		if v < 0 {
			v = -v
		}
		d[i] = min(v, 2) - 1
	}
	return d, nil
}

// CompareStrip renders sample n of two chains side by side by t: one
// column per shown step of a (every `every` denoising events, and the
// final sample), with a's x_t above b's aligned x_t above |a − b|.
func CompareStrip(ctx context.Context, a, b *Run, n, every, scale int) (image.Image, error) {
	sa, sb := a.Shape(), b.Shape()
	if sa.C != sb.C || sa.H != sb.H || sa.W != sb.W || n < 0 || n >= min(sa.N, sb.N) {
		return nil, fmt.Errorf("chains of %v and %v cannot show sample %d side by side", sa, sb, n)
	}
	per := sa.SampleLen()
	one := sa
	one.N = 1
	at := func(r *Run, i int) ([]float32, error) {
		if i >= r.PlanLen() {
			if f := r.Final(); f != nil {
				return f[n*per : (n+1)*per], nil
			}
			return nil, fmt.Errorf("%w: the final sample", ErrNotRecorded)
		}
		f, err := r.Frame(ctx, i)
		if err != nil {
			return nil, err
		}
		return f.X[n*per : (n+1)*per], nil
	}
	var cols []image.Image
	every = max(1, every)
	for i := 0; i <= a.PlanLen(); i++ {
		final := i == a.PlanLen()
		if !final && (i >= a.Len() || a.EventAt(i).Kind != diffusion.Denoise || i%every != 0) {
			continue
		}
		t := -1
		if !final {
			t = a.EventAt(i).T
		}
		xa, err := at(a, i)
		if err != nil {
			return nil, err
		}
		xb, err := at(b, AlignByT(b, t))
		if err != nil {
			return nil, err
		}
		d, err := DiffSample(xa, xb)
		if err != nil {
			return nil, err
		}
		var pics []image.Image
		for _, v := range [][]float32{xa, xb, d} {
			p, err := Picture(v, one)
			if err != nil {
				return nil, err
			}
			pics = append(pics, p)
		}
		cols = append(cols, imageio.Grid(pics, 1, 1))
	}
	if len(cols) == 0 {
		return nil, errors.New("nothing recorded to compare yet")
	}
	return imageio.Scale(imageio.Grid(cols, len(cols), 1), max(1, scale)), nil
}

// Shown is what a view shows at position i of run's timeline: frame i, or
// for i = PlanLen the final sample as both x_t and x̂₀. A re-noising event
// (RePaint's jump back) predicts nothing: its x̂₀ is the last prediction
// before it, so the x̂₀ panel never goes blank mid-chain.
func (r *Run) Shown(ctx context.Context, i int) (Frame, error) {
	if i >= len(r.plan) {
		f := r.Final()
		if f == nil {
			return Frame{}, fmt.Errorf("%w: the final sample", ErrNotRecorded)
		}
		return Frame{Index: len(r.plan), X: f, X0: f}, nil
	}
	f, err := r.Frame(ctx, i)
	if err != nil || f.X0 != nil {
		return f, err
	}
	for j := i - 1; j >= 0; j-- {
		if r.plan[j].Kind == diffusion.Denoise {
			p, err := r.Frame(ctx, j)
			if err != nil {
				return Frame{}, err
			}
			f.X0 = p.X0
			break
		}
	}
	return f, nil
}
