package unet

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/ddpmstudio/ddpmstudio/internal/safeio"
)

// Block type names as diffusers spells them.
const (
	DownBlock     = "DownBlock2D"
	AttnDownBlock = "AttnDownBlock2D"
	UpBlock       = "UpBlock2D"
	AttnUpBlock   = "AttnUpBlock2D"
	MidBlock      = "UNetMidBlock2D"
)

// Config is a diffusers UNet2DModel config.json.
type Config struct {
	SampleSize           [2]int // height, width
	InChannels           int
	OutChannels          int
	CenterInputSample    bool
	TimeEmbeddingType    string
	TimeEmbeddingDim     int // 0 means 4·BlockOutChannels[0]
	FlipSinToCos         bool
	FreqShift            float64
	DownBlockTypes       []string
	UpBlockTypes         []string
	MidBlockType         string // "" means no mid block
	AddAttention         bool
	BlockOutChannels     []int
	LayersPerBlock       int
	MidBlockScaleFactor  float64
	DownsamplePadding    int
	ActFn                string
	AttentionHeadDim     int // 0 means one head spanning all channels
	NormNumGroups        int
	AttnNormNumGroups    int // 0 means as diffusers decides (see midAttnGroups)
	NormEps              float64
	ResnetTimeScaleShift string
	ClassEmbedType       string // "" or "timestep"
	NumClassEmbeds       int    // 0 means no class conditioning through nn.Embedding
	Dropout              float64
	// NullClass is the label a model trained with label dropout uses for
	// "no class" (classifier-free guidance), or −1 when it has none. It is
	// stored as "_null_class", a private key diffusers ignores.
	NullClass int
}

// DefaultConfig is UNet2DModel() with no arguments in diffusers 0.31.
func DefaultConfig() Config {
	return Config{
		InChannels: 3, OutChannels: 3,
		TimeEmbeddingType: "positional", FlipSinToCos: true,
		DownBlockTypes:   []string{"DownBlock2D", "AttnDownBlock2D", "AttnDownBlock2D", "AttnDownBlock2D"},
		UpBlockTypes:     []string{"AttnUpBlock2D", "AttnUpBlock2D", "AttnUpBlock2D", "UpBlock2D"},
		MidBlockType:     MidBlock,
		AddAttention:     true,
		BlockOutChannels: []int{224, 448, 672, 896}, LayersPerBlock: 2,
		MidBlockScaleFactor: 1, DownsamplePadding: 1, ActFn: "silu",
		AttentionHeadDim: 8, NormNumGroups: 32, NormEps: 1e-5,
		ResnetTimeScaleShift: "default",
		NullClass:            -1,
	}
}

// LoadConfig reads a config.json file.
func LoadConfig(path string) (Config, error) {
	b, err := safeio.ReadFile(context.Background(), path, MaxConfigBytes)
	if err != nil {
		return Config{}, err
	}
	c, err := ParseConfig(b)
	if err != nil {
		return Config{}, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// ParseConfig parses a UNet2DModel config. A key it does not know, or a block
// type or value it does not implement, is an error naming the key: never a
// silently different network.
func ParseConfig(b []byte) (Config, error) {
	c := DefaultConfig()
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return c, fmt.Errorf("unet config: not a JSON object: %w", err)
	}
	if raw == nil {
		return c, fmt.Errorf("unet config: JSON null, not an object")
	}
	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		set, ok := configKeys[k]
		if !ok {
			return c, fmt.Errorf("unet config: unknown key %q", k)
		}
		if err := set(&c, raw[k]); err != nil {
			return c, fmt.Errorf("unet config: key %q: %w", k, err)
		}
	}
	if err := c.Validate(); err != nil {
		return c, fmt.Errorf("unet config: %w", err)
	}
	return c, nil
}

func isNull(v json.RawMessage) bool { return bytes.Equal(bytes.TrimSpace(v), []byte("null")) }

func unmarshal(v json.RawMessage, dst any) error {
	if err := json.Unmarshal(v, dst); err != nil {
		return fmt.Errorf("value %s: %w", v, err)
	}
	return nil
}

type configSetter func(*Config, json.RawMessage) error

func intKey(f func(*Config) *int) configSetter {
	return func(c *Config, v json.RawMessage) error { return unmarshal(v, f(c)) }
}

// optionalInt reads an int where null means 0 (diffusers' None).
func optionalInt(f func(*Config) *int) configSetter {
	return func(c *Config, v json.RawMessage) error {
		if isNull(v) {
			*f(c) = 0
			return nil
		}
		return unmarshal(v, f(c))
	}
}

func boolKey(f func(*Config) *bool) configSetter {
	return func(c *Config, v json.RawMessage) error { return unmarshal(v, f(c)) }
}

func floatKey(f func(*Config) *float64) configSetter {
	return func(c *Config, v json.RawMessage) error { return unmarshal(v, f(c)) }
}

func stringIn(f func(*Config) *string, allowed ...string) configSetter {
	return func(c *Config, v json.RawMessage) error {
		var s string
		if err := unmarshal(v, &s); err != nil {
			return err
		}
		for _, a := range allowed {
			if s == a {
				*f(c) = s
				return nil
			}
		}
		return fmt.Errorf("value %q is not implemented (supported: %s)", s, strings.Join(allowed, ", "))
	}
}

func ignoreKey(*Config, json.RawMessage) error { return nil }

var configKeys = map[string]configSetter{
	"_class_name": func(c *Config, v json.RawMessage) error {
		var s string
		if err := unmarshal(v, &s); err != nil {
			return err
		}
		if s != "UNet2DModel" {
			return fmt.Errorf("model class %q is not a UNet2DModel", s)
		}
		return nil
	},
	"_diffusers_version":  ignoreKey,
	"_name_or_path":       ignoreKey,
	"_use_default_values": ignoreKey,
	"sample_size": func(c *Config, v json.RawMessage) error {
		var n int
		if err := json.Unmarshal(v, &n); err == nil {
			c.SampleSize = [2]int{n, n}
			return nil
		}
		var hw []int
		if err := unmarshal(v, &hw); err != nil || len(hw) != 2 {
			return fmt.Errorf("value %s is neither an integer nor [height, width]", v)
		}
		c.SampleSize = [2]int{hw[0], hw[1]}
		return nil
	},
	"in_channels":         intKey(func(c *Config) *int { return &c.InChannels }),
	"out_channels":        intKey(func(c *Config) *int { return &c.OutChannels }),
	"center_input_sample": boolKey(func(c *Config) *bool { return &c.CenterInputSample }),
	"time_embedding_type": stringIn(func(c *Config) *string { return &c.TimeEmbeddingType }, "positional"),
	"time_embedding_dim":  optionalInt(func(c *Config) *int { return &c.TimeEmbeddingDim }),
	"flip_sin_to_cos":     boolKey(func(c *Config) *bool { return &c.FlipSinToCos }),
	"freq_shift":          floatKey(func(c *Config) *float64 { return &c.FreqShift }),
	"down_block_types": func(c *Config, v json.RawMessage) error {
		return blockList(v, &c.DownBlockTypes, DownBlock, AttnDownBlock)
	},
	"up_block_types": func(c *Config, v json.RawMessage) error {
		return blockList(v, &c.UpBlockTypes, UpBlock, AttnUpBlock)
	},
	"mid_block_type": func(c *Config, v json.RawMessage) error {
		if isNull(v) {
			c.MidBlockType = ""
			return nil
		}
		return stringIn(func(c *Config) *string { return &c.MidBlockType }, MidBlock)(c, v)
	},
	"add_attention":          boolKey(func(c *Config) *bool { return &c.AddAttention }),
	"block_out_channels":     func(c *Config, v json.RawMessage) error { return unmarshal(v, &c.BlockOutChannels) },
	"layers_per_block":       intKey(func(c *Config) *int { return &c.LayersPerBlock }),
	"mid_block_scale_factor": floatKey(func(c *Config) *float64 { return &c.MidBlockScaleFactor }),
	"downsample_padding":     intKey(func(c *Config) *int { return &c.DownsamplePadding }),
	"downsample_type":        stringIn(func(c *Config) *string { s := "conv"; return &s }, "conv"),
	"upsample_type":          stringIn(func(c *Config) *string { s := "conv"; return &s }, "conv"),
	"act_fn": func(c *Config, v json.RawMessage) error {
		// diffusers' get_activation maps both names to nn.SiLU.
		return stringIn(func(c *Config) *string { return &c.ActFn }, "silu", "swish")(c, v)
	},
	"attention_head_dim": optionalInt(func(c *Config) *int { return &c.AttentionHeadDim }),
	"norm_num_groups": func(c *Config, v json.RawMessage) error {
		if isNull(v) {
			return fmt.Errorf("null (per-block group counts) is not implemented")
		}
		return unmarshal(v, &c.NormNumGroups)
	},
	"attn_norm_num_groups":    optionalInt(func(c *Config) *int { return &c.AttnNormNumGroups }),
	"norm_eps":                floatKey(func(c *Config) *float64 { return &c.NormEps }),
	"resnet_time_scale_shift": stringIn(func(c *Config) *string { return &c.ResnetTimeScaleShift }, "default", "scale_shift"),
	"class_embed_type": func(c *Config, v json.RawMessage) error {
		if isNull(v) {
			c.ClassEmbedType = ""
			return nil
		}
		return stringIn(func(c *Config) *string { return &c.ClassEmbedType }, "timestep")(c, v)
	},
	"num_class_embeds": optionalInt(func(c *Config) *int { return &c.NumClassEmbeds }),
	"_null_class": func(c *Config, v json.RawMessage) error {
		if isNull(v) {
			c.NullClass = -1
			return nil
		}
		return unmarshal(v, &c.NullClass)
	},
	"dropout":             floatKey(func(c *Config) *float64 { return &c.Dropout }),
	"num_train_timesteps": ignoreKey, // used only by the "learned" time embedding, which is not implemented
}

func blockList(v json.RawMessage, dst *[]string, allowed ...string) error {
	var list []string
	if err := unmarshal(v, &list); err != nil {
		return err
	}
	for i, s := range list {
		ok := false
		for _, a := range allowed {
			ok = ok || s == a
		}
		if !ok {
			return fmt.Errorf("block %d type %q is not implemented (supported: %s)", i, s, strings.Join(allowed, ", "))
		}
	}
	*dst = list
	return nil
}

// Validate checks the config as a whole.
func (c Config) Validate() error {
	if err := c.checkBounds(); err != nil {
		return err
	}
	n := len(c.BlockOutChannels)
	switch {
	case n == 0:
		return fmt.Errorf("block_out_channels is empty")
	case len(c.DownBlockTypes) != n:
		return fmt.Errorf("down_block_types has %d entries but block_out_channels has %d", len(c.DownBlockTypes), n)
	case len(c.UpBlockTypes) != n:
		return fmt.Errorf("up_block_types has %d entries but block_out_channels has %d", len(c.UpBlockTypes), n)
	case c.InChannels < 1 || c.OutChannels < 1:
		return fmt.Errorf("in_channels %d and out_channels %d must be positive", c.InChannels, c.OutChannels)
	case c.LayersPerBlock < 1:
		return fmt.Errorf("layers_per_block = %d, must be at least 1", c.LayersPerBlock)
	case c.NormNumGroups < 1:
		return fmt.Errorf("norm_num_groups = %d, must be positive", c.NormNumGroups)
	case !(c.NormEps > 0):
		return fmt.Errorf("norm_eps = %v, must be positive", c.NormEps)
	case c.DownsamplePadding < 0 || c.DownsamplePadding > 1:
		return fmt.Errorf("downsample_padding = %d is not implemented (0 or 1)", c.DownsamplePadding)
	case c.MidBlockScaleFactor == 0:
		return fmt.Errorf("mid_block_scale_factor must not be 0")
	case c.NumClassEmbeds < 0:
		return fmt.Errorf("num_class_embeds = %d, must not be negative", c.NumClassEmbeds)
	case c.NullClass < -1 || (c.NullClass >= 0 && c.NullClass >= c.NumClassEmbeds):
		return fmt.Errorf("_null_class = %d is not a label of the %d class embeddings", c.NullClass, c.NumClassEmbeds)
	case c.AttentionHeadDim < 0 || c.TimeEmbeddingDim < 0 || c.AttnNormNumGroups < 0:
		return fmt.Errorf("attention_head_dim, time_embedding_dim and attn_norm_num_groups must not be negative")
	}
	if c.BlockOutChannels[0]%2 != 0 {
		return fmt.Errorf("block_out_channels[0] = %d must be even for the sinusoidal time embedding", c.BlockOutChannels[0])
	}
	if half := c.BlockOutChannels[0] / 2; float64(half) == c.FreqShift {
		return fmt.Errorf("freq_shift = %v equals half the embedding width, dividing by zero", c.FreqShift)
	}
	for i, ch := range c.BlockOutChannels {
		if ch < 1 || ch > 1<<16 {
			return fmt.Errorf("block_out_channels[%d] = %d is out of range", i, ch)
		}
		if ch%c.NormNumGroups != 0 {
			return fmt.Errorf("block_out_channels[%d] = %d is not divisible by norm_num_groups %d", i, ch, c.NormNumGroups)
		}
	}
	return nil
}

func (c Config) timeEmbedDim() int {
	if c.TimeEmbeddingDim > 0 {
		return c.TimeEmbeddingDim
	}
	return 4 * c.BlockOutChannels[0]
}

// headDim is the attention head width for a block of ch channels.
func (c Config) headDim(ch int) int {
	if c.AttentionHeadDim > 0 {
		return c.AttentionHeadDim
	}
	return ch
}

// midAttnGroups is the GroupNorm group count of the mid-block attention, or 0
// for none: diffusers drops that norm unless the time embedding is "default".
func (c Config) midAttnGroups() int {
	if c.AttnNormNumGroups > 0 {
		return c.AttnNormNumGroups
	}
	if c.ResnetTimeScaleShift == "default" {
		return c.NormNumGroups
	}
	return 0
}

// HasClasses reports whether the model takes class labels.
func (c Config) HasClasses() bool { return c.NumClassEmbeds > 0 || c.ClassEmbedType != "" }

// MarshalJSON writes the config in diffusers' form.
func (c Config) MarshalJSON() ([]byte, error) {
	m := map[string]any{
		"_class_name":             "UNet2DModel",
		"_diffusers_version":      "0.31.0",
		"sample_size":             c.SampleSize[0],
		"in_channels":             c.InChannels,
		"out_channels":            c.OutChannels,
		"center_input_sample":     c.CenterInputSample,
		"time_embedding_type":     c.TimeEmbeddingType,
		"flip_sin_to_cos":         c.FlipSinToCos,
		"freq_shift":              c.FreqShift,
		"down_block_types":        c.DownBlockTypes,
		"up_block_types":          c.UpBlockTypes,
		"add_attention":           c.AddAttention,
		"block_out_channels":      c.BlockOutChannels,
		"layers_per_block":        c.LayersPerBlock,
		"mid_block_scale_factor":  c.MidBlockScaleFactor,
		"downsample_padding":      c.DownsamplePadding,
		"downsample_type":         "conv",
		"upsample_type":           "conv",
		"act_fn":                  c.ActFn,
		"norm_num_groups":         c.NormNumGroups,
		"norm_eps":                c.NormEps,
		"resnet_time_scale_shift": c.ResnetTimeScaleShift,
		"dropout":                 c.Dropout,
		"attention_head_dim":      nil,
		"time_embedding_dim":      nil,
		"attn_norm_num_groups":    nil,
		"class_embed_type":        nil,
		"num_class_embeds":        nil,
		"mid_block_type":          nil,
	}
	if c.SampleSize[0] != c.SampleSize[1] {
		m["sample_size"] = []int{c.SampleSize[0], c.SampleSize[1]}
	}
	if c.AttentionHeadDim > 0 {
		m["attention_head_dim"] = c.AttentionHeadDim
	}
	if c.TimeEmbeddingDim > 0 {
		m["time_embedding_dim"] = c.TimeEmbeddingDim
	}
	if c.AttnNormNumGroups > 0 {
		m["attn_norm_num_groups"] = c.AttnNormNumGroups
	}
	if c.ClassEmbedType != "" {
		m["class_embed_type"] = c.ClassEmbedType
	}
	if c.NumClassEmbeds > 0 {
		m["num_class_embeds"] = c.NumClassEmbeds
	}
	if c.MidBlockType != "" {
		m["mid_block_type"] = c.MidBlockType
	}
	if c.NullClass >= 0 {
		m["_null_class"] = c.NullClass
	}
	return json.MarshalIndent(m, "", "  ")
}
