package backendtest

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/ddpmstudio/ddpmstudio/internal/golden"
	"github.com/ddpmstudio/ddpmstudio/safetensors"
	"github.com/ddpmstudio/ddpmstudio/unet"
)

// GoldenTolerance is the bar of a model-level golden run: max |ours −
// diffusers(float64)| relative to the output's magnitude (at least 1).
const GoldenTolerance = 1e-4

// RunGolden runs every golden UNet fixture (every unet/*/ folder with a
// config.json under every fixture root, see internal/golden) on backends
// made by newBackend, and compares the output with diffusers'. When the
// fixture has intermediates.safetensors, every module's output is compared
// too and a failure names the first diverging module, in execution order —
// where a new backend's bug is.
func RunGolden(t *testing.T, newBackend func() unet.Backend) {
	for _, fx := range golden.Folders(t, "unet", "config.json") {
		t.Run(fx.Name(), func(t *testing.T) {
			b := newBackend()
			defer b.Close()
			runGolden(t, fx.Path, b)
		})
	}
}

func f32(t *testing.T, f *safetensors.File, name string) ([]float32, []int) {
	t.Helper()
	v, shape, err := f.Float32(name)
	if err != nil {
		t.Fatal(err)
	}
	return v, shape
}

func runGolden(t *testing.T, dir string, b unet.Backend) {
	l, err := unet.Load(dir, b)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Model.Close()
	io, err := safetensors.ReadFile(filepath.Join(dir, "io.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	sample, shape := f32(t, io, "sample")
	steps, _, err := io.Int64("timestep")
	if err != nil {
		t.Fatal(err)
	}
	ts := make([]float32, shape[0])
	for i := range ts {
		ts[i] = float32(steps[min(i, len(steps)-1)]) // a scalar timestep is broadcast
	}
	var classes []int
	if io.Has("class_labels") {
		cl, _, err := io.Int64("class_labels")
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cl {
			classes = append(classes, int(c))
		}
	}
	want, _ := f32(t, io, "output")
	forward := func() ([]float32, error) { return l.Model.Forward(sample, shape[0], shape[2], shape[3], ts, classes) }
	got, err := forward()
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("output has %d values, reference %d", len(got), len(want))
	}
	worst, scale := maxDiff(got, want)
	t.Logf("%s: max |Δ| = %.3g over %d values (tolerance %g)", b.Name(), worst, len(want), GoldenTolerance*scale)
	if worst > GoldenTolerance*scale {
		t.Errorf("forward differs from diffusers by %.3g", worst)
	}
	// A second call reuses the arena and gives the same bits.
	again, err := forward()
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := maxDiff(again, want); d != worst {
		t.Errorf("second forward differs from the first (%.3g vs %.3g)", d, worst)
	}
	inter := filepath.Join(dir, "intermediates.safetensors")
	if _, err := os.Stat(inter); err == nil {
		if name, d := firstDivergence(t, l.Model, inter, func() error { _, err := forward(); return err }); name != "" {
			t.Errorf("first diverging module: %s (max |Δ| = %.3g)", name, d)
		}
	}
}

// firstDivergence runs forward with an observer and compares each module's
// output with diffusers' forward-hook output, in execution order (the
// fixture's "order" metadata); it returns the first module beyond
// tolerance, or "". Every module the file lists must be observed.
func firstDivergence(t *testing.T, m *unet.Model, path string, forward func() error) (string, float64) {
	t.Helper()
	f, err := safetensors.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	if err := json.Unmarshal([]byte(f.Metadata["order"]), &order); err != nil {
		t.Fatalf("%s: order metadata: %v", path, err)
	}
	got := map[string][]float32{}
	m.SetObserver(func(name string, _ unet.Shape, v []float32) { got[name] = v })
	defer m.SetObserver(nil)
	if err := forward(); err != nil {
		t.Fatal(err)
	}
	for _, name := range order {
		want, _ := f32(t, f, name)
		v, ok := got[name]
		if !ok {
			t.Errorf("module %s was not observed", name)
			continue
		}
		if len(v) != len(want) {
			return name, math.Inf(1)
		}
		if d, scale := maxDiff(v, want); d > GoldenTolerance*scale {
			return name, d
		}
	}
	return "", 0
}

// maxDiff is the largest |a−b| (∞ for NaN) and the reference's magnitude
// (at least 1).
func maxDiff(a, b []float32) (float64, float64) {
	worst, scale := 0.0, 1.0
	for i := range a {
		scale = max(scale, math.Abs(float64(b[i])))
		d := math.Abs(float64(a[i]) - float64(b[i]))
		if math.IsNaN(d) {
			return math.Inf(1), scale
		}
		worst = max(worst, d)
	}
	return worst, scale
}
