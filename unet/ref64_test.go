package unet

import (
	"math"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/ddpmstudio/ddpmstudio/internal/golden"
	"github.com/ddpmstudio/ddpmstudio/safetensors"
	"github.com/ddpmstudio/ddpmstudio/unet/cpu"
)

// ref64 is an independent float64 implementation of diffusers'
// UNet2DModel.forward, written from diffusers' module definitions (see
// testdata/golden/README.md, "UNet2DModel conventions") with plain loops and
// no code shared with the graph in model.go: it reads parameters by their
// checkpoint names and walks the config itself. It is held to the diffusers
// fixtures (TestRef64MatchesDiffusers) and then serves as the reference for
// the config paths no fixture covers (TestRef64ConfigPaths).
type ref64 struct {
	cfg    Config
	params map[string][]float64
	t      testing.TB
}

// img is one sample's feature map, C×H×W.
type img struct {
	c, h, w int
	d       []float64
}

func newImg(c, h, w int) img { return img{c, h, w, make([]float64, c*h*w)} }

func newRef64(t testing.TB, m *Model) *ref64 {
	r := &ref64{cfg: m.Config, params: map[string][]float64{}, t: t}
	for _, p := range m.Params() {
		v := make([]float32, p.Elements())
		m.Backend().Download(v, p.Tensor)
		d := make([]float64, len(v))
		for i, x := range v {
			d[i] = float64(x)
		}
		r.params[p.Name] = d
	}
	return r
}

func (r *ref64) p(name string) []float64 {
	v, ok := r.params[name]
	if !ok {
		r.t.Fatalf("reference: no parameter %s", name)
	}
	return v
}

// timeProj is get_timestep_embedding, with the float32 steps diffusers keeps
// even in a float64 model (the frequencies and t·f are float32).
func (r *ref64) timeProj(t float64) []float64 {
	dim := r.cfg.BlockOutChannels[0]
	half := dim / 2
	out := make([]float64, dim)
	for i := 0; i < half; i++ {
		e := float32(-math.Log(10000)) * float32(i)
		e /= float32(half) - float32(r.cfg.FreqShift)
		f := float32(math.Exp(float64(e)))
		arg := float64(float32(t) * f)
		s, c := math.Sin(arg), math.Cos(arg)
		if r.cfg.FlipSinToCos {
			out[i], out[half+i] = c, s
		} else {
			out[i], out[half+i] = s, c
		}
	}
	return out
}

func (r *ref64) linear(name string, x []float64) []float64 {
	w, b := r.p(name+".weight"), r.p(name+".bias")
	out := make([]float64, len(b))
	for o := range out {
		s := b[o]
		for i, v := range x {
			s += w[o*len(x)+i] * v
		}
		out[o] = s
	}
	return out
}

func silu64(v float64) float64 { return v / (1 + math.Exp(-v)) }

func siluVec(x []float64) []float64 {
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = silu64(v)
	}
	return out
}

// conv is nn.Conv2d with a k×k kernel, the given stride and padding
// (top, left, bottom, right).
func (r *ref64) conv(name string, x img, k, stride, pt, pl, pb, pr int) img {
	w, b := r.p(name+".weight"), r.p(name+".bias")
	co := len(b)
	ho := (x.h+pt+pb-k)/stride + 1
	wo := (x.w+pl+pr-k)/stride + 1
	out := newImg(co, ho, wo)
	for o := 0; o < co; o++ {
		for y := 0; y < ho; y++ {
			for xx := 0; xx < wo; xx++ {
				s := b[o]
				for c := 0; c < x.c; c++ {
					for ky := 0; ky < k; ky++ {
						iy := y*stride + ky - pt
						if iy < 0 || iy >= x.h {
							continue
						}
						for kx := 0; kx < k; kx++ {
							ix := xx*stride + kx - pl
							if ix < 0 || ix >= x.w {
								continue
							}
							s += w[((o*x.c+c)*k+ky)*k+kx] * x.d[(c*x.h+iy)*x.w+ix]
						}
					}
				}
				out.d[(o*ho+y)*wo+xx] = s
			}
		}
	}
	return out
}

func (r *ref64) groupNorm(name string, x img, groups int) img {
	g, b := r.p(name+".weight"), r.p(name+".bias")
	out := newImg(x.c, x.h, x.w)
	per := x.c / groups * x.h * x.w
	for gi := 0; gi < groups; gi++ {
		seg := x.d[gi*per : (gi+1)*per]
		var mean, vr float64
		for _, v := range seg {
			mean += v
		}
		mean /= float64(per)
		for _, v := range seg {
			vr += (v - mean) * (v - mean)
		}
		vr /= float64(per)
		inv := 1 / math.Sqrt(vr+r.cfg.NormEps)
		for i, v := range seg {
			c := (gi*per + i) / (x.h * x.w)
			out.d[gi*per+i] = (v-mean)*inv*g[c] + b[c]
		}
	}
	return out
}

func siluImg(x img) img {
	out := newImg(x.c, x.h, x.w)
	for i, v := range x.d {
		out.d[i] = silu64(v)
	}
	return out
}

func (r *ref64) resnet(name string, x img, emb []float64, outScale float64) img {
	cfg := r.cfg
	h := r.conv(name+".conv1", siluImg(r.groupNorm(name+".norm1", x, cfg.NormNumGroups)), 3, 1, 1, 1, 1, 1)
	temb := r.linear(name+".time_emb_proj", siluVec(emb))
	plane := h.h * h.w
	if cfg.ResnetTimeScaleShift == "scale_shift" {
		h = r.groupNorm(name+".norm2", h, cfg.NormNumGroups)
		for c := 0; c < h.c; c++ {
			scale, shift := temb[c], temb[h.c+c]
			for i := 0; i < plane; i++ {
				h.d[c*plane+i] = h.d[c*plane+i]*(1+scale) + shift
			}
		}
	} else {
		for c := 0; c < h.c; c++ {
			for i := 0; i < plane; i++ {
				h.d[c*plane+i] += temb[c]
			}
		}
		h = r.groupNorm(name+".norm2", h, cfg.NormNumGroups)
	}
	h = r.conv(name+".conv2", siluImg(h), 3, 1, 1, 1, 1, 1)
	short := x
	if x.c != h.c {
		short = r.conv(name+".conv_shortcut", x, 1, 1, 0, 0, 0, 0)
	}
	for i := range h.d {
		h.d[i] = (short.d[i] + h.d[i]) / outScale
	}
	return h
}

// tokens applies a Linear over channels to every position: [L, out].
func (r *ref64) tokens(name string, x img) [][]float64 {
	L := x.h * x.w
	out := make([][]float64, L)
	col := make([]float64, x.c)
	for l := 0; l < L; l++ {
		for c := 0; c < x.c; c++ {
			col[c] = x.d[c*L+l]
		}
		out[l] = r.linear(name, col)
	}
	return out
}

func (r *ref64) attention(name string, x img, groups, headDim int, rescale float64) img {
	hn := x
	if groups > 0 {
		hn = r.groupNorm(name+".group_norm", x, groups)
	}
	q, k, v := r.tokens(name+".to_q", hn), r.tokens(name+".to_k", hn), r.tokens(name+".to_v", hn)
	L, inner := len(q), len(q[0])
	heads := inner / headDim
	att := make([][]float64, L)
	for l := range att {
		att[l] = make([]float64, inner)
	}
	scale := 1 / math.Sqrt(float64(headDim))
	score := make([]float64, L)
	for hd := 0; hd < heads; hd++ {
		off := hd * headDim
		for i := 0; i < L; i++ {
			mx := math.Inf(-1)
			for j := 0; j < L; j++ {
				s := 0.0
				for d := 0; d < headDim; d++ {
					s += q[i][off+d] * k[j][off+d]
				}
				score[j] = s * scale
				mx = max(mx, score[j])
			}
			sum := 0.0
			for j := range score {
				score[j] = math.Exp(score[j] - mx)
				sum += score[j]
			}
			for j := range score {
				for d := 0; d < headDim; d++ {
					att[i][off+d] += score[j] / sum * v[j][off+d]
				}
			}
		}
	}
	out := newImg(x.c, x.h, x.w)
	for l := 0; l < L; l++ {
		o := r.linear(name+".to_out.0", att[l])
		for c := range o {
			out.d[c*L+l] = (o[c] + x.d[c*L+l]) / rescale
		}
	}
	return out
}

func (r *ref64) headDim(ch int) int {
	if r.cfg.AttentionHeadDim > 0 {
		return r.cfg.AttentionHeadDim
	}
	return ch
}

// forward runs one sample; observe (when not nil) sees each module's output
// under its diffusers name.
func (r *ref64) forward(x []float32, h, w int, t float64, class int, observe func(string, []float64)) []float64 {
	cfg := r.cfg
	emit := func(name string, v []float64) {
		if observe != nil {
			observe(name, v)
		}
	}
	in := newImg(cfg.InChannels, h, w)
	for i, v := range x {
		in.d[i] = float64(v)
		if cfg.CenterInputSample {
			in.d[i] = 2*in.d[i] - 1
		}
	}
	tp := r.timeProj(t)
	emit("time_proj", tp)
	emb := r.linear("time_embedding.linear_2", siluVec(r.linear("time_embedding.linear_1", tp)))
	emit("time_embedding", emb)
	if cfg.ClassEmbedType == "timestep" {
		ce := r.linear("class_embedding.linear_2", siluVec(r.linear("class_embedding.linear_1", r.timeProj(float64(class)))))
		emit("class_embedding", ce)
		for i := range emb {
			emb[i] += ce[i]
		}
	} else if cfg.NumClassEmbeds > 0 {
		table := r.p("class_embedding.weight")
		ce := table[class*len(emb) : (class+1)*len(emb)]
		emit("class_embedding", ce)
		for i := range emb {
			emb[i] += ce[i]
		}
	}
	cur := r.conv("conv_in", in, 3, 1, 1, 1, 1, 1)
	emit("conv_in", cur.d)
	skips := []img{cur}
	ch := cfg.BlockOutChannels
	for i, typ := range cfg.DownBlockTypes {
		name := "down_blocks." + strconv.Itoa(i)
		for j := 0; j < cfg.LayersPerBlock; j++ {
			cur = r.resnet(name+".resnets."+strconv.Itoa(j), cur, emb, 1)
			emit(name+".resnets."+strconv.Itoa(j), cur.d)
			if typ == AttnDownBlock {
				cur = r.attention(name+".attentions."+strconv.Itoa(j), cur, cfg.NormNumGroups, r.headDim(ch[i]), 1)
				emit(name+".attentions."+strconv.Itoa(j), cur.d)
			}
			skips = append(skips, cur)
		}
		if i < len(ch)-1 {
			if cfg.DownsamplePadding == 0 {
				cur = r.conv(name+".downsamplers.0.conv", cur, 3, 2, 0, 0, 1, 1)
			} else {
				p := cfg.DownsamplePadding
				cur = r.conv(name+".downsamplers.0.conv", cur, 3, 2, p, p, p, p)
			}
			emit(name+".downsamplers.0", cur.d)
			skips = append(skips, cur)
		}
		emit(name, cur.d)
	}
	if cfg.MidBlockType != "" {
		last := ch[len(ch)-1]
		sf := cfg.MidBlockScaleFactor
		cur = r.resnet("mid_block.resnets.0", cur, emb, sf)
		emit("mid_block.resnets.0", cur.d)
		if cfg.AddAttention {
			groups := cfg.AttnNormNumGroups
			if groups == 0 && cfg.ResnetTimeScaleShift == "default" {
				groups = cfg.NormNumGroups
			}
			hd := last
			if cfg.AttentionHeadDim > 0 {
				hd = cfg.AttentionHeadDim
			}
			cur = r.attention("mid_block.attentions.0", cur, groups, hd, sf)
			emit("mid_block.attentions.0", cur.d)
		}
		cur = r.resnet("mid_block.resnets.1", cur, emb, sf)
		emit("mid_block.resnets.1", cur.d)
		emit("mid_block", cur.d)
	}
	for i, typ := range cfg.UpBlockTypes {
		name := "up_blocks." + strconv.Itoa(i)
		out := ch[len(ch)-1-i]
		for j := 0; j <= cfg.LayersPerBlock; j++ {
			skip := skips[len(skips)-1]
			skips = skips[:len(skips)-1]
			cat := newImg(cur.c+skip.c, cur.h, cur.w)
			copy(cat.d, cur.d)
			copy(cat.d[len(cur.d):], skip.d)
			cur = r.resnet(name+".resnets."+strconv.Itoa(j), cat, emb, 1)
			emit(name+".resnets."+strconv.Itoa(j), cur.d)
			if typ == AttnUpBlock {
				cur = r.attention(name+".attentions."+strconv.Itoa(j), cur, cfg.NormNumGroups, r.headDim(out), 1)
				emit(name+".attentions."+strconv.Itoa(j), cur.d)
			}
		}
		if i < len(ch)-1 {
			up := newImg(cur.c, 2*cur.h, 2*cur.w)
			for c := 0; c < cur.c; c++ {
				for y := 0; y < up.h; y++ {
					for xx := 0; xx < up.w; xx++ {
						up.d[(c*up.h+y)*up.w+xx] = cur.d[(c*cur.h+y/2)*cur.w+xx/2]
					}
				}
			}
			cur = r.conv(name+".upsamplers.0.conv", up, 3, 1, 1, 1, 1, 1)
			emit(name+".upsamplers.0", cur.d)
		}
		emit(name, cur.d)
	}
	cur = r.groupNorm("conv_norm_out", cur, cfg.NormNumGroups)
	emit("conv_norm_out", cur.d)
	cur = r.conv("conv_out", siluImg(cur), 3, 1, 1, 1, 1, 1)
	emit("conv_out", cur.d)
	return cur.d
}

// forwardBatch runs every sample of a batch through forward.
func (r *ref64) forwardBatch(x []float32, n, h, w int, ts []float32, classes []int) []float64 {
	per := r.cfg.InChannels * h * w
	var out []float64
	for b := 0; b < n; b++ {
		c := 0
		if classes != nil {
			c = classes[b]
		}
		out = append(out, r.forward(x[b*per:(b+1)*per], h, w, float64(ts[b]), c, nil)...)
	}
	return out
}

func maxDiff64(a []float32, b []float64) (worst, scale float64) {
	scale = 1
	for i := range b {
		scale = max(scale, math.Abs(b[i]))
		d := math.Abs(float64(a[i]) - b[i])
		if math.IsNaN(d) {
			return math.Inf(1), scale
		}
		worst = max(worst, d)
	}
	return worst, scale
}

// TestRef64MatchesDiffusers holds the reference itself to diffusers: every
// golden UNet fixture's float64 output, module by module where the fixture
// has intermediates.
func TestRef64MatchesDiffusers(t *testing.T) {
	for _, fx := range golden.Folders(t, "unet", "config.json") {
		t.Run(fx.Name(), func(t *testing.T) {
			l, err := Load(fx.Path, cpu.New())
			if err != nil {
				t.Fatal(err)
			}
			io, err := safetensors.ReadFile(filepath.Join(fx.Path, "io.safetensors"))
			if err != nil {
				t.Fatal(err)
			}
			sample, shape := f32(t, io, "sample")
			steps, _ := i64(t, io, "timestep")
			want, _, err := io.Float64("output_f64")
			if err != nil {
				t.Fatal(err)
			}
			var classes []int
			if io.Has("class_labels") {
				cl, _ := i64(t, io, "class_labels")
				for _, c := range cl {
					classes = append(classes, int(c))
				}
			}
			ts := make([]float32, shape[0])
			for i := range ts {
				ts[i] = float32(steps[min(i, len(steps)-1)])
			}
			ref := newRef64(t, l.Model)
			got := ref.forwardBatch(sample, shape[0], shape[2], shape[3], ts, classes)
			worst := 0.0
			for i := range want {
				worst = max(worst, math.Abs(got[i]-want[i]))
			}
			t.Logf("reference vs diffusers float64: max |Δ| = %.3g", worst)
			if worst > 1e-5 || len(got) != len(want) {
				t.Errorf("the float64 reference differs from diffusers by %.3g", worst)
			}
		})
	}
}

// TestRef64ConfigPaths checks the graph against the float64 reference on the
// config paths that no diffusers fixture covers.
func TestRef64ConfigPaths(t *testing.T) {
	cases := []struct {
		name string
		edit func(*Config)
		h, w int
	}{
		{"center_input_sample", func(c *Config) { c.CenterInputSample = true }, 12, 12},
		{"learned_variance_2C_outputs", func(c *Config) { c.OutChannels = 2 * c.InChannels }, 12, 12},
		{"class_embed_type_timestep", func(c *Config) { c.ClassEmbedType = "timestep" }, 12, 12},
		{"num_class_embeds", func(c *Config) { c.NumClassEmbeds = 5 }, 12, 12},
		{"time_embedding_dim", func(c *Config) { c.TimeEmbeddingDim = 24 }, 12, 12},
		{"attn_norm_num_groups", func(c *Config) { c.AttnNormNumGroups = 2 }, 12, 12},
		{"attn_norm_num_groups_scale_shift", func(c *Config) { c.AttnNormNumGroups = 8; c.ResnetTimeScaleShift = "scale_shift" }, 12, 12},
		{"scale_shift_no_mid_attn_norm", func(c *Config) { c.ResnetTimeScaleShift = "scale_shift" }, 12, 12},
		{"one_head_flip_false_shift_1_pad_0", func(c *Config) {
			c.AttentionHeadDim, c.FlipSinToCos, c.FreqShift, c.DownsamplePadding, c.NormEps = 0, false, 1, 0, 1e-6
		}, 12, 12},
		{"rectangular_20x12_no_attention", func(c *Config) { c.AddAttention = false }, 20, 12},
		{"mid_block_scale_factor", func(c *Config) { c.MidBlockScaleFactor = 1.4142 }, 8, 16},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := tinyConfig()
			c.edit(&cfg)
			m, err := New(cfg, 3, cpu.New())
			if err != nil {
				t.Fatal(err)
			}
			n := 2
			x := randomInput(n * cfg.InChannels * c.h * c.w)
			ts := []float32{7, 31}
			var classes []int
			if cfg.HasClasses() {
				classes = []int{1, 4}
			}
			got, err := m.Forward(x, n, c.h, c.w, ts, classes)
			if err != nil {
				t.Fatal(err)
			}
			want := newRef64(t, m).forwardBatch(x, n, c.h, c.w, ts, classes)
			if len(got) != len(want) || len(got) != n*cfg.OutChannels*c.h*c.w {
				t.Fatalf("%d outputs, reference %d", len(got), len(want))
			}
			worst, scale := maxDiff64(got, want)
			t.Logf("max |Δ| = %.3g (output scale %.3g)", worst, scale)
			if worst > 1e-4*scale {
				t.Errorf("graph differs from the float64 reference by %.3g", worst)
			}
		})
	}
}
