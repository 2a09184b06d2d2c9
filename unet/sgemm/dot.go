package sgemm

// DotNT adds A·Bᵀ to C (m×n, leading dimension ldc) for A (m×k) and B
// (n×k) both row-major with k contiguous: every entry of C is a dot
// product of two rows. It suits products whose operands come out of a
// transform with the contraction index innermost (the Winograd weight
// gradient: transformed output gradients times transformed inputs, summed
// over tiles), which the packed kernels would first have to transpose.
// With AVX2 it runs a 3×3 block of dot products at a time, eight lanes
// each, over blocks of k; rows of A and B are read up to m and n rounded up
// to 3 (their results dropped), so the caller gives them that many rows,
// and k must be a multiple of 8. Without AVX2 it is a plain loop. Each
// entry sums the same products in the same order whatever m and n are.
func DotNT(m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	if m == 0 || n == 0 || k == 0 {
		return
	}
	m3, n3 := roundUp(m, 3), roundUp(n, 3)
	if k%8 != 0 || lda < k || ldb < k || ldc < n || len(a) < (m3-1)*lda+k || len(b) < (n3-1)*ldb+k || len(c) < (m-1)*ldc+n {
		panic("sgemm: DotNT: bad sizes")
	}
	if !hasDot3x3 {
		for i := 0; i < m; i++ {
			for j := 0; j < n; j++ {
				var s float32
				for p, v := range a[i*lda : i*lda+k] {
					s += v * b[j*ldb+p]
				}
				c[i*ldc+j] += s
			}
		}
		return
	}
	// Blocks of k keep three rows of A in L1 while every row of B passes.
	const kb = 1024
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

// DotNTVector reports whether DotNT runs vector code on this CPU (else it
// is a scalar loop, slower than a packed product of the same shape).
func DotNTVector() bool { return hasDot3x3 }
