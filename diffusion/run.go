package diffusion

import (
	"context"
	"errors"
	"fmt"
)

// Denoiser is the model as the samplers see it: a batch x_t of the given
// shape at per-sample timesteps t (and optional class labels, nil for none)
// in, the model output out. The output has C channels per sample, or 2·C for
// a learned-variance model, and may be a buffer the model reuses: it is read
// before the next call.
type Denoiser interface {
	Predict(ctx context.Context, x []float32, shape Shape, t []int, classes []int) ([]float32, error)
}

// DenoiserFunc adapts a function to Denoiser.
type DenoiserFunc func(ctx context.Context, x []float32, shape Shape, t []int, classes []int) ([]float32, error)

// Predict implements Denoiser.
func (f DenoiserFunc) Predict(ctx context.Context, x []float32, shape Shape, t []int, classes []int) ([]float32, error) {
	return f(ctx, x, shape, t, classes)
}

// Progress reports one finished event of a run.
type Progress struct {
	Done, Total int   // events finished, events planned
	Event       Event // the event just finished
}

// Params describe one run of a sampler.
type Params struct {
	Model   Denoiser
	Sampler Sampler
	Shape   Shape
	Seed    uint64
	// FirstSample is the stream index of the batch's first sample, so that
	// sample n is the same image whatever the batch size.
	FirstSample int
	Classes     []int // per sample, or nil
	// Start and Init fork a run: begin at event Start from state Init
	// (x before that event). With Start = 0 and Init nil, x_T is drawn from
	// the stream at k = 0.
	Start int
	Init  []float32
	// End, when positive, stops the run before event End (x at End is then
	// Final): how a fork replays its parent up to the fork.
	End int
	// NoiseOffset shifts the stream: event i draws at step k = i+1+NoiseOffset.
	// A fork whose plan starts at the parent's event s uses s, so that its
	// events draw what the parent's would have.
	NoiseOffset int
	// KeepEvery records every k-th event's frame (and always the last);
	// 0 records none. Memory grows by four batches per recorded frame.
	KeepEvery int
	// Progress, if set, is called after every event.
	Progress func(Progress)
	// OnFrame, if set, is called after every event with its frame: X, X0,
	// ModelOutput and (with RecordNoise) Noise are the loop's own buffers,
	// valid only during the call — copy what you keep.
	OnFrame     func(Frame)
	RecordNoise bool
	// Noise, if set, replaces the stream: it returns the source of step k
	// (k = 0 is x_T, event i is k = i+1). Tests replay recorded noise with it.
	Noise func(k int) NoiseSource
}

func (p *Params) noiseAt(k int) NoiseSource {
	if p.Noise != nil {
		return p.Noise(k)
	}
	return StreamNoise{Seed: p.Seed, K: k, FirstSample: p.FirstSample, Shape: p.Shape}
}

// Frame is the recorded state of one event.
type Frame struct {
	Index int // position in the plan
	Event Event
	// X is the state the event started from (x at Event.T).
	X []float32
	// X0 is the predicted clean image (nil for Renoise events).
	X0 []float32
	// ModelOutput is what the model returned (nil for Renoise events).
	ModelOutput []float32
	// Noise is the first noise tensor the event drew (nil if none).
	Noise []float32
}

// Chain is a recorded run: enough to show any kept step without recomputing.
type Chain struct {
	Shape  Shape
	Seed   uint64
	Plan   []Event
	Frames []Frame
	// Final is x after the last event: the sample.
	Final []float32
}

// recordingNoise remembers the first draw of an event.
type recordingNoise struct {
	src   NoiseSource
	first []float32
	drew  bool
}

func (r *recordingNoise) Draw(j int, dst []float32) {
	r.src.Draw(j, dst)
	if j == 0 && r.first != nil {
		copy(r.first, dst)
		r.drew = true
	}
}

// ErrNonFinite is wrapped when a step produces NaN or ±Inf.
var ErrNonFinite = errors.New("non-finite values")

// firstNonFinite is the index of the first NaN or ±Inf in v, or −1.
func firstNonFinite(v []float32) int {
	for i, x := range v {
		if x-x != 0 {
			return i
		}
	}
	return -1
}

// Sample runs the sampler's plan from x_T (or from Init at Start) to x_0. It
// stops within one event when ctx is cancelled, returning the chain so far and
// ctx's error.
func Sample(ctx context.Context, p Params) (*Chain, error) {
	if p.Model == nil || p.Sampler == nil {
		return nil, errors.New("sample: model and sampler are required")
	}
	shape := p.Shape
	if shape.N < 1 || shape.C < 1 || shape.H < 1 || shape.W < 1 {
		return nil, fmt.Errorf("sample: invalid shape %v", shape)
	}
	if p.Classes != nil && len(p.Classes) != shape.N {
		return nil, fmt.Errorf("sample: %d class labels for a batch of %d", len(p.Classes), shape.N)
	}
	plan := p.Sampler.Plan()
	if p.Start < 0 || p.Start >= len(plan) {
		return nil, fmt.Errorf("sample: start event %d outside the plan of %d events", p.Start, len(plan))
	}
	end := len(plan)
	if p.End > 0 {
		if p.End <= p.Start || p.End > len(plan) {
			return nil, fmt.Errorf("sample: end event %d outside (%d, %d]", p.End, p.Start, len(plan))
		}
		end = p.End
	}
	n := shape.Len()
	x := make([]float32, n)
	switch {
	case p.Init != nil:
		if len(p.Init) != n {
			return nil, fmt.Errorf("sample: initial state has %d elements, want %d for shape %v", len(p.Init), n, shape)
		}
		copy(x, p.Init)
	case p.Start == 0:
		p.noiseAt(0).Draw(0, x)
	default:
		return nil, errors.New("sample: a run that starts after event 0 needs its initial state")
	}
	chain := &Chain{Shape: shape, Seed: p.Seed, Plan: plan}
	next := make([]float32, n)
	x0 := make([]float32, n)
	ts := make([]int, shape.N)
	noiseBuf := make([]float32, n)
	for i := p.Start; i < end; i++ {
		if err := ctx.Err(); err != nil {
			chain.Final = x
			return chain, err
		}
		e := plan[i]
		keep := p.KeepEvery > 0 && ((i-p.Start)%p.KeepEvery == 0 || i == end-1)
		noise := &recordingNoise{src: p.noiseAt(i + 1 + p.NoiseOffset)}
		if keep || (p.OnFrame != nil && p.RecordNoise) {
			noise.first = noiseBuf
		}
		var out []float32
		switch e.Kind {
		case Denoise:
			for b := range ts {
				ts[b] = e.T
			}
			var err error
			out, err = p.Model.Predict(ctx, x, shape, ts, p.Classes)
			if err != nil {
				chain.Final = x
				return chain, fmt.Errorf("sample: model at t=%d: %w", e.T, err)
			}
			if err := p.Sampler.Step(e, x, out, shape, noise, next, x0); err != nil {
				chain.Final = x
				return chain, fmt.Errorf("sample: step %d (t=%d): %w", i, e.T, err)
			}
		case Renoise:
			if err := p.Sampler.Renoise(e, x, shape, noise, next); err != nil {
				chain.Final = x
				return chain, fmt.Errorf("sample: renoise %d (t=%d→%d): %w", i, e.T, e.Next, err)
			}
		}
		if j := firstNonFinite(next); j >= 0 {
			// A damaged model or a schedule pushed past its range: stop here
			// rather than carry NaN to a black picture.
			chain.Final = x
			return chain, fmt.Errorf("sample: %w at event %d (t=%d→%d): x has %v at element %d (sample %d)",
				ErrNonFinite, i, e.T, e.Next, next[j], j, j/shape.SampleLen())
		}
		if p.OnFrame != nil {
			f := Frame{Index: i, Event: e, X: x}
			if e.Kind == Denoise {
				f.X0, f.ModelOutput = x0, out
			}
			if noise.drew {
				f.Noise = noiseBuf
			}
			p.OnFrame(f)
		}
		if keep {
			f := Frame{Index: i, Event: e, X: append([]float32(nil), x...)}
			if e.Kind == Denoise {
				f.X0 = append([]float32(nil), x0...)
				f.ModelOutput = append([]float32(nil), out...)
			}
			if noise.drew {
				f.Noise = append([]float32(nil), noiseBuf...)
			}
			chain.Frames = append(chain.Frames, f)
		}
		x, next = next, x
		if p.Progress != nil {
			p.Progress(Progress{Done: i + 1 - p.Start, Total: end - p.Start, Event: e})
		}
	}
	chain.Final = x
	return chain, nil
}
