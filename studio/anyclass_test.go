package studio

import (
	"context"
	"errors"
	"testing"

	"github.com/ddpmstudio/ddpmstudio/diffusion"
)

// TestAnyClassDrawsPerSample: a run that lets the seed choose the class
// gives sample i exactly what a run asking for class DrawClass(seed, i)
// gives it, whatever the batch size, with and without guidance.
func TestAnyClassDrawsPerSample(t *testing.T) {
	s := tinySession(t, 3)
	for _, g := range []float64{1, 2.5} {
		r := recipeFor(s, DDIM, 4, 11, 6)
		r.First = 5
		r.AnyClass, r.Guidance = true, g
		_, whole := run(t, s, r, StartOptions{Batch: 6})
		_, split := run(t, s, r, StartOptions{Batch: 4})
		seen := map[int]bool{}
		for i := range whole.Samples {
			if !equalBits(whole.Samples[i], split.Samples[i]) {
				t.Errorf("guidance %g: sample %d differs between batches of 6 and 4", g, i)
			}
			c := diffusion.DrawClass(11, r.First+i, 3)
			seen[c] = true
			one := r
			one.AnyClass, one.Class, one.First, one.Count = false, &c, r.First+i, 1
			_, fixed := run(t, s, one, StartOptions{})
			if !equalBits(whole.Samples[i], fixed.Samples[0]) {
				t.Errorf("guidance %g: sample %d is not what class %d draws", g, i, c)
			}
		}
		if len(seen) < 2 {
			t.Fatalf("the seed chose one class for all samples (%v): the test cannot tell labels apart", seen)
		}
	}
}

// TestAnyClassForkKeepsTheChainsClasses: a fork under a new seed keeps the
// classes its root drew, as it keeps the root's x_T.
func TestAnyClassForkKeepsTheChainsClasses(t *testing.T) {
	s := tinySession(t, 3)
	r := recipeFor(s, DDIM, 6, 11, 5)
	r.AnyClass = true
	parent, _ := run(t, s, r, StartOptions{Retention: 1})
	seed := uint64(99)
	fork, err := s.Fork(context.Background(), parent, 2, Changes{Seed: &seed}, StartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fork.Wait(); err != nil {
		t.Fatal(err)
	}
	want, got := parent.classes(r.First, r.Count), fork.classes(r.First, r.Count)
	for i := range want {
		if want[i] != got[i] {
			t.Fatalf("fork classes %v, parent's %v", got, want)
		}
	}
	if other := (labeling{any: 3, seed: seed}); func() bool {
		for i := range want {
			if other.label(r.First+i) != want[i] {
				return false
			}
		}
		return true
	}() {
		t.Fatal("seeds 11 and 99 draw the same classes: the test cannot tell them apart")
	}
}

func TestAnyClassRefused(t *testing.T) {
	var fe *FieldError
	plain := tinySession(t, 0)
	r := plain.DefaultRecipe(DDIM)
	r.AnyClass = true
	if err := plain.Check(r); !errors.As(err, &fe) || fe.Field != "any_class" {
		t.Errorf("any class on an unconditional model: %v", err)
	}
	s := tinySession(t, 3)
	r = s.DefaultRecipe(DDIM)
	c := 1
	r.AnyClass, r.Class = true, &c
	if err := s.Check(r); !errors.As(err, &fe) || fe.Field != "class" {
		t.Errorf("a class and any class: %v", err)
	}
	r.Class = nil
	if err := s.Check(r); err != nil {
		t.Errorf("any class: %v", err)
	}
	back, err := DecodeRecipe(r.Encode())
	if err != nil || !back.AnyClass {
		t.Errorf("any class does not survive the recipe text: %+v, %v", back, err)
	}
}
