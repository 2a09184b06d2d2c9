package studio

import (
	"context"
	"strings"
	"testing"

	"github.com/ddpmstudio/ddpmstudio/diffusion"
)

func TestScheduleVocabulary(t *testing.T) {
	for _, k := range ScheduleKinds {
		if _, err := diffusion.ParseKind(k.Kind); err != nil {
			t.Errorf("%s: not a kind diffusers knows: %v", k.Label, err)
		}
		if got, ok := KindByLabel(k.Label); !ok || got != k {
			t.Errorf("label %q finds %v", k.Label, got)
		}
		if got, ok := KindOf(k.Kind); !ok || got != k {
			t.Errorf("kind %q finds %v", k.Kind, got)
		}
	}
	if len(ScheduleLabels()) != len(diffusion.Kinds) {
		t.Errorf("the picker offers %d kinds, diffusion builds %d", len(ScheduleLabels()), len(diffusion.Kinds))
	}
	if _, ok := KindByLabel("explicit"); ok {
		t.Error("explicit is not something to pick")
	}
}

func TestChooseSchedule(t *testing.T) {
	linear := Schedule{Kind: "linear", BetaStart: 1e-4, BetaEnd: 0.02, T: 1000}
	explicit := Schedule{Kind: "explicit", T: 1000}
	cosine := Schedule{Kind: string(diffusion.Cosine), BetaStart: 1e-4, BetaEnd: 0.02, T: 1000}
	edited := func(label string, b1, bT float64, T int, trained Schedule) Schedule {
		s, err := EditedSchedule(label, b1, bT, T, trained)
		if err != nil {
			t.Fatalf("%s: %v", label, err)
		}
		return s
	}
	cases := []struct {
		name           string
		shown, trained Schedule
		want           Schedule
		warn           bool
	}{
		{"unchanged linear", edited("linear", 1e-4, 0.02, 1000, linear), linear, linear, false},
		{"slider noise rounds away", edited("linear", 0.000100004, 0.0199999, 1000, linear), linear, linear, false},
		{"edited β_T", edited("linear", 1e-4, 0.03, 1000, linear), linear, Schedule{Kind: "linear", BetaStart: 1e-4, BetaEnd: 0.03, T: 1000}, true},
		{"listed betas shown unchanged", edited("linear", 1e-4, 0.02, 1000, explicit), explicit, explicit, false},
		{"listed betas edited", edited("linear", 1e-4, 0.02, 500, explicit), explicit, Schedule{Kind: "linear", BetaStart: 1e-4, BetaEnd: 0.02, T: 500}, true},
		{"cosine ignores its sliders", edited("cosine", 3e-3, 0.5, 1000, cosine), cosine, cosine, false},
		{"to cosine", edited("cosine", 1e-4, 0.02, 1000, linear), linear, Schedule{Kind: string(diffusion.Cosine), BetaStart: 1e-4, BetaEnd: 0.02, T: 1000}, true},
	}
	for _, c := range cases {
		got := ChooseSchedule(c.shown, c.trained)
		if !got.Equal(c.want) {
			t.Errorf("%s: %+v, want %+v", c.name, got, c.want)
		}
		if w := ScheduleWarning(got, c.trained); (w != "") != c.warn {
			t.Errorf("%s: warning %q", c.name, w)
		}
	}
	if _, err := EditedSchedule("linear", 1e-4, 0.02, 1, linear); err == nil {
		t.Error("T = 1 accepted")
	}
	if _, err := EditedSchedule("quadratic", 1e-4, 0.02, 10, linear); err == nil {
		t.Error("an unknown kind accepted")
	}
	if e := Editable(explicit); e.Kind != "linear" || e.BetaStart != DefaultBetaStart || e.T != 1000 {
		t.Errorf("editable explicit schedule %+v", e)
	}
}

func TestStrengthAndInpaintDefaults(t *testing.T) {
	for _, c := range []struct {
		t, T int
		want float64
	}{{999, 1000, 1}, {0, 1000, 0.001}, {500, 1001, 0.5}, {9, 10, 1}} {
		if got := StrengthAt(c.t, c.T); got != c.want {
			t.Errorf("StrengthAt(%d, %d) = %v, want %v", c.t, c.T, got, c.want)
		}
	}
	base := Recipe{Sampler: DDPM, Steps: 1000, Schedule: Schedule{T: 1000}}
	rp := InpaintRecipe(base, RePaint, "a.png", 10, 3)
	if rp.Sampler != RePaint || rp.Steps != RePaintMaxSteps || rp.Inpaint.JumpLength != 10 || rp.Inpaint.Image != "a.png" {
		t.Errorf("RePaint recipe %+v %+v", rp, rp.Inpaint)
	}
	rep := InpaintRecipe(base, Replace, "a.png", 10, 3)
	if rep.Sampler != DDPM || rep.Steps != 1000 || rep.Inpaint.Method != Replace {
		t.Errorf("replacement recipe %+v", rep)
	}
	if base.Inpaint != nil {
		t.Error("InpaintRecipe changed its argument")
	}
}

func TestForPictureClassPolicy(t *testing.T) {
	s := tinySession(t, 3)
	seven, two := 7, 2
	panel := Recipe{AnyClass: true, Guidance: 2}
	r, why := s.ForPicture(panel, nil)
	if r.Class != nil || r.AnyClass || r.Guidance != 0 || !strings.Contains(why, "unconditional") {
		t.Errorf("a plain picture: class %v any %v guidance %v (%q)", r.Class, r.AnyClass, r.Guidance, why)
	}
	r, why = s.ForPicture(panel, &PictureSource{Recipe: Recipe{Class: &two, Guidance: 1.5}})
	if r.Class == nil || *r.Class != 2 || r.Guidance != 1.5 || !strings.Contains(why, "class 2") {
		t.Errorf("a class-2 picture: class %v guidance %v (%q)", r.Class, r.Guidance, why)
	}
	// "Any class": the class the seed chose for that very sample.
	src := recipeFor(s, DDIM, 4, 11, 3)
	src.AnyClass, src.Guidance = true, 2
	_, l, err := s.conditioning(src)
	if err != nil {
		t.Fatal(err)
	}
	for n := range 3 {
		r, _ = s.ForPicture(panel, &PictureSource{Recipe: src, Sample: n})
		if r.Class == nil || *r.Class != l.label(n) {
			t.Errorf("sample %d of an any-class run: class %v, want %d", n, r.Class, l.label(n))
		}
	}
	// A model without classes ignores the panel's class.
	u := tinySession(t, 0)
	if r, _ := u.ForPicture(Recipe{Class: &seven, Guidance: 2}, nil); r.Class != nil || r.Guidance != 0 {
		t.Errorf("unconditional model: class %v guidance %v", r.Class, r.Guidance)
	}
}

// TestPredictX0IsTheChainsPrediction: the Noise view's one-step prediction
// at a frame's x_t and t is, bit for bit, the x̂₀ the chain made there.
func TestPredictX0IsTheChainsPrediction(t *testing.T) {
	s := tinySession(t, 0)
	rn, _ := run(t, s, recipeFor(s, DDIM, 6, 3, 2), StartOptions{})
	per := rn.Shape().SampleLen()
	for _, i := range []int{0, 3, 5} {
		f := frame(t, rn, i)
		x0, err := s.PredictX0(context.Background(), f.X[:per], f.Event.T, rn.Recipe())
		if err != nil {
			t.Fatal(err)
		}
		if !equalBits(x0, f.X0[:per]) {
			t.Errorf("event %d (t=%d): the prediction differs from the chain's", i, f.Event.T)
		}
	}
	if _, err := s.PredictX0(context.Background(), make([]float32, per), 5000, rn.Recipe()); err == nil {
		t.Error("t past the schedule accepted")
	}
	if _, err := s.PredictX0(context.Background(), make([]float32, 3), 5, rn.Recipe()); err == nil {
		t.Error("a wrong-sized x_t accepted")
	}
}
