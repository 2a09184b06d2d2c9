//go:build !arm64

package detmath

// Elsewhere (amd64's portable path, and any other architecture) FMA32
// rounds to odd in float64: Go fuses nothing there.
const fusedFMA32 = false

func fma32Fused(a, b, c float32) float32 { return fma32Odd(a, b, c) }
