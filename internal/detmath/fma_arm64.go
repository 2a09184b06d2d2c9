package detmath

// On arm64 the compiler turns a*b + c on float32 into one FMADDS, the
// single-rounding instruction FMA32 stands for; scripts/fma-audit.py checks
// in the arm64 disassembly that it did, and the recipe hashes under
// qemu-aarch64 check the bits.
const fusedFMA32 = true

func fma32Fused(a, b, c float32) float32 { return a*b + c }
