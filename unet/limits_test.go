package unet

import (
	"math"
	"strings"
	"testing"

	"github.com/ddpmstudio/ddpmstudio/internal/golden"
	"github.com/ddpmstudio/ddpmstudio/unet/cpu"
)

// countingBackend counts the bytes its CPU backend allocates.
type countingBackend struct {
	*cpu.Backend
	bytes int64
}

func (c *countingBackend) Alloc(s Shape) Tensor {
	c.bytes += 4 * int64(s.Len())
	return c.Backend.Alloc(s)
}

func TestHostileConfigsRefusedBeforeAllocation(t *testing.T) {
	cases := []struct {
		name, json, want string
	}{
		{"class embeds 2e9", `{"num_class_embeds": 2000000000}`, "num_class_embeds"},
		{"huge block", `{"block_out_channels": [65536, 64, 64, 64]}`, "block_out_channels[0]"},
		{"sample size 65536", `{"sample_size": 65536}`, "sample_size"},
		{"sample size 1e9", `{"sample_size": 1000000000}`, "sample_size"},
		{"layers 1e6", `{"layers_per_block": 1000000}`, "layers_per_block"},
		{"many blocks", `{"block_out_channels": [32,32,32,32,32,32,32,32,32], "down_block_types": ["DownBlock2D","DownBlock2D","DownBlock2D","DownBlock2D","DownBlock2D","DownBlock2D","DownBlock2D","DownBlock2D","DownBlock2D"], "up_block_types": ["UpBlock2D","UpBlock2D","UpBlock2D","UpBlock2D","UpBlock2D","UpBlock2D","UpBlock2D","UpBlock2D","UpBlock2D"]}`, "number of blocks"},
		{"3 GiB of weights", `{"block_out_channels": [4096, 4096, 4096, 4096], "norm_num_groups": 32}`, "parameters"},
		{"negative channels", `{"in_channels": -3}`, "in_channels"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := ParseConfig([]byte(c.json))
			if err == nil {
				b := &countingBackend{Backend: cpu.New()}
				_, err = New(cfg, 1, b)
				if b.bytes != 0 {
					t.Errorf("allocated %d bytes before refusing", b.bytes)
				}
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want one naming %q", err, c.want)
			}
		})
	}
}

// TestActivationBytesIsTheArena: the dry run's estimate equals what a real
// forward pass keeps in its arena.
func TestActivationBytesIsTheArena(t *testing.T) {
	for _, edit := range []func(*Config){
		func(*Config) {},
		func(c *Config) { c.NumClassEmbeds = 3; c.ResnetTimeScaleShift = "scale_shift" },
		func(c *Config) { c.ClassEmbedType = "timestep"; c.CenterInputSample = true },
	} {
		cfg := tinyConfig()
		edit(&cfg)
		m := must(New(cfg, 1, cpu.New()))(t)
		n, h, w := 3, 12, 20
		var classes []int
		if cfg.HasClasses() {
			classes = make([]int, n)
		}
		must(m.Forward(randomInput(n*h*w), n, h, w, []float32{1, 2, 3}, classes))(t)
		_, arena := m.ArenaSize()
		got := must(ActivationBytes(cfg, n, h, w))(t)
		if got != arena || got == 0 {
			t.Errorf("ActivationBytes = %d, the arena holds %d", got, arena)
		}
		if m := must(LargestBatch(cfg, h, w, n, got-1))(t); m >= n {
			t.Errorf("a budget one byte short of batch %d still fits batch %d", n, m)
		} else if m > 0 && must(ActivationBytes(cfg, m, h, w))(t) > got-1 || must(ActivationBytes(cfg, m+1, h, w))(t) <= got-1 {
			t.Errorf("a budget one byte short of batch %d: %d is not the largest batch that fits", n, m)
		}
		if m := must(LargestBatch(cfg, h, w, n, got))(t); m != n {
			t.Errorf("a budget that fits batch %d: the largest batch is %d", n, m)
		}
	}
	if _, err := ActivationBytes(tinyConfig(), 1, 13, 13); err == nil {
		t.Error("an input that does not survive the downsamplings was accepted")
	}
}

func TestMissingOrNonFiniteWeightsNamedBeforeAllocation(t *testing.T) {
	m := must(New(tinyConfig(), 1, cpu.New()))(t)
	weights := func() *Weights {
		w := &Weights{Source: "w.safetensors", Tensors: map[string]WeightTensor{}}
		for _, p := range m.Params() {
			v := make([]float32, p.Elements())
			m.Backend().Download(v, p.Tensor)
			w.Tensors[p.Name] = WeightTensor{Dims: p.Dims, Data: v}
		}
		return w
	}
	w := weights()
	delete(w.Tensors, "mid_block.resnets.1.conv2.weight")
	b := &countingBackend{Backend: cpu.New()}
	if _, err := FromWeights(tinyConfig(), w, b); err == nil || !strings.Contains(err.Error(), "mid_block.resnets.1.conv2.weight") || b.bytes != 0 {
		t.Errorf("missing tensor: %v after allocating %d bytes", err, b.bytes)
	}
	for _, bad := range []float32{float32(math.NaN()), float32(math.Inf(-1))} {
		w = weights()
		w.Tensors["up_blocks.1.resnets.0.norm1.bias"].Data[3] = bad
		b = &countingBackend{Backend: cpu.New()}
		_, err := FromWeights(tinyConfig(), w, b)
		if err == nil || !strings.Contains(err.Error(), "up_blocks.1.resnets.0.norm1.bias") || b.bytes != 0 {
			t.Errorf("%v weight: %v after allocating %d bytes", bad, err, b.bytes)
		}
		w.AllowNonFinite = true
		if _, err := FromWeights(tinyConfig(), w, cpu.New()); err != nil {
			t.Errorf("AllowNonFinite: %v", err)
		}
	}
}

// FuzzConfigToModel: any config.json either is refused with an error or
// builds a model whose size the limits bound; small ones run a forward pass.
func FuzzConfigToModel(f *testing.F) {
	for _, s := range []string{
		`{}`, `{"sample_size": 16, "block_out_channels": [8, 16], "down_block_types": ["DownBlock2D", "AttnDownBlock2D"], "up_block_types": ["AttnUpBlock2D", "UpBlock2D"], "layers_per_block": 1, "norm_num_groups": 4, "attention_head_dim": 4}`,
		`{"num_class_embeds": 4, "class_embed_type": "timestep", "block_out_channels": [8], "down_block_types": ["DownBlock2D"], "up_block_types": ["UpBlock2D"], "norm_num_groups": 2}`,
		`{"sample_size": [8, 12], "in_channels": 2, "out_channels": 4, "block_out_channels": [4, 8], "down_block_types": ["DownBlock2D", "DownBlock2D"], "up_block_types": ["UpBlock2D", "UpBlock2D"], "norm_num_groups": 2, "downsample_padding": 0}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		cfg, err := ParseConfig(b)
		if err != nil {
			return
		}
		n, err := ParamCountOf(cfg)
		if err != nil {
			return
		}
		if n > MaxParams {
			t.Fatalf("Plan admitted %d parameters", n)
		}
		if n > 200_000 {
			return // valid, but too big to build on every fuzzing iteration
		}
		m, err := New(cfg, 1, cpu.New())
		if err != nil {
			t.Fatalf("Plan accepted a config New refuses: %v", err)
		}
		if m.ParamCount() != n {
			t.Fatalf("ParamCountOf %d, model %d", n, m.ParamCount())
		}
		h, w := max(cfg.SampleSize[0], 1), max(cfg.SampleSize[1], 1)
		bytes, err := ActivationBytes(cfg, 1, h, w)
		if err != nil || bytes > 8<<20 {
			return
		}
		var classes []int
		if cfg.HasClasses() {
			classes = []int{0}
		}
		out, err := m.Forward(randomInput(cfg.InChannels*h*w), 1, h, w, []float32{3}, classes)
		if err != nil {
			t.Fatalf("forward of a valid %d×%d input: %v", h, w, err)
		}
		if len(out) != cfg.OutChannels*h*w {
			t.Fatalf("%d outputs", len(out))
		}
	})
}

// TestFLOPsOfCIFAR10: the dry run counts the google/ddpm-cifar10-32 forward
// at the published 12.44 GFLOP (convolutions, linear layers and attention
// products, 2 per multiply-add).
func TestFLOPsOfCIFAR10(t *testing.T) {
	cfg := must(LoadConfig(golden.Find(t, "unet/ddpm-cifar10-32.config.json")))(t)
	f := must(FLOPsOf(cfg, 32, 32))(t)
	t.Logf("%.4g FLOP", f)
	if math.Abs(f/12.44e9-1) > 0.002 {
		t.Errorf("%.4g FLOP, want 12.44e9", f)
	}
	// A layer more counts more.
	cfg.LayersPerBlock = 3
	if g := must(FLOPsOf(cfg, 32, 32))(t); g <= f {
		t.Errorf("three layers per block count %.4g ≤ %.4g", g, f)
	}
}
