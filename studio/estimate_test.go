package studio

import (
	"context"
	"math"
	"strings"
	"testing"

	"github.com/ddpmstudio/ddpmstudio/diffusion"
	"github.com/ddpmstudio/ddpmstudio/unet"
)

// TestEstimateCountsTheWork: an estimate counts the plan's U-Net passes
// (batches, guidance, a fork's own steps, RePaint's re-noising events that
// run none) at the measured speed, says when DDIM would be much shorter,
// and moves from the probe to the timed passes once a run has gone.
func TestEstimateCountsTheWork(t *testing.T) {
	s := tinySession(t, 3)
	r := recipeFor(s, DDIM, 10, 1, 5)
	if _, err := s.Estimate(r, 2); err == nil {
		t.Fatal("an estimate with no speed measured")
	}
	if err := s.ProbeSpeed(context.Background()); err != nil {
		t.Fatal(err)
	}
	e, err := s.Estimate(r, 2)
	if err != nil {
		t.Fatal(err)
	}
	per := s.Info().FLOPs / 1e9
	if e.Basis != "probe" || e.Passes != 30 || math.Abs(e.GFLOP-50*per) > 1e-9*e.GFLOP || e.Seconds != e.GFLOP/e.Rate {
		t.Fatalf("5 samples in batches of 2, 10 steps: %+v (a pass of one sample is %g GFLOP)", e, per)
	}
	g := r
	c := 1
	g.Class, g.Guidance = &c, 3
	if eg, _ := s.Estimate(g, 2); eg.GFLOP != 2*e.GFLOP {
		t.Errorf("guidance: %g GFLOP, want twice %g", eg.GFLOP, e.GFLOP)
	}

	s.meter.setProbe(per / 10) // a tenth of a pass a second: DDPM 1000 takes hours
	d := recipeFor(s, DDPM, 1000, 1, 1)
	ed, _ := s.Estimate(d, 1)
	if want := 50 * per / (per / 10); ed.DDIM50 == 0 || math.Abs(ed.DDIM50-want) > 1e-6*want || !strings.Contains(ed.String(), "DDIM with 50 steps would take about") {
		t.Errorf("long DDPM: %+v %q, want a DDIM 50 estimate of %g s", ed, ed, want)
	}
	if ed, _ := s.Estimate(recipeFor(s, DDPM, 10, 1, 1), 1); ed.DDIM50 != 0 {
		t.Errorf("a 100 s DDPM run suggests DDIM: %+v", ed)
	}

	run(t, s, recipeFor(s, DDIM, 6, 2, 1), StartOptions{})
	if e, _ := s.Estimate(r, 2); e.Basis != "measured" || !(e.Rate > 0) {
		t.Errorf("after a run: %+v", e)
	}
}

func TestEstimateOfRePaintCountsDenoisingOnly(t *testing.T) {
	s := tinySession(t, 0)
	s.meter.setProbe(1)
	r := recipeFor(s, RePaint, 10, 1, 1)
	r.Inpaint = &Inpaint{Method: RePaint, JumpLength: 2, JumpNSample: 3}
	e, err := s.Estimate(r, 1)
	if err != nil {
		t.Fatal(err)
	}
	sched, _, _ := s.schedulerFor(r)
	probe := &Run{recipe: r, sched: sched, known: &diffusion.Known{}}
	smp, err := probe.sampler()
	if err != nil {
		t.Fatal(err)
	}
	denoise, all := 0, len(smp.Plan())
	for _, ev := range smp.Plan() {
		if ev.Kind == diffusion.Denoise {
			denoise++
		}
	}
	if e.Passes != denoise || denoise == all {
		t.Errorf("RePaint: %d passes estimated, the plan has %d denoising events of %d", e.Passes, denoise, all)
	}
}

// TestCheckBatchNamesTheLargestThatFits: a batch over the activation
// budget is refused in one line naming the largest batch under it.
func TestCheckBatchNamesTheLargestThatFits(t *testing.T) {
	s := tinySession(t, 0)
	c := s.Loaded().Model.Config
	three, err := unet.ActivationBytes(c, 3, 8, 8)
	if err != nil {
		t.Fatal(err)
	}
	r := recipeFor(s, DDIM, 5, 1, 10)
	err = s.CheckBatch(r, 10, three)
	if err == nil || !strings.Contains(err.Error(), "the largest batch that fits is 3") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("batch 10 within the bytes of 3: %v", err)
	}
	if err := s.CheckBatch(r, 3, three); err != nil {
		t.Fatalf("batch 3 within its own bytes: %v", err)
	}
	if err := s.CheckBatch(r, 10, 1); err == nil || !strings.Contains(err.Error(), "not even one sample fits") {
		t.Fatalf("a budget of one byte: %v", err)
	}
}
