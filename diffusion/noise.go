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
		u0 := (float64(x[2*p]) + 1) * (1.0 / 4294967296.0)
		u1 := (float64(x[2*p+1]) + 1) * (1.0 / 4294967296.0)
		r := math.Sqrt(-2 * math.Log(u0))
		s, c := math.Sincos(2 * math.Pi * u1)
		z[2*p] = float32(r * c)
		z[2*p+1] = float32(r * s)
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
