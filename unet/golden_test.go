package unet

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"gonum.org/v1/gonum/blas/gonum"

	"github.com/ddpmstudio/ddpmstudio/internal/golden"
	"github.com/ddpmstudio/ddpmstudio/safetensors"
	"github.com/ddpmstudio/ddpmstudio/unet/sgemm"
)

// goldenTolerance is the bar: max |ours − diffusers(float64)| ≤ 1e-4.
const goldenTolerance = 1e-4

func TestGoldenForward(t *testing.T) {
	for _, fx := range golden.Folders(t, "unet", "config.json") {
		t.Run(fx.Name(), func(t *testing.T) {
			// Every product implementation must pass: each SGEMM kernel this
			// CPU has (packed-weight convolution path) and gonum's own
			// (im2col path).
			for _, b := range cpuVariants() {
				t.Run(b.name, func(t *testing.T) { runGolden(t, fx.Path, b.backend) })
			}
		})
	}
}

type variant struct {
	name    string
	backend Backend
}

func cpuVariants() []variant {
	var vs []variant
	for _, k := range sgemm.Kernels() {
		vs = append(vs, variant{"sgemm-" + k.Name, NewCPUWithBLAS(sgemm.WithKernel(k))})
	}
	return append(vs, variant{"gonum", NewCPUWithBLAS(gonum.Implementation{})})
}

func runGolden(t *testing.T, dir string, b Backend) {
	l, err := Load(dir, b)
	if err != nil {
		t.Fatal(err)
	}
	io, err := safetensors.ReadFile(filepath.Join(dir, "io.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	sample, shape, err := io.Float32("sample")
	if err != nil {
		t.Fatal(err)
	}
	steps, _, err := io.Int64("timestep")
	if err != nil {
		t.Fatal(err)
	}
	ts := make([]float32, len(steps))
	for i, s := range steps {
		ts[i] = float32(s)
	}
	if len(ts) == 1 && shape[0] > 1 { // a scalar timestep is broadcast
		for len(ts) < shape[0] {
			ts = append(ts, ts[0])
		}
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
	want, wantShape, err := io.Float32("output")
	if err != nil {
		t.Fatal(err)
	}
	got, err := l.Model.Forward(sample, shape[0], shape[2], shape[3], ts, classes)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("output has %d values, reference %v", len(got), wantShape)
	}
	worst := maxDiff(got, want)
	t.Logf("max |Δ| = %.3g over %d values (tolerance %g)", worst, len(want), goldenTolerance)
	if worst > goldenTolerance {
		t.Errorf("forward differs from diffusers by %.3g", worst)
	}
	if exists(filepath.Join(dir, "intermediates.safetensors")) {
		if name, d := firstDivergence(t, l.Model, filepath.Join(dir, "intermediates.safetensors"), func() error {
			_, err := l.Model.Forward(sample, shape[0], shape[2], shape[3], ts, classes)
			return err
		}); name != "" {
			t.Errorf("first diverging module: %s (max |Δ| = %.3g)", name, d)
		}
	}
	// A second call must reuse the arena and give the same bits.
	again, err := l.Model.Forward(sample, shape[0], shape[2], shape[3], ts, classes)
	if err != nil {
		t.Fatal(err)
	}
	if d := maxDiff(again, want); d != worst {
		t.Errorf("second forward differs from the first (%.3g vs %.3g)", d, worst)
	}
}

// firstDivergence runs forward with an observer and compares each module's
// output with diffusers' forward-hook output in intermediates.safetensors, in
// execution order (the "order" metadata). It returns the first module that
// differs by more than goldenTolerance relative to the module's magnitude, or
// "" when all agree; every module the file lists must be observed.
func firstDivergence(t *testing.T, m *Model, path string, forward func() error) (string, float64) {
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
	m.SetObserver(func(name string, _ Shape, v []float32) { got[name] = v })
	defer m.SetObserver(nil)
	if err := forward(); err != nil {
		t.Fatal(err)
	}
	for _, name := range order {
		want, _, err := f.Float32(name)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		v, ok := got[name]
		if !ok {
			t.Errorf("module %s was not observed", name)
			continue
		}
		if len(v) != len(want) {
			return name, math.Inf(1)
		}
		scale := 1.0
		for _, w := range want {
			scale = max(scale, math.Abs(float64(w)))
		}
		if d := maxDiff(v, want); d > goldenTolerance*scale {
			return name, d
		}
	}
	return "", 0
}

func maxDiff(a, b []float32) float64 {
	m := 0.0
	for i := range a {
		d := math.Abs(float64(a[i]) - float64(b[i]))
		if math.IsNaN(d) {
			return math.Inf(1)
		}
		m = max(m, d)
	}
	return m
}

func TestCIFAR10Architecture(t *testing.T) {
	cfg, err := LoadConfig(golden.Find(t, "unet/ddpm-cifar10-32.config.json"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(golden.Find(t, "unet/ddpm-cifar10-32.param_shapes.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ref struct {
		ParamCount int              `json:"param_count"`
		NumTensors int              `json:"num_tensors"`
		Shapes     map[string][]int `json:"shapes"`
	}
	if err := json.Unmarshal(b, &ref); err != nil {
		t.Fatal(err)
	}
	m, err := New(cfg, 1, NewCPU())
	if err != nil {
		t.Fatal(err)
	}
	if got := m.ParamCount(); got != ref.ParamCount || got != 35746307 {
		t.Errorf("%d parameters, diffusers has %d", got, ref.ParamCount)
	}
	if len(m.Params()) != ref.NumTensors {
		t.Errorf("%d tensors, diffusers has %d", len(m.Params()), ref.NumTensors)
	}
	ours := map[string]bool{}
	for _, p := range m.Params() {
		ours[p.Name] = true
		want, ok := ref.Shapes[p.Name]
		if !ok {
			t.Errorf("tensor %q is not in diffusers' model", p.Name)
			continue
		}
		if !equalInts(p.Dims, want) {
			t.Errorf("tensor %q has shape %v, diffusers %v", p.Name, p.Dims, want)
		}
	}
	var missing []string
	for name := range ref.Shapes {
		if !ours[name] {
			missing = append(missing, name)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("missing %d tensors, e.g. %v", len(missing), missing[:min(5, len(missing))])
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
