package hub

import (
	"bytes"
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ddpmstudio/ddpmstudio/hub/hubtest"
)

func newHub(t *testing.T, f *hubtest.Server) (*Client, string) {
	t.Helper()
	t.Setenv("HF_HUB_OFFLINE", "")
	if f.Files == nil {
		weights := bytes.Repeat([]byte("weights!"), 40000)
		f.Files = map[string][]byte{"config.json": []byte(`{"_class_name":"UNet2DModel"}`),
			"scheduler_config.json": []byte(`{}`), "diffusion_pytorch_model.safetensors": weights,
			"diffusion_pytorch_model.bin": []byte("not wanted when safetensors exist")}
		f.LFS = map[string]bool{"diffusion_pytorch_model.safetensors": true, "diffusion_pytorch_model.bin": true}
	}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	cache := t.TempDir()
	return &Client{Endpoint: srv.URL, Cache: cache, HTTP: srv.Client()}, cache
}

// TestSnapshotLaysOutTheCacheAsHuggingfaceHub: blobs named by etag (sha256
// for LFS, the git blob id otherwise), relative symlinks in the snapshot,
// refs/main naming the commit, nothing left half-done — the layout
// huggingface_hub reads offline.
func TestSnapshotLaysOutTheCacheAsHuggingfaceHub(t *testing.T) {
	f := &hubtest.Server{Repo: "google/ddpm-tiny"}
	c, cache := newHub(t, f)
	var last Progress
	c.Progress = func(p Progress) { last = p }
	dir, got, err := c.Snapshot(context.Background(), "google/ddpm-tiny", "main", "")
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(cache, "models--google--ddpm-tiny")
	if got != hubtest.Commit || dir != filepath.Join(root, "snapshots", hubtest.Commit) {
		t.Fatalf("snapshot %s at %s", got, dir)
	}
	if ref, _ := os.ReadFile(filepath.Join(root, "refs", "main")); string(ref) != hubtest.Commit {
		t.Errorf("refs/main = %q", ref)
	}
	for name, b := range f.Files {
		p := filepath.Join(dir, name)
		if name == "diffusion_pytorch_model.bin" {
			if _, err := os.Lstat(p); err == nil {
				t.Error("the .bin was fetched beside the safetensors")
			}
			continue
		}
		etag := hubtest.GitBlobID(b)
		if f.LFS[name] {
			etag = hubtest.SHA256(b)
		}
		target, err := os.Readlink(p)
		if err != nil || target != "../../blobs/"+etag {
			t.Errorf("%s → %q (%v), want ../../blobs/%s", name, target, err, etag)
		}
		if read, _ := os.ReadFile(p); !bytes.Equal(read, b) {
			t.Errorf("%s: wrong bytes", name)
		}
	}
	if m, _ := filepath.Glob(filepath.Join(root, "blobs", "*.incomplete")); len(m) > 0 {
		t.Errorf("left behind %v", m)
	}
	if last.File != "diffusion_pytorch_model.safetensors" || last.Done != last.Total || last.Total != 320000 {
		t.Errorf("last progress %+v", last)
	}
	// A second time, nothing is downloaded again.
	gets := f.Gets
	if _, _, err := c.Snapshot(context.Background(), "google/ddpm-tiny", "main", ""); err != nil || f.Gets != gets {
		t.Errorf("the second snapshot downloaded again (%d → %d GETs): %v", gets, f.Gets, err)
	}
}

func TestResumeAfterADroppedConnection(t *testing.T) {
	f := &hubtest.Server{Repo: "google/ddpm-tiny", Drop: true}
	c, cache := newHub(t, f)
	_, _, err := c.Snapshot(context.Background(), "google/ddpm-tiny", "main", "")
	if err == nil || !strings.Contains(err.Error(), "resume") {
		t.Fatalf("a dropped connection: %v", err)
	}
	part, _ := filepath.Glob(filepath.Join(cache, "models--google--ddpm-tiny", "blobs", "*.incomplete"))
	if len(part) != 1 {
		t.Fatalf("incomplete blobs %v", part)
	}
	dir, _, err := c.Snapshot(context.Background(), "google/ddpm-tiny", "main", "")
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "diffusion_pytorch_model.safetensors")); !bytes.Equal(b, f.Files["diffusion_pytorch_model.safetensors"]) {
		t.Error("the resumed file differs")
	}
	if len(f.Ranges) != 2 || f.Ranges[1] != "bytes=160000-" {
		t.Errorf("ranges asked %q, want the second from byte 160000", f.Ranges)
	}
}

func TestRefusals(t *testing.T) {
	cases := []struct {
		name string
		hub  *hubtest.Server
		repo string
		want string
	}{
		{"gated without a token", &hubtest.Server{Repo: "google/ddpm-tiny", Gated: true, Token: "hf_secret"}, "google/ddpm-tiny", "set HF_TOKEN"},
		{"repository not found", &hubtest.Server{Repo: "google/ddpm-tiny"}, "google/nothing", "repository not found"},
		{"revision not found", &hubtest.Server{Repo: "google/ddpm-tiny"}, "google/ddpm-tiny@v9", "revision not found"},
		{"wrong checksum", &hubtest.Server{Repo: "google/ddpm-tiny", Corrupt: true}, "google/ddpm-tiny", "checksum mismatch"},
		{"more bytes than announced", &hubtest.Server{Repo: "google/ddpm-tiny", Extra: true}, "google/ddpm-tiny", "more than the announced"},
	}
	for _, k := range cases {
		c, cache := newHub(t, k.hub)
		repo, rev, _ := strings.Cut(k.repo, "@")
		if rev == "" {
			rev = "main"
		}
		_, _, err := c.Snapshot(context.Background(), repo, rev, "")
		if err == nil || !strings.Contains(err.Error(), k.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: %v, want one line saying %q", k.name, err, k.want)
		}
		if k.name == "wrong checksum" {
			if m, _ := filepath.Glob(filepath.Join(cache, "models--google--ddpm-tiny", "blobs", "*")); len(m) != 2 {
				t.Errorf("after a bad checksum the blobs are %v: want only the two small files", m)
			}
		}
	}
}

// TestTokenIsSentAndNeverPrinted: with HF_TOKEN a gated repo downloads;
// with a wrong one the error says so without repeating the token.
func TestTokenIsSentAndNeverPrinted(t *testing.T) {
	f := &hubtest.Server{Repo: "google/ddpm-tiny", Gated: true, Token: "hf_secret"}
	c, _ := newHub(t, f)
	c.Token = "hf_secret"
	if _, _, err := c.Snapshot(context.Background(), "google/ddpm-tiny", "main", ""); err != nil {
		t.Fatal(err)
	}
	c.Token = "hf_wrong"
	_, _, err := c.Snapshot(context.Background(), "google/ddpm-tiny", "main", "")
	if err == nil || !strings.Contains(err.Error(), "HF_TOKEN") || strings.Contains(err.Error(), "hf_wrong") {
		t.Errorf("error %v", err)
	}
}

func TestOfflineNeverCalls(t *testing.T) {
	f := &hubtest.Server{Repo: "google/ddpm-tiny"}
	c, _ := newHub(t, f)
	t.Setenv("HF_HUB_OFFLINE", "1")
	if _, _, err := c.Snapshot(context.Background(), "google/ddpm-tiny", "main", ""); err != ErrOffline || f.Gets != 0 {
		t.Errorf("offline: %v, %d GETs", err, f.Gets)
	}
}

func TestChooseVariantAndPipeline(t *testing.T) {
	info := revisionInfo{SHA: hubtest.Commit}
	for _, n := range []string{"model_index.json", "unet/config.json", "unet/diffusion_pytorch_model.bin",
		"unet/diffusion_pytorch_model.fp16.safetensors", "scheduler/scheduler_config.json"} {
		info.Siblings = append(info.Siblings, struct {
			RFilename string `json:"rfilename"`
		}{n})
	}
	got, err := choose(info, "")
	if err != nil || strings.Join(got, " ") != "unet/config.json model_index.json scheduler/scheduler_config.json unet/diffusion_pytorch_model.bin" {
		t.Errorf("pipeline: %v %v", got, err)
	}
	got, _ = choose(info, "fp16")
	if got[len(got)-1] != "unet/diffusion_pytorch_model.fp16.safetensors" {
		t.Errorf("variant fp16: %v", got)
	}
}
