package unet

import (
	"fmt"
	"math"
)

// Limits on what a config.json may ask for. They are far above every
// published UNet2DModel (google/ddpm-cat-256 has 114 M parameters, 256²
// samples and 2 layers per block) and far below what would exhaust a
// machine, so a hostile or mistyped config is refused with a message naming
// the key before anything large is allocated.
const (
	MaxSampleSize      = 4096
	MaxIOChannels      = 64
	MaxBlockChannels   = 8192
	MaxBlocks          = 8
	MaxLayersPerBlock  = 32
	MaxClassEmbeds     = 1 << 20
	MaxTimeEmbedDim    = 1 << 16
	MaxNormGroups      = 8192
	MaxAttentionHeadDm = 8192
	// MaxParams bounds the parameter count computed from the config: 2 GiB
	// of float32 weights.
	MaxParams = 512 << 20
)

// DefaultActivationBudget is the activation memory a forward pass may use
// unless the caller states another budget (see ActivationBytes).
const DefaultActivationBudget = 4 << 30

// checkBounds is the part of Validate that keeps sizes sane.
func (c Config) checkBounds() error {
	check := func(key string, v, lo, hi int) error {
		if v < lo || v > hi {
			return fmt.Errorf("%s = %d is outside the supported range %d…%d", key, v, lo, hi)
		}
		return nil
	}
	for _, e := range []error{
		check("sample_size[0]", c.SampleSize[0], 0, MaxSampleSize),
		check("sample_size[1]", c.SampleSize[1], 0, MaxSampleSize),
		check("in_channels", c.InChannels, 1, MaxIOChannels),
		check("out_channels", c.OutChannels, 1, MaxIOChannels),
		check("number of blocks (len(block_out_channels))", len(c.BlockOutChannels), 1, MaxBlocks),
		check("layers_per_block", c.LayersPerBlock, 1, MaxLayersPerBlock),
		check("num_class_embeds", c.NumClassEmbeds, 0, MaxClassEmbeds),
		check("time_embedding_dim", c.TimeEmbeddingDim, 0, MaxTimeEmbedDim),
		check("norm_num_groups", c.NormNumGroups, 1, MaxNormGroups),
		check("attn_norm_num_groups", c.AttnNormNumGroups, 0, MaxNormGroups),
		check("attention_head_dim", c.AttentionHeadDim, 0, MaxAttentionHeadDm),
	} {
		if e != nil {
			return e
		}
	}
	for i, ch := range c.BlockOutChannels {
		if err := check(fmt.Sprintf("block_out_channels[%d]", i), ch, 1, MaxBlockChannels); err != nil {
			return err
		}
	}
	if math.IsNaN(c.FreqShift) || math.IsInf(c.FreqShift, 0) || math.Abs(c.FreqShift) > 1e6 {
		return fmt.Errorf("freq_shift = %v is out of range", c.FreqShift)
	}
	if math.IsNaN(c.MidBlockScaleFactor) || math.IsInf(c.MidBlockScaleFactor, 0) {
		return fmt.Errorf("mid_block_scale_factor = %v must be finite", c.MidBlockScaleFactor)
	}
	if c.NormEps > 1 || math.IsInf(c.NormEps, 0) {
		return fmt.Errorf("norm_eps = %v is out of range (0, 1]", c.NormEps)
	}
	return nil
}

// ParamSpec names one parameter and its checkpoint shape.
type ParamSpec struct {
	Name string
	Dims []int
}

// Plan lists the parameters cfg needs, in diffusers' state_dict order,
// without allocating any of them, and refuses configs whose parameter count
// exceeds MaxParams. New and the weight loaders call it before they allocate.
func Plan(cfg Config) ([]ParamSpec, error) {
	m, err := dryBuild(cfg)
	if err != nil {
		return nil, err
	}
	specs := make([]ParamSpec, len(m.params))
	total := 0
	for i, p := range m.params {
		specs[i] = ParamSpec{p.Name, p.Dims}
		total += p.Elements()
		if total > MaxParams {
			return nil, fmt.Errorf("the config asks for more than %d parameters (%.1f GiB of float32 weights); the limit is %d (2 GiB)",
				MaxParams, float64(MaxParams)*4/(1<<30), MaxParams)
		}
	}
	return specs, nil
}

// ParamCountOf is the number of parameters cfg needs, from the config alone.
func ParamCountOf(cfg Config) (int, error) {
	specs, err := Plan(cfg)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, s := range specs {
		n += product(s.Dims)
	}
	return n, nil
}

// ActivationBytes is the activation memory (bytes of float32 tensors the
// forward pass allocates, all live at once in the arena) of a forward pass
// at batch n on an h×w input, computed from the config alone by running the
// graph on a backend that allocates nothing.
func ActivationBytes(cfg Config, n, h, w int) (int64, error) {
	if n < 1 || h < 1 || w < 1 || h > MaxSampleSize || w > MaxSampleSize {
		return 0, fmt.Errorf("%w: batch %d of %d×%d", ErrInput, n, h, w)
	}
	m, err := dryBuild(cfg)
	if err != nil {
		return 0, err
	}
	if err := m.checkSizes(h, w); err != nil {
		return 0, err
	}
	nb := m.backend.(*nullBackend)
	nb.bytes = 0
	ts := make([]float32, n)
	var classes []int
	if cfg.HasClasses() {
		classes = make([]int, n)
	}
	m.dry = true
	if _, err := m.forward(nil, n, h, w, ts, classes); err != nil {
		return 0, err
	}
	return nb.bytes, nil
}

// LargestBatch is the largest batch of at most upTo whose forward pass on
// h×w keeps its activations within budget bytes, 0 when not even one
// does. Activations grow with the batch, so it bisects.
func LargestBatch(cfg Config, h, w, upTo int, budget int64) (int, error) {
	lo, hi := 0, upTo+1 // lo fits (none trivially), hi does not
	for hi-lo > 1 {
		mid := (lo + hi) / 2
		b, err := ActivationBytes(cfg, mid, h, w)
		if err != nil {
			return 0, err
		}
		if b <= budget {
			lo = mid
		} else {
			hi = mid
		}
	}
	return lo, nil
}

// dryBuild builds cfg's graph on a backend that allocates nothing.
func dryBuild(cfg Config) (*Model, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	src := func(string, []int) ([]float32, error) { return nil, nil }
	return build(cfg, &nullBackend{}, src, false)
}

// nullBackend records shapes and allocated bytes and computes nothing.
type nullBackend struct {
	bytes, largest int64
	flops          float64 // 2 per multiply-add of Conv2D, Linear and Attention
}

// nullTensor is a pointer, so that two tensors of one shape stay two
// values to the arena.
type nullTensor struct{ s Shape }

func (t *nullTensor) Shape() Shape { return t.s }

func (b *nullBackend) Name() string { return "null" }
func (b *nullBackend) Alloc(s Shape) Tensor {
	n := 4 * int64(s[0]) * int64(s[1]) * int64(s[2]) * int64(s[3])
	b.bytes += n
	b.largest = max(b.largest, n)
	return &nullTensor{s}
}
func (b *nullBackend) Free(Tensor)                {}
func (b *nullBackend) Close() error               { return nil }
func (b *nullBackend) Err() error                 { return nil }
func (b *nullBackend) Caps() Caps                 { return Caps{} }
func (b *nullBackend) Upload(Tensor, []float32)   {}
func (b *nullBackend) Download([]float32, Tensor) {}
func (b *nullBackend) Conv2D(dst, _, w, _ Tensor, _ int, _ Padding) {
	ws, ds := w.Shape(), dst.Shape()
	b.flops += float64(2 * float64(ws[0]*ws[1]*ws[2]*ws[3]) * float64(ds[0]*ds[2]*ds[3]))
}
func (b *nullBackend) Linear(dst, x, _, _ Tensor) {
	b.flops += float64(2 * float64(x.Shape()[1]) * float64(dst.Shape()[0]*dst.Shape()[1]))
}
func (b *nullBackend) GroupNorm(_, _, _, _ Tensor, _ int, _ float32, _ bool) {}
func (b *nullBackend) SiLU(_, _ Tensor)                                      {}
func (b *nullBackend) AddChannels(_, _, _ Tensor)                            {}
func (b *nullBackend) ScaleShift(_, _, _ Tensor)                             {}
func (b *nullBackend) AddDiv(_, _, _ Tensor, _ float32)                      {}
func (b *nullBackend) Concat(_, _, _ Tensor)                                 {}
func (b *nullBackend) Upsample2x(_, _ Tensor)                                {}
func (b *nullBackend) Attention(_, q, _, _ Tensor, _ int, _ float32) {
	s := q.Shape()
	t := float64(s[2] * s[3])
	b.flops += float64(2 * 2 * float64(s[0]*s[1]) * t * t)
}
func (b *nullBackend) TimestepEmbedding(_ Tensor, _ []float32, _ bool, _ float32) {}
