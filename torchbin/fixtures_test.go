package torchbin

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ddpmstudio/ddpmstudio/safetensors"
)

// TestPyTorchsOwnFiles: every .bin in testdata/torchbin, written by
// torch.save (scripts/make-torchbin-fixtures.py), holds the tensors of its
// safetensors twin in testdata/golden/unet: float32 bit for bit, float16
// and bfloat16 within their rounding.
func TestPyTorchsOwnFiles(t *testing.T) {
	bins, _ := filepath.Glob(filepath.Join("..", "testdata", "torchbin", "*.bin"))
	if len(bins) == 0 {
		t.Fatal("no fixtures in testdata/torchbin")
	}
	for _, bin := range bins {
		base := filepath.Base(bin)
		model, kind, _ := strings.Cut(strings.TrimSuffix(base, ".bin"), ".")
		t.Run(base, func(t *testing.T) {
			b, err := os.ReadFile(bin)
			if err != nil {
				t.Fatal(err)
			}
			ts, err := Read(b)
			if err != nil {
				t.Fatal(err)
			}
			twin, err := safetensors.ReadFile(filepath.Join("..", "testdata", "golden", "unet", model, "diffusion_pytorch_model.safetensors"))
			if err != nil {
				t.Fatal(err)
			}
			if len(ts) != len(twin.Names) {
				t.Fatalf("%d tensors, the twin has %d", len(ts), len(twin.Names))
			}
			want := map[string]safetensors.DType{"": safetensors.F32, "fp16": safetensors.F16, "bf16": safetensors.BF16}[kind]
			tol := map[string]float64{"": 0, "fp16": 1.0 / 1024, "bf16": 1.0 / 128}[kind]
			got := map[string]safetensors.Tensor{}
			for _, x := range ts {
				if x.DType != want {
					t.Fatalf("%s: dtype %s, want %s", x.Name, x.DType, want)
				}
				got[x.Name] = x
			}
			for _, name := range twin.Names {
				w, wshape, err := twin.Float32(name)
				if err != nil {
					t.Fatal(err)
				}
				g, err := got[name].Float32()
				gshape := got[name].Shape
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				if len(gshape) != len(wshape) {
					t.Fatalf("%s: shape %v, the twin's %v", name, gshape, wshape)
				}
				for i := range wshape {
					if gshape[i] != wshape[i] {
						t.Fatalf("%s: shape %v, the twin's %v", name, gshape, wshape)
					}
				}
				for i := range w {
					d := math.Abs(float64(g[i] - w[i]))
					if (tol == 0 && math.Float32bits(g[i]) != math.Float32bits(w[i])) || d > tol*math.Max(math.Abs(float64(w[i])), 1e-3) {
						t.Fatalf("%s[%d] = %v, the twin has %v", name, i, g[i], w[i])
					}
				}
			}
		})
	}
}
