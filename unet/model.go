package unet

import (
	"context"
	"errors"
	"fmt"
	"math"
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
	t := bd.b.Alloc(s)
	bd.b.Upload(t, v)
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
		r.conv1 = bd.conv("conv1", in, out, 3, 1, Padding{1, 1, 1, 1})
		tembOut := out
		if r.scaleShift {
			tembOut = 2 * out
		}
		r.temb = bd.linear("time_emb_proj", cfg.timeEmbedDim(), tembOut)
		r.norm2 = bd.groupNorm("norm2", out, cfg.NormNumGroups, cfg.NormEps)
		r.conv2 = bd.conv("conv2", out, out, 3, 1, Padding{1, 1, 1, 1})
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
// diffusers' state_dict order.
func build(cfg Config, b Backend, src source) (*Model, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	bd := &builder{b: b, src: src}
	m := &Model{Config: cfg, backend: b, timeEmbedDim: cfg.timeEmbedDim()}
	ch := cfg.BlockOutChannels
	ted := cfg.timeEmbedDim()
	m.convIn = bd.conv("conv_in", cfg.InChannels, ch[0], 3, 1, Padding{1, 1, 1, 1})
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
			m.classTable, m.classTensor = v, t
			if ct, ok := t.(*CPUTensor); ok {
				m.classTable = ct.Data // stays current while training updates it
			}
			bd.params = append(bd.params, Param{Name: "class_embedding.weight", Dims: []int{cfg.NumClassEmbeds, ted}, Tensor: t})
		}
	}
	pad := Padding{1, 1, 1, 1}
	if cfg.DownsamplePadding == 0 {
		pad = Padding{0, 0, 1, 1}
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
				c := bd.conv("upsamplers.0.conv", out, out, 3, 1, Padding{1, 1, 1, 1})
				blk.resize = &c
			}
		})
		m.up = append(m.up, blk)
	}
	m.normOut = bd.groupNorm("conv_norm_out", ch[0], cfg.NormNumGroups, cfg.NormEps)
	m.convOut = bd.conv("conv_out", ch[0], cfg.OutChannels, 3, 1, Padding{1, 1, 1, 1})
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

// arena hands out the activations of a forward pass, keyed by shape: a
// pass asks for the same shapes in the same order every time, so after the
// first call every tensor is reused and memory stays flat from step to
// step; a pass at another batch size (the last partial batch, guidance
// doubling the batch) adds tensors of its own shapes once and reuses them
// too, instead of re-allocating everything.
type arena struct {
	b    Backend
	pool map[Shape][]Tensor
	used map[Shape]int
}

func (a *arena) reset() { clear(a.used) }

func (a *arena) get(s Shape) Tensor {
	if a.pool == nil {
		a.pool, a.used = map[Shape][]Tensor{}, map[Shape]int{}
	}
	i := a.used[s]
	a.used[s] = i + 1
	if i < len(a.pool[s]) {
		return a.pool[s][i]
	}
	t := a.b.Alloc(s)
	a.pool[s] = append(a.pool[s], t)
	return t
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
	a.pool, a.used = nil, nil
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
	cfg := m.Config
	b := m.backend
	a := &m.arena
	a.reset()

	in := a.get(Shape{n, cfg.InChannels, h, w})
	if cfg.CenterInputSample && !m.dry {
		m.hostIn = grow(m.hostIn, len(x))
		for i, v := range x {
			m.hostIn[i] = 2*v - 1
		}
		b.Upload(in, m.hostIn)
	} else {
		b.Upload(in, x)
	}

	// Time (and class) embedding; every resnet applies SiLU to it, so do it once.
	tproj := a.get(Shape{n, cfg.BlockOutChannels[0], 1, 1})
	b.TimestepEmbedding(tproj, t, cfg.FlipSinToCos, float32(cfg.FreqShift))
	m.emit("time_proj", tproj)
	emb := m.mlp(m.timeLin1, m.timeLin2, tproj, n)
	m.emit("time_embedding", emb)
	if cfg.HasClasses() {
		var cls Tensor
		if m.classLin1 != nil {
			cp := a.get(Shape{n, cfg.BlockOutChannels[0], 1, 1})
			lab := make([]float32, n)
			for i, c := range classes[:n] {
				lab[i] = float32(c)
			}
			b.TimestepEmbedding(cp, lab, cfg.FlipSinToCos, float32(cfg.FreqShift))
			cls = m.mlp(*m.classLin1, *m.classLin2, cp, n)
		} else {
			cls = a.get(Shape{n, m.timeEmbedDim, 1, 1})
			if !m.dry {
				m.hostEmbs = grow(m.hostEmbs, n*m.timeEmbedDim)
				m.lookupClasses(m.hostEmbs, classes)
				b.Upload(cls, m.hostEmbs)
			}
		}
		m.emit("class_embedding", cls)
		sum := a.get(emb.Shape())
		b.AddDiv(sum, emb, cls, 1)
		emb = sum
	}
	embAct := a.get(emb.Shape())
	b.SiLU(embAct, emb)

	hcur := m.conv(m.convIn, in)
	m.emit("conv_in", hcur)
	skips := []Tensor{hcur}
	for i, blk := range m.down {
		name := "down_blocks." + strconv.Itoa(i)
		for j, r := range blk.resnets {
			hcur = m.resnet(r, hcur, embAct)
			m.emit(name+".resnets."+strconv.Itoa(j), hcur)
			if at := blk.attns[j]; at != nil {
				hcur = m.attention(at, hcur)
				m.emit(name+".attentions."+strconv.Itoa(j), hcur)
			}
			skips = append(skips, hcur)
		}
		if blk.resize != nil {
			hcur = m.conv(*blk.resize, hcur)
			m.emit(name+".downsamplers.0", hcur)
			skips = append(skips, hcur)
		}
		m.emit(name, hcur)
		if err := m.cancelled(); err != nil {
			return nil, err
		}
	}
	if m.mid != nil {
		hcur = m.resnet(m.mid.res0, hcur, embAct)
		m.emit("mid_block.resnets.0", hcur)
		if m.mid.attn != nil {
			hcur = m.attention(m.mid.attn, hcur)
			m.emit("mid_block.attentions.0", hcur)
		}
		hcur = m.resnet(m.mid.res1, hcur, embAct)
		m.emit("mid_block.resnets.1", hcur)
		m.emit("mid_block", hcur)
		if err := m.cancelled(); err != nil {
			return nil, err
		}
	}
	for i, blk := range m.up {
		name := "up_blocks." + strconv.Itoa(i)
		for j, r := range blk.resnets {
			skip := skips[len(skips)-1]
			skips = skips[:len(skips)-1]
			hs, ss := hcur.Shape(), skip.Shape()
			cat := a.get(Shape{hs[0], hs[1] + ss[1], hs[2], hs[3]})
			b.Concat(cat, hcur, skip)
			hcur = m.resnet(r, cat, embAct)
			m.emit(name+".resnets."+strconv.Itoa(j), hcur)
			if at := blk.attns[j]; at != nil {
				hcur = m.attention(at, hcur)
				m.emit(name+".attentions."+strconv.Itoa(j), hcur)
			}
		}
		if blk.resize != nil {
			s := hcur.Shape()
			upx := a.get(Shape{s[0], s[1], 2 * s[2], 2 * s[3]})
			b.Upsample2x(upx, hcur)
			hcur = m.conv(*blk.resize, upx)
			m.emit(name+".upsamplers.0", hcur)
		}
		m.emit(name, hcur)
		if err := m.cancelled(); err != nil {
			return nil, err
		}
	}
	normed := a.get(hcur.Shape())
	if m.observe != nil {
		// diffusers' conv_norm_out is the GroupNorm alone; the SiLU follows.
		m.gn(normed, m.normOut, hcur, false)
		m.emit("conv_norm_out", normed)
		b.SiLU(normed, normed)
	} else {
		m.gn(normed, m.normOut, hcur, true)
	}
	res := m.conv(m.convOut, normed)
	m.emit("conv_out", res)
	if m.dry {
		return nil, nil
	}
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

func (m *Model) mlp(l1, l2 linear, x Tensor, n int) Tensor {
	a := &m.arena
	h := a.get(Shape{n, l1.out, 1, 1})
	m.backend.Linear(h, x, l1.w, l1.b)
	hs := a.get(h.Shape())
	m.backend.SiLU(hs, h)
	o := a.get(Shape{n, l2.out, 1, 1})
	m.backend.Linear(o, hs, l2.w, l2.b)
	return o
}

func (m *Model) conv(c conv, x Tensor) Tensor {
	s := x.Shape()
	ho := (s[2]+c.pad.Top+c.pad.Bottom-c.k)/c.stride + 1
	wo := (s[3]+c.pad.Left+c.pad.Right-c.k)/c.stride + 1
	out := m.arena.get(Shape{s[0], c.co, ho, wo})
	m.backend.Conv2D(out, x, c.w, c.b, c.stride, c.pad)
	return out
}

func (m *Model) gn(dst Tensor, g groupNorm, x Tensor, silu bool) {
	m.backend.GroupNorm(dst, x, g.g, g.b, g.groups, g.eps, silu)
}

func (m *Model) resnet(r resnet, x, embAct Tensor) Tensor {
	a, b := &m.arena, m.backend
	s := x.Shape()
	h := a.get(s)
	m.gn(h, r.norm1, x, true)
	h = m.conv(r.conv1, h)
	t := a.get(Shape{s[0], r.temb.out, 1, 1})
	b.Linear(t, embAct, r.temb.w, r.temb.b)
	h2 := a.get(h.Shape())
	if r.scaleShift {
		m.gn(h2, r.norm2, h, false)
		b.ScaleShift(h2, h2, t)
		b.SiLU(h2, h2)
	} else {
		b.AddChannels(h2, h, t)
		m.gn(h2, r.norm2, h2, true)
	}
	h = m.conv(r.conv2, h2)
	short := x
	if r.shortcut != nil {
		short = m.conv(*r.shortcut, x)
	}
	out := a.get(h.Shape())
	b.AddDiv(out, short, h, r.outScale)
	return out
}

func (m *Model) attention(at *attention, x Tensor) Tensor {
	a, b := &m.arena, m.backend
	hn := x
	if at.norm != nil {
		hn = a.get(x.Shape())
		m.gn(hn, *at.norm, x, false)
	}
	q, k, v := m.conv(at.q, hn), m.conv(at.k, hn), m.conv(at.v, hn)
	att := a.get(q.Shape())
	b.Attention(att, q, k, v, at.heads, at.scale)
	o := m.conv(at.o, att)
	out := a.get(x.Shape())
	b.AddDiv(out, o, x, at.rescale)
	return out
}

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
