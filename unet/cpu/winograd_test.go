package cpu

import (
	"gonum.org/v1/gonum/blas/gonum"

	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/ddpmstudio/ddpmstudio/unet/backend"
	"github.com/ddpmstudio/ddpmstudio/unet/sgemm"
)

// TestWinogradMatchesDirect compares the Winograd convolution with the
// direct one (gridConv) on shapes with odd sizes and ragged tile rows, for
// the forward (with a bias, overwriting) and the input gradient's
// transposed convolution (flipped kernel, adding onto what is there), on
// every SGEMM kernel; and holds every sample's bits to those it gets alone
// and on any number of cores.
func TestWinogradMatchesDirect(t *testing.T) {
	pad1 := backend.Padding{Top: 1, Left: 1, Bottom: 1, Right: 1}
	shapes := []struct{ n, ci, co, h, w int }{
		{3, 16, 17, 15, 14}, // seven tiles a row, in eight lanes; an odd row of pixels
		{2, 20, 16, 6, 27},  // fourteen tiles a row; an odd column
		{1, 32, 33, 14, 14},
		{2, 17, 16, 28, 28},
		{1, 16, 16, 90, 89}, // 2160 tiles: two bands, the second of three tile rows
		{1, 16, 17, 96, 96}, // two bands whose rows are the output's: transformed in place
	}
	r := rand.New(rand.NewPCG(11, 12))
	for _, k := range sgemm.Kernels() {
		impl := sgemm.WithKernel(k)
		for _, sh := range shapes {
			name := fmt.Sprintf("%s/%+v", k.Name, sh)
			if !winogradFits(3, sh.ci, sh.co, sh.h, sh.w, pad1) {
				t.Fatalf("%s: the shape should run as Winograd", name)
			}
			x := make([]float32, sh.n*sh.ci*sh.h*sh.w)
			w := &Tensor{shape: backend.Shape{sh.co, sh.ci, 3, 3}, Data: make([]float32, sh.co*sh.ci*9)}
			bias := make([]float32, sh.co)
			for i := range x {
				x[i] = float32(r.NormFloat64())
			}
			for i := range w.Data {
				w.Data[i] = float32(r.NormFloat64() * 0.2)
			}
			for i := range bias {
				bias[i] = float32(r.NormFloat64())
			}
			for _, flipped := range []bool{false, true} {
				in, out := sh.ci, sh.co
				if flipped {
					in, out = sh.co, sh.ci
					x = x[:0]
					for range sh.n * in * sh.h * sh.w {
						x = append(x, float32(r.NormFloat64()))
					}
				}
				start := make([]float32, sh.n*out*sh.h*sh.w)
				for i := range start {
					start[i] = float32(r.NormFloat64())
				}
				b := bias // the forward sets dst to bias + the convolution
				if flipped {
					b = nil // the input gradient adds onto dx
				}
				c := NewWithBLAS(impl)
				var pa *sgemm.PackedA
				if flipped {
					pa = c.flippedWeights(w, sh.ci, sh.co, 3, impl)
				} else {
					pa = impl.PackA(sh.co, sh.ci*9, w.Data, sh.ci*9)
				}
				direct := append([]float32(nil), start...)
				c.gridConv(impl, pa, direct, out, x, sh.n, in, sh.h, sh.w, 3, pad1, b)
				var first []float32
				for _, workers := range []int{1, 2, 3} {
					c := NewWithBLAS(impl)
					c.workers = workers
					got := append([]float32(nil), start...)
					c.winogradConv(impl, c.winogradWeights(w, flipped, impl), got, out, x, sh.n, in, sh.h, sh.w, b)
					if first == nil {
						first = got
						worst := 0.0
						for i := range got {
							d := math.Abs(float64(got[i]-direct[i])) / (1 + math.Abs(float64(direct[i])))
							if math.IsNaN(d) || d > worst {
								worst = d
							}
						}
						t.Logf("%s flipped=%v: max relative difference from direct %.3g", name, flipped, worst)
						if !(worst < 2e-5) {
							t.Fatalf("%s flipped=%v: Winograd differs from the direct convolution by %.3g", name, flipped, worst)
						}
					}
					for i := range got {
						if math.Float32bits(got[i]) != math.Float32bits(first[i]) {
							t.Fatalf("%s flipped=%v: value %d differs on %d cores", name, flipped, i, workers)
						}
					}
					// Each sample alone: the same bits as in the batch.
					per := out * sh.h * sh.w
					for smp := 0; smp < sh.n; smp++ {
						one := append([]float32(nil), start[smp*per:(smp+1)*per]...)
						c.winogradConv(impl, c.winogradWeights(w, flipped, impl), one, out, x[smp*in*sh.h*sh.w:(smp+1)*in*sh.h*sh.w], 1, in, sh.h, sh.w, b)
						for i := range one {
							if math.Float32bits(one[i]) != math.Float32bits(first[smp*per+i]) {
								t.Fatalf("%s flipped=%v: sample %d alone differs from the batch at value %d", name, flipped, smp, i)
							}
						}
					}
				}
			}
		}
	}
}

// TestWinogradWeightsFollowUpdates: a changed kernel (a training step) is
// transformed again.
func TestWinogradWeightsFollowUpdates(t *testing.T) {
	impl := sgemm.New()
	c := NewWithBLAS(impl)
	w := &Tensor{shape: backend.Shape{16, 16, 3, 3}, Data: make([]float32, 16*16*9)}
	a := c.winogradWeights(w, false, impl)
	if c.winogradWeights(w, false, impl) != a {
		t.Fatal("an unchanged kernel was transformed again")
	}
	w.Data[0] = 1
	w.Touch()
	if c.winogradWeights(w, false, impl) == a {
		t.Fatal("a changed kernel kept its old transform")
	}
	if c.winogradWeights(w, true, impl) == c.winogradWeights(w, false, impl) {
		t.Fatal("the flipped kernel shares the forward kernel's transform")
	}
}

// TestWinogradBackwardMatchesDirect runs Conv2DBackward on shapes whose
// input gradient takes the Winograd path against the im2col path of
// gonum's BLAS, and holds the gradients to the same bits on one, two and
// three cores.
func TestWinogradBackwardMatchesDirect(t *testing.T) {
	pad1 := backend.Padding{Top: 1, Left: 1, Bottom: 1, Right: 1}
	shapes := []struct{ n, ci, co, h, w int }{
		{5, 16, 17, 15, 14},
		{3, 20, 16, 6, 27},
		{2, 32, 32, 14, 14},
	}
	r := rand.New(rand.NewPCG(15, 16))
	fill := func(n int, scale float64) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(r.NormFloat64() * scale)
		}
		return v
	}
	for _, sh := range shapes {
		name := fmt.Sprintf("%+v", sh)
		if !winogradFits(3, sh.ci, sh.co, sh.h, sh.w, pad1) || !winogradFits(3, sh.co, sh.ci, sh.h, sh.w, pad1) {
			t.Fatalf("%s: the shape should run as Winograd both ways", name)
		}
		x := fill(sh.n*sh.ci*sh.h*sh.w, 1)
		w := fill(sh.co*sh.ci*9, 0.2)
		dy := fill(sh.n*sh.co*sh.h*sh.w, 1)
		dx0, dw0, db0 := fill(len(x), 1), fill(len(w), 1), fill(sh.co, 1) // gradients of other uses
		run := func(b *Backend) (dx, dw, db []float32) {
			dx, dw, db = append([]float32(nil), dx0...), append([]float32(nil), dw0...), append([]float32(nil), db0...)
			ten := func(s backend.Shape, d []float32) *Tensor { return NewTensor(s, d) }
			b.Conv2DBackward(ten(backend.Shape{sh.n, sh.ci, sh.h, sh.w}, dx), ten(backend.Shape{sh.co, sh.ci, 3, 3}, dw), ten(backend.Shape{sh.co, 1, 1, 1}, db),
				ten(backend.Shape{sh.n, sh.co, sh.h, sh.w}, dy), ten(backend.Shape{sh.n, sh.ci, sh.h, sh.w}, x), ten(backend.Shape{sh.co, sh.ci, 3, 3}, w), 1, pad1)
			return dx, dw, db
		}
		rdx, rdw, rdb := run(NewWithBLAS(gonum.Implementation{}))
		var first [3][]float32
		for _, workers := range []int{1, 2, 3} {
			b := New()
			b.workers = workers
			dx, dw, db := run(b)
			if first[0] == nil {
				first = [3][]float32{dx, dw, db}
				for i, pair := range [][2][]float32{{dx, rdx}, {dw, rdw}, {db, rdb}} {
					// Relative to the gradient's RMS: a weight gradient
					// sums thousands of products, and its small entries
					// carry the rounding of its large ones.
					var ss float64
					for _, v := range pair[1] {
						ss += float64(v) * float64(v)
					}
					scale := 1 + math.Sqrt(ss/float64(len(pair[1])))
					worst := 0.0
					for j := range pair[0] {
						d := math.Abs(float64(pair[0][j]-pair[1][j])) / scale
						if math.IsNaN(d) || d > worst {
							worst = d
						}
					}
					t.Logf("%s: %s max difference from im2col, relative to its RMS, %.3g", name, []string{"dx", "dw", "db"}[i], worst)
					if !(worst < 2e-5) {
						t.Fatalf("%s: %s differs from the im2col path by %.3g", name, []string{"dx", "dw", "db"}[i], worst)
					}
				}
				continue
			}
			for i, got := range [][]float32{dx, dw, db} {
				for j := range got {
					if math.Float32bits(got[j]) != math.Float32bits(first[i][j]) {
						t.Fatalf("%s: %s value %d differs on %d cores", name, []string{"dx", "dw", "db"}[i], j, workers)
					}
				}
			}
		}
	}
}
