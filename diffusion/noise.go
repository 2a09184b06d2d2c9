package diffusion

import "math"

// # The noise stream
//
// Every Gaussian the samplers use is a pure function of five integers, so any
// step's noise can be regenerated without replaying the chain, a chain can be
// forked at step k under a new seed, and a shader can compute the same values:
//
//	z = Normal(seed, k, j, n, e)
//
//	seed  the user's 64-bit seed
//	k     the step: 0 draws x_T, event i of a sampler's plan uses k = i+1
//	      (k = ClassStep is reserved for DrawClass)
//	j     the draw within that step (RePaint's re-noising draws T/N tensors)
//	n     the sample's index in the run (not in the batch), so a sample is the
//	      same whatever the batch size
//	e     the element's index within one sample, in C·H·W order
//
// The generator is Philox4x32-10 (Salmon et al., SC'11) keyed by
// (seed mod 2³², seed div 2³²) and run on the counter (e div 4, k, j, n). Its
// four 32-bit outputs x0…x3 become uniforms u = (x+1)·2⁻³² ∈ (0, 1], and two
// Box–Muller pairs, r = √(−2 ln u0), θ = 2π·u1 giving (r cos θ, r sin θ), and
// likewise (u2, u3), give four normals; element e takes number e mod 4. The
// arithmetic is float64, rounded to float32 at the end.
//
// So that every platform computes the same bits, ln, sin and cos are this
// file's own polynomials (not the math package, which uses assembly on some
// architectures), every product is rounded explicitly (Go may otherwise fuse
// multiply-adds on arm64, ppc64 and s390x), and √ is IEEE's correctly rounded
// square root.

const (
	philoxM0 = 0xD2511F53
	philoxM1 = 0xCD9E8D57
	philoxW0 = 0x9E3779B9
	philoxW1 = 0xBB67AE85
)

// Philox4x32 is the Philox4x32-10 block function.
func Philox4x32(ctr [4]uint32, key [2]uint32) [4]uint32 {
	for r := 0; r < 10; r++ {
		if r > 0 {
			key[0] += philoxW0
			key[1] += philoxW1
		}
		p0 := uint64(philoxM0) * uint64(ctr[0])
		p1 := uint64(philoxM1) * uint64(ctr[2])
		ctr = [4]uint32{
			uint32(p1>>32) ^ ctr[1] ^ key[0],
			uint32(p1),
			uint32(p0>>32) ^ ctr[3] ^ key[1],
			uint32(p0),
		}
	}
	return ctr
}

func seedKey(seed uint64) [2]uint32 { return [2]uint32{uint32(seed), uint32(seed >> 32)} }

// normalBlock returns the four normals of one Philox block.
func normalBlock(key [2]uint32, block uint32, k, j, n int) [4]float32 {
	x := Philox4x32([4]uint32{block, uint32(k), uint32(j), uint32(n)}, key)
	var z [4]float32
	for p := 0; p < 2; p++ {
		u0 := (float64(x[2*p]) + 1) * (1.0 / 4294967296.0) // exact: a 33-bit integer times 2^-32
		u1 := (float64(x[2*p+1]) + 1) * (1.0 / 4294967296.0)
		r := math.Sqrt(float64(-2 * logUnit(u0)))
		s, c := sincosTurn(u1)
		z[2*p] = float32(float64(r * c))
		z[2*p+1] = float32(float64(r * s))
	}
	return z
}

// Normal is element e of draw j at step k for sample n under seed.
func Normal(seed uint64, k, j, n, e int) float32 {
	return normalBlock(seedKey(seed), uint32(e/4), k, j, n)[e%4]
}

// FillNormal writes elements 0…len(dst)−1 of draw j at step k for sample n.
func FillNormal(dst []float32, seed uint64, k, j, n int) {
	key := seedKey(seed)
	for b := 0; b*4 < len(dst); b++ {
		z := normalBlock(key, uint32(b), k, j, n)
		copy(dst[4*b:], z[:])
	}
}

// ClassStep is the step number of the stream reserved for class labels: no
// plan comes near 2³²−1 events, so no Gaussian is drawn there.
const ClassStep = 1<<32 - 1

// DrawClass is the class label of sample n of a run that lets the seed choose
// each sample's class ("any class"). The samples come in blocks of labels
// consecutive indices, and each block is a random permutation of the labels
// (Fisher–Yates, the j-th uniform taken from output j mod 4 of the Philox
// block at (j div 4, ClassStep, 0, n div labels), as ⌊x·(i+1) / 2³²⌋ with a
// bias below labels/2³²). So each sample's class is uniform, sampling draws
// from Σ_c p(c) p(x|c) — the data's own mixture when its classes are
// balanced — and a picture of labels samples shows every class once, with
// no chance clumping. Like the noise it depends on the sample's index in the
// run, not in the batch.
func DrawClass(seed uint64, n, labels int) int {
	if labels <= 1 || n < 0 {
		return 0
	}
	key := seedKey(seed)
	block, pos := n/labels, n%labels
	// Fisher–Yates from the top, stopping once position pos is settled:
	// positions above it are fixed first, pos is fixed at step i = pos.
	var x [4]uint32
	perm := make([]int, labels)
	for i := range perm {
		perm[i] = i
	}
	for j, i := 0, labels-1; i >= max(pos, 1); j, i = j+1, i-1 {
		if j%4 == 0 {
			x = Philox4x32([4]uint32{uint32(j / 4), ClassStep, 0, uint32(block)}, key)
		}
		r := int(uint64(x[j%4]) * uint64(i+1) >> 32)
		perm[i], perm[r] = perm[r], perm[i]
	}
	return perm[pos]
}

// NoiseSource hands a sampler the Gaussian draws of the step it is taking.
// Draw fills dst, one whole batch, with draw j.
type NoiseSource interface {
	Draw(j int, dst []float32)
}

// StreamNoise is the NoiseSource of step K of a run: sample b of the batch is
// sample FirstSample+b of the stream.
type StreamNoise struct {
	Seed        uint64
	K           int
	FirstSample int
	Shape       Shape
}

// Draw implements NoiseSource.
func (s StreamNoise) Draw(j int, dst []float32) {
	per := s.Shape.SampleLen()
	for b := 0; b < s.Shape.N; b++ {
		FillNormal(dst[b*per:(b+1)*per], s.Seed, s.K, j, s.FirstSample+b)
	}
}

// logUnit is ln u for u in (0, 1], to about 1e-16 relative error, with a
// fixed sequence of rounded float64 operations.
func logUnit(u float64) float64 {
	m, e := math.Frexp(u) // u = m·2^e, m in [½, 1): exact bit manipulation
	if m < math.Sqrt2/2 {
		m = float64(m * 2)
		e--
	}
	// ln m = 2·atanh(s), s = (m−1)/(m+1), |s| ≤ 0.1716.
	s := float64((m - 1) / (m + 1))
	s2 := float64(s * s)
	sum := 1.0 / 19
	for k := 17; k >= 3; k -= 2 {
		sum = float64(float64(sum*s2) + 1/float64(k))
	}
	lnm := float64(2 * float64(s+float64(float64(s*s2)*sum)))
	const ln2hi, ln2lo = 6.93147180369123816490e-01, 1.90821492927058770002e-10
	fe := float64(e)
	return float64(float64(fe*ln2hi) + float64(lnm+float64(fe*ln2lo)))
}

// sincosTurn is (sin 2πu, cos 2πu) for u in [0, 1], to about 1e-16, with
// a fixed sequence of rounded float64 operations.
func sincosTurn(u float64) (sin, cos float64) {
	q := math.Floor(float64(4*u) + 0.5) // the nearest quarter turn
	r := float64(u - float64(q*0.25))   // exact: u and q/4 are multiples of 2^-32
	phi := float64(r * (2 * math.Pi))   // |φ| ≤ π/4
	p2 := float64(phi * phi)
	// Taylor series to φ^17 and φ^18: the first omitted term is below 1e-17.
	sn, cs := 1.0, 1.0
	for k := 17; k >= 3; k -= 2 {
		sn = float64(1 - float64(float64(sn*p2)/float64(k*(k-1))))
	}
	for k := 18; k >= 2; k -= 2 {
		cs = float64(1 - float64(float64(cs*p2)/float64(k*(k-1))))
	}
	sn = float64(sn * phi)
	switch int(q) & 3 {
	case 0:
		return sn, cs
	case 1:
		return cs, -sn
	case 2:
		return -sn, -cs
	}
	return -cs, sn
}
