package studio

import (
	"strings"
	"testing"

	"github.com/ddpmstudio/ddpmstudio/diffusion"
)

func TestRecipeRoundTrip(t *testing.T) {
	r := Recipe{Program: "DDPM Studio " + Version, Model: "m", ModelHash: strings.Repeat("a", 64), Sampler: DDIM, Steps: 50, Eta: 0.3,
		Schedule: Schedule{Kind: "linear", BetaStart: 1e-4, BetaEnd: 0.02, T: 1000}, Seed: 1<<62 + 7, First: 3, Count: 2,
		Inpaint: &Inpaint{Method: RePaint, JumpLength: 10, JumpNSample: 10, Image: "i.png", Mask: "m.png"}}
	got, err := DecodeRecipe(r.Encode())
	if err != nil {
		t.Fatal(err)
	}
	if got.Encode() != r.Encode() || got.Seed != r.Seed {
		t.Errorf("round trip changed the recipe:\n%s\n%s", r.Encode(), got.Encode())
	}
	for _, bad := range []string{`{}`, `{"program": "DDPM Studio", "extra": 1}`, `not json`} {
		if _, err := DecodeRecipe(bad); err == nil {
			t.Errorf("accepted %s", bad)
		}
	}
}

func TestApplySchedule(t *testing.T) {
	model := diffusion.DefaultSchedulerConfig()
	same, changed, err := ApplySchedule(model, ScheduleOf(model))
	if err != nil || changed || same.BetaSchedule != diffusion.Linear {
		t.Errorf("identity: %v %v %+v", err, changed, same)
	}
	cos, changed, err := ApplySchedule(model, Schedule{Kind: "cosine", T: 200, BetaStart: 1e-4, BetaEnd: 0.02})
	if err != nil || !changed || cos.BetaSchedule != diffusion.Cosine || cos.T() != 200 {
		t.Errorf("override: %v %v %+v", err, changed, cos)
	}
	if _, _, err := ApplySchedule(model, Schedule{Kind: "linear", T: 1, BetaStart: 1e-4, BetaEnd: 0.02}); err == nil {
		t.Error("T=1 accepted")
	}
	if _, _, err := ApplySchedule(model, Schedule{Kind: "explicit", T: 1000}); err == nil {
		t.Error("explicit betas accepted for a model without them")
	}
}

func FuzzDecodeRecipe(f *testing.F) {
	f.Add(Recipe{Program: "DDPM Studio 0.1.0", Sampler: DDIM, Steps: 5, Count: 1}.Encode())
	f.Add(`{"program":"DDPM Studio","inpaint":{"method":"repaint"},"class":3}`)
	f.Fuzz(func(t *testing.T, s string) {
		r, err := DecodeRecipe(s)
		if err != nil {
			return
		}
		// Whatever decodes must encode and decode to the same recipe.
		again, err := DecodeRecipe(r.Encode())
		if err != nil || again.Encode() != r.Encode() {
			t.Fatalf("round trip: %v\n%s\n%s", err, r.Encode(), again.Encode())
		}
	})
}
