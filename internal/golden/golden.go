// Package golden locates the reference fixtures produced by diffusers (see
// ../shared/golden/README.md) for the tests of every package.
//
// The root is $DDPM_GOLDEN_DIR when set, else ../shared/golden beside the
// repository. A missing root or sub-folder skips the calling test with a clear
// message on a developer's machine but fails it when CI is set or
// DDPM_GOLDEN_DIR was given: a green CI must never mean "skipped".
package golden

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// Root returns the fixture root, or skips or fails t as described above.
func Root(t testing.TB) string {
	t.Helper()
	root, explicit := os.LookupEnv("DDPM_GOLDEN_DIR")
	if !explicit || root == "" {
		explicit = false
		_, file, _, _ := runtime.Caller(0)
		// internal/golden/golden.go → repository root → its parent → shared/golden
		root = filepath.Join(filepath.Dir(file), "..", "..", "..", "shared", "golden")
	}
	if st, err := os.Stat(root); err != nil || !st.IsDir() {
		missing(t, explicit, "fixture root "+root+" not found")
	}
	return root
}

// Dir returns <root>/<sub>, skipping or failing when it is absent.
func Dir(t testing.TB, sub string) string {
	t.Helper()
	root := Root(t)
	_, explicit := os.LookupEnv("DDPM_GOLDEN_DIR")
	dir := filepath.Join(root, sub)
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		missing(t, explicit, "fixture folder "+dir+" not found")
	}
	return dir
}

func missing(t testing.TB, explicit bool, msg string) {
	t.Helper()
	if explicit || os.Getenv("CI") != "" {
		t.Fatalf("%s (CI or DDPM_GOLDEN_DIR is set, so missing fixtures are a failure)", msg)
	}
	t.Skipf("%s; set DDPM_GOLDEN_DIR to the fixture root to run this test", msg)
}

// Files returns the paths in dir matching pattern, failing when there are none
// (an empty fixture folder would make a golden test vacuous).
func Files(t testing.TB, dir, pattern string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, pattern))
	if err != nil {
		t.Fatal(err)
	}
	if len(m) == 0 {
		t.Fatalf("no %s fixtures in %s", pattern, dir)
	}
	return m
}
