package unet

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"

	"github.com/ddpmstudio/ddpmstudio/diffusion"
)

// Param is one named parameter tensor of the model, in diffusers' naming.
type Param struct {
	Name   string
	Dims   []int // the checkpoint's shape, e.g. [out, in] for a linear layer
	Tensor Tensor
}

// Elements is the parameter's element count.
func (p Param) Elements() int {
	n := 1
	for _, d := range p.Dims {
		n *= d
	}
	return n
}

// source supplies the values of a parameter at build time.
type source func(name string, dims []int) ([]float32, error)

type conv struct {
	w, b   Tensor
	co     int
	k      int
	stride int
	pad    Padding
}

type linear struct {
	w, b    Tensor
	in, out int
}

type groupNorm struct {
	g, b   Tensor
	groups int
	eps    float32
}

type resnet struct {
	norm1, norm2 groupNorm
	conv1, conv2 conv
	temb         linear
	shortcut     *conv
	scaleShift   bool
	outScale     float32
	in, out      int
}

type attention struct {
	norm       *groupNorm
	q, k, v, o conv
	heads      int
	scale      float32
	rescale    float32
}

type block struct {
	resnets []resnet
	attns   []*attention // nil entries for plain blocks
	resize  *conv        // downsampler or upsampler conv, nil in the last block
}

type midBlock struct {
	res0, res1 resnet
	attn       *attention // nil when add_attention is false
}

// Model is a UNet2DModel bound to a backend: the config, the named
// parameters, and the graph that calls the backend's kernels.
type Model struct {
	Config  Config
	backend Backend
	params  []Param

	convIn           conv
	timeLin1         linear
	timeLin2         linear
	classTable       []float32 // nn.Embedding rows, on the host: looked up per call
	training         bool      // a Tape exists: parameters change under the model
	classTensor      Tensor    // the same rows as a parameter, for their gradient
	classLin1        *linear   // class_embed_type "timestep"
	classLin2        *linear
	down             []block
	mid              *midBlock
	up               []block
	normOut          groupNorm
	convOut          conv
	timeEmbedDim     int
	arena            arena
	out              []float32
	hostIn, hostEmbs []float32
	observe          Observer
	dry              bool // built on the null backend: no host-side work
	poison           bool // tests: overwrite released activations
	ctx              context.Context
}

// cancelled reports the context's error between blocks, so that cancelling
// a large model's forward pass does not wait for the whole pass.
func (m *Model) cancelled() error {
	if m.ctx == nil {
		return nil
	}
	return m.ctx.Err()
}

// Observer receives the output of a module during Forward, named by its
// diffusers module path ("conv_in", "down_blocks.1.attentions.0", "mid_block",
// "conv_norm_out", …) as diffusers' forward hooks name them; v is a copy.
type Observer func(name string, s Shape, v []float32)

// SetObserver installs fn (nil removes it). Observing downloads every module
// output, so it is for tests and diagnostics — for example naming the first
// module whose output diverges from a reference — not for sampling.
func (m *Model) SetObserver(fn Observer) { m.observe = fn }

func (m *Model) emit(name string, t Tensor) {
	if m.observe == nil {
		return
	}
	v := make([]float32, t.Shape().Len())
	m.backend.Download(v, t)
	m.observe(name, t.Shape(), v)
}

type builder struct {
	b      Backend
	src    source
	prefix string
	params []Param
	err    error
	adopt  Adopter // non-nil: src's slices become the tensors
}

func (bd *builder) tensor(name string, s Shape, dims ...int) Tensor {
	if bd.err != nil {
		return nil
	}
	full := bd.prefix + name
	v, err := bd.src(full, dims)
	if err != nil {
		bd.err = err
		return nil
	}
	var t Tensor
	if bd.adopt != nil {
		t = bd.adopt.Adopt(s, v)
	} else {
		t = bd.b.Alloc(s)
		bd.b.Upload(t, v)
	}
	bd.params = append(bd.params, Param{Name: full, Dims: dims, Tensor: t})
	return t
}

func (bd *builder) with(prefix string, f func()) {
	old := bd.prefix
	bd.prefix = old + prefix + "."
	f()
	bd.prefix = old
}

func (bd *builder) conv(name string, ci, co, k, stride int, pad Padding) conv {
	var c conv
	bd.with(name, func() {
		c = conv{w: bd.tensor("weight", Shape{co, ci, k, k}, co, ci, k, k), b: bd.tensor("bias", Shape{co, 1, 1, 1}, co), co: co, k: k, stride: stride, pad: pad}
	})
	return c
}

// linearAsConv is a Linear over channels applied to NCHW tensors: a 1×1 conv.
func (bd *builder) linearAsConv(name string, in, out int) conv {
	var c conv
	bd.with(name, func() {
		c = conv{w: bd.tensor("weight", Shape{out, in, 1, 1}, out, in), b: bd.tensor("bias", Shape{out, 1, 1, 1}, out), co: out, k: 1, stride: 1}
	})
	return c
}

func (bd *builder) linear(name string, in, out int) linear {
	var l linear
	bd.with(name, func() {
		l = linear{w: bd.tensor("weight", Shape{out, in, 1, 1}, out, in), b: bd.tensor("bias", Shape{out, 1, 1, 1}, out), in: in, out: out}
	})
	return l
}

func (bd *builder) groupNorm(name string, ch, groups int, eps float64) groupNorm {
	if bd.err == nil && ch%groups != 0 {
		bd.err = fmt.Errorf("%s%s: %d channels are not divisible into %d groups", bd.prefix, name, ch, groups)
	}
	var g groupNorm
	bd.with(name, func() {
		g = groupNorm{g: bd.tensor("weight", Shape{ch, 1, 1, 1}, ch), b: bd.tensor("bias", Shape{ch, 1, 1, 1}, ch), groups: groups, eps: float32(eps)}
	})
	return g
}

func (bd *builder) resnet(name string, cfg Config, in, out int, outScale float64) resnet {
	var r resnet
	bd.with(name, func() {
		r.in, r.out, r.outScale = in, out, float32(outScale)
		r.scaleShift = cfg.ResnetTimeScaleShift == "scale_shift"
		r.norm1 = bd.groupNorm("norm1", in, cfg.NormNumGroups, cfg.NormEps)
		r.conv1 = bd.conv("conv1", in, out, 3, 1, Padding{Top: 1, Left: 1, Bottom: 1, Right: 1})
		tembOut := out
		if r.scaleShift {
			tembOut = 2 * out
		}
		r.temb = bd.linear("time_emb_proj", cfg.timeEmbedDim(), tembOut)
		r.norm2 = bd.groupNorm("norm2", out, cfg.NormNumGroups, cfg.NormEps)
		r.conv2 = bd.conv("conv2", out, out, 3, 1, Padding{Top: 1, Left: 1, Bottom: 1, Right: 1})
		if in != out {
			sc := bd.conv("conv_shortcut", in, out, 1, 1, Padding{})
			r.shortcut = &sc
		}
	})
	return r
}

func (bd *builder) attention(name string, cfg Config, ch, groups int, rescale float64) *attention {
	a := &attention{rescale: float32(rescale)}
	bd.with(name, func() {
		d := cfg.headDim(ch)
		a.heads = ch / d
		if a.heads < 1 {
			if bd.err == nil {
				bd.err = fmt.Errorf("%s: attention_head_dim %d exceeds the %d channels", bd.prefix, d, ch)
			}
			return
		}
		inner := a.heads * d
		a.scale = float32(1 / math.Sqrt(float64(d)))
		if groups > 0 {
			g := bd.groupNorm("group_norm", ch, groups, cfg.NormEps)
			a.norm = &g
		}
		a.q = bd.linearAsConv("to_q", ch, inner)
		a.k = bd.linearAsConv("to_k", ch, inner)
		a.v = bd.linearAsConv("to_v", ch, inner)
		a.o = bd.linearAsConv("to_out.0", inner, ch)
	})
	return a
}

// build constructs the graph of cfg, drawing parameter values from src in
// diffusers' state_dict order. owned says the slices src returns are the
// build's to keep: a backend that can adopt host memory (backend.Adopter)
// then makes them the tensors' storage instead of copying them.
func build(cfg Config, b Backend, src source, owned bool) (*Model, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	bd := &builder{b: b, src: src}
	if a, ok := b.(Adopter); ok && owned {
		bd.adopt = a
	}
	m := &Model{Config: cfg, backend: b, timeEmbedDim: cfg.timeEmbedDim()}
	ch := cfg.BlockOutChannels
	ted := cfg.timeEmbedDim()
	m.convIn = bd.conv("conv_in", cfg.InChannels, ch[0], 3, 1, Padding{Top: 1, Left: 1, Bottom: 1, Right: 1})
	m.timeLin1 = bd.linear("time_embedding.linear_1", ch[0], ted)
	m.timeLin2 = bd.linear("time_embedding.linear_2", ted, ted)
	switch {
	case cfg.ClassEmbedType == "timestep":
		l1 := bd.linear("class_embedding.linear_1", ch[0], ted)
		l2 := bd.linear("class_embedding.linear_2", ted, ted)
		m.classLin1, m.classLin2 = &l1, &l2
	case cfg.NumClassEmbeds > 0:
		if bd.err == nil {
			v, err := src("class_embedding.weight", []int{cfg.NumClassEmbeds, ted})
			if err != nil {
				return nil, err
			}
			t := b.Alloc(Shape{cfg.NumClassEmbeds, ted, 1, 1})
			b.Upload(t, v)
			m.classTable, m.classTensor = slices.Clone(v), t
			bd.params = append(bd.params, Param{Name: "class_embedding.weight", Dims: []int{cfg.NumClassEmbeds, ted}, Tensor: t})
		}
	}
	pad := Padding{Top: 1, Left: 1, Bottom: 1, Right: 1}
	if cfg.DownsamplePadding == 0 {
		pad = Padding{Bottom: 1, Right: 1}
	}
	out := ch[0]
	for i, typ := range cfg.DownBlockTypes {
		in := out
		out = ch[i]
		var blk block
		bd.with("down_blocks."+strconv.Itoa(i), func() {
			for j := 0; j < cfg.LayersPerBlock; j++ {
				rin := out
				if j == 0 {
					rin = in
				}
				blk.resnets = append(blk.resnets, bd.resnet("resnets."+strconv.Itoa(j), cfg, rin, out, 1))
				var a *attention
				if typ == AttnDownBlock {
					a = bd.attention("attentions."+strconv.Itoa(j), cfg, out, cfg.NormNumGroups, 1)
				}
				blk.attns = append(blk.attns, a)
			}
			if i < len(ch)-1 {
				c := bd.conv("downsamplers.0.conv", out, out, 3, 2, pad)
				blk.resize = &c
			}
		})
		m.down = append(m.down, blk)
	}
	if cfg.MidBlockType != "" {
		mid := &midBlock{}
		last := ch[len(ch)-1]
		bd.with("mid_block", func() {
			if cfg.AddAttention {
				mid.attn = bd.attention("attentions.0", cfg, last, cfg.midAttnGroups(), cfg.MidBlockScaleFactor)
			}
			mid.res0 = bd.resnet("resnets.0", cfg, last, last, cfg.MidBlockScaleFactor)
			mid.res1 = bd.resnet("resnets.1", cfg, last, last, cfg.MidBlockScaleFactor)
		})
		m.mid = mid
	}
	rev := make([]int, len(ch))
	for i := range ch {
		rev[i] = ch[len(ch)-1-i]
	}
	out = rev[0]
	for i, typ := range cfg.UpBlockTypes {
		prev := out
		out = rev[i]
		in := rev[min(i+1, len(ch)-1)]
		var blk block
		bd.with("up_blocks."+strconv.Itoa(i), func() {
			n := cfg.LayersPerBlock + 1
			for j := 0; j < n; j++ {
				skip := out
				if j == n-1 {
					skip = in
				}
				rin := out
				if j == 0 {
					rin = prev
				}
				blk.resnets = append(blk.resnets, bd.resnet("resnets."+strconv.Itoa(j), cfg, rin+skip, out, 1))
				var a *attention
				if typ == AttnUpBlock {
					a = bd.attention("attentions."+strconv.Itoa(j), cfg, out, cfg.NormNumGroups, 1)
				}
				blk.attns = append(blk.attns, a)
			}
			if i < len(ch)-1 {
				c := bd.conv("upsamplers.0.conv", out, out, 3, 1, Padding{Top: 1, Left: 1, Bottom: 1, Right: 1})
				blk.resize = &c
			}
		})
		m.up = append(m.up, blk)
	}
	m.normOut = bd.groupNorm("conv_norm_out", ch[0], cfg.NormNumGroups, cfg.NormEps)
	m.convOut = bd.conv("conv_out", ch[0], cfg.OutChannels, 3, 1, Padding{Top: 1, Left: 1, Bottom: 1, Right: 1})
	if bd.err != nil {
		return nil, bd.err
	}
	m.params = bd.params
	m.arena.b = b
	return m, nil
}

// Params lists the parameters in diffusers' state_dict order.
func (m *Model) Params() []Param { return m.params }

// ParamCount is the total number of parameters.
func (m *Model) ParamCount() int {
	n := 0
	for _, p := range m.params {
		n += p.Elements()
	}
	return n
}

// Backend is the backend the model runs on.
func (m *Model) Backend() Backend { return m.backend }

// arena hands out the activations of a forward pass, keyed by shape. The
// graph releases each value once it has been read for the last time
// (executor.release), and a later request for the same shape takes it
// back: activations cost the most that is alive at once — the skips and
// a few values in flight — not the sum of every value in the pass. A pass
// asks for and releases the same shapes in the same order every time, so
// after the first call every tensor is reused and memory stays flat from
// step to step; a pass at another batch size (the last partial batch,
// guidance doubling the batch) adds tensors of its own shapes once and
// reuses them too.
type arena struct {
	b    Backend
	pool map[Shape][]Tensor // every tensor the arena owns, by shape
	free map[Shape][]Tensor // those not holding a live value now
	live map[Tensor]bool
	// keepAll (tests) ignores releases, as the arena did before them.
	keepAll bool
}

// reset starts a pass: every tensor is free, handed out in pool order.
func (a *arena) reset() {
	for s, ts := range a.pool {
		f := a.free[s][:0]
		for i := len(ts) - 1; i >= 0; i-- {
			f = append(f, ts[i])
		}
		a.free[s] = f
	}
	clear(a.live)
}

func (a *arena) get(s Shape) Tensor {
	if a.pool == nil {
		a.pool, a.free, a.live = map[Shape][]Tensor{}, map[Shape][]Tensor{}, map[Tensor]bool{}
	}
	var t Tensor
	if f := a.free[s]; len(f) > 0 {
		t = f[len(f)-1]
		a.free[s] = f[:len(f)-1]
	} else {
		t = a.b.Alloc(s)
		a.pool[s] = append(a.pool[s], t)
	}
	a.live[t] = true
	return t
}

// put takes back a value the graph reads no more. Releasing a tensor that
// is not live would hand one buffer to two values: a bug in the graph, not
// a condition to survive.
func (a *arena) put(t Tensor) {
	if a.keepAll {
		return
	}
	if !a.live[t] {
		panic("unet: an activation released twice, or not from this arena")
	}
	delete(a.live, t)
	a.free[t.Shape()] = append(a.free[t.Shape()], t)
}

// size is the number of tensors the arena holds, and their bytes.
func (a *arena) size() (int, int64) {
	n, bytes := 0, int64(0)
	for s, ts := range a.pool {
		n += len(ts)
		bytes += 4 * int64(s.Len()) * int64(len(ts))
	}
	return n, bytes
}

// release frees every activation.
func (a *arena) release() {
	for _, ts := range a.pool {
		for _, t := range ts {
			a.b.Free(t)
		}
	}
	a.pool, a.free, a.live = nil, nil, nil
}

// Close frees the model's activations and parameters on its backend (the
// backend itself stays open: it may hold other models).
func (m *Model) Close() {
	m.arena.release()
	for _, p := range m.params {
		m.backend.Free(p.Tensor)
	}
	m.params = nil
}

// ArenaSize is the number of activation tensors the model keeps, and their
// bytes (for tests and the status bar).
func (m *Model) ArenaSize() (int, int64) { return m.arena.size() }

// ErrInput is wrapped by every rejection of a forward pass's inputs.
var ErrInput = errors.New("invalid model input")

// checkSizes verifies that an H×W input survives the down and up paths: each
// upsampled map must match the skip it is concatenated with.
func (m *Model) checkSizes(h, w int) error {
	if h < 1 || w < 1 {
		return fmt.Errorf("%w: %d×%d image", ErrInput, h, w)
	}
	levels := [][2]int{{h, w}} // the resolution of each level of the U
	for i, blk := range m.down {
		if blk.resize == nil {
			continue
		}
		p := blk.resize.pad
		h = (h+p.Top+p.Bottom-3)/2 + 1
		w = (w+p.Left+p.Right-3)/2 + 1
		if h < 1 || w < 1 {
			return fmt.Errorf("%w: the input is too small for down block %d", ErrInput, i)
		}
		levels = append(levels, [2]int{h, w})
	}
	for i := len(levels) - 1; i > 0; i-- {
		if up, skip := [2]int{2 * levels[i][0], 2 * levels[i][1]}, levels[i-1]; up != skip {
			return fmt.Errorf("%w: a %d×%d input does not survive %d downsamplings (upsampling %d×%d gives %d×%d, its skip is %d×%d)",
				ErrInput, levels[0][0], levels[0][1], len(levels)-1, levels[i][0], levels[i][1], up[0], up[1], skip[0], skip[1])
		}
	}
	return nil
}

// Forward runs the network on a batch x of shape [N, in_channels, H, W] at
// per-sample timesteps t, with class labels when the model is conditional.
// The result (N × out_channels × H × W) is a buffer the model reuses on the
// next call.
func (m *Model) Forward(x []float32, n, h, w int, t []float32, classes []int) ([]float32, error) {
	if err := m.checkInputs(x, n, h, w, t, classes); err != nil {
		return nil, err
	}
	return m.forward(x, n, h, w, t, classes)
}

// forward is Forward after its inputs were checked; on a dry model it only
// walks the graph (see ActivationBytes).
func (m *Model) forward(x []float32, n, h, w int, t []float32, classes []int) ([]float32, error) {
	m.arena.reset()
	res, err := walk[Tensor](m, (*forwardExec)(m), x, n, h, w, t, classes)
	if err != nil || m.dry {
		return nil, err
	}
	b := m.backend
	m.out = grow(m.out, res.Shape().Len())
	b.Download(m.out, res)
	if err := b.Err(); err != nil {
		return nil, fmt.Errorf("backend %s: %w", b.Name(), err)
	}
	return m.out, nil
}

func (m *Model) checkInputs(x []float32, n, h, w int, t []float32, classes []int) error {
	cfg := m.Config
	if n < 1 || len(x) != n*cfg.InChannels*h*w {
		return fmt.Errorf("%w: %d values for a batch of %d × %d×%d×%d", ErrInput, len(x), n, cfg.InChannels, h, w)
	}
	if len(t) != n {
		return fmt.Errorf("%w: %d timesteps for a batch of %d", ErrInput, len(t), n)
	}
	if cfg.HasClasses() {
		if len(classes) != n {
			return fmt.Errorf("%w: the model is class-conditional and needs %d class labels, got %d", ErrInput, n, len(classes))
		}
		if cfg.NumClassEmbeds > 0 {
			for i, c := range classes {
				if c < 0 || c >= cfg.NumClassEmbeds {
					return fmt.Errorf("%w: class label %d of sample %d outside [0, %d)", ErrInput, c, i, cfg.NumClassEmbeds)
				}
			}
		}
	} else if classes != nil {
		return fmt.Errorf("%w: class labels given to a model without class conditioning", ErrInput)
	}
	return m.checkSizes(h, w)
}

// lookupClasses writes the class-embedding row of each label to dst.
func (m *Model) lookupClasses(dst []float32, classes []int) {
	d := m.timeEmbedDim
	for i, c := range classes {
		copy(dst[i*d:(i+1)*d], m.classTable[c*d:(c+1)*d])
	}
}

func grow(buf []float32, n int) []float32 {
	if cap(buf) < n {
		return make([]float32, n)
	}
	return buf[:n]
}

// forwardExec runs the graph on the model's backend: every value is an
// activation from the shape-keyed arena, every operation one kernel.
type forwardExec Model

func (e *forwardExec) alloc(s Shape) Tensor { return e.arena.get(s) }

// dst is the destination of an element-wise kernel: x itself when the graph
// says it is dead (the contract allows these kernels in place).
func (e *forwardExec) dst(x Tensor, reuse bool) Tensor {
	if reuse {
		return x
	}
	return e.alloc(x.Shape())
}

func (e *forwardExec) input(x []float32, s Shape) Tensor {
	in := e.alloc(s)
	if e.Config.CenterInputSample && !e.dry {
		e.hostIn = grow(e.hostIn, len(x))
		for i, v := range x {
			e.hostIn[i] = 2*v - 1
		}
		e.backend.Upload(in, e.hostIn)
	} else {
		e.backend.Upload(in, x)
	}
	return in
}

func (e *forwardExec) timeProj(v []float32, width int) Tensor {
	y := e.alloc(Shape{len(v), width, 1, 1})
	e.backend.TimestepEmbedding(y, v, e.Config.FlipSinToCos, float32(e.Config.FreqShift))
	return y
}

func (e *forwardExec) classRows(classes []int) Tensor {
	d := e.timeEmbedDim
	y := e.alloc(Shape{len(classes), d, 1, 1})
	if !e.dry {
		if e.training {
			// The optimiser writes the table in place: read it back.
			e.backend.Download(e.classTable, e.classTensor)
		}
		e.hostEmbs = grow(e.hostEmbs, len(classes)*d)
		(*Model)(e).lookupClasses(e.hostEmbs, classes)
		e.backend.Upload(y, e.hostEmbs)
	}
	return y
}

func (e *forwardExec) linear(l linear, x Tensor) Tensor {
	y := e.alloc(Shape{x.Shape()[0], l.out, 1, 1})
	e.backend.Linear(y, x, l.w, l.b)
	return y
}

func (e *forwardExec) conv(c conv, x Tensor) Tensor {
	s := x.Shape()
	ho := (s[2]+c.pad.Top+c.pad.Bottom-c.k)/c.stride + 1
	wo := (s[3]+c.pad.Left+c.pad.Right-c.k)/c.stride + 1
	y := e.alloc(Shape{s[0], c.co, ho, wo})
	e.backend.Conv2D(y, x, c.w, c.b, c.stride, c.pad)
	return y
}

func (e *forwardExec) norm(g groupNorm, x Tensor, silu, reuse bool) Tensor {
	y := e.dst(x, reuse)
	e.backend.GroupNorm(y, x, g.g, g.b, g.groups, g.eps, silu)
	return y
}

func (e *forwardExec) silu(x Tensor, reuse bool) Tensor {
	y := e.dst(x, reuse)
	e.backend.SiLU(y, x)
	return y
}

func (e *forwardExec) addChannels(x, v Tensor, reuse bool) Tensor {
	y := e.dst(x, reuse)
	e.backend.AddChannels(y, x, v)
	return y
}

func (e *forwardExec) scaleShift(x, v Tensor, reuse bool) Tensor {
	y := e.dst(x, reuse)
	e.backend.ScaleShift(y, x, v)
	return y
}

func (e *forwardExec) addDiv(a, b Tensor, div float32) Tensor {
	y := e.alloc(a.Shape())
	e.backend.AddDiv(y, a, b, div)
	return y
}

func (e *forwardExec) concat(a, b Tensor) Tensor {
	as, bs := a.Shape(), b.Shape()
	y := e.alloc(Shape{as[0], as[1] + bs[1], as[2], as[3]})
	e.backend.Concat(y, a, b)
	return y
}

func (e *forwardExec) upsample(x Tensor) Tensor {
	s := x.Shape()
	y := e.alloc(Shape{s[0], s[1], 2 * s[2], 2 * s[3]})
	e.backend.Upsample2x(y, x)
	return y
}

func (e *forwardExec) attention(q, k, v Tensor, heads int, scale float32) Tensor {
	y := e.alloc(q.Shape())
	e.backend.Attention(y, q, k, v, heads, scale)
	return y
}

func (e *forwardExec) emit(name string, x Tensor) { (*Model)(e).emit(name, x) }
func (e *forwardExec) release(x Tensor) {
	if e.poison {
		v := make([]float32, x.Shape().Len())
		for i := range v {
			v[i] = 7 // any value but the true one changes the output
		}
		e.backend.Upload(x, v)
	}
	e.arena.put(x)
}
func (e *forwardExec) observing() bool   { return e.observe != nil }
func (e *forwardExec) checkpoint() error { return (*Model)(e).cancelled() }

// Predict implements diffusion.Denoiser. A learned-variance model
// (out_channels = 2·in_channels) returns both halves; the samplers split them.
func (m *Model) Predict(ctx context.Context, x []float32, shape diffusion.Shape, t []int, classes []int) ([]float32, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if shape.C != m.Config.InChannels {
		return nil, fmt.Errorf("%w: %d channels, the model takes %d", ErrInput, shape.C, m.Config.InChannels)
	}
	ts := make([]float32, len(t))
	for i, v := range t {
		ts[i] = float32(v)
	}
	m.ctx = ctx
	defer func() { m.ctx = nil }()
	return m.Forward(x, shape.N, shape.H, shape.W, ts, classes)
}

// FLOPs is the number of floating-point operations (2 per multiply-add) of
// the convolutions, linear layers and attention products of one forward pass
// at batch 1 on an H×W input: the count the benchmarks report against. It is
// counted by running the graph on a backend that computes nothing, so the
// count follows the graph and is never a second walker to keep in step.
func (m *Model) FLOPs(h, w int) float64 {
	f, err := FLOPsOf(m.Config, h, w)
	if err != nil {
		return 0
	}
	return f
}

// FLOPsOf is FLOPs from the config alone.
func FLOPsOf(cfg Config, h, w int) (float64, error) {
	d, err := dryBuild(cfg)
	if err != nil {
		return 0, err
	}
	if err := d.checkSizes(h, w); err != nil {
		return 0, err
	}
	nb := d.backend.(*nullBackend)
	d.dry = true
	var classes []int
	if cfg.HasClasses() {
		classes = []int{0}
	}
	nb.flops = 0
	if _, err := d.forward(nil, 1, h, w, []float32{0}, classes); err != nil {
		return 0, err
	}
	return nb.flops, nil
}
