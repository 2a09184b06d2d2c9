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

// TestGroupNormGrad holds the two passes of GroupNorm's backward to a
// float64 evaluation of the same formulas, with and without the SiLU, and
// each element of d and dst to the Go tail's bits wherever it lies.
func TestGroupNormGrad(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, n := range []int{1, 7, 8, 9, 49, 196, 785} {
		g, pre, y, x, dst := make([]float32, n), make([]float32, n), make([]float32, n), make([]float32, n), make([]float32, n)
		for i := range x {
			g[i] = float32(r.NormFloat64())
			pre[i] = float32(r.NormFloat64() * 3)
			if i%5 == 0 {
				pre[i] = 0 // SiLU′(0) = ½ without dividing by zero
			}
			y[i] = SiLU(pre[i])
			x[i] = float32(4 + r.NormFloat64()*2)
			dst[i] = float32(r.NormFloat64())
		}
		const mu, rs = 3.9, 0.52
		for _, silu := range []bool{false, true} {
			d := make([]float32, n)
			var p []float32
			if silu {
				p = pre
			}
			sd, sdx := GroupNormGradSums(d, g, p, y, x, mu, rs)
			var wd, wdx float64
			for i := range x {
				v := float64(g[i])
				if silu {
					s := 0.5
					if pre[i] != 0 {
						s = float64(y[i]) / float64(pre[i])
					}
					v *= s + float64(y[i])*(1-s)
					if diff := math.Abs(float64(d[i]) - v); diff > 1e-6*math.Max(1, math.Abs(v)) {
						t.Fatalf("n=%d: d[%d] = %v, want %v", n, i, d[i], v)
					}
				}
				wd += v
				wdx += v * (float64(x[i]) - mu) * rs
			}
			if math.Abs(sd-wd) > 1e-5*(1+math.Abs(wd)) || math.Abs(sdx-wdx) > 1e-5*(1+math.Abs(wdx)) {
				t.Fatalf("n=%d silu=%v: sums %v %v, want %v %v", n, silu, sd, sdx, wd, wdx)
			}
		}
		for _, add := range []bool{false, true} {
			out := append([]float32(nil), dst...)
			GroupNormGradApply(out, g, x, mu, rs, 0.8, -0.3, 0.05, add)
			for i := range x {
				want := 0.8*float64(g[i]) - 0.3*(float64(x[i])-mu)*rs + 0.05
				if add {
					want += float64(dst[i])
				}
				if diff := math.Abs(float64(out[i]) - want); diff > 1e-5*math.Max(1, math.Abs(want)) {
					t.Fatalf("n=%d add=%v: dst[%d] = %v, want %v", n, add, i, out[i], want)
				}
			}
		}
	}
}

// TestGroupNormGradPositionIndependent: d and dst are the same bits for
// an element wherever the slice starts, vector body or Go tail.
func TestGroupNormGradPositionIndependent(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	const n = 41
	g, pre, y, x := make([]float32, n), make([]float32, n), make([]float32, n), make([]float32, n)
	for i := range x {
		g[i], pre[i], x[i] = float32(r.NormFloat64()), float32(r.NormFloat64()*3), float32(r.NormFloat64())
		y[i] = SiLU(pre[i])
	}
	wholeD, wholeA := make([]float32, n), make([]float32, n)
	GroupNormGradSums(wholeD, g, pre, y, x, 0.1, 1.3)
	GroupNormGradApply(wholeA, g, x, 0.1, 1.3, 0.7, 0.2, -0.1, false)
	for lo := 0; lo < n; lo++ {
		d, a := make([]float32, n-lo), make([]float32, n-lo)
		GroupNormGradSums(d, g[lo:], pre[lo:], y[lo:], x[lo:], 0.1, 1.3)
		GroupNormGradApply(a, g[lo:], x[lo:], 0.1, 1.3, 0.7, 0.2, -0.1, false)
		for i := range d {
			if math.Float32bits(d[i]) != math.Float32bits(wholeD[lo+i]) || math.Float32bits(a[i]) != math.Float32bits(wholeA[lo+i]) {
				t.Fatalf("element %d differs when the slice starts at %d", lo+i, lo)
			}
		}
	}
}

// TestWinogradTransforms holds the two transforms to the 4×4 matrix
// products they stand for, evaluated in float64, and the vector code to
// the Go code's bits.
func TestWinogradTransforms(t *testing.T) {
	bt := [4][4]float64{{1, 0, -1, 0}, {0, 1, 1, 0}, {0, -1, 1, 0}, {0, 1, 0, -1}}
	at := [2][4]float64{{1, 1, 1, 0}, {0, 1, -1, -1}}
	r := rand.New(rand.NewPCG(9, 10))
	for _, sz := range [][2]int{{1, 8}, {3, 8}, {2, 16}, {7, 24}} {
		th, tw8 := sz[0], sz[1]
		wp := 2*tw8 + 2 + r.IntN(3)
		p := make([]float32, (2*th+2)*wp)
		for i := range p {
			p[i] = float32(r.NormFloat64())
		}
		stride := th*tw8 + r.IntN(5)
		v, vGo := make([]float32, 16*stride), make([]float32, 16*stride)
		WinogradInput(v, stride, p, wp, th, tw8)
		winoInGo(vGo, stride, p, wp, th, tw8)
		wo := 2*tw8 + r.IntN(3)
		out, outGo := make([]float32, 2*th*wo), make([]float32, 2*th*wo)
		WinogradOutput(out, wo, v, stride, th, tw8, 0.25)
		winoOutGo(outGo, wo, v, stride, th, tw8, 0.25)
		for i := range v {
			if math.Float32bits(v[i]) != math.Float32bits(vGo[i]) {
				t.Fatalf("%v: input transform value %d: %v, Go code %v", sz, i, v[i], vGo[i])
			}
		}
		for i := range out {
			if math.Float32bits(out[i]) != math.Float32bits(outGo[i]) {
				t.Fatalf("%v: output transform value %d: %v, Go code %v", sz, i, out[i], outGo[i])
			}
		}
		for ty := 0; ty < th; ty++ {
			for tx := 0; tx < tw8; tx++ {
				tile := ty*tw8 + WinogradLane(tx)
				var u [4][4]float64 // Bᵀ·d·B
				for i := range 4 {
					for j := range 4 {
						for a := range 4 {
							for b := range 4 {
								u[i][j] += bt[i][a] * float64(p[(2*ty+a)*wp+2*tx+b]) * bt[j][b]
							}
						}
						if got := float64(v[(4*i+j)*stride+tile]); math.Abs(got-u[i][j]) > 1e-5 {
							t.Fatalf("%v: tile (%d,%d) value (%d,%d): %v, want %v", sz, ty, tx, i, j, got, u[i][j])
						}
					}
				}
				for a := range 2 {
					for b := range 2 {
						want := 0.25
						for i := range 4 {
							for j := range 4 {
								want += at[a][i] * float64(v[(4*i+j)*stride+tile]) * at[b][j]
							}
						}
						if got := float64(out[(2*ty+a)*wo+2*tx+b]); math.Abs(got-want) > 1e-5 {
							t.Fatalf("%v: tile (%d,%d) output (%d,%d): %v, want %v", sz, ty, tx, a, b, got, want)
						}
					}
				}
			}
		}
	}
}

// TestWinogradGrad holds the output gradient's transform to A·y·Aᵀ in
// float64 and the vector code to the Go code's bits.
func TestWinogradGrad(t *testing.T) {
	a := [4][2]float64{{1, 0}, {1, 1}, {1, -1}, {0, -1}}
	r := rand.New(rand.NewPCG(13, 14))
	for _, sz := range [][2]int{{1, 8}, {3, 8}, {5, 24}} {
		th, tw8 := sz[0], sz[1]
		wp := 2*tw8 + r.IntN(3)
		p := make([]float32, 2*th*wp)
		for i := range p {
			p[i] = float32(r.NormFloat64())
		}
		stride := th*tw8 + r.IntN(5)
		v, vGo := make([]float32, 16*stride), make([]float32, 16*stride)
		WinogradGrad(v, stride, p, wp, th, tw8)
		winoGradGo(vGo, stride, p, wp, th, tw8)
		for i := range v {
			if math.Float32bits(v[i]) != math.Float32bits(vGo[i]) {
				t.Fatalf("%v: value %d: %v, Go code %v", sz, i, v[i], vGo[i])
			}
		}
		for ty := 0; ty < th; ty++ {
			for tx := 0; tx < tw8; tx++ {
				for i := range 4 {
					for j := range 4 {
						var want float64
						for y := range 2 {
							for x := range 2 {
								want += a[i][y] * float64(p[(2*ty+y)*wp+2*tx+x]) * a[j][x]
							}
						}
						if got := float64(v[(4*i+j)*stride+ty*tw8+WinogradLane(tx)]); math.Abs(got-want) > 1e-5 {
							t.Fatalf("%v: tile (%d,%d) value (%d,%d): %v, want %v", sz, ty, tx, i, j, got, want)
						}
					}
				}
			}
		}
	}
}
