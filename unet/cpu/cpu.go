package cpu

import (
	"math"
	"runtime"
	"sync"

	"gonum.org/v1/gonum/blas"

	"github.com/ddpmstudio/ddpmstudio/internal/hugemem"
	"github.com/ddpmstudio/ddpmstudio/internal/par"
	"github.com/ddpmstudio/ddpmstudio/unet/backend"
	"github.com/ddpmstudio/ddpmstudio/unet/sgemm"
	"github.com/ddpmstudio/ddpmstudio/unet/vec"
)

// Tensor is a tensor of the CPU backend: a plain float32 slice.
type Tensor struct {
	shape backend.Shape
	Data  []float32
	// version counts uploads, so caches derived from the contents (packed
	// convolution weights) know when they are stale. Code that writes Data
	// directly must call Touch.
	version uint64
	// fresh marks memory that holds garbage (see Fresh).
	fresh bool
	// released: the values live only in their packed or transformed
	// form (Backend.ForInference); Data is nil.
	released bool
}

// Touch marks the tensor's contents as changed.
func (t *Tensor) Touch() { t.version++ }

// Shape implements backend.Tensor.
func (t *Tensor) Shape() backend.Shape { return t.shape }

// NewTensor wraps data (which must hold s.Len() values) as a CPU tensor.
func NewTensor(s backend.Shape, data []float32) *Tensor { return &Tensor{shape: s, Data: data} }

// Fresh wraps data, whose contents are garbage, as an input gradient for a
// backward kernel that overwrites it instead of adding to it. Only the
// kernels whose comment says "a Fresh dx is overwritten" accept one; any
// other kernel would add to the garbage. It spares zeroing a buffer that
// is about to be written whole: in a training step that zeroing was a
// seventh of the time.
func Fresh(s backend.Shape, data []float32) *Tensor {
	return &Tensor{shape: s, Data: data, fresh: true}
}

// isFresh says whether t came from Fresh.
func isFresh(t backend.Tensor) bool { return t.(*Tensor).fresh }

// Backend is the CPU backend. With package sgemm's packed AVX-512/AVX2
// products (the default) a stride-1 convolution runs on the padded input's
// grid (gridConv) and a strided one packs its panels from the image
// (convPacker); with any other blas.Float32 (gonum's own, say) convolutions
// are im2col + Sgemm. The other kernels are vector loops split across cores
// by package par. Scratch buffers (padded inputs, grids, im2col, attention
// scores) grow only when a larger layer appears, so a steady-state forward
// pass does not grow memory.
type Backend struct {
	workers int
	mu      sync.Mutex // guards scratch and packed: kernels may be called from one goroutine at a time
	scratch []float32
	blas    blas.Float32
	packed  map[*Tensor]packedWeights
	// Training's scratch: im2col and its gradient, and the flipped kernels
	// of the transposed convolutions, guarded by mu too.
	trainCol  []float32
	dyPacked  [gradSlots]sgemm.PackedA   // each weight-gradient slot's packed dY
	winoGrads [gradSlots]winoGradScratch // or its Winograd buffers
	flipped   map[*Tensor]packedWeights
	// Each core's padded input and grid-shaped output for gridConv, and
	// its buffers and the transformed kernels for winogradConv, guarded by
	// mu.
	grids []gridScratch
	winos []winoScratch
	wino  map[winoKey]*winoWeights
	winoU []float32 // a kernel's unpacked U on its way to being packed
	// inference: weights are released once packed or transformed
	// (ForInference); err is the sticky error of a use that needed them.
	inference bool
	err       error
}

type packedWeights struct {
	version uint64
	a       *sgemm.PackedA
}

// New returns a CPU backend using GOMAXPROCS cores and the fastest
// SGEMM kernel this processor supports.
func New() *Backend { return NewWithBLAS(sgemm.New()) }

// NewWithBLAS returns a CPU backend whose products go through impl: an
// sgemm.Implementation with a chosen kernel, gonum's native BLAS, or any
// other blas.Float32 (OpenBLAS through gonum's netlib bindings, say).
func NewWithBLAS(impl blas.Float32) *Backend {
	return &Backend{workers: runtime.GOMAXPROCS(0), blas: impl}
}

// Name implements Backend.
func (c *Backend) Name() string { return "cpu" }

func data(t backend.Tensor) []float32 { return t.(*Tensor).Data }

// Alloc implements Backend.
func (c *Backend) Alloc(s backend.Shape) backend.Tensor {
	return &Tensor{shape: s, Data: hugemem.Floats(s.Len())}
}

// Adopt implements backend.Adopter: v becomes the tensor's storage.
func (c *Backend) Adopt(s backend.Shape, v []float32) backend.Tensor {
	return &Tensor{shape: s, Data: v[:s.Len():s.Len()]}
}

// Upload implements Backend.
func (c *Backend) Upload(dst backend.Tensor, src []float32) {
	t := dst.(*Tensor)
	if t.released { // new values: the tensor holds them again
		t.Data, t.released = make([]float32, t.shape.Len()), false
	}
	copy(t.Data, src)
	t.version++
}

// Download implements Backend.
func (c *Backend) Download(dst []float32, src backend.Tensor) {
	if t, ok := src.(*Tensor); ok && t.released {
		clear(dst)
		c.fail(errReleased)
		return
	}
	copy(dst, data(src))
}

// Free implements Backend: the garbage collector reclaims the memory.
// Its packed and transformed forms go with it.
func (c *Backend) Free(t backend.Tensor) {
	if ct, ok := t.(*Tensor); ok {
		ct.Data = nil
		c.mu.Lock()
		delete(c.packed, ct)
		delete(c.flipped, ct)
		delete(c.wino, winoKey{ct, false})
		delete(c.wino, winoKey{ct, true})
		c.mu.Unlock()
	}
}

// Close implements Backend.
func (c *Backend) Close() error { return nil }

// Err implements Backend: the CPU kernels cannot fail.
// The kernels cannot fail; reading back weights released for inference
// can (ForInference).
func (c *Backend) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// Caps implements Backend.
func (c *Backend) Caps() backend.Caps { return backend.Caps{} }

func (c *Backend) scratchBuf(n int) []float32 {
	if cap(c.scratch) < n {
		c.scratch = make([]float32, n)
	}
	return c.scratch[:n]
}

// parallel splits [0, n) into contiguous chunks, one per worker, and
// waits; the chunks run on package par's persistent helpers.
func (c *Backend) parallel(n int, f func(lo, hi int)) {
	w := min(c.workers, n)
	if w <= 1 {
		f(0, n)
		return
	}
	chunk := (n + w - 1) / w
	par.For((n+chunk-1)/chunk, w, func(i int) { f(i*chunk, min((i+1)*chunk, n)) })
}

// Linear implements Backend.
func (c *Backend) Linear(dst, x, w, bias backend.Tensor) {
	n, in := x.Shape()[0], x.Shape()[1]
	out := w.Shape()[0]
	dd, bd := data(dst), data(bias)
	for s := 0; s < n; s++ {
		copy(dd[s*out:(s+1)*out], bd)
	}
	c.blas.Sgemm(blas.NoTrans, blas.Trans, n, out, in, 1, data(x), in, data(w), in, 1, dd, out)
}

// GroupNorm implements Backend. Statistics accumulate in float64: the
// reference runs the whole network in float64.
func (c *Backend) GroupNorm(dst, x, gamma, beta backend.Tensor, groups int, eps float32, withSiLU bool) {
	c.groupNorm(dst, x, gamma, beta, groups, eps, withSiLU, nil, nil)
}

// GroupNormStats is GroupNorm without SiLU that also writes each (sample,
// group)'s mean and 1/σ to mean and rstd (N·groups values each): what
// GroupNormBackward needs, emitted by the forward kernel itself (as llm.c's
// layernorm does) so that training runs the same arithmetic as sampling.
func (c *Backend) GroupNormStats(dst, x, gamma, beta backend.Tensor, groups int, eps float32, mean, rstd []float32) {
	c.groupNorm(dst, x, gamma, beta, groups, eps, false, mean, rstd)
}

func (c *Backend) groupNorm(dst, x, gamma, beta backend.Tensor, groups int, eps float32, withSiLU bool, means, rstds []float32) {
	s := x.Shape()
	n, ch, hw := s[0], s[1], s[2]*s[3]
	cg := ch / groups
	xd, dd, gd, bd := data(x), data(dst), data(gamma), data(beta)
	c.parallel(n*groups, func(lo, hi int) {
		for ng := lo; ng < hi; ng++ {
			smp, g := ng/groups, ng%groups
			base := (smp*ch + g*cg) * hw
			seg := xd[base : base+cg*hw]
			mean := vec.Sum(seg) / float64(len(seg))
			variance := vec.SumSqDev(seg, float32(mean)) / float64(len(seg))
			inv := 1 / math.Sqrt(variance+float64(eps))
			if means != nil {
				means[ng], rstds[ng] = float32(mean), float32(inv)
			}
			for cc := 0; cc < cg; cc++ {
				chn := g*cg + cc
				a := float32(inv) * gd[chn]
				b := bd[chn] - float32(float32(mean)*a)
				vec.AffineSiLU(dd[base+cc*hw:base+(cc+1)*hw], seg[cc*hw:(cc+1)*hw], a, b, withSiLU)
			}
		}
	})
}

// SiLU implements Backend.
func (c *Backend) SiLU(dst, x backend.Tensor) {
	xd, dd := data(x), data(dst)
	c.parallel(len(xd), func(lo, hi int) {
		vec.AffineSiLU(dd[lo:hi], xd[lo:hi], 1, 0, true)
	})
}

// AddChannels implements Backend.
func (c *Backend) AddChannels(dst, x, v backend.Tensor) {
	s := x.Shape()
	hw := s[2] * s[3]
	xd, dd, vd := data(x), data(dst), data(v)
	c.parallel(s[0]*s[1], func(lo, hi int) {
		for nc := lo; nc < hi; nc++ {
			b := vd[nc]
			for i := nc * hw; i < (nc+1)*hw; i++ {
				dd[i] = xd[i] + b
			}
		}
	})
}

// ScaleShift implements Backend.
func (c *Backend) ScaleShift(dst, x, v backend.Tensor) {
	s := x.Shape()
	ch, hw := s[1], s[2]*s[3]
	xd, dd, vd := data(x), data(dst), data(v)
	c.parallel(s[0]*ch, func(lo, hi int) {
		for nc := lo; nc < hi; nc++ {
			smp, cc := nc/ch, nc%ch
			scale, shift := 1+vd[smp*2*ch+cc], vd[smp*2*ch+ch+cc]
			for i := nc * hw; i < (nc+1)*hw; i++ {
				dd[i] = float32(xd[i]*scale) + shift
			}
		}
	})
}

// AddDiv implements Backend.
func (c *Backend) AddDiv(dst, a, b backend.Tensor, div float32) {
	ad, bd, dd := data(a), data(b), data(dst)
	c.parallel(len(dd), func(lo, hi int) {
		if div == 1 {
			for i := lo; i < hi; i++ {
				dd[i] = ad[i] + bd[i]
			}
			return
		}
		for i := lo; i < hi; i++ {
			dd[i] = (ad[i] + bd[i]) / div
		}
	})
}

// Concat implements Backend.
func (c *Backend) Concat(dst, a, b backend.Tensor) {
	as, bs := a.Shape(), b.Shape()
	la, lb := as[1]*as[2]*as[3], bs[1]*bs[2]*bs[3]
	ad, bd, dd := data(a), data(b), data(dst)
	for s := 0; s < as[0]; s++ {
		copy(dd[s*(la+lb):], ad[s*la:(s+1)*la])
		copy(dd[s*(la+lb)+la:], bd[s*lb:(s+1)*lb])
	}
}

// Upsample2x implements Backend.
func (c *Backend) Upsample2x(dst, x backend.Tensor) {
	s := x.Shape()
	h, w := s[2], s[3]
	xd, dd := data(x), data(dst)
	c.parallel(s[0]*s[1], func(lo, hi int) {
		for nc := lo; nc < hi; nc++ {
			in := xd[nc*h*w : (nc+1)*h*w]
			out := dd[nc*4*h*w : (nc+1)*4*h*w]
			for y := 0; y < 2*h; y++ {
				src := in[(y/2)*w : (y/2+1)*w]
				row := out[y*2*w : (y+1)*2*w]
				for x := range row {
					row[x] = src[x/2]
				}
			}
		}
	})
}

// Attention implements Backend.
func (c *Backend) Attention(dst, q, k, v backend.Tensor, heads int, scale float32) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := q.Shape()[2] * q.Shape()[3]
	c.attention(dst, q, k, v, heads, scale, c.scratchBuf(t*t), false)
}

// AttentionProbs is Attention that keeps every softmax matrix in probs
// (N·heads·T·T values, T the tokens): what AttentionBackward needs.
func (c *Backend) AttentionProbs(dst, q, k, v backend.Tensor, heads int, scale float32, probs []float32) {
	c.attention(dst, q, k, v, heads, scale, probs, true)
}

// attention computes each (sample, head) through scores, which is one T×T
// matrix reused (keep false) or one per (sample, head) (keep true).
func (c *Backend) attention(dst, q, k, v backend.Tensor, heads int, scale float32, scores []float32, keep bool) {
	s := q.Shape()
	n, ch, t := s[0], s[1], s[2]*s[3]
	d := ch / heads
	qd, kd, vd, dd := data(q), data(k), data(v), data(dst)
	for smp := 0; smp < n; smp++ {
		for h := 0; h < heads; h++ {
			off := (smp*ch + h*d) * t
			qh, kh, vh, oh := qd[off:off+d*t], kd[off:off+d*t], vd[off:off+d*t], dd[off:off+d*t]
			sc := scores[:t*t]
			if keep {
				sc = scores[(smp*heads+h)*t*t : (smp*heads+h+1)*t*t]
			}
			// scores[i][j] = scale · Σ_c q[c,i]·k[c,j]
			c.blas.Sgemm(blas.Trans, blas.NoTrans, t, t, d, scale, qh, t, kh, t, 0, sc, t)
			c.parallel(t, func(lo, hi int) {
				for i := lo; i < hi; i++ {
					softmaxRow(sc[i*t : (i+1)*t])
				}
			})
			// out[c,i] = Σ_j v[c,j]·p[i,j]
			c.blas.Sgemm(blas.NoTrans, blas.Trans, d, t, t, 1, vh, t, sc, t, 0, oh, t)
		}
	}
}

func softmaxRow(row []float32) {
	m := row[0]
	for _, v := range row[1:] {
		m = max(m, v)
	}
	var sum float64
	for i, v := range row {
		e := vec.Expf(v - m)
		row[i] = e
		sum += float64(e)
	}
	inv := float32(1 / sum)
	for i := range row {
		row[i] *= inv
	}
}

// TimestepEmbedding implements Backend.
func (c *Backend) TimestepEmbedding(dst backend.Tensor, t []float32, flipSinToCos bool, freqShift float32) {
	backend.SinusoidalEmbedding(data(dst), dst.Shape()[1], t, flipSinToCos, freqShift)
}
