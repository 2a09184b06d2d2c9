package detmath

import (
	"math"
	"math/big"
	"math/rand/v2"
	"runtime"
	"testing"
)

// exactFMA32 is a·b + c rounded once to float32, by big.Float.
func exactFMA32(a, b, c float32) float32 {
	x := new(big.Float).SetPrec(400).SetFloat64(float64(a))
	x.Mul(x, new(big.Float).SetPrec(400).SetFloat64(float64(b)))
	x.Add(x, new(big.Float).SetPrec(400).SetFloat64(float64(c)))
	f, _ := x.Float32()
	if f == 0 {
		// big.Float has no signed zero from a sum; IEEE gives +0 unless
		// both terms are −0.
		if math.Signbit(float64(a*b)) && math.Signbit(float64(c)) {
			return float32(math.Copysign(0, -1))
		}
		return 0
	}
	return f
}

func TestFMA32(t *testing.T) {
	cases := [][3]float32{
		// Found by search: rounding a·b + c to float64 first lands on a
		// float32 tie and then rounds the wrong way.
		{math.Float32frombits(0x3fed9d78), math.Float32frombits(0x3309e758), math.Float32frombits(0x3fa9fd6d)},
		{3, 5, 7},
		{1e-30, 1e-30, 0},
		{1e30, 1e30, -1e38},
		{float32(math.Inf(1)), 1, 2},
		{0, 1, float32(math.Copysign(0, -1))},
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 200000 {
		f := func() float32 {
			return float32(math.Ldexp(r.Float64()*2-1, r.IntN(60)-30))
		}
		a, b := f(), f()
		c := float32(-float64(a) * float64(b) * (1 + math.Ldexp(r.Float64()-0.5, -r.IntN(40))))
		if r.IntN(2) == 0 {
			c = f()
		}
		cases = append(cases, [3]float32{a, b, c})
	}
	bad := 0
	for _, tc := range cases {
		got, want := FMA32(tc[0], tc[1], tc[2]), exactFMA32(tc[0], tc[1], tc[2])
		if odd := fma32Odd(tc[0], tc[1], tc[2]); math.Float32bits(odd) != math.Float32bits(got) && !(odd != odd && got != got) {
			t.Fatalf("FMA32 and its always-round-to-odd form differ at (%g, %g, %g): %g, %g", tc[0], tc[1], tc[2], got, odd)
		}
		if math.Float32bits(got) != math.Float32bits(want) && !(got != got && want != want) {
			if bad++; bad < 10 {
				t.Errorf("FMA32(%g, %g, %g) = %g (%#x), want %g (%#x)", tc[0], tc[1], tc[2], got, math.Float32bits(got), want, math.Float32bits(want))
			}
		}
	}
	// The naive double-rounded version does fail the first case: the test
	// can tell the two apart.
	tc := cases[0]
	if naive := float32(math.FMA(float64(tc[0]), float64(tc[1]), float64(tc[2]))); naive == exactFMA32(tc[0], tc[1], tc[2]) {
		t.Errorf("the double-rounding case does not double-round (%g)", naive)
	}
}

func ulps(a, b float64) float64 {
	if a == b {
		return 0
	}
	return math.Abs(a-b) / (math.Nextafter(math.Abs(b), math.Inf(1)) - math.Abs(b))
}

func TestFunctions(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for i := range 100000 {
		x := (r.Float64()*2 - 1) * 1000
		if i%3 == 0 {
			x = (r.Float64()*2 - 1) * 4
		}
		// On amd64 the compiler fuses nothing and math.Sin/Cos are the same
		// algorithm in Go: the bits must be equal. Elsewhere, and for Exp and
		// Log (assembly in math on amd64), within 2 ulp of math's.
		for _, f := range []struct {
			name      string
			got, want float64
			exact     bool
		}{
			{"Sin", Sin(x), math.Sin(x), runtime.GOARCH == "amd64"},
			{"Cos", Cos(x), math.Cos(x), runtime.GOARCH == "amd64"},
			{"Exp", Exp(x / 2), math.Exp(x / 2), false},
			{"Log", Log(math.Abs(x) + 1e-300), math.Log(math.Abs(x) + 1e-300), false},
		} {
			if f.exact && f.got != f.want || ulps(f.got, f.want) > 2 {
				t.Fatalf("%s(%v) = %v, math says %v (%.2f ulp)", f.name, x, f.got, f.want, ulps(f.got, f.want))
			}
		}
	}
	for _, tc := range []struct {
		got, want float64
	}{
		{Exp(0), 1}, {Exp(1000), math.Inf(1)}, {Exp(-1000), 0}, {Log(1), 0}, {Log(0), math.Inf(-1)},
		{Sin(0), 0}, {Cos(0), 1}, {PowInt(0.9, 10), math.Pow(0.9, 10)}, {PowInt(2, 0), 1},
	} {
		if ulps(tc.got, tc.want) > 1 {
			t.Errorf("got %v, want %v", tc.got, tc.want)
		}
	}
	if !math.IsNaN(Log(-1)) || !math.IsNaN(Exp(math.NaN())) || !math.IsNaN(Sin(math.Inf(1))) {
		t.Error("NaN cases")
	}
}
