package studio

import (
	"context"
	"image"
	"testing"

	"github.com/ddpmstudio/ddpmstudio/diffusion"
)

type planOf []diffusion.Event

func (p planOf) PlanLen() int                  { return len(p) }
func (p planOf) EventAt(i int) diffusion.Event { return p[i] }

func TestAlignByT(t *testing.T) {
	ddim := planOf{{T: 900}, {T: 600}, {T: 300}, {T: 0}}
	repaint := planOf{{T: 9}, {T: 8}, {T: 9}, {T: 8}, {T: 7}}
	cases := []struct {
		plan planOf
		t    int
		want int
	}{
		{ddim, 999, 0}, // before its first step: its x_T
		{ddim, 900, 0},
		{ddim, 899, 0}, // the nearest step at or above 899 is 900's
		{ddim, 600, 1},
		{ddim, 301, 1},
		{ddim, 0, 3},
		{ddim, -1, 4}, // the final sample
		{repaint, 8, 1},
		{repaint, 9, 0},
	}
	for _, c := range cases {
		if got := AlignByT(c.plan, c.t); got != c.want {
			t.Errorf("t=%d in %v: %d, want %d", c.t, c.plan, got, c.want)
		}
	}
}

func TestDiffSample(t *testing.T) {
	d, err := DiffSample([]float32{1, -1, 0.5, 0}, []float32{1, 1, 0, -0.25})
	if err != nil {
		t.Fatal(err)
	}
	want := []float32{-1, 1, -0.5, -0.75}
	for i := range want {
		if d[i] != want[i] {
			t.Errorf("element %d: %v, want %v", i, d[i], want[i])
		}
	}
	if _, err := DiffSample(make([]float32, 2), make([]float32, 3)); err == nil {
		t.Error("samples of different sizes compared")
	}
}

// TestCompareRunsOnTheSameNoise: DDPM 20 and DDIM 5 compared start from the
// same x_T, bit for bit, and an unchanged comparison reproduces the chain.
func TestCompareRunsOnTheSameNoise(t *testing.T) {
	s := tinySession(t, 3)
	base := recipeFor(s, DDPM, 20, 9, 2)
	base.AnyClass, base.Guidance = true, 2
	a, _ := run(t, s, base, StartOptions{})
	want := recipeFor(s, DDIM, 5, 12345, 1) // seed and count come from base
	cr, err := CompareRecipe(a.Recipe(), want)
	if err != nil {
		t.Fatal(err)
	}
	if cr.Seed != base.Seed || cr.Count != base.Count || cr.Sampler != DDIM || cr.Steps != 5 || cr.AnyClass != want.AnyClass {
		t.Fatalf("compare recipe %+v", cr)
	}
	b, _ := run(t, s, cr, StartOptions{})
	if !equalBits(frame(t, a, 0).X, frame(t, b, 0).X) {
		t.Error("the compared chains start from different x_T")
	}
	same, err := CompareRecipe(a.Recipe(), a.Recipe())
	if err != nil {
		t.Fatal(err)
	}
	c, _ := run(t, s, same, StartOptions{})
	if !equalBits(a.Final(), c.Final()) {
		t.Error("comparing a recipe with itself drew another picture")
	}
	img, err := CompareStrip(context.Background(), a, b, 1, 5, 1)
	if err != nil {
		t.Fatal(err)
	}
	// Columns: events 0, 5, 10, 15 and the final sample; rows a, b, |a−b|.
	if got := img.Bounds(); got != image.Rect(0, 0, 5*8+4, 3*8+2) {
		t.Errorf("strip %v", got)
	}
	// The last column's bottom picture is |final_a − final_b|, not blank.
	fb := a.Final()
	if equalBits(fb, b.Final()) {
		t.Error("DDPM 20 and DDIM 5 drew the same picture: the strip shows nothing")
	}
	if _, err := CompareStrip(context.Background(), a, b, 2, 5, 1); err == nil {
		t.Error("a sample past the batch accepted")
	}
	forked, err := s.Fork(context.Background(), a, 3, Changes{}, StartOptions{Batch: 2})
	if err != nil {
		t.Fatal(err)
	}
	forked.Wait()
	if _, err := CompareRecipe(forked.Recipe(), want); err == nil {
		t.Error("comparing from a fork accepted")
	}
}
