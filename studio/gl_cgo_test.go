//go:build cgo

package studio

import (
	"strings"
	"testing"
)

// TestAutoPicksHardwareGL: where a hardware GL 4.3 context opens (a GPU
// machine), auto takes it and says so; where none does, or only a
// software renderer (llvmpipe in CI), auto takes the CPU and says why.
func TestAutoPicksHardwareGL(t *testing.T) {
	g, renderer, err := openGL()
	hardware := err == nil && g.Caps().Hardware
	if err == nil {
		g.Close()
	}
	b, note, err := chooseBackend(BackendAuto)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	t.Logf("GL renderer %q, hardware %v: %s", renderer, hardware, note)
	if hardware {
		if b.Name() != "gl" || !strings.Contains(note, "auto chose the GPU") {
			t.Errorf("a hardware renderer (%s) is here, but auto chose %s: %s", renderer, b.Name(), note)
		}
		return
	}
	if b.Name() != "cpu" || !strings.Contains(note, "auto chose the CPU") {
		t.Errorf("no hardware renderer, but auto chose %s: %s", b.Name(), note)
	}
}
