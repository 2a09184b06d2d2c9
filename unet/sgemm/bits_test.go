package sgemm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/blas"
)

// hostileSlice is randSlice with a sprinkling of values whose rounding or
// sign a careless kernel would change: signed zeros, subnormals, huge
// magnitudes that cancel.
func hostileSlice(r *rand.Rand, n int) []float32 {
	special := []float32{0, float32(math.Copysign(0, -1)), 1e-40, -3e-39, 3e18, -3e18, 1 + 1.0/(1<<23)}
	x := randSlice(r, n)
	for i := range x {
		if r.IntN(40) == 0 {
			x[i] = special[r.IntN(len(special))]
		}
	}
	return x
}

func requireSameBits(t *testing.T, what string, got, want []float32) {
	t.Helper()
	for i := range want {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) && !(got[i] != got[i] && want[i] != want[i]) {
			t.Fatalf("%s: element %d is %v (%#x), the portable kernel gives %v (%#x)", what, i, got[i], math.Float32bits(got[i]), want[i], math.Float32bits(want[i]))
		}
	}
}

// TestKernelsBitIdentical holds every kernel this CPU has to the portable
// kernel bit for bit, across K blocks (k > 256), edge tiles, α, β, both
// transposes, and the prepacked and in-place entry points.
func TestKernelsBitIdentical(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	for _, kern := range AllKernels() {
		if kern.Name == Portable.Name {
			continue
		}
		for _, sz := range [][3]int{{1, 1, 1}, {7, 33, 5}, {13, 50, 257}, {37, 70, 600}} {
			m, n, k := sz[0], sz[1], sz[2]
			for _, tr := range [][2]blas.Transpose{{blas.NoTrans, blas.NoTrans}, {blas.Trans, blas.NoTrans}, {blas.NoTrans, blas.Trans}} {
				a, b, c0 := hostileSlice(r, m*k), hostileSlice(r, k*n), hostileSlice(r, m*n)
				lda, ldb := k, n
				if tr[0] == blas.Trans {
					lda = m
				}
				if tr[1] == blas.Trans {
					ldb = k
				}
				want, got := append([]float32(nil), c0...), append([]float32(nil), c0...)
				WithKernel(Portable).Sgemm(tr[0], tr[1], m, n, k, 0.75, a, lda, b, ldb, 0.5, want, n)
				WithKernel(kern).Sgemm(tr[0], tr[1], m, n, k, 0.75, a, lda, b, ldb, 0.5, got, n)
				requireSameBits(t, fmt.Sprintf("%s Sgemm %v %v", kern.Name, sz, tr), got, want)
			}
			// Prepacked A, B read in place from runs of a source (adding to
			// C and storing into it).
			a := hostileSlice(r, m*k)
			src := hostileSlice(r, k+n+64)
			offs := make([]int, k)
			for p := range offs {
				offs[p] = r.IntN(64)
			}
			c0 := hostileSlice(r, (m+16)*n)
			for _, set := range []bool{false, true} {
				want, got := append([]float32(nil), c0...), append([]float32(nil), c0...)
				pw := WithKernel(Portable).PackA(m, k, a, k)
				pk := WithKernel(kern).PackA(m, k, a, k)
				if set {
					WithKernel(Portable).GemmIndirectSet(pw, n, src, offs, want, n)
					WithKernel(kern).GemmIndirectSet(pk, n, src, offs, got, n)
				} else {
					WithKernel(Portable).GemmIndirect(pw, n, src, offs, want, n)
					WithKernel(kern).GemmIndirect(pk, n, src, offs, got, n)
				}
				requireSameBits(t, fmt.Sprintf("%s GemmIndirect set=%v %v", kern.Name, set, sz), got[:m*n], want[:m*n])
			}
		}
	}
}

// TestDotNTBitIdentical holds the AVX2 dot products to the Go code's lanes.
func TestDotNTBitIdentical(t *testing.T) {
	if !hasDot3x3 {
		t.Skip("no vector DotNT on this path")
	}
	r := rand.New(rand.NewPCG(23, 24))
	for _, sz := range [][3]int{{1, 1, 8}, {4, 5, 16}, {7, 3, 2048 + 24}} {
		m, n, k := sz[0], sz[1], sz[2]
		m3, n3 := roundUp(m, 3), roundUp(n, 3)
		a, b := hostileSlice(r, m3*k), hostileSlice(r, n3*k)
		c0 := hostileSlice(r, m*n)
		want, got := append([]float32(nil), c0...), append([]float32(nil), c0...)
		DotNT(m, n, k, a, k, b, k, got, n)
		hasDot3x3 = false
		DotNT(m, n, k, a, k, b, k, want, n)
		hasDot3x3 = true
		requireSameBits(t, fmt.Sprintf("DotNT %v", sz), got, want)
	}
}
