package app

import (
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"fyne.io/fyne/v2/test"

	"github.com/ddpmstudio/ddpmstudio/hub/hubtest"
	"github.com/ddpmstudio/ddpmstudio/studio"
)

func fakeTinyHub(t *testing.T, stall bool) {
	t.Helper()
	golden := filepath.Join("..", "testdata", "golden", "unet", "tiny_gray16")
	cfg, _ := os.ReadFile(filepath.Join(golden, "config.json"))
	w, err := os.ReadFile(filepath.Join(golden, "diffusion_pytorch_model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(&hubtest.Server{Repo: "someone/tiny", Stall: stall,
		Files: map[string][]byte{"config.json": cfg, "diffusion_pytorch_model.safetensors": w},
		LFS:   map[string]bool{"diffusion_pytorch_model.safetensors": true}})
	t.Cleanup(srv.Close)
	t.Setenv("HF_ENDPOINT", srv.URL)
	t.Setenv("HF_HUB_CACHE", t.TempDir())
	t.Setenv("HF_HUB_OFFLINE", "")
}

// TestOpenFromTheHubDialog: the dialog downloads a model (from a fake Hub
// on loopback) with its progress shown, and the window opens it.
func TestOpenFromTheHubDialog(t *testing.T) {
	fakeTinyHub(t, false)
	s, _ := newStudio(t, nil)
	d := s.newHubDialog()
	if d.list.Length() == 0 {
		t.Fatal("no known models listed")
	}
	for _, k := range studio.KnownModels {
		if m := missingGlyphs(t, knownLabel(k)); len(m) > 0 {
			t.Errorf("%q: no glyph for %q", knownLabel(k), m)
		}
	}
	d.entry.SetText("someone/tiny")
	s.hubOpen(d)
	s.waitIdle()
	if got := s.info.Name; got != "someone/tiny@"+hubtest.Commit {
		t.Fatalf("opened %q (dialog says %q)", got, d.status.Text)
	}
	if d.progress.Total == 0 || d.progress.Done != d.progress.Total || d.bar.Value != 1 {
		t.Errorf("progress %+v, bar %v", d.progress, d.bar.Value)
	}
	d.entry.SetText("not an id")
	s.hubOpen(d)
	if !strings.Contains(d.status.Text, "not a Hub model id") {
		t.Errorf("a bad id: %q", d.status.Text)
	}
}

// TestCancelAHubDownload: Cancel stops a download that stalls; the model in
// use stays and the dialog says why nothing opened.
func TestCancelAHubDownload(t *testing.T) {
	fakeTinyHub(t, true)
	s, _ := newStudio(t, nil)
	before := s.info.Name
	d := s.newHubDialog()
	d.entry.SetText("someone/tiny")
	s.hubOpen(d)
	for d.progress.Done == 0 { // wait for the first bytes
		<-s.queue.ready
		s.queue.run()
	}
	d.cancel()
	s.waitIdle()
	if s.info.Name != before || !strings.Contains(d.status.Text, "not opened") || d.open.Disabled() {
		t.Errorf("after Cancel: model %q, status %q, open disabled %v", s.info.Name, d.status.Text, d.open.Disabled())
	}
}

// TestWindowStartedOnAHubID: `ddpmstudio owner/name` for a model not yet
// cached opens the window on the embedded model and downloads in the Hub
// dialog, then switches to the model.
func TestWindowStartedOnAHubID(t *testing.T) {
	fakeTinyHub(t, false)
	a := test.NewTempApp(t)
	w := a.NewWindow("DDPM Studio")
	s := New(a, w, Options{queueUI: true, Model: "someone/tiny"})
	t.Cleanup(func() { s.Cancel(); s.waitIdle(); w.Close() })
	s.waitIdle()
	if got := s.info.Name; got != "someone/tiny@"+hubtest.Commit {
		t.Errorf("the window opened %q", got)
	}
}
