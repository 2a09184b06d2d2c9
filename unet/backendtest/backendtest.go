// Package backendtest is the conformance suite every unet.Backend must pass:
// each kernel runs on random inputs (never zeros, which hide unwritten
// outputs) of awkward sizes and is compared with a plain float64 reference
// written here, independently of any backend. The CPU backend's tests and the
// GPU backend's tests both call Run.
package backendtest

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/ddpmstudio/ddpmstudio/unet"
)

// Tolerance is the largest error allowed, relative to the reference's
// largest magnitude (plus a small absolute floor).
const Tolerance = 2e-5

type suite struct {
	t   *testing.T
	b   unet.Backend
	rng *rand.Rand
	tol float64
}

func (s *suite) random(n int, scale float64) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(s.rng.NormFloat64() * scale)
	}
	return v
}

func (s *suite) upload(shape unet.Shape, v []float32) unet.Tensor {
	t := s.b.Alloc(shape)
	s.b.Upload(t, v)
	return t
}

// garbage allocates a destination pre-filled with NaN so that unwritten
// outputs show up.
func (s *suite) garbage(shape unet.Shape) unet.Tensor {
	v := make([]float32, shape.Len())
	for i := range v {
		v[i] = float32(math.NaN())
	}
	return s.upload(shape, v)
}

func (s *suite) check(name string, got unet.Tensor, want []float64) {
	s.t.Helper()
	g := make([]float32, got.Shape().Len())
	s.b.Download(g, got)
	if len(g) != len(want) {
		s.t.Errorf("%s: %d outputs, want %d", name, len(g), len(want))
		return
	}
	scale, worst := 0.0, 0.0
	for _, w := range want {
		scale = max(scale, math.Abs(w))
	}
	for i := range g {
		d := math.Abs(float64(g[i]) - want[i])
		if math.IsNaN(d) {
			s.t.Errorf("%s: output %d is NaN (unwritten?)", name, i)
			return
		}
		worst = max(worst, d)
	}
	tol := s.tol
	if tol == 0 {
		tol = Tolerance
	}
	if worst > tol*scale+1e-6 {
		s.t.Errorf("%s: max error %.3g (reference magnitude %.3g)", name, worst, scale)
	}
}

// Run checks every kernel of b within Tolerance.
func Run(t *testing.T, b unet.Backend) { RunTolerance(t, b, Tolerance) }

// RunTolerance is Run with a backend's own tolerance (relative to the
// reference's magnitude): a GPU sums in another order than the CPU.
func RunTolerance(t *testing.T, b unet.Backend, tol float64) {
	for _, k := range []struct {
		name string
		run  func(*suite)
	}{
		{"Conv2D", (*suite).conv},
		{"Linear", (*suite).linear},
		{"GroupNorm", (*suite).groupNorm},
		{"Elementwise", (*suite).elementwise},
		{"Attention", (*suite).attention},
		{"InPlace", (*suite).inPlace},
		{"Buffers", (*suite).buffers},
		{"TimestepEmbedding", (*suite).timestep},
	} {
		t.Run(k.name, func(t *testing.T) {
			k.run(&suite{t: t, b: b, rng: rand.New(rand.NewPCG(1, 2)), tol: tol})
		})
	}
}

func (s *suite) conv() {
	cases := []struct {
		n, ci, h, w, co, k, stride int
		pad                        unet.Padding
	}{
		{2, 3, 7, 5, 4, 3, 1, unet.Padding{Top: 1, Left: 1, Bottom: 1, Right: 1}},
		{1, 5, 9, 9, 6, 3, 2, unet.Padding{Top: 1, Left: 1, Bottom: 1, Right: 1}},
		{2, 4, 8, 6, 3, 3, 2, unet.Padding{Bottom: 1, Right: 1}},
		{3, 6, 4, 5, 7, 1, 1, unet.Padding{}},
		// Every side padded differently: no kernel may mix up top and left.
		{2, 3, 6, 7, 5, 3, 1, unet.Padding{Top: 2, Left: 0, Bottom: 1, Right: 2}},
		// Partial tiles in every dimension of a 64×64×16 implicit GEMM: 70
		// output channels, 99 pixels, 180 taps, three samples.
		{3, 20, 9, 11, 70, 3, 1, unet.Padding{Top: 1, Left: 1, Bottom: 1, Right: 1}},
		// U-Net shapes, larger than a GPU work-group tile.
		{1, 128, 32, 32, 128, 3, 1, unet.Padding{Top: 1, Left: 1, Bottom: 1, Right: 1}},
		{2, 96, 16, 16, 64, 1, 1, unet.Padding{}},
		{1, 64, 32, 32, 64, 3, 2, unet.Padding{Bottom: 1, Right: 1}},
	}
	for _, c := range cases {
		x := s.random(c.n*c.ci*c.h*c.w, 1)
		w := s.random(c.co*c.ci*c.k*c.k, 0.3)
		bias := s.random(c.co, 1)
		ho := (c.h+c.pad.Top+c.pad.Bottom-c.k)/c.stride + 1
		wo := (c.w+c.pad.Left+c.pad.Right-c.k)/c.stride + 1
		dst := s.garbage(unet.Shape{c.n, c.co, ho, wo})
		s.b.Conv2D(dst, s.upload(unet.Shape{c.n, c.ci, c.h, c.w}, x), s.upload(unet.Shape{c.co, c.ci, c.k, c.k}, w), s.upload(unet.Shape{c.co, 1, 1, 1}, bias), c.stride, c.pad)
		want := make([]float64, c.n*c.co*ho*wo)
		for n := 0; n < c.n; n++ {
			for o := 0; o < c.co; o++ {
				for y := 0; y < ho; y++ {
					for xx := 0; xx < wo; xx++ {
						acc := float64(bias[o])
						for i := 0; i < c.ci; i++ {
							for ky := 0; ky < c.k; ky++ {
								for kx := 0; kx < c.k; kx++ {
									iy, ix := y*c.stride+ky-c.pad.Top, xx*c.stride+kx-c.pad.Left
									if iy < 0 || iy >= c.h || ix < 0 || ix >= c.w {
										continue
									}
									acc += float64(w[((o*c.ci+i)*c.k+ky)*c.k+kx]) * float64(x[((n*c.ci+i)*c.h+iy)*c.w+ix])
								}
							}
						}
						want[((n*c.co+o)*ho+y)*wo+xx] = acc
					}
				}
			}
		}
		s.check(fmt.Sprintf("conv %+v", c), dst, want)
	}
}

func (s *suite) linear() {
	n, in, out := 3, 17, 11
	x, w, b := s.random(n*in, 1), s.random(out*in, 0.5), s.random(out, 1)
	dst := s.garbage(unet.Shape{n, out, 1, 1})
	s.b.Linear(dst, s.upload(unet.Shape{n, in, 1, 1}, x), s.upload(unet.Shape{out, in, 1, 1}, w), s.upload(unet.Shape{out, 1, 1, 1}, b))
	want := make([]float64, n*out)
	for i := 0; i < n; i++ {
		for o := 0; o < out; o++ {
			acc := float64(b[o])
			for k := 0; k < in; k++ {
				acc += float64(w[o*in+k]) * float64(x[i*in+k])
			}
			want[i*out+o] = acc
		}
	}
	s.check("linear", dst, want)
}

func silu(v float64) float64 { return v / (1 + math.Exp(-v)) }

func (s *suite) groupNorm() {
	for _, c := range []struct{ n, c, h, w, groups int }{
		{2, 12, 5, 3, 4},
		{1, 128, 32, 32, 32}, // a U-Net's GroupNorm: 4096-element groups, larger than any work group
		{2, 64, 7, 7, 8},
	} {
		for _, silu_ := range []bool{false, true} {
			for _, inPlace := range []bool{false, true} {
				s.groupNormCase(c.n, c.c, c.h, c.w, c.groups, silu_, inPlace)
			}
		}
	}
}

func (s *suite) groupNormCase(n, c, h, w, groups int, silu_, inPlace bool) {
	eps := float32(1e-5)
	x := s.random(n*c*h*w, 2)
	for i := range x {
		x[i] += 3 // a mean far from zero tests the centring
	}
	g, b := s.random(c, 1), s.random(c, 1)
	shape := unet.Shape{n, c, h, w}
	src := s.upload(shape, x)
	dst := src
	if !inPlace {
		dst = s.garbage(shape)
	}
	s.b.GroupNorm(dst, src, s.upload(unet.Shape{c, 1, 1, 1}, g), s.upload(unet.Shape{c, 1, 1, 1}, b), groups, eps, silu_)
	want := make([]float64, len(x))
	cg, hw := c/groups, h*w
	for i := 0; i < n; i++ {
		for gr := 0; gr < groups; gr++ {
			seg := x[(i*c+gr*cg)*hw : (i*c+(gr+1)*cg)*hw]
			var mean, v float64
			for _, e := range seg {
				mean += float64(e)
			}
			mean /= float64(len(seg))
			for _, e := range seg {
				v += (float64(e) - mean) * (float64(e) - mean)
			}
			v /= float64(len(seg))
			for j := range seg {
				ch := gr*cg + j/hw
				y := (float64(seg[j])-mean)/math.Sqrt(v+float64(eps))*float64(g[ch]) + float64(b[ch])
				if silu_ {
					y = silu(y)
				}
				want[(i*c+gr*cg)*hw+j] = y
			}
		}
	}
	s.check(fmt.Sprintf("groupnorm %v groups=%d silu=%v in-place=%v", shape, groups, silu_, inPlace), dst, want)
}

func (s *suite) elementwise() {
	n, c, h, w := 2, 3, 4, 5
	shape := unet.Shape{n, c, h, w}
	x, y := s.random(shape.Len(), 2), s.random(shape.Len(), 1)
	v, v2 := s.random(n*c, 1), s.random(n*2*c, 0.5)
	tx, ty := s.upload(shape, x), s.upload(shape, y)
	want := make([]float64, len(x))

	dst := s.garbage(shape)
	s.b.SiLU(dst, tx)
	for i := range x {
		want[i] = silu(float64(x[i]))
	}
	s.check("silu", dst, want)

	dst = s.garbage(shape)
	s.b.AddChannels(dst, tx, s.upload(unet.Shape{n, c, 1, 1}, v))
	for i := range x {
		want[i] = float64(x[i]) + float64(v[i/(h*w)])
	}
	s.check("addchannels", dst, want)

	dst = s.garbage(shape)
	s.b.ScaleShift(dst, tx, s.upload(unet.Shape{n, 2 * c, 1, 1}, v2))
	for i := range x {
		smp, ch := i/(c*h*w), (i/(h*w))%c
		want[i] = float64(x[i])*(1+float64(v2[smp*2*c+ch])) + float64(v2[smp*2*c+c+ch])
	}
	s.check("scaleshift", dst, want)

	for _, div := range []float32{1, 1.4142135} {
		dst = s.garbage(shape)
		s.b.AddDiv(dst, tx, ty, div)
		for i := range x {
			want[i] = (float64(x[i]) + float64(y[i])) / float64(div)
		}
		s.check(fmt.Sprintf("adddiv %v", div), dst, want)
	}

	c2 := 2
	z := s.random(n*c2*h*w, 1)
	cat := s.garbage(unet.Shape{n, c + c2, h, w})
	s.b.Concat(cat, tx, s.upload(unet.Shape{n, c2, h, w}, z))
	wantCat := make([]float64, 0, n*(c+c2)*h*w)
	for i := 0; i < n; i++ {
		for _, e := range x[i*c*h*w : (i+1)*c*h*w] {
			wantCat = append(wantCat, float64(e))
		}
		for _, e := range z[i*c2*h*w : (i+1)*c2*h*w] {
			wantCat = append(wantCat, float64(e))
		}
	}
	s.check("concat", cat, wantCat)

	up := s.garbage(unet.Shape{n, c, 2 * h, 2 * w})
	s.b.Upsample2x(up, tx)
	wantUp := make([]float64, n*c*4*h*w)
	for nc := 0; nc < n*c; nc++ {
		for yy := 0; yy < 2*h; yy++ {
			for xx := 0; xx < 2*w; xx++ {
				wantUp[(nc*2*h+yy)*2*w+xx] = float64(x[(nc*h+yy/2)*w+xx/2])
			}
		}
	}
	s.check("upsample", up, wantUp)
}

func (s *suite) attention() {
	for _, c := range []struct{ n, c, h, w, heads int }{
		{2, 6, 3, 5, 1}, {2, 6, 3, 5, 3},
		{1, 64, 16, 16, 1}, // 256 tokens, one head spanning the channels
		{1, 32, 32, 32, 4}, // 1024 tokens in four heads
	} {
		s.attentionCase(c.n, c.c, c.h, c.w, c.heads)
	}
}

func (s *suite) attentionCase(n, c, h, w, heads int) {
	t := h * w
	d := c / heads
	shape := unet.Shape{n, c, h, w}
	q, k, v := s.random(shape.Len(), 1), s.random(shape.Len(), 1), s.random(shape.Len(), 1)
	scale := float32(1 / math.Sqrt(float64(d)))
	dst := s.garbage(shape)
	s.b.Attention(dst, s.upload(shape, q), s.upload(shape, k), s.upload(shape, v), heads, scale)
	want := make([]float64, shape.Len())
	scores := make([]float64, t)
	for smp := 0; smp < n; smp++ {
		for hd := 0; hd < heads; hd++ {
			at := func(a []float32, ch, tok int) float64 { return float64(a[((smp*c)+hd*d+ch)*t+tok]) }
			for i := 0; i < t; i++ {
				m := math.Inf(-1)
				for j := 0; j < t; j++ {
					scores[j] = 0
					for ch := 0; ch < d; ch++ {
						scores[j] += at(q, ch, i) * at(k, ch, j)
					}
					scores[j] *= float64(scale)
					m = max(m, scores[j])
				}
				var sum float64
				for j := range scores {
					scores[j] = math.Exp(scores[j] - m)
					sum += scores[j]
				}
				for ch := 0; ch < d; ch++ {
					var acc float64
					for j := 0; j < t; j++ {
						acc += scores[j] / sum * at(v, ch, j)
					}
					want[((smp*c)+hd*d+ch)*t+i] = acc
				}
			}
		}
	}
	s.check(fmt.Sprintf("attention %v heads=%d", shape, heads), dst, want)
}

// inPlace runs the element-wise kernels with the destination aliasing an
// input, as the graph calls them: the result must equal the out-of-place one.
func (s *suite) inPlace() {
	n, c, h, w := 2, 5, 9, 7
	shape := unet.Shape{n, c, h, w}
	x, y := s.random(shape.Len(), 2), s.random(shape.Len(), 1)
	v, v2 := s.random(n*c, 1), s.random(n*2*c, 0.5)
	want := make([]float64, len(x))

	tx := s.upload(shape, x)
	s.b.SiLU(tx, tx)
	for i := range x {
		want[i] = silu(float64(x[i]))
	}
	s.check("silu in place", tx, want)

	tx = s.upload(shape, x)
	s.b.AddChannels(tx, tx, s.upload(unet.Shape{n, c, 1, 1}, v))
	for i := range x {
		want[i] = float64(x[i]) + float64(v[i/(h*w)])
	}
	s.check("addchannels in place", tx, want)

	tx = s.upload(shape, x)
	s.b.ScaleShift(tx, tx, s.upload(unet.Shape{n, 2 * c, 1, 1}, v2))
	for i := range x {
		smp, ch := i/(c*h*w), (i/(h*w))%c
		want[i] = float64(x[i])*(1+float64(v2[smp*2*c+ch])) + float64(v2[smp*2*c+c+ch])
	}
	s.check("scaleshift in place", tx, want)

	for _, first := range []bool{true, false} {
		tx, ty := s.upload(shape, x), s.upload(shape, y)
		dst := ty
		if first {
			dst = tx
		}
		s.b.AddDiv(dst, tx, ty, 1.5)
		for i := range x {
			want[i] = (float64(x[i]) + float64(y[i])) / 1.5
		}
		s.check(fmt.Sprintf("adddiv in place (dst = a: %v)", first), dst, want)
	}
}

// buffers checks upload/download round trips of awkward sizes, bit for bit,
// and that freed tensors can be replaced by new ones.
func (s *suite) buffers() {
	for _, n := range []int{1, 3, 255, 256, 257, 4097, 1 << 20} {
		shape := unet.Shape{1, n, 1, 1}
		v := s.random(n, 3)
		t := s.upload(shape, v)
		got := make([]float32, n)
		s.b.Download(got, t)
		for i := range v {
			if math.Float32bits(got[i]) != math.Float32bits(v[i]) {
				s.t.Fatalf("round trip of %d values: element %d is %v, uploaded %v", n, i, got[i], v[i])
			}
		}
		s.b.Free(t)
		t2 := s.upload(shape, v[:n])
		s.b.Download(got, t2)
		if math.Float32bits(got[n-1]) != math.Float32bits(v[n-1]) {
			s.t.Fatalf("a tensor allocated after a Free of %d values lost its data", n)
		}
		s.b.Free(t2)
	}
	if err := s.b.Err(); err != nil {
		s.t.Errorf("backend error after the buffer checks: %v", err)
	}
}

func (s *suite) timestep() {
	ts := []float32{0, 1, 17, 999}
	for _, c := range []struct {
		flip  bool
		shift float32
		dim   int
	}{{true, 0, 32}, {false, 1, 128}} {
		dst := s.garbage(unet.Shape{len(ts), c.dim, 1, 1})
		s.b.TimestepEmbedding(dst, ts, c.flip, c.shift)
		half := c.dim / 2
		want := make([]float64, len(ts)*c.dim)
		for n, tv := range ts {
			for i := 0; i < half; i++ {
				arg := float64(tv) * math.Exp(-math.Log(10000)*float64(i)/(float64(half)-float64(c.shift)))
				sn, cs := math.Sin(arg), math.Cos(arg)
				if c.flip {
					sn, cs = cs, sn
				}
				want[n*c.dim+i], want[n*c.dim+half+i] = sn, cs
			}
		}
		// float32 arguments up to 999 rad carry ~1e-4 absolute phase error,
		// which diffusers shares: compare loosely here; the golden tests pin it.
		g := make([]float32, len(want))
		s.b.Download(g, dst)
		for i := range g {
			if d := math.Abs(float64(g[i]) - want[i]); d > 2e-4 || math.IsNaN(d) {
				s.t.Errorf("timestep embedding %+v: element %d = %v, want %v", c, i, g[i], want[i])
				break
			}
		}
	}
}
