package vec

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestExpfAccuracy(t *testing.T) {
	worst := 0.0
	for x := float32(-87); x < 88.3; x += 0.0137 { // normal float32 results
		want := math.Exp(float64(x))
		if rel := math.Abs(float64(Expf(x))-want) / want; rel > worst {
			worst = rel
		}
	}
	t.Logf("max relative error %.3g", worst)
	if worst > 5e-7 {
		t.Errorf("Expf relative error %.3g exceeds 5e-7", worst)
	}
	if Expf(100) != float32(math.Inf(1)) || Expf(-200) != 0 || !math.IsNaN(float64(Expf(float32(math.NaN())))) {
		t.Error("Expf edge cases")
	}
}

func TestAffineSiLUMatchesFloat64(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{1, 15, 16, 17, 100, 4099} {
		src := make([]float32, n)
		for i := range src {
			src[i] = float32(r.NormFloat64() * 30) // reaches the clamp both ways
		}
		for _, withSiLU := range []bool{false, true} {
			dst := make([]float32, n)
			AffineSiLU(dst, src, 0.7, -0.3, withSiLU)
			for i, v := range src {
				y := float64(v)*0.7 - 0.3
				want := y
				if withSiLU {
					want = y / (1 + math.Exp(-y))
				}
				if d := math.Abs(float64(dst[i]) - want); d > 1e-6*math.Max(1, math.Abs(want)) || math.IsNaN(d) {
					t.Fatalf("n=%d silu=%v: dst[%d] = %v, want %v (input %v)", n, withSiLU, i, dst[i], want, v)
				}
			}
		}
	}
}

func TestReductions(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{1, 16, 33, 4096, 10001} {
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(5 + r.NormFloat64())
		}
		var s, sq float64
		for _, v := range x {
			s += float64(v)
		}
		mean := s / float64(n)
		for _, v := range x {
			sq += (float64(v) - mean) * (float64(v) - mean)
		}
		if got := Sum(x); math.Abs(got-s) > 1e-6*math.Abs(s)+1e-6 {
			t.Errorf("n=%d: Sum %v, want %v", n, got, s)
		}
		if got := SumSqDev(x, float32(mean)); math.Abs(got-sq) > 1e-5*sq+1e-6 {
			t.Errorf("n=%d: SumSqDev %v, want %v", n, got, sq)
		}
	}
}

func BenchmarkAffineSiLU(b *testing.B) {
	src := make([]float32, 1<<16)
	dst := make([]float32, 1<<16)
	for i := range src {
		src[i] = float32(i%200)/20 - 5
	}
	b.Run("vector", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			AffineSiLU(dst, src, 1.1, 0.1, true)
		}
		b.ReportMetric(float64(len(src)*b.N)/b.Elapsed().Seconds()/1e9, "Gelem/s")
	})
	b.Run("go", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			affineGo(dst, src, 1.1, 0.1, true)
		}
		b.ReportMetric(float64(len(src)*b.N)/b.Elapsed().Seconds()/1e9, "Gelem/s")
	})
}

// TestAffineSiLUPositionIndependent: an element's result is the same
// wherever it lies in the slice and however long the slice is, so that
// kernels split across goroutines at any boundary agree to the bit.
func TestAffineSiLUPositionIndependent(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	src := make([]float32, 97)
	for i := range src {
		src[i] = float32(r.NormFloat64() * 8)
	}
	for _, withSiLU := range []bool{false, true} {
		whole := make([]float32, len(src))
		AffineSiLU(whole, src, 1.3, 0.2, withSiLU)
		for lo := 0; lo < len(src); lo++ {
			for _, n := range []int{1, 3, 7, 9, 17, 33} {
				hi := min(len(src), lo+n)
				part := make([]float32, hi-lo)
				AffineSiLU(part, src[lo:hi], 1.3, 0.2, withSiLU)
				for i, v := range part {
					if math.Float32bits(v) != math.Float32bits(whole[lo+i]) {
						t.Fatalf("silu=%v: element %d is %v alone in [%d,%d) but %v in the whole slice", withSiLU, lo+i, v, lo, hi, whole[lo+i])
					}
				}
			}
		}
	}
}

func TestGather16(t *testing.T) {
	src := make([]float32, 200)
	for i := range src {
		src[i] = float32(i)
	}
	offs := []int{0, 7, 100, 3, 150}
	r := NewRows(offs)
	dst := make([]float32, 16*len(offs))
	r.Gather16(dst, src, 20)
	for i, o := range offs {
		for k := 0; k < 16; k++ {
			if dst[16*i+k] != float32(o+20+k) {
				t.Fatalf("row %d value %d = %v, want %v", i, k, dst[16*i+k], o+20+k)
			}
		}
	}
	for _, j := range []int{-1, 200 - 150 - 15} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("j=%d: no panic for a range outside src", j)
				}
			}()
			r.Gather16(dst, src, j)
		}()
	}
}

func TestGatherT16(t *testing.T) {
	src := make([]float32, 600)
	for i := range src {
		src[i] = float32(i)
	}
	offs := []int{0, 1, 2, 30, 31, 32, 60, 61, 62, 200, 201, 202, 230, 231, 232, 260}
	r := NewRows(offs)
	for _, n := range []int{1, 7, 8, 9, 16, 37, 64} {
		dst := make([]float32, 16*n)
		r.GatherT16(dst, src, 5, n)
		for i := 0; i < n; i++ {
			for k, o := range offs {
				if got, want := dst[16*i+k], float32(o+5+i); got != want {
					t.Fatalf("n=%d: pixel %d tap %d = %v, want %v", n, i, k, got, want)
				}
			}
		}
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Error("no panic for a range past src")
			}
		}()
		r.GatherT16(make([]float32, 16*400), src, 0, 400)
	}()
}
