package unet

import (
	"encoding/json"
	"math"
	"os"
	"sort"
	"testing"

	"gonum.org/v1/gonum/blas/gonum"

	"github.com/ddpmstudio/ddpmstudio/internal/golden"
	"github.com/ddpmstudio/ddpmstudio/unet/cpu"
	"github.com/ddpmstudio/ddpmstudio/unet/sgemm"
)

type variant struct {
	name    string
	backend Backend
}

func cpuVariants() []variant {
	var vs []variant
	for _, k := range sgemm.Kernels() {
		vs = append(vs, variant{"sgemm-" + k.Name, cpu.NewWithBLAS(sgemm.WithKernel(k))})
	}
	return append(vs, variant{"gonum", cpu.NewWithBLAS(gonum.Implementation{})})
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
	m, err := New(cfg, 1, cpu.New())
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
