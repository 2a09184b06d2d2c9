// Package vec holds the CPU backend's vectorised float32 loops: the affine
// map of GroupNorm with an optional fused SiLU, the two reductions of its
// statistics and the two passes of its backward, the gathers that pack
// convolution panels straight from an image (Rows), and the Winograd
// F(2×2,3×3) transforms of inputs, outputs and output gradients. Each has
// a portable Go version that takes the same steps in the same order as the
// assembly (docs/determinism.md): the tests hold the AVX-512 and AVX2
// code to it bit for bit, and DDPM_CPU (package simd) chooses which runs.
package vec

import (
	"math"

	"github.com/ddpmstudio/ddpmstudio/internal/detmath"
)

// AffineSiLU sets dst[i] = SiLU(src[i]·a + b) if withSiLU, else src[i]·a + b,
// with src[i]·a + b one fused multiply-add. Every path computes it with the
// same steps (docs/determinism.md), so the bits do not depend on the CPU.
// Each element's result depends only on its value, never on where it lies
// in the slice: the last partial vector goes through the vector code too
// (padded), so a kernel split across goroutines at any boundary, or a
// GroupNorm fused with its SiLU versus the two run apart, gives the same
// bits.
func AffineSiLU(dst, src []float32, a, b float32, withSiLU bool) {
	n := min(len(dst), len(src))
	width := 0
	switch {
	case useAVX512:
		width = 16
	case useAVX2:
		width = 8
	default:
		affineGo(dst[:n], src[:n], a, b, withSiLU)
		return
	}
	done := n - n%width
	if done > 0 {
		affineVec(&dst[0], &src[0], done, a, b, withSiLU)
	}
	if done < n {
		var in, out [16]float32
		copy(in[:], src[done:n])
		affineVec(&out[0], &in[0], width, a, b, withSiLU)
		copy(dst[done:n], out[:n-done])
	}
}

// affineVec runs the widest vector kernel on n elements, a multiple of its
// width (direct calls, so that the padded tail stays on the stack).
func affineVec(dst, src *float32, n int, a, b float32, withSiLU bool) {
	if useAVX512 {
		affineAVX512(dst, src, n, a, b, withSiLU)
	} else {
		affineAVX2(dst, src, n, a, b, withSiLU)
	}
}

func affineGo(dst, src []float32, a, b float32, withSiLU bool) {
	if !withSiLU {
		for i, v := range src {
			dst[i] = detmath.FMA32(v, a, b)
		}
		return
	}
	for i, v := range src {
		dst[i] = SiLU(detmath.FMA32(v, a, b))
	}
}

// Rows is a list of offsets into a source slice, with their range worked
// out once so that each Gather16 checks its bounds in constant time.
type Rows struct {
	offs   []int
	lo, hi int
}

// NewRows wraps offs (which the caller must not change while using Rows).
func NewRows(offs []int) Rows {
	r := Rows{offs: offs}
	if len(offs) > 0 {
		r.lo, r.hi = offs[0], offs[0]
		for _, o := range offs {
			r.lo, r.hi = min(r.lo, o), max(r.hi, o)
		}
	}
	return r
}

// Gather16 copies 16 values from src at each offset plus j, one after the
// other into dst: dst[16i : 16i+16] = src[offs[i]+j : offs[i]+j+16]. It packs
// a GEMM panel of a convolution's implicit im2col matrix, one tap per row
// (package cpu's gridGemm), where the generic copy of a 64-byte array costs
// a call to memmove per row. It panics, before writing, if any range lies
// outside src or dst is too short.
func (r Rows) Gather16(dst, src []float32, j int) {
	n := len(r.offs)
	if n == 0 {
		return
	}
	if r.lo+j < 0 || r.hi+j+16 > len(src) || len(dst) < 16*n {
		panic("vec: Gather16 out of range")
	}
	if useAVX {
		gather16AVX(&dst[0], &src[j], &r.offs[0], n)
		return
	}
	for i, o := range r.offs {
		copy(dst[16*i:16*i+16], src[o+j:o+j+16])
	}
}

// GatherT16 is Gather16 transposed, for exactly 16 offsets: it copies n
// values from src at each offset plus j, writing value i of row r to
// dst[16i + r] — sixteen runs of the source interleaved into rows of 16.
// It packs a GEMM panel whose 16 columns are image taps and whose rows are
// pixels (package cpu's weight gradients), eight pixels at a time through
// an 8×8 register transpose. It panics, before writing, if any range lies
// outside src or dst is too short.
func (r Rows) GatherT16(dst, src []float32, j, n int) {
	if len(r.offs) != 16 {
		panic("vec: GatherT16 needs 16 rows")
	}
	if n <= 0 {
		return
	}
	if r.lo+j < 0 || r.hi+j+n > len(src) || len(dst) < 16*n {
		panic("vec: GatherT16 out of range")
	}
	done := 0
	if useAVX2 && n >= 8 {
		done = n &^ 7
		gatherT16AVX(&dst[0], &src[j], &r.offs[0], done/8)
	}
	for i := done; i < n; i++ {
		row := dst[16*i : 16*i+16]
		for t, o := range r.offs {
			row[t] = src[o+j+i]
		}
	}
}

// Sum is Σ x[i] in float64, in the canonical order of every path: element
// i of the first n − n%8 goes to lane i%8 (a running float64 sum each),
// the lanes are combined by Reduce8, and the last n%8 elements are added
// to that in turn. The AVX2 code keeps the eight lanes in two vectors of
// four; the AVX-512 path runs the AVX2 code (a sum of this size is bound
// by memory, and sixteen lanes would be another order).
func Sum(x []float32) float64 {
	done := len(x) &^ 7
	var s float64
	switch {
	case done == 0:
	case useAVX2:
		s = sumAVX2(&x[0], done)
	default:
		var l [8]float64
		for i := 0; i < done; i += 8 {
			for j, v := range x[i : i+8] {
				l[j] += float64(v)
			}
		}
		s = Reduce8(&l)
	}
	for _, v := range x[done:] {
		s += float64(v)
	}
	return s
}

// SumSqDev is Σ (x[i] − mean)², in Sum's order, each term d = x[i] − mean
// (in float64) added to its lane as one fused multiply-add d·d + lane.
func SumSqDev(x []float32, mean float32) float64 {
	done := len(x) &^ 7
	var s float64
	m := float64(mean)
	switch {
	case done == 0:
	case useAVX2:
		s = sumSqDevAVX2(&x[0], done, mean)
	default:
		var l [8]float64
		for i := 0; i < done; i += 8 {
			for j, v := range x[i : i+8] {
				d := float64(float64(v) - m)
				l[j] = math.FMA(d, d, l[j])
			}
		}
		s = Reduce8(&l)
	}
	for _, v := range x[done:] {
		d := float64(float64(v) - m)
		s = math.FMA(d, d, s)
	}
	return s
}

// Reduce8 combines eight lanes as the vector code does: the two halves
// added lane by lane, then their halves, then the last pair:
// ((l0+l4) + (l2+l6)) + ((l1+l5) + (l3+l7)).
func Reduce8(l *[8]float64) float64 {
	m0, m1, m2, m3 := l[0]+l[4], l[1]+l[5], l[2]+l[6], l[3]+l[7]
	return (m0 + m2) + (m1 + m3)
}

// Expf is e^x in float32 to about 2 ulp (Cephes' expf scheme): x = n·ln2 + r
// with |r| ≤ ln2/2, a degree-6 polynomial for e^r, and 2^n put into the
// exponent bits. Every step is rounded (the float32 conversions keep arm64's
// compiler from fusing them), so it gives the same bits on every CPU. It
// serves the softmax; SiLU has its own exponential, the vector code's.
func Expf(x float32) float32 {
	if x > 88.37626 {
		return float32(math.Inf(1))
	}
	if x < -103.972 {
		return 0
	}
	if x != x {
		return x
	}
	const (
		log2e = 1.44269504088896341
		ln2hi = 0.693359375
		ln2lo = -2.12194440e-4
	)
	n := float32(math.Floor(float64(float32(x*log2e) + 0.5)))
	r := x - float32(n*ln2hi)
	r -= float32(n * ln2lo)
	p := float32(1.9875691500e-4)
	p = float32(p*r) + 1.3981999507e-3
	p = float32(p*r) + 8.3334519073e-3
	p = float32(p*r) + 4.1665795894e-2
	p = float32(p*r) + 1.6666665459e-1
	p = float32(p*r) + 5.0000001201e-1
	y := float32(float32(p*r)*r) + r + 1
	// Scale by 2^n in two steps so that n down to −150 stays representable.
	ni := int32(n)
	if ni < -126 {
		y *= math.Float32frombits(uint32(ni+126+127) << 23)
		return y * math.Float32frombits(1<<23) // 2^-126
	}
	return y * math.Float32frombits(uint32(ni+127)<<23)
}

// The constants of the vector code's exponential (vec_amd64.s, expc).
var (
	silLog2e = math.Float32frombits(0x3fb8aa3b)
	silLn2hi = math.Float32frombits(0x3f318000)
	silLn2lo = math.Float32frombits(0xb95e8083)
	silC     = [6]float32{
		math.Float32frombits(0x39506967), math.Float32frombits(0x3ab743ce),
		math.Float32frombits(0x3c088908), math.Float32frombits(0x3d2aa9c1),
		math.Float32frombits(0x3e2aaaaa), math.Float32frombits(0x3f000000),
	}
)

// SiLU is x·σ(x) = x / (1 + e^−x), computed with exactly the steps of the
// AVX2 and AVX-512 code: −x clamped to [−87, 88] (so that 2^n stays a
// normal float; e^−x beyond adds nothing to 1), n = round(−x·log2e), r by
// two fused steps, the polynomial by fused multiply-adds, times 2^n.
func SiLU(x float32) float32 {
	v := 0 - x
	if !(v < 88) { // VMINPS: NaN goes to the bound, as there
		v = 88
	}
	if !(v > -87) {
		v = -87
	}
	n := float32(math.RoundToEven(float64(float32(v * silLog2e))))
	r := detmath.FMA32(-n, silLn2hi, v)
	r = detmath.FMA32(-n, silLn2lo, r)
	p := silC[0]
	for _, c := range silC[1:] {
		p = detmath.FMA32(p, r, c)
	}
	p = detmath.FMA32(p, float32(r*r), r) + 1
	e := float32(p * math.Float32frombits(uint32(int32(n)+127)<<23))
	return x / (e + 1)
}

// GroupNormGradSums is the first pass of a GroupNorm backward over one
// channel of one sample, whose inputs x were normalised as x̂ = (x − mu)·r.
// With pre non-nil the GroupNorm was followed by a SiLU, y = SiLU(pre),
// and g is the gradient of y: it writes d[i] = g[i]·SiLU′(pre[i]) (from
// y/pre, as package cpu's SiLUBackward) and sums d. With pre nil, g is
// the GroupNorm's output gradient itself and d is not touched. It returns
// Σ d[i] and Σ d[i]·x̂[i]: dβ and dγ of the channel, and what the input
// gradient's group means are made of. The sums are float64, kept in lanes
// in Sum's order (eight lanes, Reduce8, then the tail) on every path; each
// d[i] is the same bits in either code.
func GroupNormGradSums(d, g, pre, y, x []float32, mu, r float32) (sd, sdx float64) {
	n := len(x)
	silu := pre != nil
	if len(g) < n || silu && (len(d) < n || len(pre) < n || len(y) < n) {
		panic("vec: GroupNormGradSums: short slices")
	}
	done := n &^ 7
	term := func(i int) (v, vx float32) {
		v = g[i]
		if silu {
			v *= SiLUPrime(pre[i], y[i])
			d[i] = v
		}
		xhat := (x[i] - mu) * r
		return v, v * xhat
	}
	switch {
	case done == 0:
	case useAVX2:
		dp, pp, yp := &g[0], &g[0], &g[0]
		if silu {
			dp, pp, yp = &d[0], &pre[0], &y[0]
		}
		sd, sdx = gnSumsAVX2(dp, &g[0], pp, yp, &x[0], done, mu, r, silu)
	default:
		var ld, lx [8]float64
		for i := 0; i < done; i++ {
			v, vx := term(i)
			ld[i&7] += float64(v)
			lx[i&7] += float64(vx)
		}
		sd, sdx = Reduce8(&ld), Reduce8(&lx)
	}
	for i := done; i < n; i++ {
		v, vx := term(i)
		sd += float64(v)
		sdx += float64(vx)
	}
	return sd, sdx
}

// SiLUPrime is SiLU′(x) from x and y = SiLU(x): s + y·(1 − s) for the
// logistic s = y/x (½ at 0), each step rounded to float32 as the vector
// code rounds it.
func SiLUPrime(x, y float32) float32 {
	s := float32(0.5)
	if x != 0 {
		s = y / x
	}
	return s + float32(y*(1-s))
}

// GroupNormGradApply is the second pass of a GroupNorm backward over one
// channel: dst[i] = a·d[i] + (b·x̂[i] + c) with x̂ = (x[i] − mu)·r, added to
// dst[i] if add. Every element gets the same bits in the vector code and
// the Go tail: no step is fused.
func GroupNormGradApply(dst, d, x []float32, mu, r, a, b, c float32, add bool) {
	n := len(x)
	if len(dst) < n || len(d) < n {
		panic("vec: GroupNormGradApply: short slices")
	}
	done := 0
	if useAVX2 && n >= 8 {
		done = n &^ 7
		gnApplyAVX2(&dst[0], &d[0], &x[0], done, mu, r, a, b, c, add)
	}
	for i := done; i < n; i++ {
		xhat := (x[i] - mu) * r
		v := float32(a*d[i]) + (float32(b*xhat) + c)
		if add {
			v += dst[i]
		}
		dst[i] = v
	}
}

// WinogradInput writes the Winograd F(2×2, 3×3) input transform Bᵀ·d·B of
// th rows of tw8 tiles (tw8 a multiple of 8) of one zero-padded plane p
// with rows of wp floats: tile (ty, tx) is the 4×4 patch at rows 2ty…2ty+3
// and columns 2tx…2tx+3, and its value ξ = 4i + j goes to
// v[ξ·stride + ty·tw8 + WinogradLane(tx)]: within each group of eight the
// tiles lie in the order the vector code's in-lane shuffles leave them
// (the products do not care, and WinogradOutput puts them back). p must
// hold 2·th + 2 rows of wp ≥ 2·tw8 + 2.
// With Bᵀ = [1 0 −1 0; 0 1 1 0; 0 −1 1 0; 0 1 0 −1] every step is an exact
// add or subtract; the vector code makes the same steps in the same order
// as the Go code, so both give the same bits.
func WinogradInput(v []float32, stride int, p []float32, wp, th, tw8 int) {
	if th <= 0 || tw8 <= 0 {
		return
	}
	if tw8%8 != 0 || wp < 2*tw8+2 || len(p) < (2*th+1)*wp+2*tw8+2 || stride < th*tw8 || len(v) < 15*stride+th*tw8 {
		panic("vec: WinogradInput: bad sizes")
	}
	if useAVX2 {
		winoInAVX2(&v[0], stride, &p[0], wp, th, tw8/8)
		return
	}
	winoInGo(v, stride, p, wp, th, tw8)
}

func winoInGo(v []float32, stride int, p []float32, wp, th, tw8 int) {
	var e [4][4]float32
	for ty := 0; ty < th; ty++ {
		for tx := 0; tx < tw8; tx++ {
			for i := range 4 {
				d := p[(2*ty+i)*wp+2*tx:][:4]
				e[i] = [4]float32{d[0] - d[2], d[1] + d[2], d[2] - d[1], d[1] - d[3]}
			}
			t := ty*tw8 + WinogradLane(tx)
			for j := range 4 {
				v[(0+j)*stride+t] = e[0][j] - e[2][j]
				v[(4+j)*stride+t] = e[1][j] + e[2][j]
				v[(8+j)*stride+t] = e[2][j] - e[1][j]
				v[(12+j)*stride+t] = e[1][j] - e[3][j]
			}
		}
	}
}

// WinogradOutput writes the Winograd F(2×2, 3×3) output transform
// Aᵀ·m·A + bias of th rows of tw8 tiles (tw8 a multiple of 8): value ξ of
// tile (ty, tx) is m[ξ·stride + ty·tw8 + WinogradLane(tx)], as
// WinogradInput leaves it, and its 2×2 result goes to out
// rows 2ty and 2ty+1 (rows of wo ≥ 2·tw8 floats), columns 2tx and 2tx+1.
// With Aᵀ = [1 1 1 0; 0 1 −1 −1] it is adds and subtracts in a fixed order,
// the same in the vector and the Go code.
func WinogradOutput(out []float32, wo int, m []float32, stride int, th, tw8 int, bias float32) {
	if th <= 0 || tw8 <= 0 {
		return
	}
	if tw8%8 != 0 || wo < 2*tw8 || len(out) < (2*th-1)*wo+2*tw8 || stride < th*tw8 || len(m) < 15*stride+th*tw8 {
		panic("vec: WinogradOutput: bad sizes")
	}
	if useAVX2 {
		winoOutAVX2(&out[0], wo, &m[0], stride, th, tw8/8, bias)
		return
	}
	winoOutGo(out, wo, m, stride, th, tw8, bias)
}

func winoOutGo(out []float32, wo int, m []float32, stride int, th, tw8 int, bias float32) {
	for ty := 0; ty < th; ty++ {
		for tx := 0; tx < tw8; tx++ {
			t := ty*tw8 + WinogradLane(tx)
			var s0, s1 [4]float32
			for j := range 4 {
				m0, m1, m2, m3 := m[j*stride+t], m[(4+j)*stride+t], m[(8+j)*stride+t], m[(12+j)*stride+t]
				s0[j] = m0 + m1 + m2
				s1[j] = m1 - m2 - m3
			}
			r0, r1 := out[2*ty*wo+2*tx:], out[(2*ty+1)*wo+2*tx:]
			r0[0] = s0[0] + s0[1] + s0[2] + bias
			r0[1] = s0[1] - s0[2] - s0[3] + bias
			r1[0] = s1[0] + s1[1] + s1[2] + bias
			r1[1] = s1[1] - s1[2] - s1[3] + bias
		}
	}
}

// WinogradLane is where tile x of a row lies among the transformed tiles:
// each group of eight in the order 0 1 4 5 2 3 6 7 (its own inverse), which
// is what splitting even from odd floats within 128-bit lanes gives.
func WinogradLane(x int) int {
	return x&^7 | [8]int{0, 1, 4, 5, 2, 3, 6, 7}[x&7]
}

// WinogradGrad writes A·y·Aᵀ, the adjoint of the output transform, for th
// rows of tw8 2×2 tiles (tw8 a multiple of 8) of an output gradient plane
// p with rows of wp ≥ 2·tw8 floats: tile (ty, tx) is rows 2ty and 2ty+1,
// columns 2tx and 2tx+1, and its value ξ = 4i + j goes to
// v[ξ·stride + ty·tw8 + WinogradLane(tx)], the order WinogradInput uses.
// Multiplied elementwise with the input's transform and summed over tiles
// it gives the transformed kernel's gradient (Gᵀ·dU·G is the kernel's).
// Adds and subtracts in a fixed order, the same in the vector and the Go
// code.
func WinogradGrad(v []float32, stride int, p []float32, wp, th, tw8 int) {
	if th <= 0 || tw8 <= 0 {
		return
	}
	if tw8%8 != 0 || wp < 2*tw8 || len(p) < (2*th-1)*wp+2*tw8 || stride < th*tw8 || len(v) < 15*stride+th*tw8 {
		panic("vec: WinogradGrad: bad sizes")
	}
	if useAVX2 {
		winoGradAVX2(&v[0], stride, &p[0], wp, th, tw8/8)
		return
	}
	winoGradGo(v, stride, p, wp, th, tw8)
}

func winoGradGo(v []float32, stride int, p []float32, wp, th, tw8 int) {
	for ty := 0; ty < th; ty++ {
		for tx := 0; tx < tw8; tx++ {
			y0, y1 := p[2*ty*wp+2*tx:][:2], p[(2*ty+1)*wp+2*tx:][:2]
			r := [4][2]float32{
				{y0[0], y0[1]},
				{y0[0] + y1[0], y0[1] + y1[1]},
				{y0[0] - y1[0], y0[1] - y1[1]},
				{0 - y1[0], 0 - y1[1]},
			}
			t := ty*tw8 + WinogradLane(tx)
			for i, ri := range r {
				v[(4*i+0)*stride+t] = ri[0]
				v[(4*i+1)*stride+t] = ri[0] + ri[1]
				v[(4*i+2)*stride+t] = ri[0] - ri[1]
				v[(4*i+3)*stride+t] = 0 - ri[1]
			}
		}
	}
}
