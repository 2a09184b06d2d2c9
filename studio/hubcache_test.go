package studio

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ddpmstudio/ddpmstudio/diffusion"
	"github.com/ddpmstudio/ddpmstudio/unet/cpu"
)

// fakeCache lays a saved tiny model out as huggingface_hub does: blobs
// named by their hash, a snapshot of relative links to them (flat, or as
// a pipeline's unet/ and scheduler/), and refs/main naming the commit.
func fakeCache(t *testing.T, repo string, pipeline bool) (cache, commit string) {
	t.Helper()
	src := t.TempDir()
	s := tinySession(t, 0)
	sched := diffusion.DefaultSchedulerConfig()
	if err := s.Loaded().Model.Save(src, false, &sched); err != nil {
		t.Fatal(err)
	}
	cache = t.TempDir()
	root := filepath.Join(cache, "models--"+strings.ReplaceAll(repo, "/", "--"))
	commit = strings.Repeat("ab12", 10)
	snap := filepath.Join(root, "snapshots", commit)
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(b)
		blob := filepath.Join(root, "blobs", hex.EncodeToString(sum[:]))
		os.MkdirAll(filepath.Dir(blob), 0o755)
		if err := os.WriteFile(blob, b, 0o644); err != nil {
			t.Fatal(err)
		}
		at := filepath.Join(snap, e.Name())
		if pipeline {
			sub := "unet"
			if e.Name() == "scheduler_config.json" {
				sub = "scheduler"
			}
			at = filepath.Join(snap, sub, e.Name())
		}
		os.MkdirAll(filepath.Dir(at), 0o755)
		rel, _ := filepath.Rel(filepath.Dir(at), blob)
		if err := os.Symlink(rel, at); err != nil {
			t.Fatal(err)
		}
	}
	if pipeline {
		os.WriteFile(filepath.Join(snap, "model_index.json"), []byte(`{"_class_name": "DDPMPipeline"}`), 0o644)
	}
	os.MkdirAll(filepath.Join(root, "refs"), 0o755)
	if err := os.WriteFile(filepath.Join(root, "refs", "main"), []byte(commit), 0o644); err != nil {
		t.Fatal(err)
	}
	return cache, commit
}

func TestParseRepoID(t *testing.T) {
	for _, tc := range []struct {
		in        string
		repo, rev string
		ok        bool
	}{
		{"google/ddpm-cifar10-32", "google/ddpm-cifar10-32", "main", true},
		{"google/ddpm-cifar10-32@v1.0", "google/ddpm-cifar10-32", "v1.0", true},
		{"a/b@" + strings.Repeat("0", 40), "a/b", strings.Repeat("0", 40), true},
		{"./models/x", "", "", false},
		{"/abs/path", "", "", false},
		{"a/b/c", "", "", false},
		{"../b", "", "", false},
		{"a/b@../../etc", "", "", false},
		{"a/b@", "", "", false},
		{"model", "", "", false},
	} {
		repo, rev, ok := ParseRepoID(tc.in)
		if repo != tc.repo || rev != tc.rev || ok != tc.ok {
			t.Errorf("ParseRepoID(%q) = %q, %q, %v", tc.in, repo, rev, ok)
		}
	}
}

func TestOpenFromTheHubCache(t *testing.T) {
	t.Setenv("HF_HUB_OFFLINE", "1") // the cache alone: nothing may reach the Hub
	for _, pipeline := range []bool{false, true} {
		cache, commit := fakeCache(t, "someone/tiny-ddpm", pipeline)
		t.Setenv("HF_HUB_CACHE", cache)
		for _, spec := range []string{"someone/tiny-ddpm", "someone/tiny-ddpm@main", "someone/tiny-ddpm@" + commit} {
			s, err := OpenOn(context.Background(), spec, cpu.New())
			if err != nil {
				t.Fatalf("pipeline %v, %s: %v", pipeline, spec, err)
			}
			if got := s.Info().Name; got != "someone/tiny-ddpm@"+commit {
				t.Errorf("recorded as %q, want the repo and its commit", got)
			}
			s.Close()
		}
		for spec, want := range map[string]string{
			"someone/other":        "not in the Hugging Face cache",
			"someone/tiny-ddpm@v2": "revision v2",
			"someone/tiny-ddpm@" + strings.Repeat("cd34", 10): "no snapshot",
		} {
			_, err := OpenOn(context.Background(), spec, cpu.New())
			if err == nil || !strings.Contains(err.Error(), want) || !errors.Is(err, ErrNotCached) {
				t.Errorf("%s: %v, want it to say %q", spec, err, want)
			}
		}
	}
}

func TestHubCacheFolder(t *testing.T) {
	t.Setenv("HF_HUB_CACHE", "")
	t.Setenv("HUGGINGFACE_HUB_CACHE", "")
	t.Setenv("HF_HOME", "/data/hf")
	if got := HubCache(); got != filepath.Join("/data/hf", "hub") {
		t.Errorf("HF_HOME: %s", got)
	}
	t.Setenv("HF_HUB_CACHE", "/fast/hub")
	if got := HubCache(); got != "/fast/hub" {
		t.Errorf("HF_HUB_CACHE: %s", got)
	}
	t.Setenv("HF_HUB_CACHE", "")
	t.Setenv("HF_HOME", "")
	t.Setenv("XDG_CACHE_HOME", "/xdg")
	if got := HubCache(); got != filepath.Join("/xdg", "huggingface", "hub") {
		t.Errorf("XDG_CACHE_HOME: %s", got)
	}
}
