package studio

import (
	"context"
	"errors"
	"fmt"

	"github.com/ddpmstudio/ddpmstudio/diffusion"
)

// replayTo computes x at event at of this (unstarted) run's first batch,
// silently: how a fork recipe reproduces its parent up to the fork.
func (r *Run) replayTo(ctx context.Context, at int) ([]float32, error) {
	if r.recipe.Fork != nil && r.parent == nil {
		// The parent is itself a fork: replay its parent, then its own part.
		grand, err := r.s.newRun(ctx, *r.recipe.Fork.Parent, StartOptions{Batch: r.batch, Retention: 1})
		if err != nil {
			return nil, err
		}
		if err := r.setForkPlan(grand, r.recipe.Fork.At); err != nil {
			return nil, err
		}
		if r.initX, err = grand.replayTo(ctx, r.start); err != nil {
			return nil, err
		}
	}
	if at < r.start {
		return nil, fmt.Errorf("replay to event %d before the fork at %d", at, r.start)
	}
	if at == r.start && r.initX != nil {
		return r.initX, nil
	}
	if at == 0 {
		x := make([]float32, r.shape.Len())
		diffusion.StreamNoise{Seed: r.recipe.Seed, K: 0, FirstSample: r.recipe.First, Shape: r.shape}.Draw(0, x)
		return x, nil
	}
	smp, err := r.sampler()
	if err != nil {
		return nil, err
	}
	p := diffusion.Params{Model: r.model, Sampler: smp, Shape: r.shape, Seed: r.recipe.Seed, Classes: r.classes(r.recipe.First, r.shape.N),
		FirstSample: r.recipe.First, End: at - r.start, Init: r.initX, NoiseOffset: r.start}
	chain, err := diffusion.Sample(ctx, p)
	if err != nil {
		return nil, err
	}
	return chain.Final, nil
}

// setForkPlan makes r a fork of parent at event at: with the parent's
// sampler and remaining step count, the parent's own remaining events (so
// nothing changes but what the recipe changed); otherwise ForkPlan from the
// parent's timestep at the fork.
func (r *Run) setForkPlan(parent *Run, at int) error {
	if r.recipe.Inpaint != nil || parent.recipe.Inpaint != nil {
		return errors.New("forks of inpainting runs are not supported")
	}
	if at < 0 || at >= len(parent.plan) {
		return &FieldError{Field: "fork.at", Value: at, Why: fmt.Sprintf("must lie in 0…%d", len(parent.plan)-1)}
	}
	rest := parent.plan[at:]
	if r.recipe.Sampler == parent.recipe.Sampler && r.recipe.Steps == len(rest) {
		r.ownPlan = append([]diffusion.Event(nil), rest...)
	} else {
		p, err := diffusion.ForkPlan(rest[0].T, r.recipe.Steps)
		if err != nil {
			return &FieldError{Field: "steps", Value: r.recipe.Steps, Why: err.Error()}
		}
		r.ownPlan = p
	}
	r.start = at
	r.plan = append(append([]diffusion.Event(nil), parent.plan[:at]...), r.ownPlan...)
	if r.parent == nil {
		r.parent = parent
	}
	return nil
}

// Changes are what a fork changes; nil fields keep the parent's setting.
type Changes struct {
	Seed     *uint64
	Eta      *float64
	Sampler  *string
	Steps    *int // for the remaining timesteps
	Class    *int
	NoClass  bool // drop the class (unconditional)
	AnyClass bool // let the seed choose each sample's class
	Guidance *float64
}

// ChangesTo is the fork policy: the Changes that make a fork of parent at
// frame at run the recipe want from there on. Seed, η, sampler and
// guidance change when they differ; the step count is for the remaining
// timesteps — want.Steps, at most the t+1 left at that frame — and is given
// only when it differs from what the parent has left or the sampler
// changes; the class follows want (a label, any class, or none), and
// guidance only matters with a class.
func ChangesTo(parent *Run, at int, want Recipe) Changes {
	p := parent.Recipe()
	var c Changes
	if want.Seed != p.Seed {
		c.Seed = &want.Seed
	}
	if want.Eta != p.Eta {
		c.Eta = &want.Eta
	}
	if want.Sampler != p.Sampler {
		c.Sampler = &want.Sampler
	}
	if at >= 0 && at < len(parent.plan) && (want.Sampler != p.Sampler || want.Steps != p.Steps) {
		rest := len(parent.plan) - at
		n := min(want.Steps, parent.plan[at].T+1)
		if n != rest || want.Sampler != p.Sampler {
			c.Steps = &n
		}
	}
	switch {
	case want.Class != nil && (p.Class == nil || *want.Class != *p.Class):
		c.Class = want.Class
	case want.AnyClass && !p.AnyClass:
		c.AnyClass = true
	case want.Class == nil && !want.AnyClass && (p.Class != nil || p.AnyClass):
		c.NoClass = true
	}
	if want.Guidance != p.Guidance && (want.Class != nil || want.AnyClass) {
		c.Guidance = &want.Guidance
	}
	return c
}

// ForkTo forks parent at frame at towards the recipe want (ChangesTo).
func (s *Session) ForkTo(ctx context.Context, parent *Run, at int, want Recipe, opt StartOptions) (*Run, error) {
	return s.Fork(ctx, parent, at, ChangesTo(parent, at, want), opt)
}

// Fork continues parent from its recorded frame at with the changes given,
// as a new run. The parent stays as it is; the fork's frames before at are
// the parent's. With no change the fork reproduces the parent's remaining
// frames bit for bit.
func (s *Session) Fork(ctx context.Context, parent *Run, at int, c Changes, opt StartOptions) (*Run, error) {
	if at < 0 || at >= parent.Len() || at >= len(parent.plan) {
		return nil, fmt.Errorf("fork at frame %d: the parent has recorded %d of %d", at, parent.Len(), len(parent.plan))
	}
	rc := parent.recipe
	parentRecipe := parent.recipe
	rc.Fork = &Fork{Parent: &parentRecipe, At: at}
	rc.Checksum = ""
	if c.Seed != nil {
		rc.Seed = *c.Seed
	}
	if c.Eta != nil {
		rc.Eta = *c.Eta
	}
	if c.Sampler != nil {
		rc.Sampler = *c.Sampler
	}
	rc.Steps = len(parent.plan) - at
	if c.Steps != nil {
		rc.Steps = *c.Steps
	}
	if c.Class != nil {
		v := *c.Class
		rc.Class, rc.AnyClass = &v, false
	}
	if c.NoClass {
		rc.Class, rc.AnyClass = nil, false
	}
	if c.AnyClass {
		rc.Class, rc.AnyClass = nil, true
	}
	if c.Guidance != nil {
		rc.Guidance = *c.Guidance
	}
	if err := s.Check(rc); err != nil {
		return nil, err
	}
	opt.Batch = parent.batch
	if parent.batch < parent.recipe.Count {
		return nil, errors.New("only runs drawn in one batch can be forked")
	}
	run, err := s.newRun(ctx, rc, opt)
	if err != nil {
		return nil, err
	}
	run.parent = parent
	if err := run.setForkPlan(parent, at); err != nil {
		return nil, err
	}
	// The state at the fork: kept, or recomputed from the nearest kept one
	// on the fork's own goroutine with progress (loop), so that a fork
	// between a 256² chain's kept states never blocks the caller.
	run.forkPending = true
	return s.launch(run)
}
