package sgemm

import "github.com/ddpmstudio/ddpmstudio/internal/detmath"

// DotNT adds A·Bᵀ to C (m×n, leading dimension ldc) for A (m×k) and B
// (n×k) both row-major with k contiguous: every entry of C is a dot
// product of two rows. It suits products whose operands come out of a
// transform with the contraction index innermost (the Winograd weight
// gradient: transformed output gradients times transformed inputs, summed
// over tiles), which the packed kernels would first have to transpose.
// With AVX2 it runs a 3×3 block of dot products at a time, eight lanes
// each, over blocks of k; rows of A and B are read up to m and n rounded up
// to 3 (their results dropped), so the caller gives them that many rows,
// and k must be a multiple of 8. Without AVX2 the Go code takes the same
// steps: the canonical order (docs/determinism.md) is, per block of 1024
// k, eight lanes (lane p%8 takes product p by a fused multiply-add), their
// sum ((l0+l4)+(l1+l5)) + ((l2+l6)+(l3+l7)), plus zero, added to C. Each
// entry sums the same products in the same order whatever m and n are.
func DotNT(m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	if m == 0 || n == 0 || k == 0 {
		return
	}
	m3, n3 := roundUp(m, 3), roundUp(n, 3)
	if k%8 != 0 || lda < k || ldb < k || ldc < n || len(a) < (m3-1)*lda+k || len(b) < (n3-1)*ldb+k || len(c) < (m-1)*ldc+n {
		panic("sgemm: DotNT: bad sizes")
	}
	// Blocks of k keep three rows of A in L1 while every row of B passes.
	const kb = 1024
	if !hasDot3x3 {
		for p0 := 0; p0 < k; p0 += kb {
			kcur := min(kb, k-p0)
			for i := 0; i < m; i++ {
				for j := 0; j < n; j++ {
					c[i*ldc+j] += dot8(a[i*lda+p0:i*lda+p0+kcur], b[j*ldb+p0:j*ldb+p0+kcur])
				}
			}
		}
		return
	}
	var tile [9]float32
	for p0 := 0; p0 < k; p0 += kb {
		kcur := min(kb, k-p0)
		for i := 0; i < m; i += 3 {
			for j := 0; j < n; j += 3 {
				tile = [9]float32{}
				dot3x3AVX2(kcur, &a[i*lda+p0], lda, &b[j*ldb+p0], ldb, &tile[0], 3)
				for r := range min(3, m-i) {
					for s := range min(3, n-j) {
						c[(i+r)*ldc+j+s] += tile[r*3+s]
					}
				}
			}
		}
	}
}

// dot8 is Σ a[p]·b[p] as dot3x3AVX2 sums it: eight lanes of fused
// multiply-adds, then its horizontal sum (HSUM), plus zero.
func dot8(a, b []float32) float32 {
	var l [8]float32
	for p := 0; p < len(a); p += 8 {
		for q := range 8 {
			r, ok := detmath.FMA32Fast(a[p+q], b[p+q], l[q])
			if !ok {
				r = detmath.FMA32(a[p+q], b[p+q], l[q])
			}
			l[q] = r
		}
	}
	m0, m1, m2, m3 := l[0]+l[4], l[1]+l[5], l[2]+l[6], l[3]+l[7]
	var zero float32
	return ((m0 + m1) + (m2 + m3)) + zero
}
