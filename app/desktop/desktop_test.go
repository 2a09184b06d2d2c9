package desktop

import (
	"bytes"
	"strings"
	"testing"
)

func TestNoDisplayIsOneLine(t *testing.T) {
	t.Setenv("DISPLAY", "")
	t.Setenv("WAYLAND_DISPLAY", "")
	var stderr bytes.Buffer
	if code := Main(&stderr, "", ""); code != 1 {
		t.Fatalf("exit %d without a display, want 1", code)
	}
	msg := strings.TrimSpace(stderr.String())
	if strings.Contains(msg, "\n") || !strings.Contains(msg, "no display") || !strings.Contains(msg, "ddpmstudio sample") {
		t.Errorf("message %q", msg)
	}
}
