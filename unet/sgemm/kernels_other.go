//go:build !amd64

package sgemm

// Kernels lists the kernels this CPU can run: only the portable one here.
func Kernels() []Kernel { return []Kernel{Portable} }

// AllKernels lists every kernel this CPU can run.
func AllKernels() []Kernel { return Kernels() }

func dot3x3AVX2(k int, a *float32, lda int, b *float32, ldb int, c *float32, ldc int) {
	panic("unreachable")
}

var hasDot3x3 = false
