package atomicfile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWrite(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "a.txt")
	if err := Write(p, func(w io.Writer) error { _, err := w.Write([]byte("one")); return err }); err != nil {
		t.Fatal(err)
	}
	// A failing writer leaves the old content and no temporary file behind.
	boom := errors.New("boom")
	err := Write(p, func(w io.Writer) error { w.Write([]byte("partial")); return boom })
	if !errors.Is(err, boom) {
		t.Fatalf("error %v", err)
	}
	b, _ := os.ReadFile(p)
	if string(b) != "one" {
		t.Errorf("content %q after a failed write", b)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("left %d files", len(entries))
	}
	if st, _ := os.Stat(p); st.Mode().Perm() != 0o644 {
		t.Errorf("mode %v", st.Mode())
	}
}

func TestErrorsNameTheTargetAndStaleFilesGo(t *testing.T) {
	dir := t.TempDir()
	// A folder that cannot be written: the error names the user's path.
	ro := filepath.Join(dir, "ro")
	if err := os.Mkdir(ro, 0o555); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(ro, "out.png")
	err := Write(target, func(w io.Writer) error { return nil })
	if os.Geteuid() != 0 { // root writes anywhere
		if err == nil || !strings.Contains(err.Error(), target) || strings.Contains(err.Error(), ".tmp") {
			t.Errorf("error %v, want one naming %s and no temporary file", err, target)
		}
	}
	// Leftovers of killed writes go; other files stay.
	for _, name := range []string{".out.png.tmp123", ".a.gif.tmp9", "keep.png", ".hidden", ".x.tmpdir"} {
		if err := os.WriteFile(filepath.Join(dir, name), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	CleanStale(dir)
	var left []string
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		left = append(left, e.Name())
	}
	if strings.Join(left, " ") != ".hidden .x.tmpdir keep.png ro" {
		t.Errorf("left %v", left)
	}
}
