package unet

import (
	"math"
	"testing"

	"github.com/ddpmstudio/ddpmstudio/unet/cpu"
)

// TestReleasedActivationsAreDead: the graph releases each value after its
// last read, and the arena hands the buffer to a later value. A release
// placed too early would let a value be read after another overwrote it;
// here every released buffer is first overwritten (with 7s: NaN would be
// clamped away by the exp polynomial), so any read after
// release shows in the output, which must equal the unpoisoned pass bit
// for bit — across the graph's shapes: attention, scale-shift, no mid
// block, learned shortcuts, and a batch.
func TestReleasedActivationsAreDead(t *testing.T) {
	variants := map[string]func(*Config){
		"tiny":        func(*Config) {},
		"scale-shift": func(c *Config) { c.ResnetTimeScaleShift = "scale_shift" },
		"no-mid":      func(c *Config) { c.MidBlockType = "" },
		"two-layers":  func(c *Config) { c.LayersPerBlock = 2; c.BlockOutChannels = []int{8, 12} },
		"attn-first": func(c *Config) {
			c.DownBlockTypes = []string{AttnDownBlock, DownBlock}
			c.UpBlockTypes = []string{UpBlock, AttnUpBlock}
		},
	}
	for name, edit := range variants {
		t.Run(name, func(t *testing.T) {
			cfg := tinyConfig()
			edit(&cfg)
			x := randomInput(3 * 144)
			ts := []float32{1, 400, 999}
			run := func(poison bool) []float32 {
				m := must(New(cfg, 3, cpu.New()))(t)
				m.poison = poison
				var out []float32
				for range 2 { // the second pass runs on reused buffers
					out = append([]float32(nil), must(m.Forward(x, 3, 12, 12, ts, nil))(t)...)
				}
				return out
			}
			want, got := run(false), run(true)
			for i := range want {
				if math.Float32bits(want[i]) != math.Float32bits(got[i]) {
					t.Fatalf("output %d: %g with released buffers poisoned, %g without: a value was read after its release", i, got[i], want[i])
				}
			}
		})
	}
}

// TestActivationsAreWhatIsAlive: the arena holds what is alive at once,
// far less than every value of the pass — on the 256² architecture, a
// quarter (1.9 GB of values, 480 MB alive at most).
func TestActivationsAreWhatIsAlive(t *testing.T) {
	cfg := must(LoadConfig("../bench/configs/ddpm-256.config.json"))(t)
	count := func(keepAll bool) int64 {
		m := must(dryBuild(cfg))(t)
		m.dry, m.arena.keepAll = true, keepAll
		must(m.forward(nil, 1, 256, 256, []float32{0}, nil))(t)
		_, b := m.arena.size()
		return b
	}
	alive, all := count(false), count(true)
	t.Logf("256²: %d MB alive at most, %d MB of values in the pass", alive>>20, all>>20)
	if alive*3 > all {
		t.Errorf("activations hold %d bytes of the %d the pass computes", alive, all)
	}
	if got := must(ActivationBytes(cfg, 1, 256, 256))(t); got != alive {
		t.Errorf("ActivationBytes = %d, the arena holds %d", got, alive)
	}
}
