package vec

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/ddpmstudio/ddpmstudio/internal/simd"
)

// paths are the code paths this CPU can run, each as the switches the
// package's functions read.
func paths() []simd.Path { return simd.Available() }

// withPath runs f with the package switched to path p (tests here run one
// at a time, so nothing else reads the switches meanwhile).
func withPath(p simd.Path, f func()) {
	s512, s2, s1 := useAVX512, useAVX2, useAVX
	defer func() { useAVX512, useAVX2, useAVX = s512, s2, s1 }()
	useAVX512 = p == simd.AVX512
	useAVX2 = p == simd.AVX2 || p == simd.AVX512
	useAVX = useAVX2
	f()
}

// hostile are values a kernel must treat the same on every path.
var hostile = []float32{0, float32(math.Copysign(0, -1)), 1e-40, -1e-40, 1e30, -1e30, 88, -88, 87.5, -87.5, 103, -104,
	float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()), math.MaxFloat32, -math.MaxFloat32}

func randSlice(r *rand.Rand, n int, scale float64) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(r.NormFloat64() * scale)
		if r.IntN(50) == 0 {
			x[i] = hostile[r.IntN(len(hostile))]
		}
	}
	return x
}

func sameBits(t *testing.T, what string, got, want []float32) {
	t.Helper()
	for i := range want {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			t.Fatalf("%s: element %d is %v (%#x), generic code gives %v (%#x)", what, i, got[i], math.Float32bits(got[i]), want[i], math.Float32bits(want[i]))
		}
	}
}

func sameF64(t *testing.T, what string, got, want float64) {
	t.Helper()
	if math.Float64bits(got) != math.Float64bits(want) && !(got != got && want != want) {
		t.Fatalf("%s: %v (%#x), generic code gives %v (%#x)", what, got, math.Float64bits(got), want, math.Float64bits(want))
	}
}

// TestPathsBitIdentical holds every vector path to the portable code bit
// for bit (not within a tolerance): the promise of docs/determinism.md.
func TestPathsBitIdentical(t *testing.T) {
	sizes := []int{1, 7, 8, 9, 15, 16, 17, 31, 33, 100, 1023, 4099}
	for _, p := range paths() {
		if p == simd.Generic {
			continue
		}
		t.Run(string(p), func(t *testing.T) {
			r := rand.New(rand.NewPCG(11, 12))
			for _, n := range sizes {
				for _, scale := range []float64{1, 40} {
					src := randSlice(r, n, scale)
					a, b := float32(r.NormFloat64()), float32(r.NormFloat64())
					for _, silu := range []bool{false, true} {
						want, got := make([]float32, n), make([]float32, n)
						withPath(simd.Generic, func() { AffineSiLU(want, src, a, b, silu) })
						withPath(p, func() { AffineSiLU(got, src, a, b, silu) })
						sameBits(t, fmt.Sprintf("AffineSiLU n=%d silu=%v", n, silu), got, want)
					}
					mean := float32(r.NormFloat64())
					var ws, gs, wq, gq float64
					withPath(simd.Generic, func() { ws, wq = Sum(src), SumSqDev(src, mean) })
					withPath(p, func() { gs, gq = Sum(src), SumSqDev(src, mean) })
					sameF64(t, fmt.Sprintf("Sum n=%d", n), gs, ws)
					sameF64(t, fmt.Sprintf("SumSqDev n=%d", n), gq, wq)

					g, pre, x, dst := randSlice(r, n, 1), randSlice(r, n, 3), randSlice(r, n, 2), randSlice(r, n, 1)
					y := make([]float32, n)
					for i := range y {
						y[i] = SiLU(pre[i])
					}
					for _, withPre := range []bool{false, true} {
						var pr []float32
						if withPre {
							pr = pre
						}
						wd, gd := make([]float32, n), make([]float32, n)
						var w1, w2, g1, g2 float64
						withPath(simd.Generic, func() { w1, w2 = GroupNormGradSums(wd, g, pr, y, x, 0.3, 1.7) })
						withPath(p, func() { g1, g2 = GroupNormGradSums(gd, g, pr, y, x, 0.3, 1.7) })
						sameF64(t, fmt.Sprintf("GroupNormGradSums n=%d Σd", n), g1, w1)
						sameF64(t, fmt.Sprintf("GroupNormGradSums n=%d Σdx̂", n), g2, w2)
						sameBits(t, fmt.Sprintf("GroupNormGradSums n=%d d", n), gd, wd)
					}
					for _, add := range []bool{false, true} {
						wo, gob := append([]float32(nil), dst...), append([]float32(nil), dst...)
						withPath(simd.Generic, func() { GroupNormGradApply(wo, g, x, 0.3, 1.7, 0.8, -0.3, 0.05, add) })
						withPath(p, func() { GroupNormGradApply(gob, g, x, 0.3, 1.7, 0.8, -0.3, 0.05, add) })
						sameBits(t, fmt.Sprintf("GroupNormGradApply n=%d add=%v", n, add), gob, wo)
					}
				}
			}
			// Every float32 exponent and sign through SiLU, with the
			// mantissas that round differently.
			var src []float32
			for e := uint32(0); e < 256; e++ {
				for _, m := range []uint32{0, 1, 0x400000, 0x7fffff, 0x123457} {
					src = append(src, math.Float32frombits(e<<23|m), math.Float32frombits(1<<31|e<<23|m))
				}
			}
			want, got := make([]float32, len(src)), make([]float32, len(src))
			withPath(simd.Generic, func() { AffineSiLU(want, src, 1, 0, true) })
			withPath(p, func() { AffineSiLU(got, src, 1, 0, true) })
			sameBits(t, "SiLU over every exponent", got, want)
		})
	}
}

// TestPathsWinograd: the transforms are adds in a fixed order on every
// path; WinogradGrad too.
func TestPathsWinograd(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	for _, p := range paths() {
		for _, sz := range [][2]int{{1, 8}, {3, 16}, {5, 24}} {
			th, tw8 := sz[0], sz[1]
			wp := 2*tw8 + 3
			plane := randSlice(r, (2*th+2)*wp, 2)
			stride := th*tw8 + 3
			run := func(path simd.Path) (v, out, gr []float32) {
				v, out, gr = make([]float32, 16*stride), make([]float32, 2*th*wp), make([]float32, 16*stride)
				withPath(path, func() {
					WinogradInput(v, stride, plane, wp, th, tw8)
					WinogradOutput(out, wp, v, stride, th, tw8, 0.5)
					WinogradGrad(gr, stride, plane, wp, th, tw8)
				})
				return
			}
			v0, o0, g0 := run(simd.Generic)
			v1, o1, g1 := run(p)
			sameBits(t, fmt.Sprintf("%s WinogradInput %v", p, sz), v1, v0)
			sameBits(t, fmt.Sprintf("%s WinogradOutput %v", p, sz), o1, o0)
			sameBits(t, fmt.Sprintf("%s WinogradGrad %v", p, sz), g1, g0)
		}
	}
}
