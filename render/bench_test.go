package render_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/ddpmstudio/ddpmstudio/diffusion"
	"github.com/ddpmstudio/ddpmstudio/internal/golden"
	"github.com/ddpmstudio/ddpmstudio/render"
	"github.com/ddpmstudio/ddpmstudio/studio"
	"github.com/ddpmstudio/ddpmstudio/unet"
)

// The GPU benchmarks (scripts/gpu-device.sh runs them on the device and
// PyTorch's CUDA forward of the same configs beside them). Each timed
// forward ends with its output downloaded, the GL barrier.

func openGL(b *testing.B) *render.GL {
	g, err := render.Open()
	if err != nil {
		b.Skipf("no GL 4.3 context here: %v", err)
	}
	b.Cleanup(func() { g.Close() })
	b.Logf("GL: %s, %s; convolution %s", g.Renderer, g.Version, g.Conv)
	return g
}

func timeForward(b *testing.B, m *unet.Model, n int) {
	h, w := m.Config.SampleSize[0], m.Config.SampleSize[1]
	r := rand.New(rand.NewPCG(1, uint64(n)))
	x := make([]float32, n*m.Config.InChannels*h*w)
	for i := range x {
		x[i] = float32(r.NormFloat64())
	}
	ts := make([]float32, n)
	for i := range ts {
		ts[i] = float32(100 * i % 1000)
	}
	if _, err := m.Forward(x, n, h, w, ts, nil); err != nil { // shaders and buffers warm
		b.Fatal(err)
	}
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

// BenchmarkGLForward: the google/ddpm-cifar10-32 architecture at batch 1,
// 8 and 64, and the 256² one (google/ddpm-celebahq-256's config,
// bench/configs) at batch 1, random weights.
func BenchmarkGLForward(b *testing.B) {
	g := openGL(b)
	for _, c := range []struct {
		name    string
		config  string
		batches []int
	}{
		{"cifar10", golden.Find(b, "unet/ddpm-cifar10-32.config.json"), []int{1, 8, 64}},
		{"256", "../bench/configs/ddpm-256.config.json", []int{1}},
	} {
		cfg, err := unet.LoadConfig(c.config)
		if err != nil {
			b.Fatal(err)
		}
		m, err := unet.New(cfg, 1, g)
		if err != nil {
			b.Fatal(err)
		}
		for _, n := range c.batches {
			b.Run(fmt.Sprintf("%s/batch=%d", c.name, n), func(b *testing.B) { timeForward(b, m, n) })
		}
		m.Close()
	}
}

// BenchmarkGLChain times whole chains through the studio, as a person runs
// them: DDIM 50 on the embedded model, and DDPM 1000 on the CIFAR-10
// architecture (random weights), batch 1.
func BenchmarkGLChain(b *testing.B) {
	g := openGL(b)
	ctx := context.Background()
	cfg, err := unet.LoadConfig(golden.Find(b, "unet/ddpm-cifar10-32.config.json"))
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name    string
		sampler string
		steps   int
		open    func() (*studio.Session, error)
	}{
		{"embedded/ddim50", studio.DDIM, 50, func() (*studio.Session, error) { return studio.OpenOn(ctx, "", g) }},
		{"cifar10/ddpm1000", studio.DDPM, 1000, func() (*studio.Session, error) {
			m, err := unet.New(cfg, 1, g)
			if err != nil {
				return nil, err
			}
			return studio.NewSession(&unet.Loaded{Model: m, Scheduler: diffusion.DefaultSchedulerConfig(), WeightsHash: studio.HashBytes([]byte("random"))}, "cifar10-random"), nil
		}},
	} {
		sess, err := c.open()
		if err != nil {
			b.Fatal(err)
		}
		b.Run(c.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				r := sess.DefaultRecipe(c.sampler)
				r.Steps, r.Seed, r.Count = c.steps, 3, 1
				run, err := sess.Start(ctx, r, studio.StartOptions{Batch: 1})
				if err != nil {
					b.Fatal(err)
				}
				if _, err := run.Wait(); err != nil {
					b.Fatal(err)
				}
			}
			sec := b.Elapsed().Seconds() / float64(b.N)
			b.ReportMetric(sec, "s/chain")
			b.ReportMetric(sec/float64(c.steps)*1e3, "ms/step")
		})
		sess.Loaded().Model.Close()
	}
}
