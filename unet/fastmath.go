package unet

import "math"

// expf is e^x in float32 to about 2 ulp (Cephes' expf scheme): x = n·ln2 + r
// with |r| ≤ ln2/2, a degree-6 polynomial for e^r, and 2^n put into the
// exponent bits. math.Exp in float64 costs several times more, and SiLU
// calls it for every activation.
func expf(x float32) float32 {
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
	n := float32(math.Floor(float64(x*log2e + 0.5)))
	r := x - n*ln2hi
	r -= n * ln2lo
	p := float32(1.9875691500e-4)
	p = p*r + 1.3981999507e-3
	p = p*r + 8.3334519073e-3
	p = p*r + 4.1665795894e-2
	p = p*r + 1.6666665459e-1
	p = p*r + 5.0000001201e-1
	y := p*r*r + r + 1
	// Scale by 2^n in two steps so that n down to −150 stays representable.
	ni := int32(n)
	if ni < -126 {
		y *= math.Float32frombits(uint32(ni+126+127) << 23)
		return y * math.Float32frombits(1<<23) // 2^-126
	}
	return y * math.Float32frombits(uint32(ni+127)<<23)
}

// silu is x·σ(x) = x / (1 + e^−x).
func silu(x float32) float32 { return x / (1 + expf(-x)) }
