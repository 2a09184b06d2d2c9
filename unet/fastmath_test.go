package unet

import (
	"math"
	"testing"
)

func TestExpfAccuracy(t *testing.T) {
	worst := 0.0
	for x := float32(-87); x < 88.3; x += 0.0137 { // normal float32 results
		want := math.Exp(float64(x))
		got := float64(expf(x))
		if rel := math.Abs(got-want) / want; rel > worst {
			worst = rel
		}
	}
	t.Logf("max relative error %.3g", worst)
	if worst > 5e-7 {
		t.Errorf("expf relative error %.3g exceeds 5e-7", worst)
	}
	if expf(100) != float32(math.Inf(1)) || expf(-200) != 0 || !math.IsNaN(float64(expf(float32(math.NaN())))) {
		t.Error("expf edge cases")
	}
	for _, x := range []float32{-20, -1, -1e-3, 0, 1e-3, 1, 20} {
		want := float64(x) / (1 + math.Exp(-float64(x)))
		if d := math.Abs(float64(silu(x)) - want); d > 1e-6*math.Max(1, math.Abs(want)) {
			t.Errorf("silu(%v) = %v, want %v", x, silu(x), want)
		}
	}
}
