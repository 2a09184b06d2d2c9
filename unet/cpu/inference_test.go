package cpu

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/ddpmstudio/ddpmstudio/unet/backend"
)

// TestForInferenceReleasesAndStaysExact: in inference mode a convolution's
// weights are dropped once packed (Winograd-transformed at 32², packed
// for the 1×1 and the 4² convolution), the results keep their bits call
// after call, and what would need the dropped values is an error, not a
// zero — until new values are uploaded.
func TestForInferenceReleasesAndStaysExact(t *testing.T) {
	pad1 := backend.Padding{Top: 1, Left: 1, Bottom: 1, Right: 1}
	r := rand.New(rand.NewPCG(5, 6))
	randn := func(n int) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(r.NormFloat64())
		}
		return v
	}
	for _, c := range []struct {
		name      string
		k, h      int
		pad       backend.Padding
		otherSize int // a size needing another form of the weights, or 0
	}{
		{"winograd", 3, 32, pad1, 4},
		{"grid", 3, 4, pad1, 32},
		{"1x1", 1, 8, backend.Padding{}, 0},
	} {
		const ci, co = 16, 16
		w, bias := randn(co*ci*c.k*c.k), randn(co)
		x := randn(ci * c.h * c.h)
		run := func(b *Backend, wt, bt backend.Tensor, h int, x []float32) []float32 {
			xt, yt := b.Alloc(backend.Shape{1, ci, h, h}), b.Alloc(backend.Shape{1, co, h, h})
			b.Upload(xt, x)
			b.Conv2D(yt, xt, wt, bt, 1, c.pad)
			y := make([]float32, co*h*h)
			b.Download(y, yt)
			return y
		}
		plain, lean := New(), New()
		lean.ForInference()
		var wts, bts [2]backend.Tensor
		for i, b := range []*Backend{plain, lean} {
			wts[i], bts[i] = b.Alloc(backend.Shape{co, ci, c.k, c.k}), b.Alloc(backend.Shape{co, 1, 1, 1})
			b.Upload(wts[i], w)
			b.Upload(bts[i], bias)
		}
		want := run(plain, wts[0], bts[0], c.h, x)
		for call := range 2 {
			got := run(lean, wts[1], bts[1], c.h, x)
			for i := range want {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
					t.Fatalf("%s, call %d: value %d is %v in inference mode, %v otherwise", c.name, call, i, got[i], want[i])
				}
			}
		}
		if wt := wts[1].(*Tensor); wt.Data != nil || !wt.released {
			t.Fatalf("%s: the weights were kept after packing", c.name)
		}
		if err := lean.Err(); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if c.otherSize > 0 {
			other := New()
			other.ForInference()
			wt, bt := other.Alloc(backend.Shape{co, ci, c.k, c.k}), other.Alloc(backend.Shape{co, 1, 1, 1})
			other.Upload(wt, w)
			other.Upload(bt, bias)
			run(other, wt, bt, c.h, x)
			run(other, wt, bt, c.otherSize, randn(ci*c.otherSize*c.otherSize))
			if !errors.Is(other.Err(), errReleased) {
				t.Errorf("%s: another size after release gave no error (%v)", c.name, other.Err())
			}
		}
		back := make([]float32, len(w))
		lean.Download(back, wts[1])
		if !errors.Is(lean.Err(), errReleased) {
			t.Errorf("%s: reading released weights back gave no error", c.name)
		}
		lean.err = nil
		w2 := randn(len(w))
		lean.Upload(wts[1], w2)
		plain.Upload(wts[0], w2)
		want, got := run(plain, wts[0], bts[0], c.h, x), run(lean, wts[1], bts[1], c.h, x)
		for i := range want {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
				t.Fatalf("%s: after new weights were uploaded value %d differs", c.name, i)
			}
		}
	}
}
