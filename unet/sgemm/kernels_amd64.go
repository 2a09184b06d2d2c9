package sgemm

import "github.com/ddpmstudio/ddpmstudio/internal/simd"

// Assembly micro-kernels (kernels_amd64.s). Each adds the MR×NR product of
// packed panels to the tile of C at c with row stride ldc (in elements).
//
//go:noescape
func kernel8x32AVX512(k int, a, b, c *float32, ldc int)

//go:noescape
func kernel6x16AVX2(k int, a, b, c *float32, ldc int)

//go:noescape
func kernel6x16IndAVX2(k int, a, b *float32, offs *int, c *float32, ldc, blocks int, set bool)

var avx512 = Kernel{Name: "avx512", MR: 8, NR: 32, run: func(k int, a, b, c []float32, ldc int) {
	_ = a[8*k-1]
	_ = b[32*k-1]
	_ = c[7*ldc+31]
	kernel8x32AVX512(k, &a[0], &b[0], &c[0], ldc)
}}

var avx2 = Kernel{Name: "avx2", MR: 6, NR: 16, run: func(k int, a, b, c []float32, ldc int) {
	_ = a[6*k-1]
	_ = b[16*k-1]
	_ = c[5*ldc+15]
	kernel6x16AVX2(k, &a[0], &b[0], &c[0], ldc)
}, ind: func(k int, a, b []float32, offs []int, c []float32, ldc, blocks int, set bool) {
	// The caller (GemmIndirect) has checked b[offs[p]+15] for every p.
	_ = a[blocks*6*k-1]
	_ = offs[k-1]
	_ = c[(blocks*6-1)*ldc+15]
	kernel6x16IndAVX2(k, &a[0], &b[0], &offs[0], &c[0], ldc, blocks, set)
}}

// Kernels lists the kernels the chosen path (DDPM_CPU, package simd) may
// run, fastest first; the portable kernel is always last. All of them give
// the same bits (docs/determinism.md).
func Kernels() []Kernel { return kernelsUpTo(simd.Current()) }

// AllKernels lists every kernel this CPU can run, whatever the path: for
// the tests that hold each to the portable one.
func AllKernels() []Kernel {
	paths := simd.Available()
	return kernelsUpTo(paths[len(paths)-1])
}

// kernelsUpTo lists the kernels a path runs, fastest first.
func kernelsUpTo(p simd.Path) []Kernel {
	switch p {
	case simd.AVX512:
		return []Kernel{avx512, avx2, Portable}
	case simd.AVX2:
		return []Kernel{avx2, Portable}
	}
	return []Kernel{Portable}
}

//go:noescape
func dot3x3AVX2(k int, a *float32, lda int, b *float32, ldb int, c *float32, ldc int)

var hasDot3x3 = simd.AtLeast(simd.AVX2)
