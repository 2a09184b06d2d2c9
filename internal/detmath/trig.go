package detmath

import "math"

// Sin and Cos reduce x by π/4 in three parts (Cody and Waite) and evaluate
// Cephes' polynomials for sin and cos on [−π/4, π/4]: the algorithm Go's
// own math.Sin and math.Cos use, so on amd64 (where the compiler fuses
// nothing) they give math's bits; written here with every product rounded,
// they give those bits on arm64 too. Accurate for |x| up to about 2^29,
// far beyond the arguments of a timestep embedding (t·freq ≤ 10^4).

var sinCoef = [...]float64{
	1.58962301576546568060e-10,
	-2.50507477628578072866e-8,
	2.75573136213857245213e-6,
	-1.98412698295895385996e-4,
	8.33333333332211858878e-3,
	-1.66666666666666307295e-1,
}

var cosCoef = [...]float64{
	-1.13585365213876817300e-11,
	2.08757008419747316778e-9,
	-2.75573141792967388112e-7,
	2.48015872888517045348e-5,
	-1.38888888888730564116e-3,
	4.16666666666665929218e-2,
}

// reduce returns z = x − y·π/4 in [−π/4, π/4] and the octant j (0…7) of
// x ≥ 0, with y the multiple of π/4 taken off (even).
func reduce(x float64) (z float64, j uint64) {
	const (
		pi4A = 7.85398125648498535156e-1
		pi4B = 3.77489470793079817668e-8
		pi4C = 2.69515142907905952645e-15
	)
	j = uint64(float64(x * (4 / math.Pi)))
	y := float64(j)
	if j&1 == 1 {
		j++
		y++
	}
	j &= 7
	z = float64(float64(float64(x-float64(y*pi4A))-float64(y*pi4B)) - float64(y*pi4C))
	return z, j
}

func cosPoly(zz float64) float64 {
	p := float64(cosCoef[0] * zz)
	for _, c := range cosCoef[1:5] {
		p = float64(float64(p+c) * zz)
	}
	p = float64(p + cosCoef[5])
	return float64(float64(1.0-float64(0.5*zz)) + float64(float64(zz*zz)*p))
}

// Sin is sin x.
func Sin(x float64) float64 {
	if x == 0 || x != x {
		return x
	}
	if math.IsInf(x, 0) {
		return math.NaN()
	}
	sign := false
	if x < 0 {
		x, sign = -x, true
	}
	z, j := reduce(x)
	if j > 3 {
		sign = !sign
		j -= 4
	}
	zz := float64(z * z)
	var y float64
	if j == 1 || j == 2 {
		y = cosPoly(zz)
	} else {
		y = sinSeries(z, zz)
	}
	if sign {
		y = -y
	}
	return y
}

// Cos is cos x.
func Cos(x float64) float64 {
	if x != x || math.IsInf(x, 0) {
		return math.NaN()
	}
	x = math.Abs(x)
	z, j := reduce(x)
	sign := false
	if j > 3 {
		j -= 4
		sign = !sign
	}
	if j > 1 {
		sign = !sign
	}
	zz := float64(z * z)
	var y float64
	if j == 1 || j == 2 {
		y = sinSeries(z, zz)
	} else {
		y = cosPoly(zz)
	}
	if sign {
		y = -y
	}
	return y
}

// sinSeries is z + z·zz·(((((s0·zz + s1)·zz + s2)·zz + s3)·zz + s4)·zz + s5).
func sinSeries(z, zz float64) float64 {
	p := float64(sinCoef[0] * zz)
	for _, c := range sinCoef[1:5] {
		p = float64(float64(p+c) * zz)
	}
	p = float64(p + sinCoef[5])
	return float64(z + float64(float64(z*zz)*p))
}

// PowInt is x^n for n ≥ 0 by repeated squaring, each product rounded.
func PowInt(x float64, n int) float64 {
	r := 1.0
	for ; n > 0; n >>= 1 {
		if n&1 == 1 {
			r = float64(r * x)
		}
		x = float64(x * x)
	}
	return r
}
