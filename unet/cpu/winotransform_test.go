package cpu

import (
	"math"
	"math/rand/v2"
	"testing"
)

// winoTransformLoops is the kernel transform as first written, three
// nested loops per product: the definition of the float64 operations'
// order that winoTransform keeps bit for bit.
func winoTransformLoops(u []float32, w *Tensor, g *[4][3]float64, rows, cols, ci int, flipped bool) {
	for r := 0; r < rows; r++ {
		for cc := 0; cc < cols; cc++ {
			o, i := r, cc
			if flipped {
				o, i = cc, r
			}
			k := w.Data[(o*ci+i)*9 : (o*ci+i+1)*9]
			var gk [4][3]float64
			for a := range 4 {
				for x := range 3 {
					for y := range 3 {
						ky, kx := y, x
						if flipped {
							ky, kx = 2-y, 2-x
						}
						gk[a][x] += float64(g[a][y] * float64(k[ky*3+kx]))
					}
				}
			}
			for a := range 4 {
				for b := range 4 {
					var v float64
					for x := range 3 {
						v += float64(gk[a][x] * g[b][x])
					}
					u[(4*a+b)*rows*cols+r*cols+cc] = float32(v)
				}
			}
		}
	}
}

// TestWinoTransformKeepsItsBits: the unrolled transform gives the loops'
// bits, signed zeros, subnormals and values near the float32 limits
// included, flipped or not.
func TestWinoTransformKeepsItsBits(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	const co, ci = 13, 11
	w := &Tensor{Data: make([]float32, co*ci*9)}
	special := []float32{0, float32(math.Copysign(0, -1)), 1e-45, -1e-45, 3.4e38, -3.4e38, 1.17e-38}
	for i := range w.Data {
		if i%4 == 0 {
			w.Data[i] = special[r.IntN(len(special))]
		} else {
			w.Data[i] = float32(r.NormFloat64() * math.Pow(10, float64(r.IntN(20)-10)))
		}
	}
	// Kernels whose sums round differently in another order: 1 + 10²⁰ −
	// 10²⁰ is 0 taken from the left and 1 from the right.
	for n := range 3 {
		k := w.Data[n*9 : (n+1)*9]
		for x := range 3 {
			k[x], k[3+x], k[6+x] = 1, 1e20, -1e20
			if n == 1 {
				k[x], k[6+x] = -1e20, 1
			}
		}
		if n == 2 {
			k[0], k[1], k[2] = 1e20, 1, -1e20 // across a row: the second sum
		}
	}
	for _, flipped := range []bool{false, true} {
		rows, cols := co, ci
		if flipped {
			rows, cols = ci, co
		}
		want, got := make([]float32, 16*rows*cols), make([]float32, 16*rows*cols)
		winoTransformLoops(want, w, &winoG, rows, cols, ci, flipped)
		winoTransform(got, w, &winoG, 0, rows, rows, cols, ci, flipped)
		for i := range want {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
				t.Fatalf("flipped=%v: value %d is %v, the loops give %v", flipped, i, got[i], want[i])
			}
		}
	}
}

// BenchmarkWinoTransform: a 512-channel kernel, the loops against the
// unrolled transform, side by side.
func BenchmarkWinoTransform(b *testing.B) {
	const co, ci = 512, 512
	w := &Tensor{Data: make([]float32, co*ci*9)}
	for i := range w.Data {
		w.Data[i] = float32(i%13) - 6
	}
	u := make([]float32, 16*co*ci)
	winoTransform(u, w, &winoG, 0, co, co, ci, ci, false) // fault u in
	for range 2 {
		b.Run("loops", func(b *testing.B) {
			for range b.N {
				winoTransformLoops(u, w, &winoG, co, ci, ci, false)
			}
		})
		b.Run("unrolled", func(b *testing.B) {
			for range b.N {
				winoTransform(u, w, &winoG, 0, co, co, ci, ci, false)
			}
		})
	}
}
