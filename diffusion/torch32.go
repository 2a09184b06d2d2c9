package diffusion

import (
	"math"

	"github.com/ddpmstudio/ddpmstudio/internal/detmath"
)

// This file reproduces, bit for bit, the float32 arithmetic by which
// diffusers (on PyTorch's CPU kernels) builds its β schedules, so that our β_t
// and ᾱ_t are the very float32 values a diffusers scheduler holds. The
// fixtures were made on an x86-64 CPU where PyTorch dispatches its AVX2
// kernels: vectors of 8 floats, fused multiply-adds where the compiler
// contracted them. Each function says which kernel it follows; the schedule
// golden test compares bits, so a wrong guess here cannot hide.

// torchVecWidth is the number of float32 lanes of PyTorch's AVX2 Vectorized<float>.
const torchVecWidth = 8

// fma32 is a single-rounding float32 a·b + c (float64 holds the exact product
// of two float32s, so rounding the float64 FMA to float32 rounds once).
func fma32(a, b, c float32) float32 {
	return float32(math.FMA(float64(a), float64(b), float64(c)))
}

// linspace32 is torch.linspace(start, end, n, dtype=float32) on the CPU.
// The kernel takes start and end as float32, step = (end − start)/(n − 1) in
// float32, and gives element i as start + step·i below n/2 and
// end − step·(n−1−i) from there on (compiled as one FMA). The vectorised loop
// walks blocks of two vectors; each vector is arange(base, step) — lane k is
// base + k·step, rounded twice — with base computed as above at the vector's
// first index. The elements after the last whole pair of vectors take the
// scalar path.
func linspace32(n int, start, end float64) []float32 {
	out := make([]float32, n)
	s, e := float32(start), float32(end)
	if n == 1 {
		out[0] = s
		return out
	}
	step := (e - s) / float32(n-1)
	half := n / 2
	at := func(i int) float32 {
		if i < half {
			return fma32(step, float32(i), s)
		}
		return fma32(-step, float32(n-1-i), e)
	}
	i := 0
	for ; i+2*torchVecWidth <= n; i += 2 * torchVecWidth {
		for v := i; v < i+2*torchVecWidth; v += torchVecWidth {
			base := at(v)
			for k := 0; k < torchVecWidth; k++ {
				out[v+k] = base + mul(float32(k), step)
			}
		}
	}
	for ; i < n; i++ {
		out[i] = at(i)
	}
	return out
}

// sigmoid32 is torch.sigmoid on a float32 vector: 1/(1 + exp(−x)), with
// SLEEF's expf (the u10 variant PyTorch's vector path calls) on whole pairs of
// vectors and the C library's expf (correctly rounded here) on the rest.
func sigmoid32(x []float32) []float32 {
	out := make([]float32, len(x))
	vecEnd := len(x) - len(x)%(2*torchVecWidth)
	for i, v := range x {
		var e float32
		if i < vecEnd {
			e = sleefExpf(0 - v)
		} else {
			e = float32(detmath.Exp(float64(-v)))
		}
		out[i] = 1 / (1 + e)
	}
	return out
}

// sleefExpf is SLEEF's xexpf (1.0-ULP), as compiled with FMA: Cody–Waite
// reduction by ln 2 in two parts, a degree-6 polynomial evaluated with FMAs,
// and a two-step scaling by 2^q.
func sleefExpf(d float32) float32 {
	const (
		rLn2 = float32(1.442695040888963407359924681001892137426645954152985934135449406931)
		l2u  = float32(0.693145751953125)
		l2l  = float32(1.428606765330187045e-06)
	)
	q := float32(math.RoundToEven(float64(d * rLn2)))
	s := fma32(q, -l2u, d)
	s = fma32(q, -l2l, s)
	u := float32(0.000198527617612853646278381)
	u = fma32(u, s, 0.00139304355252534151077271)
	u = fma32(u, s, 0.00833336077630519866943359)
	u = fma32(u, s, 0.0416664853692054748535156)
	u = fma32(u, s, 0.166666671633720397949219)
	u = fma32(u, s, 0.5)
	u = 1 + fma32(s*s, u, s)
	qi := int32(q)
	m := qi >> 1
	u = u * math.Float32frombits(uint32(m+0x7f)<<23)
	u = u * math.Float32frombits(uint32(qi-m+0x7f)<<23)
	if d < -104 {
		return 0
	}
	if d > 104 {
		return float32(math.Inf(1))
	}
	return u
}
