package studio

import (
	"fmt"

	"github.com/ddpmstudio/ddpmstudio/diffusion"
	"github.com/ddpmstudio/ddpmstudio/imageio"
)

// Shot is one position of a run's timeline as a view displays it: the
// 8-bit pictures (imageio.Quantize) of x_t and x̂₀, and of ε̂ and the
// step's noise when the run records them, for the first batch, N·C·H·W
// bytes each. A run keeps one for every step it computes, a quarter of a
// float frame per panel, so the timeline scrubs at any model size without
// the U-Net: a 256² step's x_t and x̂₀ are 384 KiB, its float frame 1.5 MiB.
type Shot struct {
	Index             int
	X, X0, Eps, Noise []uint8
}

func (s *Shot) bytes() int64 { return int64(len(s.X) + len(s.X0) + len(s.Eps) + len(s.Noise)) }

// shotOf quantizes a frame's panels.
func shotOf(f *Frame) *Shot {
	q := func(x []float32) []uint8 {
		if x == nil {
			return nil
		}
		return imageio.Quantize(nil, x)
	}
	return &Shot{Index: f.Index, X: q(f.X), X0: q(f.X0), Eps: q(f.Eps), Noise: q(f.Noise)}
}

// Shot returns what position i of the timeline shows, from the pictures
// kept for every step: it never runs the U-Net, whatever the retention of
// float frames. As Shown: i = PlanLen is the final sample in both panels,
// a re-noising event shows the last prediction's x̂₀, and the steps before
// a fork are its parent's.
func (r *Run) Shot(i int) (Shot, error) {
	if i < 0 || i > len(r.plan) {
		return Shot{}, fmt.Errorf("position %d outside the plan of %d events", i, len(r.plan))
	}
	if i == len(r.plan) {
		f := r.Final()
		if f == nil {
			return Shot{}, fmt.Errorf("%w: the final sample", ErrNotRecorded)
		}
		q := imageio.Quantize(nil, f)
		return Shot{Index: i, X: q, X0: q}, nil
	}
	sh, err := r.shotAt(i)
	if err != nil || sh.X0 != nil {
		return sh, err
	}
	for j := i - 1; j >= 0; j-- {
		if r.plan[j].Kind == diffusion.Denoise {
			p, err := r.shotAt(j)
			if err != nil {
				return Shot{}, err
			}
			sh.X0 = p.X0
			break
		}
	}
	return sh, nil
}

// shotAt is the kept picture of event i, this run's or its parent's.
func (r *Run) shotAt(i int) (Shot, error) {
	if i < r.start {
		if r.parent == nil {
			return Shot{}, fmt.Errorf("position %d: the run starts at event %d", i, r.start)
		}
		return r.parent.shotAt(i)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	sh, ok := r.shots[i]
	if !ok {
		return Shot{}, fmt.Errorf("%w: position %d of %d", ErrNotRecorded, i, len(r.plan))
	}
	return *sh, nil
}

// Holding is what a run keeps in memory: a picture of every step it
// computed, and exact float frames (the states a fork or an export starts
// from) every Every-th step.
type Holding struct {
	Pictures     int
	PictureBytes int64
	States       int
	StateBytes   int64
	Every        int
}

// Holding reports what the run keeps now (its own steps, not its parent's).
func (r *Run) Holding() Holding {
	r.mu.Lock()
	defer r.mu.Unlock()
	return Holding{Pictures: len(r.shots), PictureBytes: r.shotBytes, States: len(r.frames), StateBytes: r.held, Every: r.every}
}
