package studio

import (
	"context"
	"image"
	"math"
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
	good := Recipe{Program: "DDPM Studio 0.1.0", Sampler: DDIM, Steps: 5, Count: 1, Schedule: Schedule{Kind: "linear", BetaStart: 1e-4, BetaEnd: 0.02, T: 1000}}
	f.Add(good.Encode())
	rp := good
	rp.Sampler, rp.Inpaint = RePaint, &Inpaint{Method: RePaint, JumpLength: 3, JumpNSample: 2, Image: "i.png", Mask: "m.png"}
	f.Add(rp.Encode())
	f.Add(`{"program":"DDPM Studio","inpaint":{"method":"repaint"},"class":3}`)
	f.Add(`{"program":"DDPM Studio","sampler":"ddpm","steps":10,"count":1000000000,"schedule":{"kind":"linear","beta_start":0.0001,"beta_end":0.02,"timesteps":1000}}`)
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
		// As executed: a valid recipe builds its sampler with a plan of
		// bounded length, for a model of default scheduler settings.
		if r.Validate() != nil || r.Schedule.Kind == "explicit" {
			return
		}
		if r.Count > MaxCount || r.First < 0 || r.First+r.Count > MaxSampleIndex || math.IsNaN(r.Guidance) {
			t.Fatalf("Validate admitted %+v", r)
		}
		if _, _, err := ApplySchedule(diffusion.DefaultSchedulerConfig(), r.Schedule); err != nil {
			t.Fatalf("a valid recipe's schedule: %v", err)
		}
		sess := fuzzSession(t)
		if sess.Check(r) != nil || r.Fork != nil {
			return
		}
		var in Inputs
		if r.Inpaint != nil {
			r.Inpaint.ImageHash, r.Inpaint.MaskHash = "", ""
			in = Inputs{Image: image.NewGray(image.Rect(0, 0, 4, 4)), Mask: image.NewGray(image.Rect(0, 0, 4, 4))}
		}
		run, err := sess.newRun(context.Background(), r, StartOptions{Batch: 1, Inputs: in})
		if err != nil {
			t.Fatalf("a checked recipe gives no run: %v", err)
		}
		if n := len(run.plan); n < 1 || n > MaxEvents {
			t.Fatalf("plan of %d events", n)
		}
	})
}
