package unet

import (
	"errors"
	"fmt"
	"math"

	"gonum.org/v1/gonum/blas"

	"github.com/ddpmstudio/ddpmstudio/unet/sgemm"
	"github.com/ddpmstudio/ddpmstudio/unet/vec"
)

// Training: a forward pass that records what each operation needs, and the
// backward pass that turns the gradient of the output into gradients of every
// parameter. It runs on the CPU backend only (training is a CPU feature; the
// GPU backend serves sampling) and follows the same graph as Forward, which a
// test holds it to.

// ErrNotCPU is returned when training is asked of a model on another backend.
var ErrNotCPU = errors.New("training needs the CPU backend")

// node is an activation and, once the backward pass reaches it, its gradient.
type node struct {
	v     []float32
	g     []float32
	shape Shape
}

// bump is a bump allocator of zeroed float32 slices, reset every step, so a
// training step reuses the previous step's memory.
type bump struct {
	buf  []float32
	off  int
	need int
}

func (b *bump) alloc(n int) []float32 {
	s := b.allocRaw(n)
	clear(s)
	return s
}

// allocRaw is alloc without zeroing, for buffers the caller overwrites.
func (b *bump) allocRaw(n int) []float32 {
	if b.off+n > len(b.buf) {
		// Out of room: hand out fresh memory this step and grow the buffer
		// for the next one.
		b.need = max(b.need, b.off+n)
		b.off += n
		return make([]float32, n)
	}
	s := b.buf[b.off : b.off+n : b.off+n]
	b.off += n
	return s
}

func (b *bump) reset() {
	if b.need > len(b.buf) {
		b.buf = make([]float32, b.need+b.need/8)
	}
	b.off, b.need = 0, 0
}

// Tape records one training forward pass.
type Tape struct {
	m        *Model
	cpu      *CPU
	mem      bump
	backward []func()
	out      *node
	col      []float32
	grads    map[Tensor][]float32
	flipped  map[*CPUTensor]packedWeights
}

// Grads are the accumulated parameter gradients, in Params() order.
func (tp *Tape) Grads() [][]float32 {
	out := make([][]float32, len(tp.m.params))
	for i, p := range tp.m.params {
		out[i] = tp.grads[p.Tensor]
	}
	return out
}

// NewTape prepares training of m, which must be on the CPU backend.
func (m *Model) NewTape() (*Tape, error) {
	cpu, ok := m.backend.(*CPU)
	if !ok {
		return nil, ErrNotCPU
	}
	tp := &Tape{m: m, cpu: cpu, grads: map[Tensor][]float32{}}
	for _, p := range m.params {
		tp.grads[p.Tensor] = make([]float32, p.Tensor.Shape().Len())
	}
	return tp, nil
}

// ZeroGrad clears the accumulated gradients.
func (tp *Tape) ZeroGrad() {
	for _, g := range tp.grads {
		clear(g)
	}
}

// newNode allocates an activation; every operation overwrites all of it.
func (tp *Tape) newNode(s Shape) *node { return &node{v: tp.mem.allocRaw(s.Len()), shape: s} }

func (tp *Tape) grad(n *node) []float32 {
	if n.g == nil {
		n.g = tp.mem.alloc(len(n.v))
	}
	return n.g
}

func (tp *Tape) record(f func()) { tp.backward = append(tp.backward, f) }

func (tp *Tape) t(n *node) *CPUTensor { return NewCPUTensor(n.shape, n.v) }

// Forward runs the training forward pass and returns the output; Backward
// must follow before the next Forward.
func (tp *Tape) Forward(x []float32, n, h, w int, t []float32, classes []int) ([]float32, error) {
	m, cfg := tp.m, tp.m.Config
	if err := m.checkInputs(x, n, h, w, t, classes); err != nil {
		return nil, err
	}
	tp.mem.reset()
	tp.backward = tp.backward[:0]
	in := tp.newNode(Shape{n, cfg.InChannels, h, w})
	copy(in.v, x)
	if cfg.CenterInputSample {
		for i := range in.v {
			in.v[i] = 2*in.v[i] - 1
		}
	}
	tproj := tp.newNode(Shape{n, cfg.BlockOutChannels[0], 1, 1})
	tp.cpu.TimestepEmbedding(tp.t(tproj), t, cfg.FlipSinToCos, float32(cfg.FreqShift))
	emb := tp.mlp(m.timeLin1, m.timeLin2, tproj)
	if cfg.HasClasses() {
		var cls *node
		if m.classLin1 != nil {
			cp := tp.newNode(Shape{n, cfg.BlockOutChannels[0], 1, 1})
			lab := make([]float32, n)
			for i, c := range classes {
				lab[i] = float32(c)
			}
			tp.cpu.TimestepEmbedding(tp.t(cp), lab, cfg.FlipSinToCos, float32(cfg.FreqShift))
			cls = tp.mlp(*m.classLin1, *m.classLin2, cp)
		} else {
			cls = tp.embedding(classes)
		}
		emb = tp.addDiv(emb, cls, 1)
	}
	embAct := tp.silu(emb)
	hcur := tp.conv(m.convIn, in)
	skips := []*node{hcur}
	for _, blk := range m.down {
		for j, r := range blk.resnets {
			hcur = tp.resnet(r, hcur, embAct)
			if at := blk.attns[j]; at != nil {
				hcur = tp.attention(at, hcur)
			}
			skips = append(skips, hcur)
		}
		if blk.resize != nil {
			hcur = tp.conv(*blk.resize, hcur)
			skips = append(skips, hcur)
		}
	}
	if m.mid != nil {
		hcur = tp.resnet(m.mid.res0, hcur, embAct)
		if m.mid.attn != nil {
			hcur = tp.attention(m.mid.attn, hcur)
		}
		hcur = tp.resnet(m.mid.res1, hcur, embAct)
	}
	for _, blk := range m.up {
		for j, r := range blk.resnets {
			skip := skips[len(skips)-1]
			skips = skips[:len(skips)-1]
			hcur = tp.resnet(r, tp.concat(hcur, skip), embAct)
			if at := blk.attns[j]; at != nil {
				hcur = tp.attention(at, hcur)
			}
		}
		if blk.resize != nil {
			hcur = tp.conv(*blk.resize, tp.upsample(hcur))
		}
	}
	hcur = tp.groupNorm(m.normOut, hcur, true)
	tp.out = tp.conv(m.convOut, hcur)
	return tp.out.v, nil
}

// Backward propagates dOut (the gradient of the loss with respect to the
// output of the last Forward) and adds the parameter gradients to Grads.
func (tp *Tape) Backward(dOut []float32) error {
	if tp.out == nil {
		return errors.New("backward without a forward pass")
	}
	if len(dOut) != len(tp.out.v) {
		return fmt.Errorf("gradient has %d values, the output %d", len(dOut), len(tp.out.v))
	}
	copy(tp.grad(tp.out), dOut)
	for i := len(tp.backward) - 1; i >= 0; i-- {
		tp.backward[i]()
	}
	tp.out = nil
	return nil
}

// --- operations: forward now, backward recorded ---

func (tp *Tape) conv(c conv, x *node) *node {
	s := x.shape
	ho := (s[2]+c.pad.Top+c.pad.Bottom-c.k)/c.stride + 1
	wo := (s[3]+c.pad.Left+c.pad.Right-c.k)/c.stride + 1
	y := tp.newNode(Shape{s[0], c.co, ho, wo})
	tp.cpu.Conv2D(tp.t(y), tp.t(x), c.w, c.b, c.stride, c.pad)
	tp.record(func() {
		if y.g == nil {
			return
		}
		tp.convBackward(c, x, y)
	})
	return y
}

func (tp *Tape) convBackward(c conv, x, y *node) {
	impl := tp.cpu.blas
	s := x.shape
	n, ci, h, w := s[0], s[1], s[2], s[3]
	ho, wo := y.shape[2], y.shape[3]
	k, p := ci*c.k*c.k, ho*wo
	wd := data(c.w)
	dW, db := tp.grads[c.w], tp.grads[c.b]
	dx := tp.grad(x)
	direct := c.k == 1 && c.stride == 1 && c.pad == (Padding{})
	if !direct && len(tp.col) < 2*k*p {
		tp.col = make([]float32, 2*k*p)
	}
	// A stride-1 convolution's input gradient is itself a convolution: of dY
	// with the kernel flipped and its in/out channels swapped, padded by
	// k−1−pad. That runs on the packed path and skips col2im.
	var flipped *sgemm.PackedA
	fast, isSgemm := impl.(sgemm.Implementation)
	transposed := !direct && c.stride == 1 && isSgemm && ho == h && wo == w
	if transposed {
		flipped = tp.flippedWeights(c, ci, fast)
	}
	flipPad := Padding{c.k - 1 - c.pad.Top, c.k - 1 - c.pad.Left, c.k - 1 - c.pad.Bottom, c.k - 1 - c.pad.Right}
	for smp := 0; smp < n; smp++ {
		dy := y.g[smp*c.co*p : (smp+1)*c.co*p]
		for o := 0; o < c.co; o++ {
			var sum float32
			for _, v := range dy[o*p : (o+1)*p] {
				sum += v
			}
			db[o] += sum
		}
		xin := x.v[smp*ci*h*w : (smp+1)*ci*h*w]
		dxs := dx[smp*ci*h*w : (smp+1)*ci*h*w]
		if direct {
			impl.Sgemm(blas.NoTrans, blas.Trans, c.co, k, p, 1, dy, p, xin, p, 1, dW, k)
			impl.Sgemm(blas.Trans, blas.NoTrans, k, p, c.co, 1, wd, k, dy, p, 1, dxs, p)
			continue
		}
		col, dcol := tp.col[:k*p], tp.col[k*p:2*k*p]
		im2col(tp.cpu, col, xin, ci, h, w, c.k, c.k, c.stride, c.pad, ho, wo)
		impl.Sgemm(blas.NoTrans, blas.Trans, c.co, k, p, 1, dy, p, col, p, 1, dW, k)
		if transposed {
			fast.GemmPacked(flipped, h*w, convPacker(dy, ho, wo, c.k, c.k, 1, flipPad, w), dxs, h*w)
			continue
		}
		impl.Sgemm(blas.Trans, blas.NoTrans, k, p, c.co, 1, wd, k, dy, p, 0, dcol, p)
		tp.cpu.parallel(ci, func(lo, hi int) {
			col2im(dxs[lo*h*w:hi*h*w], dcol[lo*c.k*c.k*p:hi*c.k*c.k*p], hi-lo, h, w, c.k, c.k, c.stride, c.pad, ho, wo)
		})
	}
}

// flippedWeights packs W'[i][o][ky][kx] = W[o][i][k−1−ky][k−1−kx], the
// kernel of the transposed convolution, once per weight update.
func (tp *Tape) flippedWeights(c conv, ci int, impl sgemm.Implementation) *sgemm.PackedA {
	w := c.w.(*CPUTensor)
	if e, ok := tp.flipped[w]; ok && e.version == w.version {
		return e.a
	}
	kk := c.k * c.k
	f := make([]float32, ci*c.co*kk)
	for o := 0; o < c.co; o++ {
		for i := 0; i < ci; i++ {
			src := w.Data[(o*ci+i)*kk : (o*ci+i+1)*kk]
			dst := f[(i*c.co+o)*kk : (i*c.co+o+1)*kk]
			for t := range src {
				dst[kk-1-t] = src[t]
			}
		}
	}
	pa := impl.PackA(ci, c.co*kk, f, c.co*kk)
	if tp.flipped == nil {
		tp.flipped = map[*CPUTensor]packedWeights{}
	}
	tp.flipped[w] = packedWeights{version: w.version, a: pa}
	return pa
}

// col2im adds the columns back onto the image: the adjoint of im2col.
func col2im(dx, col []float32, ci, h, w, kh, kw, stride int, pad Padding, ho, wo int) {
	p := ho * wo
	for ch := 0; ch < ci; ch++ {
		plane := dx[ch*h*w : (ch+1)*h*w]
		for ky := 0; ky < kh; ky++ {
			for kx := 0; kx < kw; kx++ {
				row := col[((ch*kh+ky)*kw+kx)*p:][:p]
				for oy := 0; oy < ho; oy++ {
					iy := oy*stride + ky - pad.Top
					if iy < 0 || iy >= h {
						continue
					}
					dst := plane[iy*w : (iy+1)*w]
					src := row[oy*wo : (oy+1)*wo]
					for ox, v := range src {
						if ix := ox*stride + kx - pad.Left; ix >= 0 && ix < w {
							dst[ix] += v
						}
					}
				}
			}
		}
	}
}

func (tp *Tape) linear(l linear, x *node) *node {
	n := x.shape[0]
	y := tp.newNode(Shape{n, l.out, 1, 1})
	tp.cpu.Linear(tp.t(y), tp.t(x), l.w, l.b)
	tp.record(func() {
		if y.g == nil {
			return
		}
		impl := tp.cpu.blas
		dW, db := tp.grads[l.w], tp.grads[l.b]
		impl.Sgemm(blas.Trans, blas.NoTrans, l.out, l.in, n, 1, y.g, l.out, x.v, l.in, 1, dW, l.in)
		impl.Sgemm(blas.NoTrans, blas.NoTrans, n, l.in, l.out, 1, y.g, l.out, data(l.w), l.in, 1, tp.grad(x), l.in)
		for i := 0; i < n; i++ {
			for o, v := range y.g[i*l.out : (i+1)*l.out] {
				db[o] += v
			}
		}
	})
	return y
}

func (tp *Tape) mlp(l1, l2 linear, x *node) *node {
	return tp.linear(l2, tp.silu(tp.linear(l1, x)))
}

func siluGrad(x float32) float32 {
	s := 1 / (1 + vec.Expf(-x))
	return s * (1 + x*(1-s))
}

func (tp *Tape) silu(x *node) *node {
	y := tp.newNode(x.shape)
	tp.cpu.SiLU(tp.t(y), tp.t(x))
	tp.record(func() {
		if y.g == nil {
			return
		}
		dx := tp.grad(x)
		tp.cpu.parallel(len(x.v), func(lo, hi int) {
			for i := lo; i < hi; i++ {
				dx[i] += y.g[i] * siluGrad(x.v[i])
			}
		})
	})
	return y
}

func (tp *Tape) addDiv(a, b *node, div float32) *node {
	y := tp.newNode(a.shape)
	tp.cpu.AddDiv(tp.t(y), tp.t(a), tp.t(b), div)
	tp.record(func() {
		if y.g == nil {
			return
		}
		da, db := tp.grad(a), tp.grad(b)
		for i, g := range y.g {
			da[i] += g / div
			db[i] += g / div
		}
	})
	return y
}

func (tp *Tape) embedding(classes []int) *node {
	m := tp.m
	d := m.timeEmbedDim
	y := tp.newNode(Shape{len(classes), d, 1, 1})
	m.lookupClasses(y.v, classes)
	tp.record(func() {
		if y.g == nil {
			return
		}
		g := tp.grads[m.classTensor]
		for i, c := range classes {
			row := g[c*d : (c+1)*d]
			for j, v := range y.g[i*d : (i+1)*d] {
				row[j] += v
			}
		}
	})
	return y
}

// groupNorm keeps the statistics for the backward pass.
func (tp *Tape) groupNorm(gn groupNorm, x *node, withSiLU bool) *node {
	s := x.shape
	n, ch, hw := s[0], s[1], s[2]*s[3]
	groups := gn.groups
	cg := ch / groups
	pre := tp.newNode(s) // the affine output, before SiLU
	mean := make([]float32, n*groups)
	rstd := make([]float32, n*groups)
	gd, bd := data(gn.g), data(gn.b)
	for ng := 0; ng < n*groups; ng++ {
		smp, g := ng/groups, ng%groups
		base := (smp*ch + g*cg) * hw
		seg := x.v[base : base+cg*hw]
		mu := vec.Sum(seg) / float64(len(seg))
		variance := vec.SumSqDev(seg, float32(mu)) / float64(len(seg))
		r := 1 / math.Sqrt(variance+float64(gn.eps))
		mean[ng], rstd[ng] = float32(mu), float32(r)
		for cc := 0; cc < cg; cc++ {
			chn := g*cg + cc
			a := float32(r) * gd[chn]
			b := bd[chn] - float32(mu)*a
			vec.AffineSiLU(pre.v[base+cc*hw:base+(cc+1)*hw], seg[cc*hw:(cc+1)*hw], a, b, false)
		}
	}
	y := pre
	if withSiLU {
		y = tp.newNode(s)
		vec.AffineSiLU(y.v, pre.v, 1, 0, true)
	}
	tp.record(func() {
		if y.g == nil {
			return
		}
		dy := y.g
		if withSiLU {
			dy = tp.grad(pre)
			tp.cpu.parallel(len(pre.v), func(lo, hi int) {
				for i := lo; i < hi; i++ {
					dy[i] += y.g[i] * siluGrad(pre.v[i])
				}
			})
		}
		dgamma, dbeta := tp.grads[gn.g], tp.grads[gn.b]
		dx := tp.grad(x)
		// Per-(sample, group) partial sums of dγ and dβ, reduced afterwards so
		// that groups can run in parallel.
		pg := make([]float64, 2*n*ch)
		tp.cpu.parallel(n*groups, func(lo, hi int) {
			for ng := lo; ng < hi; ng++ {
				tp.gnBackwardGroup(ng, groups, cg, ch, hw, x, dy, dx, gd, mean[ng], rstd[ng], pg)
			}
		})
		for smp := 0; smp < n; smp++ {
			for c := 0; c < ch; c++ {
				dgamma[c] += float32(pg[2*(smp*ch+c)])
				dbeta[c] += float32(pg[2*(smp*ch+c)+1])
			}
		}
	})
	return y
}

// gnBackwardGroup is the GroupNorm backward pass of one (sample, group):
// with x̂ = (x − μ)·r and dx̂ = dy·γ, dx = r·(dx̂ − mean(dx̂) − x̂·mean(dx̂·x̂)).
// It adds dγ and dβ contributions to pg[2·(sample·C + c)] and the next entry.
func (tp *Tape) gnBackwardGroup(ng, groups, cg, ch, hw int, x *node, dy, dx, gd []float32, mu, r float32, pg []float64) {
	smp, g := ng/groups, ng%groups
	base := (smp*ch + g*cg) * hw
	var sumD, sumDX float64
	for cc := 0; cc < cg; cc++ {
		chn := g*cg + cc
		var sg, sb float64
		for i := base + cc*hw; i < base+(cc+1)*hw; i++ {
			xhat := (x.v[i] - mu) * r
			sg += float64(dy[i] * xhat)
			sb += float64(dy[i])
			dxh := float64(dy[i] * gd[chn])
			sumD += dxh
			sumDX += dxh * float64(xhat)
		}
		pg[2*(smp*ch+chn)] += sg
		pg[2*(smp*ch+chn)+1] += sb
	}
	cnt := float64(cg * hw)
	mD, mDX := float32(sumD/cnt), float32(sumDX/cnt)
	for cc := 0; cc < cg; cc++ {
		chn := g*cg + cc
		for i := base + cc*hw; i < base+(cc+1)*hw; i++ {
			xhat := (x.v[i] - mu) * r
			dx[i] += r * (dy[i]*gd[chn] - mD - xhat*mDX)
		}
	}
}

func (tp *Tape) resnet(r resnet, x, embAct *node) *node {
	h := tp.conv(r.conv1, tp.groupNorm(r.norm1, x, true))
	t := tp.linear(r.temb, embAct)
	if r.scaleShift {
		h = tp.silu(tp.scaleShift(tp.groupNorm(r.norm2, h, false), t))
	} else {
		h = tp.groupNorm(r.norm2, tp.addChannels(h, t), true)
	}
	h = tp.conv(r.conv2, h)
	short := x
	if r.shortcut != nil {
		short = tp.conv(*r.shortcut, x)
	}
	return tp.addDiv(short, h, r.outScale)
}

func (tp *Tape) addChannels(x, v *node) *node {
	y := tp.newNode(x.shape)
	tp.cpu.AddChannels(tp.t(y), tp.t(x), tp.t(v))
	hw := x.shape[2] * x.shape[3]
	tp.record(func() {
		if y.g == nil {
			return
		}
		dx, dv := tp.grad(x), tp.grad(v)
		for nc := range dv {
			var s float32
			for i := nc * hw; i < (nc+1)*hw; i++ {
				dx[i] += y.g[i]
				s += y.g[i]
			}
			dv[nc] += s
		}
	})
	return y
}

func (tp *Tape) scaleShift(x, v *node) *node {
	y := tp.newNode(x.shape)
	tp.cpu.ScaleShift(tp.t(y), tp.t(x), tp.t(v))
	ch, hw := x.shape[1], x.shape[2]*x.shape[3]
	tp.record(func() {
		if y.g == nil {
			return
		}
		dx, dv := tp.grad(x), tp.grad(v)
		for nc := 0; nc < x.shape[0]*ch; nc++ {
			smp, cc := nc/ch, nc%ch
			scale := 1 + v.v[smp*2*ch+cc]
			var ds, dsh float32
			for i := nc * hw; i < (nc+1)*hw; i++ {
				dx[i] += y.g[i] * scale
				ds += y.g[i] * x.v[i]
				dsh += y.g[i]
			}
			dv[smp*2*ch+cc] += ds
			dv[smp*2*ch+ch+cc] += dsh
		}
	})
	return y
}

func (tp *Tape) concat(a, b *node) *node {
	as, bs := a.shape, b.shape
	y := tp.newNode(Shape{as[0], as[1] + bs[1], as[2], as[3]})
	tp.cpu.Concat(tp.t(y), tp.t(a), tp.t(b))
	la, lb := as[1]*as[2]*as[3], bs[1]*bs[2]*bs[3]
	tp.record(func() {
		if y.g == nil {
			return
		}
		da, db := tp.grad(a), tp.grad(b)
		for s := 0; s < as[0]; s++ {
			for i, v := range y.g[s*(la+lb) : s*(la+lb)+la] {
				da[s*la+i] += v
			}
			for i, v := range y.g[s*(la+lb)+la : (s+1)*(la+lb)] {
				db[s*lb+i] += v
			}
		}
	})
	return y
}

func (tp *Tape) upsample(x *node) *node {
	s := x.shape
	y := tp.newNode(Shape{s[0], s[1], 2 * s[2], 2 * s[3]})
	tp.cpu.Upsample2x(tp.t(y), tp.t(x))
	h, w := s[2], s[3]
	tp.record(func() {
		if y.g == nil {
			return
		}
		dx := tp.grad(x)
		for nc := 0; nc < s[0]*s[1]; nc++ {
			for yy := 0; yy < 2*h; yy++ {
				for xx := 0; xx < 2*w; xx++ {
					dx[nc*h*w+(yy/2)*w+xx/2] += y.g[(nc*2*h+yy)*2*w+xx]
				}
			}
		}
	})
	return y
}

func (tp *Tape) attention(at *attention, x *node) *node {
	hn := x
	if at.norm != nil {
		hn = tp.groupNorm(*at.norm, x, false)
	}
	q, k, v := tp.conv(at.q, hn), tp.conv(at.k, hn), tp.conv(at.v, hn)
	s := q.shape
	n, ch, t := s[0], s[1], s[2]*s[3]
	d := ch / at.heads
	// Keep the softmax probabilities: [n][heads][t][t].
	probs := tp.mem.allocRaw(n * at.heads * t * t)
	a := tp.newNode(s)
	impl := tp.cpu.blas
	for smp := 0; smp < n; smp++ {
		for h := 0; h < at.heads; h++ {
			off := (smp*ch + h*d) * t
			pr := probs[(smp*at.heads+h)*t*t : (smp*at.heads+h+1)*t*t]
			impl.Sgemm(blas.Trans, blas.NoTrans, t, t, d, at.scale, q.v[off:off+d*t], t, k.v[off:off+d*t], t, 0, pr, t)
			for i := 0; i < t; i++ {
				softmaxRow(pr[i*t : (i+1)*t])
			}
			impl.Sgemm(blas.NoTrans, blas.Trans, d, t, t, 1, v.v[off:off+d*t], t, pr, t, 0, a.v[off:off+d*t], t)
		}
	}
	tp.record(func() {
		if a.g == nil {
			return
		}
		dq, dk, dv := tp.grad(q), tp.grad(k), tp.grad(v)
		dp := make([]float32, t*t)
		for smp := 0; smp < n; smp++ {
			for h := 0; h < at.heads; h++ {
				off := (smp*ch + h*d) * t
				pr := probs[(smp*at.heads+h)*t*t : (smp*at.heads+h+1)*t*t]
				do := a.g[off : off+d*t]
				// dV = dO·P; dP = dOᵀ·V
				impl.Sgemm(blas.NoTrans, blas.NoTrans, d, t, t, 1, do, t, pr, t, 1, dv[off:off+d*t], t)
				impl.Sgemm(blas.Trans, blas.NoTrans, t, t, d, 1, do, t, v.v[off:off+d*t], t, 0, dp, t)
				// dS = P ⊙ (dP − rowsum(dP ⊙ P))
				for i := 0; i < t; i++ {
					row, prow := dp[i*t:(i+1)*t], pr[i*t:(i+1)*t]
					var dot float32
					for j := range row {
						dot += row[j] * prow[j]
					}
					for j := range row {
						row[j] = prow[j] * (row[j] - dot)
					}
				}
				// dQ = scale·K·dSᵀ; dK = scale·Q·dS
				impl.Sgemm(blas.NoTrans, blas.Trans, d, t, t, at.scale, k.v[off:off+d*t], t, dp, t, 1, dq[off:off+d*t], t)
				impl.Sgemm(blas.NoTrans, blas.NoTrans, d, t, t, at.scale, q.v[off:off+d*t], t, dp, t, 1, dk[off:off+d*t], t)
			}
		}
	})
	o := tp.conv(at.o, a)
	return tp.addDiv(o, x, at.rescale)
}
