package sgemm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

func randSlice(r *rand.Rand, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(r.NormFloat64())
	}
	return v
}

// reference is the triple loop in float64.
func reference(aT, bT bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) []float64 {
	out := make([]float64, len(c))
	for i := range c {
		out[i] = float64(c[i])
	}
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float64
			for p := 0; p < k; p++ {
				var av, bv float32
				if aT {
					av = a[p*lda+i]
				} else {
					av = a[i*lda+p]
				}
				if bT {
					bv = b[j*ldb+p]
				} else {
					bv = b[p*ldb+j]
				}
				s += float64(av) * float64(bv)
			}
			out[i*ldc+j] = float64(alpha)*s + float64(beta)*float64(c[i*ldc+j])
		}
	}
	return out
}

func TestSgemmAgainstReference(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	shapes := [][3]int{{1, 1, 1}, {3, 5, 7}, {8, 32, 16}, {13, 37, 29}, {6, 16, 300}, {70, 65, 257}, {129, 33, 513}, {17, 2100, 9}, {1, 300, 40}}
	for _, kern := range AllKernels() {
		for _, workers := range []int{1, 3} {
			impl := Implementation{kernel: kern, workers: workers}
			for _, s := range shapes {
				m, n, k := s[0], s[1], s[2]
				for _, tr := range [][2]bool{{false, false}, {true, false}, {false, true}, {true, true}} {
					for _, ab := range [][2]float32{{1, 0}, {0.5, 1}, {-2, 0.25}} {
						aT, bT := tr[0], tr[1]
						lda, ldb, ldc := k+2, n+1, n+3
						if aT {
							lda = m + 1
						}
						if bT {
							ldb = k + 3
						}
						rowsA, rowsB := m, k
						if aT {
							rowsA = k
						}
						if bT {
							rowsB = n
						}
						a := randSlice(r, rowsA*lda)
						b := randSlice(r, rowsB*ldb)
						c := randSlice(r, m*ldc)
						want := reference(aT, bT, m, n, k, ab[0], a, lda, b, ldb, ab[1], c, ldc)
						tA, tB := blas.NoTrans, blas.NoTrans
						if aT {
							tA = blas.Trans
						}
						if bT {
							tB = blas.Trans
						}
						impl.Sgemm(tA, tB, m, n, k, ab[0], a, lda, b, ldb, ab[1], c, ldc)
						for i := 0; i < m; i++ {
							for j := 0; j < ldc; j++ {
								idx := i*ldc + j
								tol := 1e-5 * (math.Sqrt(float64(k)) + math.Abs(want[idx]))
								if j >= n {
									tol = 0 // padding beyond n must be untouched
								}
								if d := math.Abs(float64(c[idx]) - want[idx]); d > tol || math.IsNaN(d) {
									t.Fatalf("%s workers=%d %v trans=%v α,β=%v: C[%d,%d] = %v, want %v", kern.Name, workers, s, tr, ab, i, j, c[idx], want[idx])
								}
							}
						}
					}
				}
			}
		}
	}
}

func TestKernelsAgree(t *testing.T) {
	// Every kernel this CPU has, the portable one included, against a float64
	// product of the same inputs, with a bound that scales with √k: a kernel
	// that drops a panel, a tail or a k-block fails by orders of magnitude.
	r := rand.New(rand.NewPCG(2, 2))
	m, n, k := 96, 200, 333
	a, b := randSlice(r, m*k), randSlice(r, k*n)
	c0 := randSlice(r, m*n)
	want := reference(false, false, m, n, k, 1.5, a, k, b, n, 0.5, c0, n)
	tol := 1e-5 * math.Sqrt(float64(k)) * 4
	for _, kern := range AllKernels() {
		c := append([]float32(nil), c0...)
		WithKernel(kern).Sgemm(blas.NoTrans, blas.NoTrans, m, n, k, 1.5, a, k, b, n, 0.5, c, n)
		worst := 0.0
		for i := range c {
			d := math.Abs(float64(c[i]) - want[i])
			if math.IsNaN(d) {
				d = math.Inf(1)
			}
			worst = max(worst, d)
		}
		t.Logf("%s vs float64: %.3g (tolerance %.3g)", kern.Name, worst, tol)
		if worst > tol {
			t.Errorf("%s differs from the float64 product by %g", kern.Name, worst)
		}
	}
}

// Shapes of the CIFAR-10 U-Net's convolutions as GEMMs (M = out channels,
// N = pixels, K = in channels × 9) and of the backward pass's transposed
// products.
var benchShapes = []struct {
	name    string
	m, n, k int
	tA, tB  blas.Transpose
}{
	{"conv32x32_128", 128, 1024, 1152, blas.NoTrans, blas.NoTrans},
	{"conv16x16_256", 256, 256, 2304, blas.NoTrans, blas.NoTrans},
	{"conv8x8_256", 256, 64, 2304, blas.NoTrans, blas.NoTrans},
	{"dW_shape(NN)", 128, 1152, 1024, blas.NoTrans, blas.NoTrans},
	{"dW_32x32_128(NT)", 128, 1152, 1024, blas.NoTrans, blas.Trans},
	{"dX_shape(NN)", 1152, 1024, 128, blas.NoTrans, blas.NoTrans},
	{"dX_32x32_128(TN)", 1152, 1024, 128, blas.Trans, blas.NoTrans},
}

func BenchmarkSgemm(b *testing.B) {
	impls := map[string]blas.Float32{"gonum": gonum.Implementation{}}
	for _, k := range AllKernels() {
		impls[k.Name] = WithKernel(k)
	}
	for _, s := range benchShapes {
		for _, name := range []string{"gonum", "go", "avx2", "avx512"} {
			impl, ok := impls[name]
			if !ok {
				continue
			}
			b.Run(fmt.Sprintf("%s/%s", s.name, name), func(b *testing.B) {
				r := rand.New(rand.NewPCG(3, 3))
				a, bb := randSlice(r, s.m*s.k), randSlice(r, s.k*s.n)
				c := make([]float32, s.m*s.n)
				lda, ldb := s.k, s.n
				if s.tA == blas.Trans {
					lda = s.m
				}
				if s.tB == blas.Trans {
					ldb = s.k
				}
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					impl.Sgemm(s.tA, s.tB, s.m, s.n, s.k, 1, a, lda, bb, ldb, 0, c, s.n)
				}
				b.ReportMetric(2*float64(s.m*s.n*s.k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
				b.ReportMetric(float64(runtime.GOMAXPROCS(0)), "threads")
			})
		}
	}
}

func TestGemmPacked(t *testing.T) {
	r := rand.New(rand.NewPCG(4, 4))
	for _, kern := range AllKernels() {
		// One PackedA reused through all the shapes (PackAInto), growing
		// and shrinking, must pack what a fresh PackA does.
		var reused *PackedA
		for _, s := range [][3]int{{5, 7, 3}, {130, 70, 600}, {256, 64, 2304}, {9, 1030, 300}} {
			m, n, k := s[0], s[1], s[2]
			a, b := randSlice(r, m*k), randSlice(r, k*n)
			c0 := randSlice(r, m*n)
			want := append([]float32(nil), c0...)
			impl := Implementation{kernel: kern, workers: 2}
			impl.Sgemm(blas.NoTrans, blas.NoTrans, m, n, k, 1, a, k, b, n, 1, want, n)
			pa := impl.PackA(m, k, a, k)
			packer := packerOf(func(p, j int) float32 { return b[p*n+j] })
			got := append([]float32(nil), c0...)
			impl.GemmPacked(pa, n, packer, got, n)
			// GemmB: the same product with A unpacked (row-major, a wider
			// leading dimension) and B from the packer.
			lda := k + 3
			wide := make([]float32, m*lda)
			for i := 0; i < m; i++ {
				copy(wide[i*lda:i*lda+k], a[i*k:(i+1)*k])
			}
			gotB := append([]float32(nil), c0...)
			impl.GemmB(m, n, k, wide, lda, packer, gotB, n)
			reused = impl.PackAInto(reused, m, k, wide, lda)
			gotR := append([]float32(nil), c0...)
			impl.GemmPacked(reused, n, packer, gotR, n)
			for i := range got {
				if d := math.Abs(float64(got[i] - want[i])); d > 1e-4*(1+math.Abs(float64(want[i]))) {
					t.Fatalf("%s %v: C[%d] = %v, Sgemm gives %v", kern.Name, s, i, got[i], want[i])
				}
				if gotB[i] != got[i] {
					t.Fatalf("%s %v: GemmB C[%d] = %v, GemmPacked gives %v", kern.Name, s, i, gotB[i], got[i])
				}
				if gotR[i] != got[i] {
					t.Fatalf("%s %v: reused PackedA C[%d] = %v, a fresh one gives %v", kern.Name, s, i, gotR[i], got[i])
				}
			}
		}
	}
}

// TestGemmIndirect: B's rows as runs of one source at arbitrary offsets,
// read in place or packed, give GemmPacked's bits, adding onto C or
// (GemmIndirectSet) replacing it; panels whose runs would pass the end of
// src are packed with zeros beyond it.
func TestGemmIndirect(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 5))
	for _, kern := range AllKernels() {
		for _, s := range [][3]int{{5, 7, 3}, {32, 840, 288}, {64, 63, 576}, {13, 100, 300}, {6, 16, 9}, {130, 40, 20}} {
			m, n, k := s[0], s[1], s[2]
			src := randSlice(r, 4*n+k+40)
			offs := make([]int, k)
			for p := range offs {
				offs[p] = r.IntN(3*n + k + 24) // some runs reach past len(src)
			}
			// An infinity in column 5 of B's first row: a product that adds
			// A's zero padding (rows past M) into rows of C would turn their
			// ±Inf into NaN.
			src[offs[0]+5] = float32(math.Inf(1))
			a := randSlice(r, m*k)
			impl := Implementation{kernel: kern, workers: 1}
			pa := impl.PackA(m, k, a, k)
			packer := packerOf(func(p, j int) float32 {
				if offs[p]+j < len(src) {
					return src[offs[p]+j]
				}
				return 0
			})
			c0 := randSlice(r, m*n)
			want := append([]float32(nil), c0...)
			impl.GemmPacked(pa, n, packer, want, n)
			got := append([]float32(nil), c0...)
			impl.GemmIndirect(pa, n, src, offs, got, n)
			// With MR−1 rows of slack the last partial block of rows is
			// written whole; the rows of C must not change for it.
			slack := append(append([]float32(nil), c0...), make([]float32, (kern.MR-1)*n)...)
			impl.GemmIndirect(pa, n, src, offs, slack, n)
			// GemmIndirectSet ignores what C holds (NaN here): the same
			// bits as GemmPacked onto zeros.
			wantSet := make([]float32, m*n)
			impl.GemmPacked(pa, n, packer, wantSet, n)
			set := make([]float32, m*n+(kern.MR-1)*n)
			for i := range set {
				set[i] = float32(math.NaN())
			}
			impl.GemmIndirectSet(pa, n, src, offs, set, n)
			for i := range got {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
					t.Fatalf("%s %v: C[%d] = %v, GemmPacked gives %v", kern.Name, s, i, got[i], want[i])
				}
				if math.Float32bits(slack[i]) != math.Float32bits(want[i]) {
					t.Fatalf("%s %v with slack: C[%d] = %v, GemmPacked gives %v", kern.Name, s, i, slack[i], want[i])
				}
				if math.Float32bits(set[i]) != math.Float32bits(wantSet[i]) {
					t.Fatalf("%s %v, set: C[%d] = %v, GemmPacked onto zeros gives %v", kern.Name, s, i, set[i], wantSet[i])
				}
			}
		}
	}
}

// packerOf is the BPacker of the right operand whose (p, j) element is
// b(p, j): the reference the packing paths are held to, one value at a time.
func packerOf(b func(p, j int) float32) BPacker {
	return func(dst []float32, p0, kcur, j0, ncur, nr int) {
		for q := 0; q*nr < ncur; q++ {
			for p := 0; p < kcur; p++ {
				for jj := 0; jj < nr; jj++ {
					v := float32(0)
					if q*nr+jj < ncur {
						v = b(p0+p, j0+q*nr+jj)
					}
					dst[(q*kcur+p)*nr+jj] = v
				}
			}
		}
	}
}

// TestDotNT holds DotNT to float64 dot products on ragged shapes, adding
// onto what C holds, with rows of A and B past m and n present but
// poisoned (their results must not reach C).
func TestDotNT(t *testing.T) {
	r := rand.New(rand.NewPCG(17, 18))
	for _, sh := range [][3]int{{1, 1, 8}, {3, 3, 16}, {4, 5, 24}, {17, 16, 2048}, {32, 33, 1032}} {
		m, n, k := sh[0], sh[1], sh[2]
		lda, ldb, ldc := k+r.IntN(3), k+r.IntN(3), n+r.IntN(3)
		m3, n3 := (m+2)/3*3, (n+2)/3*3
		a, b := make([]float32, m3*lda), make([]float32, n3*ldb)
		for i := range a {
			a[i] = float32(r.NormFloat64())
			if i >= m*lda {
				a[i] = float32(math.NaN())
			}
		}
		for i := range b {
			b[i] = float32(r.NormFloat64())
			if i >= n*ldb {
				b[i] = float32(math.NaN())
			}
		}
		c := make([]float32, m*ldc)
		for i := range c {
			c[i] = float32(r.NormFloat64())
		}
		want := make([]float64, len(c))
		for i := 0; i < m; i++ {
			for j := 0; j < n; j++ {
				want[i*ldc+j] = float64(c[i*ldc+j])
				for p := 0; p < k; p++ {
					want[i*ldc+j] += float64(a[i*lda+p]) * float64(b[j*ldb+p])
				}
			}
		}
		DotNT(m, n, k, a, lda, b, ldb, c, ldc)
		for i := 0; i < m; i++ {
			for j := 0; j < n; j++ {
				got, w := float64(c[i*ldc+j]), want[i*ldc+j]
				if d := math.Abs(got - w); !(d <= 1e-5*math.Sqrt(float64(k))*(1+math.Abs(w))) {
					t.Fatalf("%v: C[%d][%d] = %v, want %v", sh, i, j, got, w)
				}
			}
		}
	}
}

// BenchmarkDotNT runs DotNT at the Winograd weight gradient's shape of
// the small model's 64-channel layers (dU_ξ = Ŷ_ξ·V_ξᵀ over ~2048 tiles).
func BenchmarkDotNT(b *testing.B) {
	r := rand.New(rand.NewPCG(19, 20))
	const m, n, k = 64, 64, 2048
	a, bb, c := randSlice(r, 66*k), randSlice(r, 66*k), make([]float32, m*n)
	for i := 0; i < b.N; i++ {
		DotNT(m, n, k, a, k, bb, k, c, n)
	}
	b.ReportMetric(2*m*n*k*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}
