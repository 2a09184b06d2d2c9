//go:build !arm64

package detmath

import "math"

// FMA32 is a·b + c rounded once to float32, as an FMA instruction rounds
// it (fma.go says how). Here (amd64's portable path and any architecture
// but arm64) it works in float64.
func FMA32(a, b, c float32) float32 {
	if r, ok := FMA32Fast(a, b, c); ok {
		return r
	}
	return fma32Odd(a, b, c)
}

// FMA32Fast is FMA32 where it is one float64 multiply-add, small enough to
// inline into a kernel's loop; ok is false for the rare sums that need
// FMA32's rounding to odd (call FMA32 then).
func FMA32Fast(a, b, c float32) (r float32, ok bool) {
	// The product is exact (24 + 24 bits), so s is the same whether or not
	// a compiler fuses the two.
	p := float64(a) * float64(b)
	s := p + float64(c)
	// Rounding is monotonic and float32's halfway points are float64s, so
	// s rounds to float32 as the exact sum does unless s is itself such a
	// halfway point (its 29 low bits 1 then 28 zeros) or lies below
	// float32's normal range, where they are elsewhere: most sums end here.
	if bits := math.Float64bits(s); bits&(1<<29-1) != 1<<28 && bits>>52&0x7ff >= 1023-126 {
		return float32(s), true
	}
	return 0, false
}
