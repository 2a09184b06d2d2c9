package detmath

import "math"

// FMA32(a, b, c), the canonical multiply-add of every CPU kernel, is a·b + c
// rounded once to float32, as the FMA instructions of
// AVX2, AVX-512 and arm64 compute it.
//
// In float64 the product a·b is exact, but rounding a·b + c to float64 and
// then to float32 rounds twice, and can land one unit away (a tie made by
// the first rounding). So where that can happen the sum is rounded to odd
// instead — to the float64 neighbour whose last bit is 1 whenever the sum
// is inexact — which keeps enough of it for the one rounding to float32 to
// be the right one (53 ≥ 24 + 2 bits; Boldo and Melquiond, 2008).
// It is defined per architecture: fma_arm64.go, fma_other.go.

// fma32Odd is FMA32 rounding every sum to odd (no fast path): the tests'
// reference for FMA32's fast path.
func fma32Odd(a, b, c float32) float32 {
	p := float64(float64(a) * float64(b))
	return roundOdd32(p, float64(c), float64(p+float64(c)))
}

// roundOdd32 is p + z rounded to odd in float64, then to float32, given
// s = p + z rounded to nearest.
func roundOdd32(p, z, s float64) float32 {
	if s == 0 || s-s != 0 { // zero, ±Inf or NaN: s is already the answer
		return float32(s)
	}
	// Knuth's TwoSum: err is exactly (p + z) − s.
	bb := float64(s - p)
	err := float64(float64(p-float64(s-bb)) + float64(z-bb))
	if bits := math.Float64bits(s); err != 0 && bits&1 == 0 {
		// s is even, so the odd neighbour is the one on err's side.
		if (err > 0) == (s > 0) {
			bits++
		} else {
			bits--
		}
		s = math.Float64frombits(bits)
	}
	return float32(s)
}
