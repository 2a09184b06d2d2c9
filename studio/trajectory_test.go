package studio

import (
	"bytes"
	"context"
	"image"
	"math"
	"strings"
	"testing"

	"github.com/ddpmstudio/ddpmstudio/safetensors"
)

func TestWriteTrajectory(t *testing.T) {
	s := tinySession(t, 0)
	ctx := context.Background()
	// Without the model outputs it says what is missing.
	rn, _ := run(t, s, recipeFor(s, DDIM, 3, 1, 1), StartOptions{})
	if err := WriteTrajectory(ctx, &bytes.Buffer{}, rn); err == nil || !strings.Contains(err.Error(), "WithEps") {
		t.Errorf("without ε̂: %v", err)
	}
	// RePaint's re-noising events have no x̂₀ or ε̂: NaN there, numbers elsewhere.
	img := image.NewGray(image.Rect(0, 0, 8, 8))
	mask := image.NewGray(image.Rect(0, 0, 8, 8))
	for i := range mask.Pix {
		if i%8 >= 4 {
			mask.Pix[i] = 255
		}
	}
	r := recipeFor(s, RePaint, 4, 2, 1)
	r.Inpaint = &Inpaint{Method: RePaint, JumpLength: 2, JumpNSample: 2, Image: "i.png", Mask: "m.png"}
	rn, _ = run(t, s, r, StartOptions{WithEps: true, Inputs: Inputs{Image: img, Mask: mask}})
	var b bytes.Buffer
	if err := WriteTrajectory(ctx, &b, rn); err != nil {
		t.Fatal(err)
	}
	f, err := safetensors.Parse(b.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	x0, shape, err := f.Float32("x0_pred")
	if err != nil {
		t.Fatal(err)
	}
	ts, _, _ := f.Int64("timesteps")
	next, _, _ := f.Int64("next")
	per := shape[1] * shape[2] * shape[3] * shape[4]
	renoise := 0
	for i := range next {
		nan := math.IsNaN(float64(x0[i*per]))
		if up := next[i] > ts[i]; up != nan {
			t.Fatalf("event %d (%d → %d): x̂₀ NaN %v", i, ts[i], next[i], nan)
		} else if up {
			renoise++
		}
	}
	if renoise == 0 {
		t.Error("the RePaint plan had no re-noising event to check")
	}
}
