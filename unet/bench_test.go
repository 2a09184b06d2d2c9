package unet

import (
	"testing"

	"github.com/ddpmstudio/ddpmstudio/internal/golden"
	"github.com/ddpmstudio/ddpmstudio/unet/cpu"
)

func benchForward(b *testing.B, m *Model, n int) {
	h, w := m.Config.SampleSize[0], m.Config.SampleSize[1]
	x := randomInput(n * m.Config.InChannels * h * w)
	ts := make([]float32, n)
	for i := range ts {
		ts[i] = float32(100 * i)
	}
	if _, err := m.Forward(x, n, h, w, ts, nil); err != nil { // warm the arena
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := m.Forward(x, n, h, w, ts, nil); err != nil {
			b.Fatal(err)
		}
	}
	sec := b.Elapsed().Seconds() / float64(b.N)
	b.ReportMetric(sec*1e3, "ms/forward")
	b.ReportMetric(m.FLOPs(h, w)*float64(n)/sec/1e9, "GFLOP/s")
}

// BenchmarkCIFAR10Forward runs the full google/ddpm-cifar10-32 architecture
// (35.7 M parameters, random weights) at batch 1 and 8 on each product
// implementation: "gonum" is the starting point (gonum's native Sgemm with
// im2col), "sgemm-*" the packed kernels. Compare them within one run.
func BenchmarkCIFAR10Forward(b *testing.B) {
	cfg, err := LoadConfig(golden.Find(b, "unet/ddpm-cifar10-32.config.json"))
	if err != nil {
		b.Fatal(err)
	}
	for _, v := range cpuVariants() {
		if v.name == "sgemm-go" {
			continue // the portable kernel is a correctness reference, not a contender
		}
		m, err := New(cfg, 1, v.backend)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(v.name+"/batch=1", func(b *testing.B) { benchForward(b, m, 1) })
		b.Run(v.name+"/batch=8", func(b *testing.B) { benchForward(b, m, 8) })
	}
}

// BenchmarkCIFARLike32Forward runs the cifar_like32 fixture model.
func BenchmarkCIFARLike32Forward(b *testing.B) {
	dir, ok := golden.Lookup(b, "unet/cifar_like32")
	if !ok {
		b.Skip("no fixture root holds unet/cifar_like32 (it lives in ../shared/golden, not in the repository)")
	}
	l, err := Load(dir, cpu.New())
	if err != nil {
		b.Fatal(err)
	}
	b.Run("batch=1", func(b *testing.B) { benchForward(b, l.Model, 1) })
}

// BenchmarkForward256 runs the 256² architecture of google/ddpm-celebahq-256
// and its siblings (bench/configs/ddpm-256.config.json: 113.7 M parameters,
// 497 GFLOP per forward) at batch 1 on the CPU backend, random weights;
// `python3 bench/pytorch_cifar10.py 2 3 256` times PyTorch on the same
// config for the ratio.
func BenchmarkForward256(b *testing.B) {
	m := configModel(b, "../bench/configs/ddpm-256.config.json")
	defer m.Close()
	benchForward(b, m, 1)
}
