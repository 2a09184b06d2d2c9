// Package golden locates the reference fixtures produced by diffusers (see
// testdata/golden/README.md) for the tests of every package.
//
// Fixtures may live under several roots, all of the same layout
// (schedulers/, unet/, grads/), and a test runs every fixture of every root:
//
//   - testdata/golden in this repository: always there, so a fresh clone checks
//     the engine against diffusers with nothing beside it;
//   - ../shared/golden beside the repository, when present;
//   - $DDPM_GOLDEN_DIR, when set: a root that must exist.
//
// The repository is found from the working directory (go test runs each
// package in its own folder) by walking up to this module's go.mod, never
// through runtime.Caller, which -trimpath rewrites. A root that should exist
// and does not is a test failure when CI is set or the root was named
// explicitly; only a developer's run without CI may skip.
//
// The same fixture reachable through two roots (the repository's copy of a
// shared file) runs once: files are de-duplicated by content.
package golden

import (
	"bufio"
	"crypto/sha256"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// Module is this repository's module path, used to recognise its go.mod.
const Module = "github.com/ddpmstudio/ddpmstudio"

// Root is one fixture root with a short label used in subtest names.
type Root struct {
	Label string // "repo", "shared" or "env"
	Path  string
}

// RepoRoot returns the repository's top folder, found by walking up from the
// working directory to the go.mod that declares Module.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if isModuleRoot(filepath.Join(dir, "go.mod")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod of module " + Module + " above the working directory")
		}
		dir = parent
	}
}

func isModuleRoot(gomod string) bool {
	f, err := os.Open(gomod)
	if err != nil {
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if line := strings.TrimSpace(sc.Text()); strings.HasPrefix(line, "module ") {
			return strings.TrimSpace(strings.TrimPrefix(line, "module ")) == Module
		}
	}
	return false
}

func strict() bool { return os.Getenv("CI") != "" }

// Roots returns every fixture root that exists, failing t when the
// repository's own root is missing under CI or a named root is missing.
func Roots(t testing.TB) []Root {
	t.Helper()
	var roots []Root
	repo, err := RepoRoot()
	if err != nil {
		missing(t, strict(), err.Error())
	} else {
		p := filepath.Join(repo, "testdata", "golden")
		if isDir(p) {
			roots = append(roots, Root{"repo", p})
		} else {
			missing(t, strict(), "fixture root "+p+" not found")
		}
		if p := filepath.Join(repo, "..", "shared", "golden"); isDir(p) {
			roots = append(roots, Root{"shared", p})
		}
	}
	if p, ok := os.LookupEnv("DDPM_GOLDEN_DIR"); ok && p != "" {
		if !isDir(p) {
			missing(t, true, "DDPM_GOLDEN_DIR="+p+" is not a folder")
		}
		roots = append(roots, Root{"env", p})
	}
	if len(roots) == 0 {
		missing(t, strict(), "no fixture root found")
	}
	return roots
}

func isDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

func missing(t testing.TB, fail bool, msg string) {
	t.Helper()
	if fail {
		t.Fatalf("%s (CI or DDPM_GOLDEN_DIR is set, so missing fixtures are a failure)", msg)
	}
	t.Skipf("%s; set DDPM_GOLDEN_DIR to a fixture root to run this test", msg)
}

// Fixture is one fixture file or folder found under a root.
type Fixture struct {
	Root Root
	Path string
}

// Name is the fixture's subtest name: its root's label and its base name.
func (f Fixture) Name() string {
	return f.Root.Label + "/" + strings.TrimSuffix(filepath.Base(f.Path), ".safetensors")
}

// Files returns the files matching pattern in <root>/<sub> of every root,
// identical files once, failing t when there are none at all (an empty fixture
// folder would make a golden test vacuous).
func Files(t testing.TB, sub, pattern string) []Fixture {
	t.Helper()
	var out []Fixture
	seen := map[[32]byte]bool{}
	for _, r := range Roots(t) {
		m, err := filepath.Glob(filepath.Join(r.Path, sub, pattern))
		if err != nil {
			t.Fatal(err)
		}
		sort.Strings(m)
		for _, p := range m {
			h, err := hashFiles(p)
			if err != nil {
				t.Fatal(err)
			}
			if !seen[h] {
				seen[h] = true
				out = append(out, Fixture{r, p})
			}
		}
	}
	if len(out) == 0 {
		t.Fatalf("no %s/%s fixtures under any root", sub, pattern)
	}
	return out
}

// Folders returns the sub-folders of <root>/<sub> that hold a file named
// marker, in every root, identical folders (same marker file and same
// files) once, failing t when there are none.
func Folders(t testing.TB, sub, marker string) []Fixture {
	t.Helper()
	var out []Fixture
	seen := map[[32]byte]bool{}
	for _, r := range Roots(t) {
		entries, err := os.ReadDir(filepath.Join(r.Path, sub))
		if err != nil {
			continue
		}
		for _, e := range entries {
			dir := filepath.Join(r.Path, sub, e.Name())
			if !e.IsDir() || !exists(filepath.Join(dir, marker)) {
				continue
			}
			files, _ := filepath.Glob(filepath.Join(dir, "*"))
			sort.Strings(files)
			h, err := hashFiles(files...)
			if err != nil {
				t.Fatal(err)
			}
			if !seen[h] {
				seen[h] = true
				out = append(out, Fixture{r, dir})
			}
		}
	}
	if len(out) == 0 {
		t.Fatalf("no %s/*/%s fixtures under any root", sub, marker)
	}
	return out
}

// Find returns the first <root>/<rel> that exists, in root order, failing t
// when no root has it.
func Find(t testing.TB, rel string) string {
	t.Helper()
	for _, r := range Roots(t) {
		if p := filepath.Join(r.Path, rel); exists(p) {
			return p
		}
	}
	t.Fatalf("no fixture root holds %s", rel)
	return ""
}

// Lookup is Find for optional fixtures: it reports whether a root has rel.
func Lookup(t testing.TB, rel string) (string, bool) {
	t.Helper()
	for _, r := range Roots(t) {
		if p := filepath.Join(r.Path, rel); exists(p) {
			return p, true
		}
	}
	return "", false
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func hashFiles(paths ...string) ([32]byte, error) {
	h := sha256.New()
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return [32]byte{}, err
		}
		if st.IsDir() {
			continue
		}
		f, err := os.Open(p)
		if err != nil {
			return [32]byte{}, err
		}
		io.WriteString(h, filepath.Base(p)+"\x00")
		_, err = io.Copy(h, f)
		f.Close()
		if err != nil {
			return [32]byte{}, err
		}
	}
	var s [32]byte
	copy(s[:], h.Sum(nil))
	return s, nil
}

// BinTwin is the tiny golden U-Net twice: its safetensors folder, and a
// temporary folder holding the same config with only the torch.save
// checkpoint PyTorch wrote of it (testdata/torchbin/tiny_gray16.bin).
func BinTwin(t testing.TB) (safetensorsDir, binDir string) {
	t.Helper()
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	safetensorsDir = filepath.Join(root, "testdata", "golden", "unet", "tiny_gray16")
	binDir = t.TempDir()
	for src, dst := range map[string]string{
		filepath.Join(safetensorsDir, "config.json"):                   "config.json",
		filepath.Join(root, "testdata", "torchbin", "tiny_gray16.bin"): "diffusion_pytorch_model.bin",
	} {
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(binDir, dst), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return safetensorsDir, binDir
}
