package cli

import (
	"bytes"
	"image/png"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ddpmstudio/ddpmstudio/hub/hubtest"
	"github.com/ddpmstudio/ddpmstudio/internal/golden"
)

// TestDownloadThenSampleOffline: `download` fetches a Hub model that ships
// only a PyTorch .bin (from a fake Hub on loopback, gated, with a token),
// and `sample --model owner/name` then draws from the cache alone
// (HF_HUB_OFFLINE=1) the pixels its safetensors folder draws.
func TestDownloadThenSampleOffline(t *testing.T) {
	twin, binDir := golden.BinTwin(t)
	cfg, err := os.ReadFile(filepath.Join(binDir, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	bin, err := os.ReadFile(filepath.Join(binDir, "diffusion_pytorch_model.bin"))
	if err != nil {
		t.Fatal(err)
	}
	fake := &hubtest.Server{Repo: "google/ddpm-tiny", Gated: true, Token: "hf_secret",
		Files: map[string][]byte{"config.json": cfg, "diffusion_pytorch_model.bin": bin},
		LFS:   map[string]bool{"diffusion_pytorch_model.bin": true}}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	cache := t.TempDir()
	t.Setenv("HF_ENDPOINT", srv.URL)
	t.Setenv("HF_HUB_CACHE", cache)
	t.Setenv("HF_HUB_OFFLINE", "")
	t.Setenv("HF_TOKEN", "hf_secret")
	var out, errb bytes.Buffer
	if code := Main([]string{"download", "google/ddpm-tiny"}, &out, &errb); code != 0 {
		t.Fatalf("download: exit %d: %s", code, errb.String())
	}
	snap := strings.TrimSpace(out.String())
	if snap != filepath.Join(cache, "models--google--ddpm-tiny", "snapshots", hubtest.Commit) {
		t.Errorf("download printed %q", snap)
	}
	if strings.Contains(out.String()+errb.String(), "hf_secret") {
		t.Error("the token was printed")
	}
	if !strings.Contains(errb.String(), "downloading diffusion_pytorch_model.bin") {
		t.Errorf("no progress line: %q", errb.String())
	}
	t.Setenv("HF_HUB_OFFLINE", "1")
	t.Setenv("HF_TOKEN", "")
	dir := t.TempDir()
	pixels := func(model, name string) []byte {
		p := filepath.Join(dir, name)
		var e bytes.Buffer
		if code := Main([]string{"sample", "--model", model, "--sampler", "ddim", "--steps", "4", "--seed", "3", "--count", "2", "--out", p, "--quiet"}, &bytes.Buffer{}, &e); code != 0 {
			t.Fatalf("sample %s: exit %d: %s", model, code, e.String())
		}
		b, _ := os.ReadFile(p)
		img, err := png.Decode(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		png.Encode(&buf, img) // pixels only: the recipes name different models
		return buf.Bytes()
	}
	if !bytes.Equal(pixels("google/ddpm-tiny", "hub.png"), pixels(twin, "folder.png")) {
		t.Error("the Hub's .bin model draws other pixels than its safetensors folder")
	}
	// Offline and not cached: one line, no network.
	var e bytes.Buffer
	if code := Main([]string{"info", "--model", "google/other"}, &bytes.Buffer{}, &e); code == 0 || !strings.Contains(e.String(), "HF_HUB_OFFLINE") {
		t.Errorf("offline, uncached: exit %d: %s", code, e.String())
	}
}
