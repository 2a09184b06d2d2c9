package app

import (
	"bytes"
	"context"
	"errors"
	"image"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/test"

	"github.com/ddpmstudio/ddpmstudio/cli"
	"github.com/ddpmstudio/ddpmstudio/imageio"
	"github.com/ddpmstudio/ddpmstudio/studio"
	"github.com/ddpmstudio/ddpmstudio/unet"
	"github.com/ddpmstudio/ddpmstudio/unet/cpu"
)

// newStudio opens the window on the embedded model with the test driver.
func newStudio(t *testing.T, a fyne.App) (*Window, fyne.Window) {
	t.Helper()
	if a == nil {
		a = test.NewTempApp(t)
	}
	w := a.NewWindow("DDPM Studio")
	w.Resize(fyne.NewSize(1200, 800))
	s := New(a, w, Options{queueUI: true})
	t.Cleanup(func() {
		s.Cancel()
		s.waitIdle()
		w.Close()
	})
	if s.sess == nil {
		t.Fatal("no model opened")
	}
	s.waitIdle()
	return s, w
}

// quick sets the panels to a short DDIM run of a locked seed.
func quick(s *Window, steps int, seed uint64, count int) {
	s.sampler.kind.SetSelected("DDIM")
	s.sampler.steps.SetText(strconv.Itoa(steps))
	s.sampler.seed.SetText(strconv.FormatUint(seed, 10))
	s.sampler.lock.SetChecked(true)
	s.sampler.count.SetSelected(strconv.Itoa(count))
}

func generate(t *testing.T, s *Window) *studio.Run {
	t.Helper()
	s.Generate()
	if err := s.wait(); err != nil {
		t.Fatal(err)
	}
	return s.currentRun()
}

func cliPNG(t *testing.T, args ...string) []byte {
	t.Helper()
	out := filepath.Join(t.TempDir(), "cli.png")
	var stderr bytes.Buffer
	if code := cli.Main(append(append([]string{"sample"}, args...), "--out", out, "--quiet"), &bytes.Buffer{}, &stderr); code != 0 {
		t.Fatalf("cli exit %d: %s", code, stderr.String())
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestGenerateSavesTheCLIsBytes(t *testing.T) {
	s, _ := newStudio(t, nil)
	quick(s, 8, 5, 4)
	generate(t, s)
	var b bytes.Buffer
	if err := s.WritePNG(&b); err != nil {
		t.Fatal(err)
	}
	want := cliPNG(t, "--sampler", "ddim", "--steps", "8", "--seed", "5", "--count", "4", "--class", "any") // the first Generate
	if !bytes.Equal(b.Bytes(), want) {
		t.Error("the window's PNG differs from the CLI's for the same recipe")
	}
	if s.cursor() != len(s.currentRun().Plan()) {
		t.Errorf("after the run the timeline is at %d, want the final sample", s.cursor())
	}
}

// paintedAs is x as the chain view paints it in the x_t panel.
func paintedAs(s *Window, x []float32) *image.RGBA { return paintedIn(s, PanelXT, x) }

// paintedIn is x as the chain view paints it in the given panel.
func paintedIn(s *Window, panel int, x []float32) *image.RGBA {
	v := NewChainView()
	v.SetShape(s.view.shape)
	v.SetFocus(s.view.Focus())
	frame := [numPanels][]float32{}
	frame[panel] = x
	v.ShowFrame(frame[0], frame[1], frame[2], frame[3])
	return v.Picture(panel)
}

func TestScrubbingShowsTheRecordedFrame(t *testing.T) {
	s, _ := newStudio(t, nil)
	quick(s, 12, 3, 4)
	run := generate(t, s)
	for _, i := range []int{0, 5, 11} {
		s.SetCursor(i)
		s.waitIdle()
		f, err := run.Frame(context.Background(), i)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(s.view.Picture(PanelXT).Pix, paintedAs(s, f.X).Pix) {
			t.Errorf("frame %d: the view does not show the recorded x_t", i)
		}
	}
	s.TypedKey(&fyne.KeyEvent{Name: fyne.KeyLeft})
	if s.cursor() != 10 {
		t.Errorf("← moved the cursor to %d, want 10", s.cursor())
	}
	s.TypedKey(&fyne.KeyEvent{Name: fyne.KeyEnd})
	if s.cursor() != len(run.Plan()) {
		t.Errorf("End moved the cursor to %d", s.cursor())
	}
	s.TypedKey(&fyne.KeyEvent{Name: fyne.KeyHome})
	if s.cursor() != 0 {
		t.Errorf("Home moved the cursor to %d", s.cursor())
	}
}

func TestForkKeepsTheParentAndSharesItsFrames(t *testing.T) {
	s, _ := newStudio(t, nil)
	s.sampler.kind.SetSelected("DDPM")
	s.sampler.steps.SetText("20")
	s.sampler.seed.SetText("11")
	s.sampler.lock.SetChecked(true)
	s.sampler.count.SetSelected("1")
	parent := generate(t, s)
	s.SetCursor(8)
	s.sampler.seed.SetText("12")
	s.ForkHere()
	if err := s.wait(); err != nil {
		t.Fatal(err)
	}
	fork := s.currentRun()
	if s.entries() != 2 || fork == parent || fork.StartIndex() != 8 {
		t.Fatalf("%d runs, fork starts at %d", s.entries(), fork.StartIndex())
	}
	for i := 0; i <= 8; i++ {
		a, _ := parent.Frame(context.Background(), i)
		b, _ := fork.Frame(context.Background(), i)
		if !bytes.Equal(f32bytes(a.X), f32bytes(b.X)) {
			t.Fatalf("frame %d before the fork differs", i)
		}
	}
	if bytes.Equal(f32bytes(parent.Final()), f32bytes(fork.Final())) {
		t.Error("a fork with a new seed drew the parent's sample")
	}
	if got := s.runs.entries[1].label; !bytes.Contains([]byte(got), []byte("seed 12")) || !bytes.Contains([]byte(got), []byte("#1")) {
		t.Errorf("fork label %q", got)
	}
	for _, e := range s.runs.entries {
		if m := missingGlyphs(t, e.label); len(m) > 0 {
			t.Errorf("history label %q has characters the font lacks: %q", e.label, m)
		}
	}
	s.selectRun(0)
	s.waitIdle()
	if s.currentRun() != parent || !bytes.Equal(s.view.Picture(PanelXT).Pix, paintedAs(s, parent.Final()).Pix) {
		t.Error("switching back does not show the parent's sample")
	}
}

func f32bytes(v []float32) []byte {
	b := make([]byte, 0, 4*len(v))
	for _, x := range v {
		u := math.Float32bits(x)
		b = append(b, byte(u), byte(u>>8), byte(u>>16), byte(u>>24))
	}
	return b
}

func TestCancelKeepsThePartialChain(t *testing.T) {
	s, _ := newStudio(t, nil)
	s.sampler.kind.SetSelected("DDPM")
	s.sampler.steps.SetText("1000")
	s.sampler.count.SetSelected("16")
	s.Generate()
	run := s.currentRun()
	for run.Len() < 3 {
		time.Sleep(5 * time.Millisecond)
	}
	s.TypedKey(&fyne.KeyEvent{Name: fyne.KeyEscape})
	if err := s.wait(); !errors.Is(err, context.Canceled) {
		t.Fatalf("after Esc: %v", err)
	}
	n := run.Len()
	if n < 3 || n >= 1000 {
		t.Fatalf("%d events kept", n)
	}
	for i := 0; i < n; i++ {
		if _, err := run.Frame(context.Background(), i); err != nil {
			t.Fatalf("frame %d of the partial chain: %v", i, err)
		}
	}
	if !s.genBtn.Disabled() && s.cancelBtn.Disabled() && bytes.Contains([]byte(s.runs.entries[0].label), []byte("cancelled")) {
		return
	}
	t.Errorf("after the cancel: generate disabled %v, cancel disabled %v, label %q", s.genBtn.Disabled(), s.cancelBtn.Disabled(), s.runs.entries[0].label)
}

func TestScheduleSliderChangesThePlotAndTheNextRun(t *testing.T) {
	s, _ := newStudio(t, nil)
	before := s.plotCurves()
	if before == nil || s.schedule.warn.Visible() {
		t.Fatal("no plot, or a warning for the trained schedule")
	}
	s.schedule.bT.SetValue(math.Log10(0.04))
	s.waitIdle()
	after := s.plotCurves()
	// The slider moves in steps of 0.01 in log10 β: 0.04 becomes 0.0398.
	if after == before || math.Abs(after.Beta[after.T-1]-0.0398) > 1e-6 {
		t.Fatalf("β_T in the plot: %v", after.Beta[after.T-1])
	}
	if !s.schedule.warn.Visible() {
		t.Error("no warning for a schedule that differs from the trained one")
	}
	quick(s, 5, 1, 1)
	run := generate(t, s)
	if got := run.Recipe().Schedule; got.BetaEnd != 0.0398 || got.Kind != "linear" {
		t.Errorf("next run's schedule %+v", got)
	}
	s.ResetSchedule()
	s.waitIdle()
	if s.schedule.warn.Visible() {
		t.Error("reset left the warning")
	}
}

func TestClassPickerOnlyForClassConditionalModels(t *testing.T) {
	s, _ := newStudio(t, nil)
	if !s.hasClassPicker() {
		t.Fatal("the embedded model is class-conditional but no picker is shown")
	}
	// The first Generate lets the seed choose each sample's class.
	if s.sampler.class.Selected != anyClass {
		t.Errorf("the class picker starts at %q, want %q", s.sampler.class.Selected, anyClass)
	}
	quick(s, 6, 2, 3)
	if r := generate(t, s).Recipe(); !r.AnyClass || r.Class != nil || r.Guidance != s.sess.DefaultGuidance() {
		t.Errorf("first Generate: any class %v, class %v, guidance %v", r.AnyClass, r.Class, r.Guidance)
	}
	s.sampler.class.SetSelected(noClass)
	if r := generate(t, s).Recipe(); r.AnyClass || r.Class != nil {
		t.Errorf("unconditional: any class %v, class %v", r.AnyClass, r.Class)
	}
	quick(s, 6, 2, 1)
	s.sampler.class.SetSelected("7")
	run := generate(t, s)
	if r := run.Recipe(); r.Class == nil || *r.Class != 7 || r.Guidance != 2 {
		t.Errorf("recipe class %v guidance %v", r.Class, r.Guidance)
	}
	dir := filepath.Join(t.TempDir(), "plain")
	cfg := unet.DefaultConfig()
	cfg.SampleSize = [2]int{8, 8}
	cfg.InChannels, cfg.OutChannels = 1, 1
	cfg.BlockOutChannels = []int{8, 16}
	cfg.DownBlockTypes = []string{unet.DownBlock, unet.DownBlock}
	cfg.UpBlockTypes = []string{unet.UpBlock, unet.UpBlock}
	cfg.LayersPerBlock, cfg.NormNumGroups = 1, 4
	m, err := unet.New(cfg, 1, cpu.New())
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Save(dir, false, nil); err != nil {
		t.Fatal(err)
	}
	s.OpenModel(dir)
	s.waitIdle()
	if s.hasClassPicker() || s.info.Height != 8 {
		t.Errorf("unconditional 8×8 model: picker %v, height %d", s.hasClassPicker(), s.info.Height)
	}
}

func TestBadModelFolderIsAnErrorDialog(t *testing.T) {
	s, w := newStudio(t, nil)
	before := s.info.Hash
	s.OpenModel(filepath.Join(t.TempDir(), "nowhere"))
	s.waitIdle()
	if w.Canvas().Overlays().Top() == nil {
		t.Error("no error dialog for a folder that does not exist")
	}
	if s.info.Hash != before {
		t.Error("the model in use changed")
	}
}

func TestPreferencesRoundTrip(t *testing.T) {
	a := test.NewTempApp(t)
	s, _ := newStudio(t, a)
	s.sampler.kind.SetSelected("DDIM")
	s.sampler.steps.SetText("37")
	s.sampler.eta.SetValue(0.35)
	s.sampler.count.SetSelected("9")
	s.sampler.seed.SetText("4242")
	s.sampler.lock.SetChecked(true)
	s.Close()
	s2, _ := newStudio(t, a)
	if s2.sampler.kind.Selected != "DDIM" || s2.sampler.steps.Text != "37" || math.Abs(s2.sampler.eta.Value-0.35) > 1e-9 ||
		s2.sampler.count.Selected != "9" || s2.sampler.seed.Text != "4242" || !s2.sampler.lock.Checked {
		t.Errorf("restored: %s %s %v %s %s %v", s2.sampler.kind.Selected, s2.sampler.steps.Text, s2.sampler.eta.Value,
			s2.sampler.count.Selected, s2.sampler.seed.Text, s2.sampler.lock.Checked)
	}
}

func TestOpeningARecipePNGRestoresItsSettings(t *testing.T) {
	png := cliPNG(t, "--sampler", "ddim", "--steps", "7", "--eta", "0.3", "--seed", "9", "--class", "3", "--guidance", "2.5")
	s, _ := newStudio(t, nil)
	if err := s.OpenRecipe(png); err != nil {
		t.Fatal(err)
	}
	if err := s.wait(); err != nil {
		t.Fatal(err)
	}
	if s.sampler.kind.Selected != "DDIM" || s.sampler.steps.Text != "7" || s.sampler.seed.Text != "9" || s.sampler.class.Selected != "3" ||
		math.Abs(s.sampler.eta.Value-0.3) > 1e-9 || s.sampler.guidance.Value != 2.5 {
		t.Errorf("panels: %s %s %s class %s η %v guidance %v", s.sampler.kind.Selected, s.sampler.steps.Text, s.sampler.seed.Text,
			s.sampler.class.Selected, s.sampler.eta.Value, s.sampler.guidance.Value)
	}
	var b bytes.Buffer
	if err := s.WritePNG(&b); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b.Bytes(), png) {
		t.Error("the reopened recipe drew different bytes")
	}
	if err := s.OpenRecipe([]byte("not a png")); err == nil {
		t.Error("garbage accepted")
	}
}

// TestOpeningARecipeSetsTheClassChoice: "no class" and "any class" recipes
// put the picker on their own choices, not on whichever comes first.
func TestOpeningARecipeSetsTheClassChoice(t *testing.T) {
	s, _ := newStudio(t, nil)
	for _, c := range []struct {
		args []string
		want string
	}{
		{nil, noClass},
		{[]string{"--class", "any", "--guidance", "1.5"}, anyClass},
		{[]string{"--class", "4"}, "4"},
	} {
		png := cliPNG(t, append([]string{"--sampler", "ddim", "--steps", "3", "--count", "2"}, c.args...)...)
		if err := s.OpenRecipe(png); err != nil {
			t.Fatal(err)
		}
		if err := s.wait(); err != nil {
			t.Fatal(err)
		}
		if s.sampler.class.Selected != c.want {
			t.Errorf("%v: the picker says %q, want %q", c.args, s.sampler.class.Selected, c.want)
		}
		var b bytes.Buffer
		if err := s.WritePNG(&b); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(b.Bytes(), png) {
			t.Errorf("%v: the reopened recipe drew different bytes", c.args)
		}
	}
}

func TestShortcutsAndFocus(t *testing.T) {
	s, w := newStudio(t, nil)
	quick(s, 4, 6, 4)
	w.Canvas().(interface{ TypedShortcut(fyne.Shortcut) }).TypedShortcut(&desktop.CustomShortcut{KeyName: fyne.KeyReturn, Modifier: fyne.KeyModifierControl})
	if s.currentRun() == nil {
		t.Fatal("Ctrl+Enter did not generate")
	}
	if err := s.wait(); err != nil {
		t.Fatal(err)
	}
	// A tap on the second sample of the x̂_0 grid focuses it.
	img := s.view.images[PanelX0]
	pos, size := img.Position(), img.Size()
	gw, gh := s.view.gridSize()
	sc := math.Min(float64(size.Width)/float64(gw), float64(size.Height)/float64(gh))
	offX, offY := (float64(size.Width)-sc*float64(gw))/2, (float64(size.Height)-sc*float64(gh))/2
	cell := float64(s.view.shape.W) + 1
	x := float32(offX + sc*(cell+3))
	y := float32(offY + sc*3)
	s.view.Tapped(&fyne.PointEvent{Position: pos.Add(fyne.NewPos(x, y))})
	if s.view.Focus() != 1 {
		t.Fatalf("tap focused %d, want sample 1", s.view.Focus())
	}
	s.waitIdle()
	one := s.view.Picture(PanelXT)
	per := s.view.shape.C * s.view.shape.H * s.view.shape.W
	want := image.NewRGBA(image.Rect(0, 0, s.view.shape.W, s.view.shape.H))
	imageio.PaintSample(want, 0, 0, s.currentRun().Final()[per:2*per], s.view.shape.C, s.view.shape.H, s.view.shape.W)
	if !bytes.Equal(one.Pix, want.Pix) {
		t.Error("the focused view is not sample 1")
	}
	s.view.Tapped(&fyne.PointEvent{Position: pos})
	if s.view.Focus() != -1 {
		t.Error("a second tap did not return to the grid")
	}
}

// TestMainWindowImage compares the whole window, after a fixed-seed run,
// with the master in testdata/ (test.AssertImageMatches writes
// testdata/failed/main_window.png when they differ; look at it, and copy it
// over the master to accept a deliberate change).
func TestMainWindowImage(t *testing.T) {
	s, w := newStudio(t, nil)
	quick(s, 10, 1, 4)
	generate(t, s)
	s.SetCursor(4)
	s.waitIdle()
	s.status.SetText("status bar") // the memory figure varies with retention
	s.progressLabel.SetText("done")
	s.sampler.estimate.SetText("about 1.0 s on the CPU (10 passes at 100 GFLOP/s, measured)") // the speed varies
	test.AssertImageMatches(t, "main_window.png", w.Canvas().Capture())
}
