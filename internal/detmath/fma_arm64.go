package detmath

// FMA32 is a·b + c rounded once to float32 (fma.go). On arm64 the compiler turns a*b + c on
// float32 into one FMADDS, the single-rounding instruction FMA32 stands
// for; scripts/fma-audit.py checks in the arm64 disassembly that it did
// wherever FMA32 is inlined, and the recipe hashes under qemu-aarch64
// check the bits.
func FMA32(a, b, c float32) float32 { return a*b + c }

// FMA32Fast is FMA32, always ok: see fma_other.go.
func FMA32Fast(a, b, c float32) (float32, bool) { return a*b + c, true }
