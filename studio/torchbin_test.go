package studio

import (
	"archive/zip"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ddpmstudio/ddpmstudio/internal/golden"
)

// TestBinOnlyFolderSamplesAsItsTwin: a model folder that ships only
// torch.save's diffusion_pytorch_model.bin (written by PyTorch itself)
// draws exactly what its safetensors twin draws.
func TestBinOnlyFolderSamplesAsItsTwin(t *testing.T) {
	twin, bin := golden.BinTwin(t)
	cfg, err := os.ReadFile(filepath.Join(twin, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var finals [2][]float32
	for i, dir := range []string{twin, bin} {
		s, err := Open(ctx, dir, OpenOptions{Backend: BackendCPU})
		if err != nil {
			t.Fatalf("%s: %v", dir, err)
		}
		if i == 1 && !strings.HasSuffix(s.Info().Weights, ".bin") {
			t.Fatalf("the .bin folder opened %s", s.Info().Weights)
		}
		rn, _ := run(t, s, recipeFor(s, DDIM, 4, 31, 2), StartOptions{})
		finals[i] = rn.Final()
		s.Close()
	}
	if !equalBits(finals[0], finals[1]) {
		t.Error("the .bin folder draws another picture than its safetensors twin")
	}
	// A hostile pickle in a model folder is one line naming the global.
	evil := filepath.Join(t.TempDir())
	os.WriteFile(filepath.Join(evil, "config.json"), cfg, 0o644)
	os.WriteFile(filepath.Join(evil, "diffusion_pytorch_model.bin"), evilBin(t), 0o644)
	_, err = Open(ctx, evil, OpenOptions{Backend: BackendCPU})
	if err == nil || !strings.Contains(err.Error(), "os.system") || strings.Contains(err.Error(), "\n") {
		t.Errorf("a pickle naming os.system: %v", err)
	}
}

// evilBin is a torch.save-shaped archive whose pickle calls os.system.
func evilBin(t *testing.T) []byte {
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	w, err := zw.Create("archive/data.pkl")
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("\x80\x02cos\nsystem\nX\x0a\x00\x00\x00echo pwned\x85R."))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}
