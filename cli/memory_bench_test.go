//go:build linux

package cli_test

import (
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/ddpmstudio/ddpmstudio/diffusion"
	"github.com/ddpmstudio/ddpmstudio/internal/golden"
	"github.com/ddpmstudio/ddpmstudio/unet"
	"github.com/ddpmstudio/ddpmstudio/unet/cpu"
)

// BenchmarkSampleMemory runs `ddpmstudio sample` as a child process on
// random-weight models of the google/ddpm-cifar10-32 and 256² diffusers
// configs (DDIM on the CPU, batch 1 and, at 256², 2) and reports the
// child's peak resident memory (getrusage's ru_maxrss) and its time from
// start to exit. Issue 25's budget: 2 GB at 256² and batch 1, 1 GB more
// per extra sample. Run with -benchtime=1x: each iteration is a whole
// process, and the 256² folder (455 MB) is written once per size.
func BenchmarkSampleMemory(b *testing.B) {
	for _, c := range []struct {
		name, config string
		steps, count int
	}{
		{"cifar10-32", golden.Find(b, "unet/ddpm-cifar10-32.config.json"), 10, 1},
		{"256/batch=1", "../bench/configs/ddpm-256.config.json", 3, 1},
		{"256/batch=2", "../bench/configs/ddpm-256.config.json", 3, 2},
	} {
		b.Run(c.name, func(b *testing.B) {
			dir := randomModelFolder(b, c.config)
			var peak int64
			var wall time.Duration
			b.ResetTimer()
			for range b.N {
				cmd := exec.Command(binary, "sample", "--model", dir, "--backend", "cpu", "--sampler", "ddim",
					"--steps", strconv.Itoa(c.steps), "--count", strconv.Itoa(c.count), "--batch", strconv.Itoa(c.count),
					"--quiet", "--out", filepath.Join(b.TempDir(), "x.png"))
				t0 := time.Now()
				if out, err := cmd.CombinedOutput(); err != nil {
					b.Fatalf("%v: %s", err, out)
				}
				wall += time.Since(t0)
				if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
					peak = max(peak, ru.Maxrss*1024) // kilobytes on Linux
				}
			}
			b.ReportMetric(float64(peak)/1e6, "peak-MB")
			b.ReportMetric(wall.Seconds()/float64(b.N), "s/run")
		})
	}
}

// randomModelFolder writes a diffusers folder of the config with random
// weights.
func randomModelFolder(b *testing.B, config string) string {
	b.Helper()
	cfg, err := unet.LoadConfig(config)
	if err != nil {
		b.Fatal(err)
	}
	m, err := unet.New(cfg, 1, cpu.New())
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	dir := filepath.Join(b.TempDir(), "model")
	sc := diffusion.DefaultSchedulerConfig()
	if err := m.Save(dir, false, &sc); err != nil {
		b.Fatal(err)
	}
	return dir
}
