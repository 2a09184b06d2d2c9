package app

import (
	"bytes"
	"context"
	"sync/atomic"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/ddpmstudio/ddpmstudio/unet"
)

// TestScrubbingNeverRunsTheUNet: with exact states kept only at the ends
// of the chain, moving the timeline over every position of a finished run
// shows each one without a single U-Net call, and what it shows is what
// the frame recomputed from the nearest state paints.
func TestScrubbingNeverRunsTheUNet(t *testing.T) {
	a := test.NewTempApp(t)
	w := a.NewWindow("DDPM Studio")
	w.Resize(fyne.NewSize(1200, 800))
	s := New(a, w, Options{queueUI: true, retention: 1})
	t.Cleanup(func() {
		s.Cancel()
		s.waitIdle()
		w.Close()
	})
	quick(s, 12, 3, 2)
	run := generate(t, s)
	if run.KeepEvery() < 12 {
		t.Fatalf("states kept every %d steps: the test needs them sparse", run.KeepEvery())
	}
	m := s.sess.Loaded().Model
	var calls atomic.Int64
	count := func(string, unet.Shape, []float32) { calls.Add(1) }
	defer m.SetObserver(nil)
	for i := 0; i <= run.PlanLen(); i++ {
		m.SetObserver(count)
		s.SetCursor(i)
		s.waitIdle()
		if n := calls.Load(); n != 0 {
			t.Fatalf("position %d: scrubbing ran %d U-Net modules", i, n)
		}
		m.SetObserver(nil)
		f, err := run.Shown(context.Background(), i) // recomputed from the nearest state
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range []struct {
			panel int
			x     []float32
		}{{PanelXT, f.X}, {PanelX0, f.X0}} {
			if !bytes.Equal(s.view.Picture(p.panel).Pix, paintedIn(s, p.panel, p.x).Pix) {
				t.Fatalf("position %d, panel %d: the view does not show the recomputed frame", i, p.panel)
			}
		}
	}
	if !bytes.Contains([]byte(s.statusText()), []byte("keep 12 pictures")) {
		t.Errorf("the status bar says %q, not what the run keeps", s.statusText())
	}
}
