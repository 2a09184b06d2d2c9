package detmath

import "math"

// Every product below is written float64(x*y): an explicit conversion
// rounds, so the compiler may not fuse it with the add that follows (the
// Go specification's rule), and the sequence of roundings is the same on
// every architecture.

const (
	ln2Hi  = 6.93147180369123816490e-01
	ln2Lo  = 1.90821492927058770002e-10
	invLn2 = 1.44269504088896338700e+00
)

// Exp is e^x (the classic reduction x = k·ln2 + r and a rational
// approximation of e^r, as fdlibm's), within 2 ulp of math's.
func Exp(x float64) float64 {
	const (
		p1 = 1.66666666666666019037e-01
		p2 = -2.77777777770155933842e-03
		p3 = 6.61375632143793436117e-05
		p4 = -1.65339022054652515390e-06
		p5 = 4.13813679705723846039e-08

		overflow  = 7.09782712893383973096e+02
		underflow = -7.45133219101941108420e+02
		nearZero  = 1.0 / (1 << 28)
	)
	switch {
	case x != x || x > overflow:
		if x != x {
			return x
		}
		return math.Inf(1)
	case x < underflow:
		return 0
	case -nearZero < x && x < nearZero:
		return 1 + x
	}
	var k int
	if x < 0 {
		k = int(float64(float64(invLn2*x) - 0.5))
	} else {
		k = int(float64(float64(invLn2*x) + 0.5))
	}
	hi := float64(x - float64(float64(k)*ln2Hi))
	lo := float64(float64(k) * ln2Lo)
	r := float64(hi - lo)
	t := float64(r * r)
	poly := float64(p4 + float64(t*p5))
	poly = float64(p3 + float64(t*poly))
	poly = float64(p2 + float64(t*poly))
	poly = float64(p1 + float64(t*poly))
	c := float64(r - float64(t*poly))
	y := float64(1 - float64(float64(lo-float64(float64(r*c)/float64(2-c)))-hi))
	return math.Ldexp(y, k) // exact scaling
}

// Log is ln x (x = 2^k·(1+f), ln(1+f) from s = f/(2+f) and a polynomial
// in s², as fdlibm's), within 2 ulp of math's.
func Log(x float64) float64 {
	const (
		l1 = 6.666666666666735130e-01
		l2 = 3.999999999940941908e-01
		l3 = 2.857142874366239149e-01
		l4 = 2.222219843214978396e-01
		l5 = 1.818357216161805012e-01
		l6 = 1.531383769920937332e-01
		l7 = 1.479819860511658591e-01
	)
	switch {
	case x != x || math.IsInf(x, 1):
		return x
	case x < 0:
		return math.NaN()
	case x == 0:
		return math.Inf(-1)
	}
	f1, ki := math.Frexp(x) // exact
	if f1 < math.Sqrt2/2 {
		f1 = float64(f1 * 2) // exact
		ki--
	}
	f := float64(f1 - 1)
	k := float64(ki)
	s := float64(f / float64(2+f))
	s2 := float64(s * s)
	s4 := float64(s2 * s2)
	t1 := float64(s2 * float64(l1+float64(s4*float64(l3+float64(s4*float64(l5+float64(s4*l7)))))))
	t2 := float64(s4 * float64(l2+float64(s4*float64(l4+float64(s4*l6)))))
	r := float64(t1 + t2)
	hfsq := float64(float64(0.5*f) * f)
	inner := float64(float64(s*float64(hfsq+r)) + float64(k*ln2Lo))
	return float64(float64(k*ln2Hi) - float64(float64(hfsq-inner)-f))
}
