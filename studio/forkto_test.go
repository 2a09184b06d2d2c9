package studio

import (
	"context"
	"fmt"
	"testing"
)

func TestChangesTo(t *testing.T) {
	s := tinySession(t, 3)
	parent, _ := run(t, s, recipeFor(s, DDIM, 10, 5, 1), StartOptions{})
	p := parent.Recipe()
	at := 4
	tAt := parent.Plan()[at].T
	class := 1
	show := func(c Changes) string {
		str := func(v any) string {
			switch v := v.(type) {
			case *uint64:
				if v != nil {
					return fmt.Sprint(*v)
				}
			case *float64:
				if v != nil {
					return fmt.Sprint(*v)
				}
			case *string:
				if v != nil {
					return *v
				}
			case *int:
				if v != nil {
					return fmt.Sprint(*v)
				}
			}
			return "-"
		}
		return fmt.Sprintf("seed %s eta %s sampler %s steps %s class %s none %v any %v guidance %s",
			str(c.Seed), str(c.Eta), str(c.Sampler), str(c.Steps), str(c.Class), c.NoClass, c.AnyClass, str(c.Guidance))
	}
	for _, tc := range []struct {
		name string
		edit func(r *Recipe)
		want string
	}{
		{"unchanged", func(r *Recipe) {}, "seed - eta - sampler - steps - class - none false any false guidance -"},
		{"new seed", func(r *Recipe) { r.Seed = 9 }, "seed 9 eta - sampler - steps - class - none false any false guidance -"},
		{"eta", func(r *Recipe) { r.Eta = 0.5 }, "seed - eta 0.5 sampler - steps - class - none false any false guidance -"},
		{"more steps, capped at t+1", func(r *Recipe) { r.Steps = 5000 }, fmt.Sprintf("seed - eta - sampler - steps %d class - none false any false guidance -", tAt+1)},
		{"twenty steps from there", func(r *Recipe) { r.Steps = 20 }, "seed - eta - sampler - steps 20 class - none false any false guidance -"},
		{"to DDPM", func(r *Recipe) { r.Sampler, r.Steps = DDPM, 1000 }, fmt.Sprintf("seed - eta - sampler ddpm steps %d class - none false any false guidance -", tAt+1)},
		{"a class with guidance", func(r *Recipe) { r.Class, r.Guidance = &class, 3 }, "seed - eta - sampler - steps - class 1 none false any false guidance 3"},
		{"guidance alone is moot", func(r *Recipe) { r.Guidance = 3 }, "seed - eta - sampler - steps - class - none false any false guidance -"},
		{"any class", func(r *Recipe) { r.AnyClass = true }, "seed - eta - sampler - steps - class - none false any true guidance -"},
	} {
		want := p
		tc.edit(&want)
		if got := show(ChangesTo(parent, at, want)); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, got, tc.want)
		}
	}
	// Forking to the parent's own recipe reproduces its frames bit for bit.
	fork, err := s.ForkTo(context.Background(), parent, at, p, StartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fork.Wait(); err != nil {
		t.Fatal(err)
	}
	if !equalBits(fork.Final(), parent.Final()) {
		t.Error("ForkTo the parent's recipe drew another sample")
	}
}

func TestPlanLenAndEventAtReadThePlan(t *testing.T) {
	s := tinySession(t, 0)
	rn, _ := run(t, s, recipeFor(s, DDIM, 7, 1, 1), StartOptions{})
	plan := rn.Plan()
	if rn.PlanLen() != len(plan) || len(plan) != 7 {
		t.Fatalf("PlanLen %d, plan %d", rn.PlanLen(), len(plan))
	}
	for i, e := range plan {
		if rn.EventAt(i) != e {
			t.Errorf("EventAt(%d) = %+v, plan has %+v", i, rn.EventAt(i), e)
		}
	}
}
