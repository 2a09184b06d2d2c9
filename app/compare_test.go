package app

import (
	"bytes"
	"context"
	"math"
	"testing"

	"github.com/ddpmstudio/ddpmstudio/safetensors"
	"github.com/ddpmstudio/ddpmstudio/studio"
)

// TestCompareDDPMWithDDIMOnTheSameNoise: a DDPM chain, then Compare with
// the panels set to DDIM: the second chain starts from the same x_T, one
// timeline scrubs both aligned by t, the third view shows |A − B|, and the
// strip export is studio's CompareStrip.
func TestCompareDDPMWithDDIMOnTheSameNoise(t *testing.T) {
	s, _ := newStudio(t, nil)
	s.sampler.kind.SetSelected("DDPM")
	s.sampler.steps.SetText("20")
	s.sampler.seed.SetText("21")
	s.sampler.lock.SetChecked(true)
	s.sampler.count.SetSelected("1")
	s.sampler.class.SetSelected("3")
	a := generate(t, s)
	if s.cmpBtn.Disabled() {
		t.Fatal("Compare is disabled after a finished run")
	}
	s.sampler.kind.SetSelected("DDIM")
	s.sampler.steps.SetText("5")
	s.sampler.seed.SetText("999") // the comparison keeps the first chain's seed
	s.Compare()
	if err := s.wait(); err != nil {
		t.Fatal(err)
	}
	b := s.currentRun()
	if b == a || !s.comparing() || b.Recipe().Sampler != studio.DDIM || b.Recipe().Seed != 21 {
		t.Fatalf("comparison: comparing %v, recipe %+v", s.comparing(), b.Recipe())
	}
	fa, fb := frameAt(t, a, 0), frameAt(t, b, 0)
	if !bytes.Equal(f32bytes(fa.X), f32bytes(fb.X)) {
		t.Error("the chains do not start from the same x_T")
	}
	// The timeline walks the longer chain (DDPM, 20 events); B shows its
	// nearest step at or above each t.
	if s.timelineRun() != a || s.timeline.hi != a.PlanLen() {
		t.Errorf("the timeline walks %v events up to %d", s.timelineRun().PlanLen(), s.timeline.hi)
	}
	for _, i := range []int{0, 7, 13, 19, a.PlanLen()} {
		s.SetCursor(i)
		s.waitIdle()
		tA := -1
		if i < a.PlanLen() {
			tA = a.EventAt(i).T
		}
		ib := studio.AlignByT(b, tA)
		if s.compare.shownA != i || s.compare.shown != ib {
			t.Errorf("cursor %d (t=%d): shows A %d, B %d; want %d, %d", i, tA, s.compare.shownA, s.compare.shown, i, ib)
		}
		xa, xb := shownX(t, a, i), shownX(t, b, ib)
		d, _ := studio.DiffSample(xa, xb)
		if !bytes.Equal(s.compare.views[1].Picture(PanelXT).Pix, paintedAs(s, xb).Pix) {
			t.Errorf("cursor %d: view B does not show B's x_t at event %d", i, ib)
		}
		if !bytes.Equal(s.compare.views[2].Picture(PanelXT).Pix, paintedAs(s, d).Pix) {
			t.Errorf("cursor %d: the difference view does not show |A − B|", i)
		}
	}
	// The final samples differ (a DDPM and a DDIM chain), so the difference is not blank.
	if bytes.Equal(f32bytes(a.Final()), f32bytes(b.Final())) {
		t.Error("DDPM 20 and DDIM 5 drew the same final sample")
	}
	var got bytes.Buffer
	if err := s.WriteChain(&got, "strip"); err != nil {
		t.Fatal(err)
	}
	img, err := studio.CompareStrip(context.Background(), a, b, 0, 1, studio.ChainScale(a.Shape()))
	if err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	if err := studio.WritePNG(&want, img, b.Recipe(), nil); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bytes(), want.Bytes()) {
		t.Error("the exported strip is not CompareStrip's")
	}
	// In the runs tree the comparison sits under its first chain.
	if kids := s.runs.children(s.runs.id(s.runs.entries[0])); len(kids) != 1 || kids[0] != "1" {
		t.Errorf("children of #1: %v", kids)
	}
	if !s.forkBtn.Disabled() {
		t.Error("Fork is enabled in compare mode (which chain would it fork?)")
	}
	s.selectRun(0)
	s.waitIdle()
	if s.comparing() || s.currentRun() != a {
		t.Error("selecting the first chain did not leave compare mode")
	}
}

func frameAt(t *testing.T, r *studio.Run, i int) studio.Frame {
	t.Helper()
	f, err := r.Shown(context.Background(), i)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func shownX(t *testing.T, r *studio.Run, i int) []float32 { return frameAt(t, r, i).X }

// TestSaveChainWritesTheTrajectory: the window's "Save chain…" bytes read
// back as every x_t of the run, in order, with the recipe in the metadata.
func TestSaveChainWritesTheTrajectory(t *testing.T) {
	s, _ := newStudio(t, nil)
	quick(s, 6, 4, 4)
	run := generate(t, s)
	var b bytes.Buffer
	if err := s.WriteTrajectory(&b); err != nil {
		t.Fatal(err)
	}
	f, err := safetensors.Parse(b.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	x, shape, err := f.Float32("x")
	if err != nil {
		t.Fatal(err)
	}
	if len(shape) != 5 || shape[0] != run.PlanLen()+1 || shape[1] != 4 {
		t.Fatalf("x has shape %v", shape)
	}
	per := shape[1] * shape[2] * shape[3] * shape[4]
	for i := 0; i <= run.PlanLen(); i++ {
		want := shownX(t, run, i)
		for k := range per {
			if math.Float32bits(x[i*per+k]) != math.Float32bits(want[k]) {
				t.Fatalf("x[%d] differs from the run's frame at element %d", i, k)
			}
		}
	}
	if r, err := studio.DecodeRecipe(f.Metadata["recipe"]); err != nil || r.Seed != 4 {
		t.Errorf("recipe in the metadata: %+v, %v", r, err)
	}
}
