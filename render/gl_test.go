package render_test

import (
	"bytes"
	"context"
	"math"
	"os"
	"testing"

	"github.com/ddpmstudio/ddpmstudio/render"
	"github.com/ddpmstudio/ddpmstudio/studio"
	"github.com/ddpmstudio/ddpmstudio/unet"
	"github.com/ddpmstudio/ddpmstudio/unet/backendtest"
	"github.com/ddpmstudio/ddpmstudio/unet/cpu"
)

// Tolerance of the GL kernels against the float64 references, relative to
// the reference's magnitude: the shaders sum in plain sequential float32
// order (the CPU's SGEMM sums in blocks), and llvmpipe's exp is not the C
// library's.
const Tolerance = 1e-4

// open gives a GL backend, or skips — except under CI, where Mesa's
// llvmpipe is installed (make deps) and the GL tests must run.
func open(t *testing.T) *render.GL { return openWith(t, render.Options{}) }

// variants are the convolution shaders, each tested on whatever renderer
// is here (on llvmpipe in CI, both: the tiled one is meant for GPUs, but
// its arithmetic is checked anywhere).
var variants = []string{render.ConvPlain, render.ConvTiled}

func openWith(t *testing.T, opts render.Options) *render.GL {
	t.Helper()
	g, err := render.OpenWith(opts)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("no GL context under CI: %v", err)
		}
		t.Skipf("no GL 4.3 context here: %v", err)
	}
	t.Logf("GL: %s, %s; convolution %s", g.Renderer, g.Version, g.Conv)
	return g
}

func TestKernelsAgainstReferences(t *testing.T) {
	for _, v := range variants {
		t.Run(v, func(t *testing.T) {
			g := openWith(t, render.Options{Conv: v})
			defer g.Close()
			if g.Conv != v {
				t.Fatalf("asked for the %s convolution, got %s", v, g.Conv)
			}
			backendtest.RunTolerance(t, g, Tolerance)
		})
	}
}

func TestGoldenFixturesOnGL(t *testing.T) {
	for _, v := range variants {
		t.Run(v, func(t *testing.T) {
			backendtest.RunGolden(t, func() unet.Backend { return openWith(t, render.Options{Conv: v}) })
		})
	}
}

func TestUnknownVariantRefused(t *testing.T) {
	if _, err := render.OpenWith(render.Options{Conv: "fast"}); err == nil {
		t.Fatal("an unknown convolution variant was accepted")
	}
}

// TestChainMatchesTheCPU: a 50-step DDIM chain of the embedded model from
// one seed ends at the same x_0 on both backends, within a stated bound,
// and the PNG written from it (the CLI's and the app's bytes) is the same.
func TestChainMatchesTheCPU(t *testing.T) {
	g := open(t)
	defer g.Close()
	ctx := context.Background()
	final := func(b unet.Backend) ([]float32, []byte) {
		sess, err := studio.OpenOn(ctx, "", b)
		if err != nil {
			t.Fatal(err)
		}
		r := sess.DefaultRecipe(studio.DDIM)
		r.Steps, r.Seed, r.Count = 50, 3, 1
		run, err := sess.Start(ctx, r, studio.StartOptions{Batch: 1})
		if err != nil {
			t.Fatal(err)
		}
		res, err := run.Wait()
		if err != nil {
			t.Fatal(err)
		}
		imgs, err := studio.SamplePictures(res)
		if err != nil {
			t.Fatal(err)
		}
		// The recipe records its backend; all else in the PNG must agree.
		rec := run.Recipe()
		rec.Backend = ""
		var png bytes.Buffer
		if err := studio.WritePNG(&png, studio.GridOf(imgs), rec, nil); err != nil {
			t.Fatal(err)
		}
		return run.Final(), png.Bytes()
	}
	cpuX, cpuPNG := final(cpu.New())
	glX, glPNG := final(g)
	worst := 0.0
	for i := range cpuX {
		worst = math.Max(worst, math.Abs(float64(cpuX[i]-glX[i])))
	}
	t.Logf("50-step DDIM chain, embedded model, %s convolution: max |x₀(gl) − x₀(cpu)| = %.3g", g.Conv, worst)
	if worst > 1e-3 || math.IsNaN(worst) {
		t.Errorf("the GL chain ends %.3g away from the CPU's", worst)
	}
	if !bytes.Equal(cpuPNG, glPNG) {
		t.Errorf("the PNG differs between the backends (%d vs %d bytes)", len(cpuPNG), len(glPNG))
	}
}

// benchBackends opens a GL backend per convolution variant (plain, tiled)
// for a side-by-side benchmark, closed when it ends, or skips.
func benchBackends(b *testing.B) (plain, tiled *render.GL) {
	var gs [2]*render.GL
	for i, v := range []string{render.ConvPlain, render.ConvTiled} {
		g, err := render.OpenWith(render.Options{Conv: v})
		if err != nil {
			b.Skip(err)
		}
		b.Cleanup(func() { g.Close() })
		gs[i] = g
	}
	return gs[0], gs[1]
}

// BenchmarkForward times one forward pass of the cifar_like32 fixture's
// architecture (and the full google/ddpm-cifar10-32 one) on GL and on the
// CPU side by side, batch 1. On llvmpipe GL is far slower than the CPU —
// why auto never picks a software renderer. On a GPU, scripts/gpu-device.sh
// times BenchmarkGLForward (batch 1, 8, 64 and 256²) beside PyTorch.
func BenchmarkForward(b *testing.B) {
	g, gt := benchBackends(b)
	cfg := unet.DefaultConfig()
	cfg.SampleSize = [2]int{32, 32}
	cfg.BlockOutChannels = []int{128, 256, 256, 256}
	cfg.DownBlockTypes = []string{unet.DownBlock, unet.AttnDownBlock, unet.DownBlock, unet.DownBlock}
	cfg.UpBlockTypes = []string{unet.UpBlock, unet.UpBlock, unet.AttnUpBlock, unet.UpBlock}
	cfg.FlipSinToCos, cfg.FreqShift, cfg.DownsamplePadding, cfg.NormEps, cfg.AttentionHeadDim = false, 1, 0, 1e-6, 0
	for _, be := range []struct {
		name string
		b    unet.Backend
	}{{"cpu", cpu.New()}, {"gl-plain", g}, {"gl-tiled", gt}} {
		m, err := unet.New(cfg, 1, be.b)
		if err != nil {
			b.Fatal(err)
		}
		x := make([]float32, 3*32*32)
		b.Run(be.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := m.Forward(x, 1, 32, 32, []float32{500}, nil); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(m.FLOPs(32, 32)/(b.Elapsed().Seconds()/float64(b.N))/1e9, "GFLOP/s")
		})
		m.Close()
	}
}

// BenchmarkKernels times the U-Net's heaviest kernels at CIFAR-10 sizes on
// the CPU and on GL side by side (each iteration ends with a Download, the
// GL barrier, so asynchronous work is counted).
func BenchmarkKernels(b *testing.B) {
	g, gt := benchBackends(b)
	for _, be := range []struct {
		name string
		b    unet.Backend
	}{{"cpu", cpu.New()}, {"gl-plain", g}, {"gl-tiled", gt}} {
		k := be.b
		up := func(s unet.Shape) unet.Tensor {
			t := k.Alloc(s)
			v := make([]float32, s.Len())
			for i := range v {
				v[i] = float32(i%7) * 0.1
			}
			k.Upload(t, v)
			return t
		}
		x := up(unet.Shape{1, 128, 32, 32})
		dst := up(unet.Shape{1, 128, 32, 32})
		w := up(unet.Shape{128, 128, 3, 3})
		bias := up(unet.Shape{128, 1, 1, 1})
		gamma, beta := up(unet.Shape{128, 1, 1, 1}), up(unet.Shape{128, 1, 1, 1})
		q := up(unet.Shape{1, 256, 16, 16})
		att := up(unet.Shape{1, 256, 16, 16})
		sync := make([]float32, 1)
		for _, c := range []struct {
			name  string
			flops float64
			run   func()
			out   unet.Tensor
		}{
			{"conv3x3_128ch_32x32", 2 * 128 * 128 * 9 * 1024, func() { k.Conv2D(dst, x, w, bias, 1, unet.Padding{Top: 1, Left: 1, Bottom: 1, Right: 1}) }, dst},
			{"groupnorm_silu_128ch_32x32", 0, func() { k.GroupNorm(dst, x, gamma, beta, 32, 1e-6, true) }, dst},
			{"attention_256tok_256ch", 2 * 2 * 256 * 256 * 256, func() { k.Attention(att, q, q, q, 1, 0.0625) }, att},
		} {
			b.Run(be.name+"/"+c.name, func(b *testing.B) {
				for b.Loop() {
					c.run()
					k.Download(sync, c.out)
				}
				per := b.Elapsed().Seconds() / float64(b.N)
				b.ReportMetric(per*1e3, "ms/op")
				if c.flops > 0 {
					b.ReportMetric(c.flops/per/1e9, "GFLOP/s")
				}
			})
		}
	}
}
