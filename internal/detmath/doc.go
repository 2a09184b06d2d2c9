// Package detmath is floating-point arithmetic that gives the same bits on
// every CPU: a float32 fused multiply-add that rounds once (as VFMADD and
// FMADDS do) for code with no such instruction, and e^x, ln x, sin x and
// cos x in float64 whose every product is rounded before it is added.
//
// The standard library's versions do not promise that: math.Exp and
// math.Log are assembly on amd64 (using FMA where the CPU has it) and Go
// elsewhere, and on arm64 the compiler fuses x*y+z inside math's own Go
// code. A recipe has to reproduce its picture on any machine
// (docs/determinism.md), so everything that feeds a sample — the timestep
// embedding, the β schedules, the samplers' variances, the trainer's
// learning-rate schedule — uses this package instead.
//
// It imports nothing but the standard library: it is a leaf like math, and
// the packages that may import nothing of ours (diffusion, unet/backend)
// make this one exception.
package detmath
