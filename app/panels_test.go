package app

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/ddpmstudio/ddpmstudio/studio"
)

// TestSamplerPanelMapsRecipes: a recipe set into the sampler panel comes
// back out of it unchanged, for each kind of setting.
func TestSamplerPanelMapsRecipes(t *testing.T) {
	test.NewTempApp(t)
	p := newSamplerPanel(func(string) {})
	info := studio.ModelInfo{Conditional: true, Classes: 11, NullClass: 10}
	p.setModel(info, 2)
	three, f := 3, false
	cases := []studio.Recipe{
		{Sampler: studio.DDPM, Steps: 250, Seed: 1, Count: 4},
		{Sampler: studio.DDIM, Steps: 50, Eta: 0.35, Seed: 1 << 60, Count: 9, AnyClass: true, Guidance: 2.5},
		{Sampler: studio.DDIM, Steps: 7, Seed: 9, Count: 1, Class: &three, Guidance: 0, Clip: &f},
		{Sampler: studio.DDPM, Steps: 1000, Seed: 0, Count: 12}, // a count the picker does not list
	}
	for _, want := range cases {
		p.set(want, true, true)
		var got studio.Recipe
		if err := p.fill(&got, true, true); err != nil {
			t.Fatal(err)
		}
		if got.Sampler != want.Sampler || got.Steps != want.Steps || got.Eta != want.Eta || got.Seed != want.Seed ||
			got.Count != want.Count || got.AnyClass != want.AnyClass || got.Guidance != want.Guidance ||
			(got.Class == nil) != (want.Class == nil) || (got.Class != nil && *got.Class != *want.Class) ||
			(got.Clip == nil) != (want.Clip == nil) {
			t.Errorf("set %+v, read back %+v", want, got)
		}
	}
	p.steps.SetText("many")
	if err := p.fill(&studio.Recipe{}, true, true); err == nil || !strings.Contains(err.Error(), "steps") {
		t.Errorf("steps \"many\": %v", err)
	}
	// Preferences: what one panel saves, another loads.
	prefs := test.NewTempApp(t).Preferences()
	p.set(cases[1], true, true)
	p.save(prefs)
	q := newSamplerPanel(func(string) {})
	q.setModel(info, 2)
	q.load(prefs)
	if q.kind.Selected != "DDIM" || q.steps.Text != "50" || q.seed.Text != p.seed.Text || q.count.Selected != "9" || !q.lock.Checked {
		t.Errorf("loaded %s %s %s %s %v", q.kind.Selected, q.steps.Text, q.seed.Text, q.count.Selected, q.lock.Checked)
	}
}

// TestSchedulePanelShowsStudiosChoice: the panel's schedule is studio's
// ChooseSchedule of what it shows; the warning follows ScheduleWarning.
func TestSchedulePanelShowsStudiosChoice(t *testing.T) {
	s, _ := newStudio(t, nil)
	p := s.schedule
	trained := s.info.Trained
	if got, _ := p.schedule(); !got.Equal(trained) || p.warn.Visible() {
		t.Errorf("reset panel: %+v (warning %v), trained %+v", got, p.warn.Visible(), trained)
	}
	p.kind.SetSelected("cosine")
	got, _ := p.schedule()
	if k, _ := studio.KindOf(got.Kind); k.Label != "cosine" || !p.warn.Visible() || !p.b1.Disabled() {
		t.Errorf("cosine: %+v, warning %v, β₁ slider disabled %v", got, p.warn.Visible(), p.b1.Disabled())
	}
	p.T.SetText("x")
	if _, err := p.schedule(); err == nil || !p.warn.Visible() || !strings.Contains(p.warn.Text, "T") {
		t.Errorf("T = x: %v, warning %q", err, p.warn.Text)
	}
	s.ResetSchedule()
	if got, _ := p.schedule(); !got.Equal(trained) {
		t.Errorf("after reset: %+v", got)
	}
}

// TestHintBeforeTheFirstRun: the chain area says what the model is and what
// to do until the first frame arrives.
func TestHintBeforeTheFirstRun(t *testing.T) {
	s, w := newStudio(t, nil)
	test.NewTempWindow(t, s.view) // lays the view out
	w.Resize(fyne.NewSize(1200, 800))
	s.view.Refresh()
	if !s.view.hint.Visible() || !strings.Contains(s.view.hint.Text, "parameters") || !strings.Contains(s.view.hint.Text, "10 classes") {
		t.Errorf("before a run: hint shown %v, %q", s.view.hint.Visible(), s.view.hint.Text)
	}
	quick(s, 3, 1, 1)
	generate(t, s)
	if s.view.hint.Visible() {
		t.Error("the hint stays over the pictures")
	}
}

// TestNoiseTabShowsTheModelsPrediction: beside q(x_t | x₀) the Noise tab
// shows x̂₀(x_t, t), the session's one-step prediction, unconditional for
// a picture no run drew.
func TestNoiseTabShowsTheModelsPrediction(t *testing.T) {
	s, _ := newStudio(t, nil)
	s.SetInputPicture(digit(), "digit.png", nil)
	s.noiseT(300)
	s.waitIdle()
	r, err := s.Recipe()
	if err != nil {
		t.Fatal(err)
	}
	r, _ = s.sess.ForPicture(r, nil)
	xt, _, err := s.sess.Noised(digit(), r.Seed, 300, r.Schedule)
	if err != nil {
		t.Fatal(err)
	}
	x0, err := s.sess.PredictX0(context.Background(), xt, 300, r)
	if err != nil {
		t.Fatal(err)
	}
	v := NewChainView()
	v.SetShape(s.noise.view.shape)
	v.ShowFrame(nil, x0, nil, nil)
	if !bytes.Equal(s.noise.view.Picture(PanelX0).Pix, v.Picture(PanelX0).Pix) {
		t.Error("the Noise tab's x̂₀ is not the model's prediction at t = 300")
	}
	if !strings.Contains(s.noise.readout.Text, "unconditional") {
		t.Errorf("the read-out does not say which class predicts: %q", s.noise.readout.Text)
	}
}

// TestForksNestInTheRunsTree: a fork is listed under its parent, a fork
// of the fork under it, and every label is drawable.
func TestForksNestInTheRunsTree(t *testing.T) {
	s, _ := newStudio(t, nil)
	quick(s, 10, 5, 1)
	generate(t, s)
	s.SetCursor(4)
	s.sampler.seed.SetText("6")
	s.ForkHere()
	s.wait()
	s.SetCursor(7)
	s.sampler.seed.SetText("7")
	s.ForkHere()
	s.wait()
	r := s.runs
	if got := r.children(""); len(got) != 1 || got[0] != "0" {
		t.Errorf("top level %v", got)
	}
	if got := r.children("0"); len(got) != 1 || got[0] != "1" {
		t.Errorf("under #1: %v", got)
	}
	if got := r.children("1"); len(got) != 1 || got[0] != "2" || r.isBranch("2") {
		t.Errorf("under #2: %v", got)
	}
	if l := r.entries[2].label; !strings.Contains(l, "fork of #2") || !strings.Contains(l, "seed 7") {
		t.Errorf("label %q", l)
	}
	// A label that does not fit says so (and shows itself on hover).
	h := newHoverLabel()
	h.SetText(r.entries[2].label)
	h.Resize(fyne.NewSize(40, 30))
	if !h.Truncated() {
		t.Error("a 40-unit label claims to fit")
	}
	h.Resize(fyne.NewSize(2000, 30))
	if h.Truncated() {
		t.Error("a 2000-unit label claims to be cut")
	}
	for _, txt := range []string{s.compare.titles[2].Text, s.view.hint.Text, s.timeline.Readout()} {
		if m := missingGlyphs(t, txt); len(m) > 0 {
			t.Errorf("%q: no glyph for %q", txt, m)
		}
	}
}
