package unet

import (
	"bytes"
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/ddpmstudio/ddpmstudio/diffusion"
	"github.com/ddpmstudio/ddpmstudio/safetensors"
	"github.com/ddpmstudio/ddpmstudio/unet/cpu"
)

// tinyConfig is a small model exercising attention, classes and odd sizes.
func tinyConfig() Config {
	c := DefaultConfig()
	c.SampleSize = [2]int{12, 12}
	c.InChannels, c.OutChannels = 1, 1
	c.BlockOutChannels = []int{8, 16}
	c.DownBlockTypes = []string{DownBlock, AttnDownBlock}
	c.UpBlockTypes = []string{AttnUpBlock, UpBlock}
	c.LayersPerBlock = 1
	c.NormNumGroups = 4
	c.AttentionHeadDim = 4
	return c
}

func randomInput(n int) []float32 {
	v := make([]float32, n)
	diffusion.FillNormal(v, 11, 0, 0, 0)
	return v
}

func saveTiny(t *testing.T, cfg Config, half bool) (string, *Model) {
	t.Helper()
	m, err := New(cfg, 5, cpu.New())
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := m.Save(dir, half, nil); err != nil {
		t.Fatal(err)
	}
	return dir, m
}

func TestSaveLoadRoundTrip(t *testing.T) {
	for _, half := range []bool{false, true} {
		cfg := tinyConfig()
		dir, m := saveTiny(t, cfg, half)
		l, err := Load(dir, cpu.New())
		if err != nil {
			t.Fatal(err)
		}
		if l.HasScheduler {
			t.Error("scheduler config found where none was written")
		}
		x := randomInput(2 * 12 * 12)
		ts := []float32{3, 700}
		a, err := m.Forward(x, 2, 12, 12, ts, nil)
		if err != nil {
			t.Fatal(err)
		}
		a = append([]float32(nil), a...)
		b, err := l.Model.Forward(x, 2, 12, 12, ts, nil)
		if err != nil {
			t.Fatal(err)
		}
		tol := 0.0
		if half {
			tol = 2e-2
		}
		if d := maxDiff(a, b); d > tol {
			t.Errorf("half=%v: reloaded model differs by %g", half, d)
		}
	}
}

// rewrite loads the weights file of dir, lets edit change the tensor list,
// and writes it back.
func rewrite(t *testing.T, dir string, edit func([]safetensors.Tensor) []safetensors.Tensor) {
	t.Helper()
	path := filepath.Join(dir, "diffusion_pytorch_model.safetensors")
	f, err := safetensors.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var ts []safetensors.Tensor
	for _, name := range f.Names {
		v, shape := f32(t, f, name)
		ts = append(ts, safetensors.FromFloat32(name, shape, v))
	}
	var buf bytes.Buffer
	if err := safetensors.Write(&buf, edit(ts), nil); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestBadCheckpoints(t *testing.T) {
	cases := []struct {
		name string
		edit func(t *testing.T, dir string)
		want []string
	}{
		{"missing tensor", func(t *testing.T, dir string) {
			rewrite(t, dir, func(ts []safetensors.Tensor) []safetensors.Tensor {
				var out []safetensors.Tensor
				for _, x := range ts {
					if x.Name != "mid_block.resnets.1.conv2.weight" {
						out = append(out, x)
					}
				}
				return out
			})
		}, []string{"missing", "mid_block.resnets.1.conv2.weight"}},
		{"unexpected tensor", func(t *testing.T, dir string) {
			rewrite(t, dir, func(ts []safetensors.Tensor) []safetensors.Tensor {
				return append(ts, safetensors.FromFloat32("mid_block.extra.weight", []int{2}, []float32{1, 2}))
			})
		}, []string{"unexpected", "mid_block.extra.weight"}},
		{"wrong shape", func(t *testing.T, dir string) {
			rewrite(t, dir, func(ts []safetensors.Tensor) []safetensors.Tensor {
				for i, x := range ts {
					if x.Name == "conv_in.bias" {
						ts[i] = safetensors.FromFloat32(x.Name, []int{9}, make([]float32, 9))
					}
				}
				return ts
			})
		}, []string{"conv_in.bias", "[9]", "[8]"}},
		{"truncated file", func(t *testing.T, dir string) {
			p := filepath.Join(dir, "diffusion_pytorch_model.safetensors")
			b, _ := os.ReadFile(p)
			os.WriteFile(p, b[:len(b)/2], 0o644)
		}, []string{"diffusion_pytorch_model.safetensors"}},
		{".bin that is no torch.save archive", func(t *testing.T, dir string) {
			os.Rename(filepath.Join(dir, "diffusion_pytorch_model.safetensors"), filepath.Join(dir, "diffusion_pytorch_model.bin"))
		}, []string{"diffusion_pytorch_model.bin", "not a PyTorch zip checkpoint"}},
		{"no weights", func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, "diffusion_pytorch_model.safetensors"))
		}, []string{"no diffusion_pytorch_model.safetensors"}},
		{"no config", func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, "config.json"))
		}, []string{"no config.json"}},
		{"unknown config key", func(t *testing.T, dir string) {
			os.WriteFile(filepath.Join(dir, "config.json"), []byte(`{"in_channels": 1, "cross_attention_dim": 768}`), 0o644)
		}, []string{`"cross_attention_dim"`}},
		{"bad scheduler config", func(t *testing.T, dir string) {
			os.WriteFile(filepath.Join(dir, "scheduler_config.json"), []byte(`{"beta_schedule": "karras"}`), 0o644)
		}, []string{"scheduler_config.json", `"beta_schedule"`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir, _ := saveTiny(t, tinyConfig(), false)
			c.edit(t, dir)
			_, err := Load(dir, cpu.New())
			if err == nil {
				t.Fatal("loaded without error")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestLegacyAttentionNames(t *testing.T) {
	dir, m := saveTiny(t, tinyConfig(), false)
	renamed := 0
	rewrite(t, dir, func(ts []safetensors.Tensor) []safetensors.Tensor {
		for i, x := range ts {
			for old, nw := range legacyAttention {
				if strings.Contains(x.Name, ".attentions.") && strings.Contains(x.Name, "."+nw+".") {
					ts[i].Name = strings.Replace(x.Name, "."+nw+".", "."+old+".", 1)
					renamed++
				}
			}
		}
		return ts
	})
	if renamed == 0 {
		t.Fatal("test model has no attention to rename")
	}
	l, err := Load(dir, cpu.New())
	if err != nil {
		t.Fatalf("legacy names: %v", err)
	}
	x := randomInput(12 * 12)
	a := append([]float32(nil), must(m.Forward(x, 1, 12, 12, []float32{50}, nil))(t)...)
	b := must(l.Model.Forward(x, 1, 12, 12, []float32{50}, nil))(t)
	if d := maxDiff(a, b); d != 0 {
		t.Errorf("legacy-named checkpoint computes differently (%g)", d)
	}
}

func TestPipelineLayout(t *testing.T) {
	root := t.TempDir()
	m := must(New(tinyConfig(), 1, cpu.New()))(t)
	sc := diffusion.DefaultSchedulerConfig()
	sc.VarianceType = diffusion.FixedLarge
	if err := m.Save(filepath.Join(root, "unet"), false, nil); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(root, "scheduler"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "scheduler", "scheduler_config.json"), must(sc.MarshalJSON())(t), 0o644); err != nil {
		t.Fatal(err)
	}
	l, err := Load(root, cpu.New())
	if err != nil {
		t.Fatal(err)
	}
	if !l.HasScheduler || l.Scheduler.VarianceType != diffusion.FixedLarge {
		t.Errorf("scheduler not picked up: %+v", l.Scheduler)
	}
	// And the Hub's flat layout, scheduler beside the model.
	flat := t.TempDir()
	if err := m.Save(flat, false, &sc); err != nil {
		t.Fatal(err)
	}
	l, err = Load(flat, cpu.New())
	if err != nil || !l.HasScheduler {
		t.Errorf("flat layout: %v", err)
	}
}

func TestConfigErrors(t *testing.T) {
	cases := []struct{ json, want string }{
		{`{"down_block_types": ["CrossAttnDownBlock2D", "DownBlock2D"], "up_block_types": ["UpBlock2D","UpBlock2D"], "block_out_channels": [32, 64]}`, `"CrossAttnDownBlock2D"`},
		{`{"time_embedding_type": "fourier"}`, `"time_embedding_type"`},
		{`{"resnet_time_scale_shift": "spatial"}`, `"resnet_time_scale_shift"`},
		{`{"act_fn": "gelu"}`, `"act_fn"`},
		{`{"mid_block_type": "UNetMidBlock2DCrossAttn"}`, `"mid_block_type"`},
		{`{"downsample_type": "resnet"}`, `"downsample_type"`},
		{`{"_class_name": "UNet2DConditionModel"}`, `UNet2DConditionModel`},
		{`{"block_out_channels": [32, 64]}`, `down_block_types has 4 entries`},
		{`{"norm_num_groups": 5}`, `not divisible by norm_num_groups`},
		{`{"norm_num_groups": null}`, `"norm_num_groups"`},
		{`{"sample_size": "big"}`, `"sample_size"`},
		{`{"center_input_sample": 1}`, `"center_input_sample"`},
		{`{"unknown_thing": 1}`, `"unknown_thing"`},
	}
	for _, c := range cases {
		_, err := ParseConfig([]byte(c.json))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one mentioning %s", c.json, err, c.want)
		}
	}
	// Non-square sample sizes and the keys newer diffusers writes parse.
	c, err := ParseConfig([]byte(`{"sample_size": [24, 32], "time_embedding_dim": null, "mid_block_type": null, "attn_norm_num_groups": 8, "_name_or_path": "x"}`))
	if err != nil || c.SampleSize != [2]int{24, 32} || c.MidBlockType != "" {
		t.Errorf("got %+v, %v", c, err)
	}
}

func FuzzParseConfig(f *testing.F) {
	f.Add([]byte(`{"in_channels": 1, "block_out_channels": [32, 64], "down_block_types": ["DownBlock2D","AttnDownBlock2D"], "up_block_types": ["AttnUpBlock2D","UpBlock2D"], "norm_num_groups": 8}`))
	f.Add([]byte(`{"sample_size": [8, 12], "attention_head_dim": null, "freq_shift": 1}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseConfig(b)
		if err != nil {
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("parsed config fails validation: %v", err)
		}
		// Round trip through MarshalJSON must give the same config back.
		out, err := c.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ParseConfig(out); err != nil {
			t.Fatalf("marshalled config does not parse: %v\n%s", err, out)
		}
	})
}

func TestInputErrors(t *testing.T) {
	cfg := tinyConfig()
	cfg.NumClassEmbeds = 3
	m, err := New(cfg, 1, cpu.New())
	if err != nil {
		t.Fatal(err)
	}
	x := randomInput(144)
	cases := []struct {
		name    string
		x       []float32
		n, h, w int
		classes []int
		want    string
	}{
		{"size", x[:100], 1, 12, 12, []int{0}, "100 values"},
		{"no classes", x, 1, 12, 12, nil, "class-conditional"},
		{"class range", x, 1, 12, 12, []int{3}, "outside [0, 3)"},
		{"odd size", randomInput(13 * 13), 1, 13, 13, []int{0}, "does not survive"},
	}
	for _, c := range cases {
		_, err := m.Forward(c.x, c.n, c.h, c.w, []float32{10}, c.classes)
		if !errors.Is(err, ErrInput) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
	plain := must(New(tinyConfig(), 1, cpu.New()))(t)
	if _, err := plain.Forward(x, 1, 12, 12, []float32{1}, []int{0}); !errors.Is(err, ErrInput) {
		t.Errorf("class labels to an unconditional model: %v", err)
	}
	if _, err := plain.Predict(context.Background(), x, diffusion.Shape{N: 1, C: 3, H: 4, W: 12}, []int{1}, nil); !errors.Is(err, ErrInput) {
		t.Errorf("wrong channel count: %v", err)
	}
}

func TestSamplingWithModelIsDeterministic(t *testing.T) {
	m, err := New(tinyConfig(), 9, cpu.New())
	if err != nil {
		t.Fatal(err)
	}
	run := func() []float32 {
		s, err := diffusion.NewDDIM(diffusion.DefaultSchedulerConfig(), 5, 0.5, false)
		if err != nil {
			t.Fatal(err)
		}
		c, err := diffusion.Sample(context.Background(), diffusion.Params{Model: m, Sampler: s, Shape: diffusion.Shape{N: 2, C: 1, H: 12, W: 12}, Seed: 4})
		if err != nil {
			t.Fatal(err)
		}
		return c.Final
	}
	a, b := run(), run()
	if maxDiff(a, b) != 0 {
		t.Error("same seed gave different samples")
	}
}

func TestSteadyStateMemory(t *testing.T) {
	m, err := New(tinyConfig(), 2, cpu.New())
	if err != nil {
		t.Fatal(err)
	}
	// 24×24: large enough that activations outweigh the per-call goroutine
	// bookkeeping, now that the arena holds only what is alive at once.
	x := randomInput(4 * 576)
	ts := []float32{1, 2, 3, 4}
	for i := 0; i < 2; i++ {
		if _, err := m.Forward(x, 4, 24, 24, ts, nil); err != nil {
			t.Fatal(err)
		}
	}
	tensors, _ := m.ArenaSize()
	const calls = 20
	// The heap is the process's: another test's goroutine finishing in the
	// window can move it. A leak grows it every time, so the least growth
	// of three windows is the one to judge.
	growth, perCall := int64(math.MaxInt64), math.Inf(1)
	for range 3 {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		for i := 0; i < calls; i++ {
			m.Forward(x, 4, 24, 24, ts, nil)
		}
		runtime.ReadMemStats(&after)
		perCall = min(perCall, float64(after.TotalAlloc-before.TotalAlloc)/calls)
		runtime.GC()
		runtime.ReadMemStats(&after)
		growth = min(growth, int64(after.HeapAlloc)-int64(before.HeapAlloc))
	}
	n, actBytes := m.ArenaSize()
	activations := int(actBytes)
	t.Logf("%.0f bytes of garbage per forward (goroutine bookkeeping); live heap grew %d bytes over %d calls; activations hold %d bytes",
		perCall, growth, calls, activations)
	if n != tensors {
		t.Errorf("arena grew from %d to %d tensors", tensors, n)
	}
	// Another batch size adds its own shapes once; going back reuses all.
	must(m.Forward(x[:2*576], 2, 24, 24, ts[:2], nil))(t)
	withTwo, _ := m.ArenaSize()
	for i := 0; i < 3; i++ {
		must(m.Forward(x, 4, 24, 24, ts, nil))(t)
		must(m.Forward(x[:2*576], 2, 24, 24, ts[:2], nil))(t)
	}
	if again, _ := m.ArenaSize(); again != withTwo || withTwo > 2*tensors {
		t.Errorf("alternating batch sizes: %d tensors, then %d (one size: %d)", withTwo, again, tensors)
	}
	// Activations and packing buffers are reused: the live heap stays flat.
	if growth > int64(activations)/4 {
		t.Errorf("live heap grew by %d bytes over %d forwards", growth, calls)
	}
	// Nothing activation-sized is allocated per call.
	if perCall > float64(activations)/2 {
		t.Errorf("a steady-state forward allocates %.0f bytes, half the activations is %d", perCall, activations/2)
	}
}

// TestPredictStopsBetweenBlocks: a cancelled context stops a forward pass
// at the next block boundary, before the output is computed.
func TestPredictStopsBetweenBlocks(t *testing.T) {
	m := must(New(tinyConfig(), 1, cpu.New()))(t)
	ctx, cancel := context.WithCancel(context.Background())
	m.SetObserver(func(name string, _ Shape, _ []float32) {
		switch name {
		case "down_blocks.0":
			cancel()
		case "down_blocks.1", "conv_out":
			t.Errorf("module %s ran after the cancel", name)
		}
	})
	_, err := m.Predict(ctx, randomInput(144), diffusion.Shape{N: 1, C: 1, H: 12, W: 12}, []int{3}, nil)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
	m.SetObserver(nil)
	if _, err := m.Predict(context.Background(), randomInput(144), diffusion.Shape{N: 1, C: 1, H: 12, W: 12}, []int{3}, nil); err != nil {
		t.Errorf("a later pass: %v", err)
	}
}
