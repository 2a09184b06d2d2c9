package app

import (
	"strings"
	"testing"

	"github.com/ddpmstudio/ddpmstudio/studio"
)

// TestTheSamplerSaysHowLong: once the backend is probed, the sampler card
// estimates the run the panels describe, and follows their changes.
func TestTheSamplerSaysHowLong(t *testing.T) {
	s, _ := newStudio(t, nil)
	s.waitIdle()
	quick(s, 12, 3, 4)
	if got := s.sampler.estimate.Text; !strings.HasPrefix(got, "about ") || !strings.Contains(got, "(12 passes at") {
		t.Fatalf("DDIM 12 steps, 4 samples in one batch: the card says %q", got)
	}
	s.sampler.steps.SetText("30")
	if got := s.sampler.estimate.Text; !strings.Contains(got, "(30 passes at") {
		t.Errorf("after 30 steps were typed the card says %q", got)
	}
	s.sampler.steps.SetText("many")
	if got := s.sampler.estimate.Text; got != "" {
		t.Errorf("steps that are no number, and the card says %q", got)
	}
}

func TestEstimateTextSuggestsDDIM(t *testing.T) {
	long := estimateText(studio.Estimate{Passes: 1000, Rate: 300, Seconds: 1650, Basis: "measured", DDIM50: 83}, "cpu")
	if !strings.HasPrefix(long, "about 27 min 30 s on the CPU") || !strings.Contains(long, "DDIM with 50 steps would take about 1 min 23 s") {
		t.Errorf("a 27-minute DDPM run: %q", long)
	}
	short := estimateText(studio.Estimate{Passes: 50, Rate: 300, Seconds: 40, Basis: "probe"}, "gl")
	if strings.Contains(short, "DDIM") || !strings.Contains(short, "probed") {
		t.Errorf("a 40 s run: %q", short)
	}
}
