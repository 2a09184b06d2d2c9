package studio

import (
	"context"
	"fmt"

	"github.com/ddpmstudio/ddpmstudio/diffusion"
)

// PredictX0 is the model's one-step prediction x̂₀(x_t, t) of one sample
// x_t (C·H·W) under recipe r's schedule, class and guidance: one U-Net
// call, as a deterministic DDIM step from t would make it. It is what
// the Noise view shows beside q(x_t | x₀): how much of the picture the
// model still sees at t.
func (s *Session) PredictX0(ctx context.Context, xt []float32, t int, r Recipe) ([]float32, error) {
	shape := s.Shape()
	if len(xt) != shape.SampleLen() {
		return nil, fmt.Errorf("x_t has %d values, the model's sample %d", len(xt), shape.SampleLen())
	}
	r.Sampler, r.Steps, r.Eta, r.Count, r.First = DDIM, 1, 0, 1, 0
	r.Init, r.Inpaint, r.Fork, r.Checksum = nil, nil, nil, ""
	if err := s.Check(r); err != nil {
		return nil, err
	}
	run, err := s.newRun(ctx, r, StartOptions{Batch: 1})
	if err != nil {
		return nil, err
	}
	if t < 0 || t >= run.sched.NumTrainTimesteps {
		return nil, fmt.Errorf("t = %d outside the schedule's %d timesteps", t, run.sched.NumTrainTimesteps)
	}
	run.ownPlan = []diffusion.Event{{Kind: diffusion.Denoise, T: t, Next: -1}}
	smp, err := run.sampler()
	if err != nil {
		return nil, err
	}
	var x0 []float32
	p := diffusion.Params{
		Model: run.model, Sampler: smp, Shape: run.shape, Seed: r.Seed, Classes: run.classes(0, 1),
		Init: xt, End: 1,
		OnFrame: func(f diffusion.Frame) { x0 = clone(f.X0) },
	}
	if _, err := diffusion.Sample(ctx, p); err != nil {
		return nil, err
	}
	if x0 == nil {
		return nil, fmt.Errorf("the model made no prediction at t = %d", t)
	}
	return x0, nil
}
