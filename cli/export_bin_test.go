package cli

import (
	"bytes"
	"math"
	"path/filepath"
	"testing"

	"github.com/ddpmstudio/ddpmstudio/internal/golden"
	"github.com/ddpmstudio/ddpmstudio/safetensors"
)

// TestExportConvertsABinFolder: `export` turns a .bin-only model folder
// (PyTorch's own torch.save) into a safetensors one with the same float32
// weights, bit for bit.
func TestExportConvertsABinFolder(t *testing.T) {
	golden, in := golden.BinTwin(t)
	out := filepath.Join(t.TempDir(), "out")
	var stderr bytes.Buffer
	if code := Main([]string{"export", "--model", in, "--out", out, "--half=false"}, &bytes.Buffer{}, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	got, err := safetensors.ReadFile(filepath.Join(out, "diffusion_pytorch_model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	want, err := safetensors.ReadFile(filepath.Join(golden, "diffusion_pytorch_model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range want.Names {
		a, _, err1 := want.Float32(name)
		b, _, err2 := got.Float32(name)
		if err1 != nil || err2 != nil || len(a) != len(b) {
			t.Fatalf("%s: %v %v", name, err1, err2)
		}
		for i := range a {
			if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
				t.Fatalf("%s[%d]: %v, the twin has %v", name, i, b[i], a[i])
			}
		}
	}
}
