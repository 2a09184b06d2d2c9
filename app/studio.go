package app

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/ddpmstudio/ddpmstudio/imageio"
	"github.com/ddpmstudio/ddpmstudio/internal/safeio"
	"image"
	"io"
	"math"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/ddpmstudio/ddpmstudio/diffusion"
	"github.com/ddpmstudio/ddpmstudio/studio"
)

// Opener opens a model folder ("" = the embedded model).
type Opener func(ctx context.Context, dir string) (*studio.Session, error)

// Options configure the window.
type Options struct {
	// Open opens models; nil uses studio.Open with the auto backend.
	Open Opener
	// Model is the folder to open first; "" reopens the last model used
	// (the embedded one the first time).
	Model string
	// queueUI makes background work post to a queue that WaitIdle drains
	// (tests; see Studio.do).
	queueUI bool
}

// Choices offered by the panels.
var (
	kindNames   = []string{"linear", "scaled_linear", "cosine", "sigmoid"}
	countNames  = []string{"1", "4", "9", "16", "25", "36", "49", "64"}
	speedNames  = []string{"10 steps/s", "30 steps/s", "100 steps/s", "300 steps/s"}
	speedValues = []float64{10, 30, 100, 300}
)

// noClass is the class picker's "unconditional" choice (the null class)
// and anyClass the one that lets the seed choose each sample's class: the
// default, since a model draws its best pictures of a class it was asked
// for, and drawing the class first samples the data's own mixture.
const (
	noClass  = "none (unconditional)"
	anyClass = "any (the seed chooses)"
)

// Studio is DDPM Studio's main window: the panels, the chain view, the
// timeline and the history of runs. It calls studio's API only.
type Studio struct {
	app   fyne.App
	win   fyne.Window
	prefs fyne.Preferences
	opt   Options
	sess  *studio.Session
	info  studio.ModelInfo
	bg    busy // background work, waited for by tests
	ctx   context.Context
	// do runs a function on the UI goroutine: fyne.Do, or in tests a queue
	// that WaitIdle drains on the test's goroutine (the test driver's own
	// fyne.Do runs functions on the calling goroutine, which would race).
	do    func(func())
	queue *uiQueue

	view                                         *ChainView
	genBtn, cancelBtn, forkBtn, saveBtn, openBtn *widget.Button
	extraCheck                                   *widget.Check
	progress                                     *widget.ProgressBar
	progressLabel                                *widget.Label

	timeline                                   *widget.Slider
	playBtn, prevBtn, nextBtn, homeBtn, endBtn *widget.Button
	speedSel                                   *widget.Select
	readout                                    *widget.Label
	tPlot                                      *canvas.Image

	samplerSel     *widget.RadioGroup
	stepsEntry     *widget.Entry
	etaSlider      *widget.Slider
	etaLabel       *widget.Label
	clipCheck      *widget.Check
	countSel       *widget.Select
	classBox       *fyne.Container
	classSel       *widget.Select
	guidanceSlider *widget.Slider
	guidanceLabel  *widget.Label

	seedEntry *widget.Entry
	lockCheck *widget.Check

	kindSel          *widget.Select
	b1Slider, bTSlid *widget.Slider
	b1Label, bTLabel *widget.Label
	tEntry           *widget.Entry
	plotImg          *canvas.Image
	schedWarn        *widget.Label
	plot             plotWorker
	plotGen          int
	curves, trained  *studio.Curves

	modelLabel *widget.Label
	recentSel  *widget.Select

	history *widget.List
	entries []*entry
	current *entry

	status     *widget.Label
	backendSel *widget.Select

	tabs     *container.AppTabs
	inpaint  *inpaintPanel
	noise    *noisePanel
	tplotPix *image.RGBA

	cursor    int // timeline position: an event, or len(plan) for the final sample
	follow    bool
	playing   bool
	playStop  chan struct{}
	liveMu    sync.Mutex
	liveEvent *studio.Event
	livePend  bool
	applying  bool // panels are being set from a recipe: no feedback loops
}

// entry is one run in the history.
type entry struct {
	run     *studio.Run
	inputs  studio.Inputs // an inpainting's picture and mask, an image-to-image's picture
	label   string
	parent  *entry
	curves  *studio.Curves
	started time.Time
	done    bool
	err     error
}

// New builds the window's content on w and opens the first model. It does
// not show the window.
func New(a fyne.App, w fyne.Window, opt Options) *Studio {
	s := &Studio{app: a, win: w, prefs: a.Preferences(), opt: opt, ctx: context.Background(), follow: true, do: fyne.Do}
	if opt.queueUI {
		s.queue = &uiQueue{ready: make(chan struct{}, 1)}
		s.do = s.queue.post
	}
	s.plot = plotWorker{wg: &s.bg, done: s.plotDone, do: s.do}
	if opt.Open == nil {
		s.opt.Open = func(ctx context.Context, dir string) (*studio.Session, error) {
			return studio.Open(ctx, dir, studio.OpenOptions{Backend: s.backendChoice()})
		}
	}
	s.build()
	s.loadPrefs()
	dir := opt.Model
	if dir == "" {
		dir = s.prefs.String("model")
	}
	sess, err := s.opt.Open(s.ctx, dir)
	if err != nil && dir != "" {
		s.showError(fmt.Errorf("reopening %s: %w; the embedded model is used", dir, err))
		sess, err = s.opt.Open(s.ctx, "")
	}
	if err != nil {
		s.showError(err)
	} else {
		s.setSession(sess, dir)
	}
	w.SetContent(s.content())
	if s.sess != nil {
		s.resetInputs()
	}
	s.installKeys()
	w.SetOnDropped(func(_ fyne.Position, uris []fyne.URI) { s.dropped(uris) })
	return s
}

// WaitIdle waits for background work (frame fetches, plots, model loads,
// runs) to finish, running what it posts for the UI goroutine: for tests.
func (s *Studio) WaitIdle() {
	for {
		if s.queue != nil {
			s.queue.run()
		}
		idle, changed := s.bg.state()
		if idle && (s.queue == nil || s.queue.empty()) {
			return
		}
		var ready chan struct{}
		if s.queue != nil {
			ready = s.queue.ready
		}
		select {
		case <-changed:
		case <-ready:
		}
	}
}

// busy counts background goroutines. Unlike a WaitGroup, work may start
// while someone waits for idleness (a finished task often starts another).
type busy struct {
	mu      sync.Mutex
	n       int
	changed chan struct{} // closed at every Done
}

func (b *busy) Add(d int) {
	b.mu.Lock()
	b.n += d
	b.mu.Unlock()
}

func (b *busy) Done() {
	b.mu.Lock()
	b.n--
	if b.changed != nil {
		close(b.changed)
		b.changed = nil
	}
	b.mu.Unlock()
}

// state reports whether nothing runs, and a channel closed at the next Done.
func (b *busy) state() (bool, <-chan struct{}) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.changed == nil {
		b.changed = make(chan struct{})
	}
	return b.n == 0, b.changed
}

// uiQueue stands in for the UI goroutine in tests.
type uiQueue struct {
	mu    sync.Mutex
	fns   []func()
	ready chan struct{}
}

func (q *uiQueue) post(f func()) {
	q.mu.Lock()
	if q.ready == nil {
		q.ready = make(chan struct{}, 1)
	}
	q.fns = append(q.fns, f)
	q.mu.Unlock()
	select {
	case q.ready <- struct{}{}:
	default:
	}
}

func (q *uiQueue) empty() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.fns) == 0
}

func (q *uiQueue) run() {
	for {
		q.mu.Lock()
		if len(q.fns) == 0 {
			q.mu.Unlock()
			return
		}
		f := q.fns[0]
		q.fns = q.fns[1:]
		q.mu.Unlock()
		f()
	}
}

func (s *Studio) build() {
	s.view = NewChainView()
	s.view.OnFocus = func(int) { s.updateStatus() }
	s.genBtn = widget.NewButtonWithIcon("Generate", theme.MediaPlayIcon(), s.Generate)
	s.genBtn.Importance = widget.HighImportance
	s.cancelBtn = widget.NewButtonWithIcon("Cancel", theme.CancelIcon(), s.Cancel)
	s.cancelBtn.Disable()
	s.forkBtn = widget.NewButtonWithIcon("Fork from here", theme.ContentCopyIcon(), s.ForkHere)
	s.forkBtn.Disable()
	s.saveBtn = widget.NewButtonWithIcon("Save PNG", theme.DocumentSaveIcon(), s.saveDialog)
	s.openBtn = widget.NewButtonWithIcon("Open PNG…", theme.FolderOpenIcon(), s.openDialog)
	s.extraCheck = widget.NewCheck("show ε̂ and noise", func(on bool) { s.view.SetExtra(on); s.showCursor() })
	s.progress = widget.NewProgressBar()
	s.progressLabel = widget.NewLabel("")

	s.timeline = widget.NewSlider(0, 1)
	s.timeline.Step = 1
	s.timeline.OnChanged = func(v float64) {
		if s.applying {
			return
		}
		s.cursor = int(v)
		s.follow = s.current != nil && s.cursor >= s.current.run.Len()
		s.showCursor()
	}
	s.playBtn = widget.NewButtonWithIcon("", theme.MediaPlayIcon(), s.TogglePlay)
	s.prevBtn = widget.NewButtonWithIcon("", theme.NavigateBackIcon(), func() { s.Step(-1) })
	s.nextBtn = widget.NewButtonWithIcon("", theme.NavigateNextIcon(), func() { s.Step(1) })
	s.homeBtn = widget.NewButtonWithIcon("", theme.MediaSkipPreviousIcon(), func() { s.SetCursor(0) })
	s.endBtn = widget.NewButtonWithIcon("", theme.MediaSkipNextIcon(), func() { s.SetCursor(math.MaxInt) })
	s.speedSel = widget.NewSelect(speedNames, nil)
	s.speedSel.SetSelectedIndex(1)
	s.readout = widget.NewLabel("no run yet: press Generate (Ctrl+Enter)")
	s.tPlot = canvas.NewImageFromImage(image.NewRGBA(image.Rect(0, 0, 1, 1)))
	s.tPlot.FillMode = canvas.ImageFillStretch
	s.tPlot.SetMinSize(fyne.NewSize(100, 36))
	s.tPlot.Hidden = true

	s.samplerSel = widget.NewRadioGroup([]string{"DDPM", "DDIM"}, nil)
	s.samplerSel.Horizontal = true
	s.samplerSel.Required = true
	s.stepsEntry = widget.NewEntry()
	s.etaLabel = widget.NewLabel("η 0.00")
	s.etaSlider = widget.NewSlider(0, 1)
	s.etaSlider.Step = 0.05
	s.etaSlider.OnChanged = func(v float64) { s.etaLabel.SetText(fmt.Sprintf("η %.2f", v)) }
	s.clipCheck = widget.NewCheck("clip x̂₀ to [−1, 1]", nil)
	s.countSel = widget.NewSelect(countNames, nil)
	s.classSel = widget.NewSelect([]string{noClass}, nil)
	s.guidanceLabel = widget.NewLabel("guidance 2.0")
	s.guidanceSlider = widget.NewSlider(0, 8)
	s.guidanceSlider.Step = 0.25
	s.guidanceSlider.OnChanged = func(v float64) { s.guidanceLabel.SetText(fmt.Sprintf("guidance %.2f", v)) }
	s.classBox = container.NewVBox(widget.NewLabel("Class"), s.classSel, s.guidanceLabel, s.guidanceSlider)

	s.seedEntry = widget.NewEntry()
	s.lockCheck = widget.NewCheck("lock", nil)

	s.kindSel = widget.NewSelect(kindNames, func(string) { s.scheduleChanged() })
	s.b1Label, s.bTLabel = widget.NewLabel(""), widget.NewLabel("")
	s.b1Slider = widget.NewSlider(-6, -1) // log10 β_1
	s.b1Slider.Step = 0.01
	s.b1Slider.OnChanged = func(float64) { s.scheduleChanged() }
	s.bTSlid = widget.NewSlider(-4, -0.3) // log10 β_T
	s.bTSlid.Step = 0.01
	s.bTSlid.OnChanged = func(float64) { s.scheduleChanged() }
	s.tEntry = widget.NewEntry()
	s.tEntry.OnChanged = func(string) { s.scheduleChanged() }
	s.plotImg = canvas.NewImageFromImage(image.NewRGBA(image.Rect(0, 0, 1, 1)))
	s.plotImg.FillMode = canvas.ImageFillContain
	s.plotImg.SetMinSize(fyne.NewSize(300, 190))
	s.schedWarn = widget.NewLabel("")
	s.schedWarn.Wrapping = fyne.TextWrapWord
	s.schedWarn.Importance = widget.WarningImportance

	s.modelLabel = widget.NewLabel("")
	s.modelLabel.Wrapping = fyne.TextWrapWord
	s.recentSel = widget.NewSelect(nil, func(dir string) {
		if s.applying || dir == "" {
			return
		}
		if dir == "embedded default model" {
			dir = ""
		}
		s.OpenModel(dir)
	})
	s.recentSel.PlaceHolder = "recent models"

	s.history = widget.NewList(
		func() int { return len(s.entries) },
		func() fyne.CanvasObject { return widget.NewLabel("run") },
		func(i widget.ListItemID, o fyne.CanvasObject) { o.(*widget.Label).SetText(s.entries[i].label) },
	)
	s.history.OnSelected = func(i widget.ListItemID) {
		if i >= 0 && i < len(s.entries) && s.entries[i] != s.current {
			s.selectEntry(s.entries[i])
		}
	}
	s.status = widget.NewLabel("")
	s.status.Truncation = fyne.TextTruncateEllipsis
	s.backendSel = widget.NewSelect([]string{studio.BackendAuto, studio.BackendCPU, studio.BackendGL}, func(b string) {
		if s.applying || s.sess == nil {
			return
		}
		s.prefs.SetString("backend", b)
		s.OpenModel(s.prefs.String("model"))
	})
}

func (s *Studio) content() fyne.CanvasObject {
	toolbar := container.NewHBox(s.genBtn, s.cancelBtn, s.forkBtn, widget.NewSeparator(), s.saveBtn,
		widget.NewButton("Chain GIF…", func() { s.exportDialog("gif") }),
		widget.NewButton("Chain strip…", func() { s.exportDialog("strip") }),
		s.openBtn, widget.NewButtonWithIcon("", theme.HelpIcon(), s.ShowHelp), layoutSpacer(), s.extraCheck)
	timelineRow := container.NewBorder(nil, nil,
		container.NewHBox(s.homeBtn, s.prevBtn, s.playBtn, s.nextBtn, s.endBtn),
		s.speedSel, s.timeline)
	progressRow := container.NewBorder(nil, nil, nil, s.progressLabel, s.progress)
	s.tabs = container.NewAppTabs(
		container.NewTabItem("Chain", s.view),
		container.NewTabItem("Inpaint", s.buildInpaint()),
		container.NewTabItem("Noise", s.buildNoise()))
	s.tabs.OnSelected = func(t *container.TabItem) {
		if t.Text == "Noise" {
			s.showNoised()
		}
	}
	center := container.NewBorder(nil, container.NewVBox(s.tPlot, timelineRow, s.readout, progressRow), nil, nil, s.tabs)

	seedRow := container.NewBorder(nil, nil, nil, container.NewHBox(
		widget.NewButtonWithIcon("", theme.ViewRefreshIcon(), s.RollSeed),
		widget.NewButtonWithIcon("", theme.ContentCopyIcon(), func() { s.win.Clipboard().SetContent(s.seedEntry.Text) }),
		s.lockCheck), s.seedEntry)
	samplerCard := widget.NewCard("Sampler", "", container.NewVBox(
		s.samplerSel,
		container.NewBorder(nil, nil, widget.NewLabel("steps"), nil, s.stepsEntry),
		s.etaLabel, s.etaSlider, s.clipCheck,
		container.NewBorder(nil, nil, widget.NewLabel("samples"), nil, s.countSel),
		s.classBox,
		widget.NewLabel("Seed"), seedRow))
	schedCard := widget.NewCard("β schedule", "", container.NewVBox(
		container.NewBorder(nil, nil, widget.NewLabel("kind"), nil, s.kindSel),
		s.b1Label, s.b1Slider, s.bTLabel, s.bTSlid,
		container.NewBorder(nil, nil, widget.NewLabel("T"), nil, s.tEntry),
		s.plotImg, s.schedWarn,
		widget.NewButton("Reset to the model's schedule", s.ResetSchedule)))
	modelCard := widget.NewCard("Model", "", container.NewVBox(s.modelLabel,
		widget.NewButtonWithIcon("Open diffusers folder…", theme.FolderOpenIcon(), s.openModelDialog),
		widget.NewButton("Embedded default model", func() { s.OpenModel("") }),
		s.recentSel))
	left := container.NewVScroll(container.NewVBox(samplerCard, modelCard))
	left.SetMinSize(fyne.NewSize(300, 200))
	runs := container.NewBorder(widget.NewLabelWithStyle("Runs", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}), nil, nil, nil, s.history)
	sched := container.NewVScroll(schedCard)
	sched.SetMinSize(fyne.NewSize(320, 200))
	right := container.NewVSplit(runs, sched)
	right.Offset = 0.22
	body := container.NewHSplit(left, container.NewHSplit(center, right))
	body.Offset = 0.22
	inner := body.Trailing.(*container.Split)
	inner.Offset = 0.66
	statusRow := container.NewBorder(nil, nil, nil, container.NewHBox(widget.NewLabel("backend"), s.backendSel), s.status)
	return container.NewBorder(toolbar, statusRow, nil, nil, body)
}

func layoutSpacer() fyne.CanvasObject { return widget.NewLabel("") }

// installKeys binds the keyboard: Ctrl+Enter generate, Esc cancel, Space
// play/pause, ←/→ step, Home/End, Ctrl+S save, Ctrl+O open, F1 help.
func (s *Studio) installKeys() {
	c := s.win.Canvas()
	for _, k := range []fyne.KeyName{fyne.KeyReturn, fyne.KeyEnter} {
		c.AddShortcut(&desktop.CustomShortcut{KeyName: k, Modifier: fyne.KeyModifierControl}, func(fyne.Shortcut) { s.Generate() })
	}
	c.AddShortcut(&desktop.CustomShortcut{KeyName: fyne.KeyS, Modifier: fyne.KeyModifierControl}, func(fyne.Shortcut) { s.saveDialog() })
	c.AddShortcut(&desktop.CustomShortcut{KeyName: fyne.KeyO, Modifier: fyne.KeyModifierControl}, func(fyne.Shortcut) { s.openDialog() })
	c.AddShortcut(&desktop.CustomShortcut{KeyName: fyne.KeyI, Modifier: fyne.KeyModifierControl}, func(fyne.Shortcut) { s.Inpaint() })
	c.SetOnTypedKey(s.TypedKey)
	c.SetOnTypedRune(func(r rune) {
		if s.inpaint == nil {
			return
		}
		switch r {
		case '[':
			s.inpaint.brush.SetValue(s.inpaint.brush.Value - 0.5)
		case ']':
			s.inpaint.brush.SetValue(s.inpaint.brush.Value + 0.5)
		}
	})
	// Ctrl+Z and Ctrl+Y reach us as Fyne's undo/redo shortcuts.
	c.AddShortcut(&fyne.ShortcutUndo{}, func(fyne.Shortcut) { s.inpaint.painter.Undo() })
	c.AddShortcut(&fyne.ShortcutRedo{}, func(fyne.Shortcut) { s.inpaint.painter.Redo() })
	c.AddShortcut(&desktop.CustomShortcut{KeyName: fyne.KeyZ, Modifier: fyne.KeyModifierControl | fyne.KeyModifierShift}, func(fyne.Shortcut) { s.inpaint.painter.Redo() })
}

// TypedKey handles the keys that are not shortcuts.
func (s *Studio) TypedKey(ev *fyne.KeyEvent) {
	switch ev.Name {
	case fyne.KeyEscape:
		s.Cancel()
	case fyne.KeySpace:
		s.TogglePlay()
	case fyne.KeyLeft:
		s.Step(-1)
	case fyne.KeyRight:
		s.Step(1)
	case fyne.KeyHome:
		s.SetCursor(0)
	case fyne.KeyEnd:
		s.SetCursor(math.MaxInt)
	case fyne.KeyF1:
		s.ShowHelp()
	}
}

// ShowHelp lists the keys.
func (s *Studio) ShowHelp() {
	dialog.ShowInformation("Keys", strings.Join([]string{
		"Ctrl+Enter   generate",
		"Esc          cancel (keeps the chain so far)",
		"Space        play / pause the timeline",
		"← / →        one step back / forward",
		"Home / End   first step / the final sample",
		"Ctrl+S       save the picture as PNG with its recipe",
		"Ctrl+O       open a PNG: restore its settings and draw it again",
		"Ctrl+I       inpaint the painted picture (Inpaint tab)",
		"[ / ]        brush smaller / larger; Ctrl+Z / Ctrl+Y undo / redo",
		"F1           this list",
		"",
		"Click a sample to focus it; click again for the grid.",
		"Drag the timeline back and press \"Fork from here\" to continue",
		"from that step with the seed, sampler or class you set.",
	}, "\n"), s.win)
}

func (s *Studio) showError(err error) {
	if s.win != nil {
		dialog.ShowError(err, s.win)
	}
}

// setSession makes sess the model in use and resets the panels to it.
func (s *Studio) setSession(sess *studio.Session, dir string) {
	s.sess, s.info = sess, sess.Info()
	s.view.SetShape(sess.Shape())
	name := s.info.Name
	if name == studio.EmbeddedModel {
		name = "embedded default model (MNIST digits)"
	}
	s.modelLabel.SetText(fmt.Sprintf("%s\n%.2f M parameters · %d×%d×%d · %s T=%d", name, float64(s.info.Params)/1e6,
		s.info.Channels, s.info.Height, s.info.Width, s.info.Trained.Kind, s.info.Trained.T))
	s.prefs.SetString("model", dir)
	if dir != "" {
		s.addRecent(dir)
	}
	s.setRecentOptions()
	// Classes: a picker only for class-conditional models.
	if s.info.Conditional && s.info.Classes > 0 {
		labels := s.info.Classes
		if s.info.NullClass >= 0 {
			labels--
		}
		opts := []string{anyClass}
		if s.info.NullClass >= 0 {
			opts = append(opts, noClass)
		}
		for c := 0; c < labels; c++ {
			opts = append(opts, strconv.Itoa(c))
		}
		s.classSel.Options = opts
		s.classSel.SetSelectedIndex(0)
		s.guidanceSlider.SetValue(s.sess.DefaultGuidance())
		s.classBox.Show()
	} else {
		s.classSel.Options = []string{noClass}
		s.classSel.SetSelectedIndex(0)
		s.classBox.Hide()
	}
	s.trained, _ = sess.Curves(s.info.Trained)
	s.resetInputs()
	s.ResetSchedule()
	s.updateStatus()
}

// HasClassPicker reports whether the class picker is shown.
func (s *Studio) HasClassPicker() bool { return s.classBox.Visible() }

// OpenModel opens a model folder ("" = embedded) in the background; a
// folder that cannot be opened is an error dialog and the model in use stays.
func (s *Studio) OpenModel(dir string) {
	s.status.SetText("opening " + displayName(dir) + "…")
	s.bg.Add(1)
	go func() {
		defer s.bg.Done()
		sess, err := s.opt.Open(s.ctx, dir)
		s.do(func() {
			if err != nil {
				s.updateStatus()
				s.showError(fmt.Errorf("cannot open %s: %w", displayName(dir), err))
				return
			}
			if s.current != nil && !s.current.done {
				s.current.run.Cancel()
			}
			s.setSession(sess, dir)
		})
	}()
}

func displayName(dir string) string {
	if dir == "" {
		return "the embedded model"
	}
	return dir
}

func (s *Studio) openModelDialog() {
	d := dialog.NewFolderOpen(func(u fyne.ListableURI, err error) {
		if err != nil {
			s.showError(err)
			return
		}
		if u != nil {
			s.OpenModel(u.Path())
		}
	}, s.win)
	d.Show()
}

func (s *Studio) addRecent(dir string) {
	list := []string{dir}
	for _, d := range s.prefs.StringList("recent_models") {
		if d != dir && len(list) < 8 {
			list = append(list, d)
		}
	}
	s.prefs.SetStringList("recent_models", list)
}

func (s *Studio) setRecentOptions() {
	s.applying = true
	s.recentSel.Options = append([]string{"embedded default model"}, s.prefs.StringList("recent_models")...)
	s.recentSel.ClearSelected()
	s.applying = false
}

// ---- the schedule panel ----

// scheduleFromPanel is the schedule the next run will use.
func (s *Studio) scheduleFromPanel() (studio.Schedule, error) {
	T, err := strconv.Atoi(strings.TrimSpace(s.tEntry.Text))
	if err != nil {
		return studio.Schedule{}, fmt.Errorf("T %q is not a whole number", s.tEntry.Text)
	}
	kind := s.kindSel.Selected
	if kind == "cosine" {
		kind = string(diffusion.Cosine)
	}
	sch := studio.Schedule{Kind: kind, T: T, BetaStart: roundSig(math.Pow(10, s.b1Slider.Value)), BetaEnd: roundSig(math.Pow(10, s.bTSlid.Value))}
	if kind == string(diffusion.Cosine) {
		sch.BetaStart, sch.BetaEnd = s.info.Trained.BetaStart, s.info.Trained.BetaEnd
		if sch.BetaStart == 0 {
			sch.BetaStart, sch.BetaEnd = 1e-4, 0.02
		}
	}
	return sch, nil
}

// roundSig keeps three significant digits: slider positions become the
// numbers a person would type (and that a recipe shows).
func roundSig(v float64) float64 {
	if v <= 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return v
	}
	r, err := strconv.ParseFloat(strconv.FormatFloat(v, 'g', 3, 64), 64)
	if err != nil {
		return v
	}
	return r
}

// scheduleChanged redraws the plot (off the UI goroutine) and the warning.
func (s *Studio) scheduleChanged() {
	if s.applying || s.sess == nil {
		return
	}
	b1, bT := roundSig(math.Pow(10, s.b1Slider.Value)), roundSig(math.Pow(10, s.bTSlid.Value))
	s.b1Label.SetText(fmt.Sprintf("β₁ = %.3g", b1))
	s.bTLabel.SetText(fmt.Sprintf("β_T = %.3g", bT))
	cosine := s.kindSel.Selected == "cosine"
	if cosine {
		s.b1Slider.Disable()
		s.bTSlid.Disable()
	} else {
		s.b1Slider.Enable()
		s.bTSlid.Enable()
	}
	sch, err := s.scheduleFromPanel()
	if err == nil {
		var c *studio.Curves
		if c, err = s.sess.Curves(sch); err == nil {
			s.curves = c
			s.plotGen++
			s.plot.request(&plotRequest{cur: c, trained: s.trained, w: 400, h: 250, gen: s.plotGen})
		}
	}
	switch {
	case err != nil:
		s.schedWarn.SetText("⚠ " + err.Error())
		s.schedWarn.Show()
	case !sch.Equal(s.info.Trained) && !(s.info.Trained.Kind == string(diffusion.Explicit)):
		s.schedWarn.SetText(fmt.Sprintf("⚠ differs from the schedule the model was trained with (%s, β %.3g → %.3g, T=%d): pictures will suffer, which is worth seeing",
			s.info.Trained.Kind, s.info.Trained.BetaStart, s.info.Trained.BetaEnd, s.info.Trained.T))
		s.schedWarn.Show()
	default:
		s.schedWarn.Hide()
	}
}

func (s *Studio) plotDone(img image.Image, r *plotRequest) {
	if r.gen != s.plotGen {
		return // a newer plot is on its way
	}
	s.plotImg.Image = img
	s.plotImg.Refresh()
}

// PlotCurves are the curves the plot shows now (for tests).
func (s *Studio) PlotCurves() *studio.Curves { return s.curves }

// ResetSchedule puts the model's trained schedule back in the panel.
func (s *Studio) ResetSchedule() {
	t := s.info.Trained
	s.applying = true
	kind := t.Kind
	switch kind {
	case string(diffusion.Cosine):
		kind = "cosine"
	case string(diffusion.Explicit), "":
		kind = "linear"
		t.BetaStart, t.BetaEnd = 1e-4, 0.02
	}
	s.kindSel.SetSelected(kind)
	if t.BetaStart > 0 {
		s.b1Slider.SetValue(math.Log10(t.BetaStart))
	}
	if t.BetaEnd > 0 {
		s.bTSlid.SetValue(math.Log10(t.BetaEnd))
	}
	s.tEntry.SetText(strconv.Itoa(max(2, t.T)))
	s.applying = false
	s.scheduleChanged()
}

// ---- recipes ----

// Recipe is the recipe the panels describe now.
func (s *Studio) Recipe() (studio.Recipe, error) {
	if s.sess == nil {
		return studio.Recipe{}, errors.New("no model is open")
	}
	sampler := strings.ToLower(s.samplerSel.Selected)
	r := s.sess.DefaultRecipe(sampler)
	steps, err := strconv.Atoi(strings.TrimSpace(s.stepsEntry.Text))
	if err != nil {
		return r, fmt.Errorf("steps %q is not a whole number", s.stepsEntry.Text)
	}
	seed, err := strconv.ParseUint(strings.TrimSpace(s.seedEntry.Text), 10, 64)
	if err != nil {
		return r, fmt.Errorf("seed %q is not a whole number ≥ 0", s.seedEntry.Text)
	}
	count, _ := strconv.Atoi(s.countSel.Selected)
	sch, err := s.scheduleFromPanel()
	if err != nil {
		return r, err
	}
	if sch.Equal(s.info.Trained) || (s.info.Trained.Kind == string(diffusion.Explicit) && s.schedWarn.Hidden) {
		sch = s.info.Trained
	}
	r.Steps, r.Seed, r.Count, r.Schedule = steps, seed, max(1, count), sch
	r.Eta = roundSig(s.etaSlider.Value)
	if s.etaSlider.Value == 0 {
		r.Eta = 0
	}
	if clip := s.clipCheck.Checked; clip != s.sess.Scheduler().ClipSample {
		r.Clip = &clip
	}
	if sel := s.classSel.Selected; s.info.Conditional && sel != noClass && sel != "" {
		if sel == anyClass {
			r.AnyClass = true
		} else {
			c, err := strconv.Atoi(sel)
			if err != nil {
				return r, err
			}
			r.Class = &c
		}
		r.Guidance = s.guidanceSlider.Value
	}
	return r, nil
}

// SetRecipe puts a recipe's settings into the panels.
func (s *Studio) SetRecipe(r studio.Recipe) {
	s.applying = true
	defer func() { s.applying = false; s.scheduleChanged() }()
	s.samplerSel.SetSelected(strings.ToUpper(r.Sampler))
	if r.Sampler == studio.RePaint {
		s.samplerSel.SetSelected("DDIM")
	}
	s.stepsEntry.SetText(strconv.Itoa(r.Steps))
	s.etaSlider.SetValue(r.Eta)
	s.etaLabel.SetText(fmt.Sprintf("η %.2f", r.Eta))
	clip := s.sess.Scheduler().ClipSample
	if r.Clip != nil {
		clip = *r.Clip
	}
	s.clipCheck.SetChecked(clip)
	s.countSel.SetSelected(strconv.Itoa(r.Count))
	if s.countSel.Selected != strconv.Itoa(r.Count) {
		s.countSel.Options = append(s.countSel.Options, strconv.Itoa(r.Count))
		s.countSel.SetSelected(strconv.Itoa(r.Count))
	}
	s.seedEntry.SetText(strconv.FormatUint(r.Seed, 10))
	s.lockCheck.SetChecked(true) // the recipe's seed is what the user asked for
	switch {
	case r.AnyClass:
		s.classSel.SetSelected(anyClass)
	case r.Class != nil:
		s.classSel.SetSelected(strconv.Itoa(*r.Class))
	case s.info.Conditional:
		s.classSel.SetSelected(noClass)
	default:
		s.classSel.SetSelectedIndex(0)
	}
	if r.Class != nil || r.AnyClass {
		s.guidanceSlider.SetValue(r.Guidance)
		s.guidanceLabel.SetText(fmt.Sprintf("guidance %.2f", r.Guidance))
	}
	sch := r.Schedule
	kind := sch.Kind
	if kind == string(diffusion.Cosine) {
		kind = "cosine"
	}
	if kind != string(diffusion.Explicit) {
		s.kindSel.SetSelected(kind)
		if sch.BetaStart > 0 {
			s.b1Slider.SetValue(math.Log10(sch.BetaStart))
		}
		if sch.BetaEnd > 0 {
			s.bTSlid.SetValue(math.Log10(sch.BetaEnd))
		}
	}
	s.tEntry.SetText(strconv.Itoa(sch.T))
}

// RollSeed draws a new seed into the field.
func (s *Studio) RollSeed() { s.seedEntry.SetText(strconv.FormatUint(studio.RandomSeed(), 10)) }

// ---- runs ----

// Generate starts a run from the panels (Ctrl+Enter). An unlocked seed is
// rolled first.
func (s *Studio) Generate() {
	if s.sess == nil {
		return
	}
	if r, ok := s.nextRecipe(); ok {
		s.startRun(r, nil, -1, studio.Changes{})
	}
}

// nextRecipe is the panels' recipe for a new run or fork, with the seed
// rolled first unless it is locked; a bad setting is an error dialog.
func (s *Studio) nextRecipe() (studio.Recipe, bool) {
	if !s.lockCheck.Checked {
		s.RollSeed()
	}
	r, err := s.Recipe()
	if err != nil {
		s.showError(err)
		return r, false
	}
	return r, true
}

// Start runs a recipe as a new history entry (what Generate and opening a
// PNG do).
func (s *Studio) Start(r studio.Recipe) error { return s.startRun(r, nil, -1, studio.Changes{}) }

func (s *Studio) startRun(r studio.Recipe, parent *entry, at int, c studio.Changes) error {
	return s.launch(r, studio.Inputs{}, parent, at, c)
}

// startRunWith runs a recipe that needs pictures (inpainting, image-to-image).
func (s *Studio) startRunWith(r studio.Recipe, in studio.Inputs) error {
	return s.launch(r, in, nil, -1, studio.Changes{})
}

func (s *Studio) launch(r studio.Recipe, in studio.Inputs, parent *entry, at int, c studio.Changes) error {
	if s.current != nil && !s.current.done {
		s.current.run.Cancel()
		s.current.run.Wait()
	}
	s.stopPlay()
	e := &entry{parent: parent, started: time.Now(), inputs: in}
	opt := studio.StartOptions{OnEvent: s.onEvent, WithEps: true, WithNoise: true, Batch: r.Count, Inputs: in}
	var run *studio.Run
	var err error
	if parent != nil {
		run, err = s.sess.Fork(s.ctx, parent.run, at, c, opt)
	} else {
		if err = s.sess.CheckBatch(r, r.Count, 0); err == nil {
			run, err = s.sess.Start(s.ctx, r, opt)
		}
	}
	if err != nil {
		s.showError(err)
		return err
	}
	e.run = run
	e.curves, _ = s.sess.Curves(run.Recipe().Schedule)
	e.label = s.labelFor(e)
	s.entries = append(s.entries, e)
	s.current, s.follow = e, true
	s.cursor = run.StartIndex()
	s.view.SetShape(run.Shape())
	s.history.Refresh()
	s.history.Select(len(s.entries) - 1)
	s.genBtn.Disable()
	s.cancelBtn.Enable()
	s.forkBtn.Disable()
	s.progress.SetValue(0)
	s.savePrefs()
	s.updateTimeline()
	s.bg.Add(1)
	go func() {
		defer s.bg.Done()
		_, err := run.Wait()
		s.do(func() { s.runEnded(e, err) })
	}()
	return nil
}

// onEvent runs on the run's goroutine: it keeps the newest event and asks
// the UI goroutine to show it, at most one request pending at a time, so
// the view follows at the display's pace whatever the sampling rate.
func (s *Studio) onEvent(ev studio.Event) {
	s.liveMu.Lock()
	s.liveEvent = &ev
	pending := s.livePend
	s.livePend = true
	s.liveMu.Unlock()
	if !pending {
		s.do(s.flushLive)
	}
}

func (s *Studio) flushLive() {
	s.liveMu.Lock()
	ev := s.liveEvent
	s.livePend = false
	s.liveMu.Unlock()
	if ev == nil || s.current == nil {
		return
	}
	e := s.current
	done := e.run.Len()
	total := e.run.PlanLen()
	s.progress.SetValue(float64(done) / float64(total))
	if el := time.Since(e.started).Seconds(); el > 0 && done > e.run.StartIndex() {
		rate := float64(done-e.run.StartIndex()) / el
		eta := time.Duration(float64(total-done)/rate) * time.Second
		s.progressLabel.SetText(fmt.Sprintf("%d/%d · %.1f steps/s · ETA %s", done, total, rate, eta.Round(time.Second)))
	}
	s.updateTimeline()
	if s.follow {
		s.cursor = ev.Index
		s.setSlider(ev.Index)
		s.view.ShowFrame(ev.X, ev.X0, ev.Eps, ev.Noise)
		s.showReadout(ev.Index)
	}
	s.updateStatus()
}

func (s *Studio) runEnded(e *entry, err error) {
	e.done, e.err = true, err
	if e != s.current {
		return
	}
	s.genBtn.Enable()
	s.cancelBtn.Disable()
	s.forkBtn.Enable()
	switch {
	case errors.Is(err, context.Canceled):
		s.progressLabel.SetText(fmt.Sprintf("cancelled at step %d of %d; the chain so far is kept", e.run.Len(), e.run.PlanLen()))
		e.label += " (cancelled)"
		s.history.Refresh()
	case err != nil:
		s.progressLabel.SetText("failed")
		s.showError(err)
	default:
		s.progress.SetValue(1)
		s.progressLabel.SetText(fmt.Sprintf("done: %d steps in %s", e.run.PlanLen()-e.run.StartIndex(), time.Since(e.started).Round(10*time.Millisecond)))
	}
	s.updateTimeline()
	if s.follow {
		s.cursor = s.timelineMax()
		s.setSlider(s.cursor)
		s.showCursor()
	}
	s.updateStatus()
}

// Cancel stops the running chain (Esc); what it computed stays.
func (s *Studio) Cancel() {
	if s.current != nil && !s.current.done {
		s.current.run.Cancel()
	}
}

// Wait waits for the current run (for tests).
func (s *Studio) Wait() error {
	if s.current == nil {
		return nil
	}
	_, err := s.current.run.Wait()
	s.WaitIdle()
	return err
}

// ForkHere continues the current run from the timeline's step with what
// the panels say now: a new seed (rolled unless locked), η, sampler, step
// count for the remaining steps, class or guidance.
func (s *Studio) ForkHere() {
	e := s.current
	if e == nil || s.sess == nil {
		return
	}
	at := min(s.cursor, e.run.Len()-1, e.run.PlanLen()-1)
	if at < 0 {
		return
	}
	want, ok := s.nextRecipe()
	if !ok {
		return
	}
	c := studio.ChangesTo(e.run, at, want) // the fork policy lives in studio
	s.startRun(studio.Recipe{}, e, at, c)
}

// labelFor names a history entry by what it is, or what it changed.
func (s *Studio) labelFor(e *entry) string {
	r := e.run.Recipe()
	n := len(s.entries) + 1
	if e.parent == nil || r.Fork == nil {
		l := fmt.Sprintf("#%d %s %d · seed %d", n, strings.ToUpper(r.Sampler), r.Steps, r.Seed)
		if r.Class != nil {
			l += fmt.Sprintf(" · class %d", *r.Class)
		}
		if r.AnyClass {
			l += " · any class"
		}
		return l
	}
	p := *r.Fork.Parent
	var ch []string
	if r.Seed != p.Seed {
		ch = append(ch, fmt.Sprintf("seed %d", r.Seed))
	}
	if r.Sampler != p.Sampler || r.Steps != e.run.PlanLen()-r.Fork.At {
		ch = append(ch, fmt.Sprintf("%s %d", strings.ToUpper(r.Sampler), r.Steps))
	}
	if r.Eta != p.Eta {
		ch = append(ch, fmt.Sprintf("η %.2g", r.Eta))
	}
	if (r.Class == nil) != (p.Class == nil) || (r.Class != nil && *r.Class != *p.Class) || r.AnyClass != p.AnyClass {
		switch {
		case r.AnyClass:
			ch = append(ch, "any class")
		case r.Class == nil:
			ch = append(ch, "no class")
		default:
			ch = append(ch, fmt.Sprintf("class %d", *r.Class))
		}
	}
	if r.Guidance != p.Guidance {
		ch = append(ch, fmt.Sprintf("guidance %.2g", r.Guidance))
	}
	if len(ch) == 0 {
		ch = append(ch, "unchanged")
	}
	pi := 0
	for i, x := range s.entries {
		if x == e.parent {
			pi = i + 1
		}
	}
	return fmt.Sprintf("#%d fork of #%d at t=%d: %s", n, pi, e.run.EventAt(r.Fork.At).T, strings.Join(ch, ", "))
}

func (s *Studio) selectEntry(e *entry) {
	s.stopPlay()
	s.current = e
	s.view.SetShape(e.run.Shape())
	s.follow = !e.done
	s.cursor = s.timelineMax()
	s.updateTimeline()
	s.setSlider(s.cursor)
	if e.done {
		s.genBtn.Enable()
		s.cancelBtn.Disable()
		s.forkBtn.Enable()
	}
	s.showCursor()
	s.updateStatus()
}

// Entries is the number of runs in the history.
func (s *Studio) Entries() int { return len(s.entries) }

// Current is the run the view shows.
func (s *Studio) Current() *studio.Run {
	if s.current == nil {
		return nil
	}
	return s.current.run
}

// SelectRun shows history entry i.
func (s *Studio) SelectRun(i int) { s.history.Select(i) }

// ---- the timeline ----

// timelineMax is the last position: the final sample once the run is
// done, else the newest recorded event.
func (s *Studio) timelineMax() int {
	if s.current == nil {
		return 0
	}
	n := s.current.run.Len()
	if s.current.run.Final() != nil {
		return s.current.run.PlanLen()
	}
	return max(0, n-1)
}

func (s *Studio) updateTimeline() {
	if s.current == nil {
		return
	}
	m := float64(max(1, s.timelineMax()))
	lo := 0.0
	if s.current.parent == nil {
		lo = float64(s.current.run.StartIndex()) // an image-to-image run starts part-way
	}
	if s.timeline.Max != m || s.timeline.Min != lo {
		s.timeline.Min, s.timeline.Max = lo, m
		s.timeline.Refresh()
	}
	s.updateTPlot()
}

func (s *Studio) setSlider(v int) {
	s.applying = true
	s.timeline.SetValue(float64(v))
	s.applying = false
}

// Cursor is the timeline position.
func (s *Studio) Cursor() int { return s.cursor }

// SetCursor moves the timeline (clamped) and shows that step.
func (s *Studio) SetCursor(i int) {
	if s.current == nil {
		return
	}
	i = max(0, min(i, s.timelineMax()))
	s.cursor = i
	s.follow = !s.current.done && i >= s.current.run.Len()-1
	s.setSlider(i)
	s.showCursor()
}

// Step moves the timeline by d steps.
func (s *Studio) Step(d int) { s.SetCursor(s.cursor + d) }

// showCursor shows the frame at the cursor: fetched (or recomputed) off the
// UI goroutine, shown if the cursor has not moved on meanwhile.
func (s *Studio) showCursor() {
	e := s.current
	if e == nil {
		return
	}
	i := s.cursor
	s.showReadout(i)
	if i >= e.run.PlanLen() {
		if f := e.run.Final(); f != nil {
			s.view.ShowFrame(f, f, nil, nil)
		}
		return
	}
	s.bg.Add(1)
	go func() {
		defer s.bg.Done()
		f, err := e.run.Frame(s.ctx, i)
		s.do(func() {
			if err != nil || s.current != e || s.cursor != i {
				return
			}
			s.view.ShowFrame(f.X, f.X0, f.Eps, f.Noise)
		})
	}()
}

func (s *Studio) showReadout(i int) {
	e := s.current
	if e == nil || e.curves == nil {
		return
	}
	n := e.run.PlanLen()
	if i >= n {
		s.readout.SetText(fmt.Sprintf("final sample x₀ · %d events", n))
		return
	}
	s.drawTPlot()
	ev := e.run.EventAt(i)
	r := e.curves.At(ev.T)
	kind := ""
	if ev.Kind == diffusion.Renoise {
		kind = " (re-noising)"
	}
	s.readout.SetText(fmt.Sprintf("step %d/%d%s · t = %d → %d · ᾱ_t = %.4f · σ_t = %.4f · SNR = %.3g", i+1, n, kind, ev.T, ev.Next, r.AlphaBar, r.Sigma, r.SNR))
}

// updateTPlot draws t over the run's events when the plan is not a plain
// descent (RePaint travels back in time).
func (s *Studio) updateTPlot() {
	e := s.current
	if e == nil {
		return
	}
	plan := e.run.Plan()
	mono := true
	for i := 1; i < len(plan); i++ {
		if plan[i].T > plan[i-1].T {
			mono = false
			break
		}
	}
	s.tPlot.Hidden = mono
	s.drawTPlot()
}

// drawTPlot redraws the t-over-events strip with the cursor.
func (s *Studio) drawTPlot() {
	e := s.current
	if e == nil || s.tPlot.Hidden {
		return
	}
	if s.tplotPix == nil {
		s.tplotPix = image.NewRGBA(image.Rect(0, 0, 600, 36))
	}
	T := 1000
	if e.curves != nil {
		T = e.curves.T
	}
	drawTPlot(s.tplotPix, e.run, T, s.cursor)
	s.tPlot.Image = s.tplotPix
	s.tPlot.Refresh()
}

// TogglePlay starts or stops replaying the timeline (Space).
func (s *Studio) TogglePlay() {
	if s.playing {
		s.stopPlay()
		return
	}
	if s.current == nil {
		return
	}
	if s.cursor >= s.timelineMax() {
		s.SetCursor(0)
	}
	s.playing = true
	s.playBtn.SetIcon(theme.MediaPauseIcon())
	stop := make(chan struct{})
	s.playStop = stop
	rate := speedValues[max(0, s.speedSel.SelectedIndex())]
	s.bg.Add(1)
	go func() {
		defer s.bg.Done()
		tick := time.NewTicker(time.Duration(float64(time.Second) / rate))
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				s.do(func() {
					if !s.playing || s.playStop != stop {
						return
					}
					if s.cursor >= s.timelineMax() {
						s.stopPlay()
						return
					}
					s.Step(1)
				})
			}
		}
	}()
}

func (s *Studio) stopPlay() {
	if !s.playing {
		return
	}
	s.playing = false
	close(s.playStop)
	s.playBtn.SetIcon(theme.MediaPlayIcon())
}

// ---- files ----

// WritePNG writes the current run's samples (a grid when there are several)
// as PNG with the recipe: the bytes `ddpmstudio sample` writes for it.
func (s *Studio) WritePNG(w io.Writer) error {
	e := s.current
	if e == nil || !e.done || e.err != nil {
		return errors.New("no finished picture to save")
	}
	res, err := e.run.Wait()
	if err != nil {
		return err
	}
	pics, err := studio.SamplePictures(res)
	if err != nil {
		return err
	}
	var mask image.Image
	if e.run.Recipe().Inpaint != nil {
		mask = e.inputs.Mask // carried in the PNG: the PNG alone reproduces it
	}
	return studio.WritePNG(w, studio.GridOf(pics), e.run.Recipe(), mask)
}

// WriteChain writes the current run's chain for the focused sample (or the
// first): "gif" animated, "strip" a PNG.
func (s *Studio) WriteChain(w io.Writer, kind string) error {
	e := s.current
	if e == nil {
		return errors.New("no chain to export")
	}
	n := max(0, s.view.Focus())
	pairs, err := studio.ChainPairs(s.ctx, e.run, n, max(1, e.run.PlanLen()/40))
	if err != nil {
		return err
	}
	scale := studio.ChainScale(e.run.Shape())
	if kind == "gif" {
		return studio.WriteChainGIF(w, pairs, scale)
	}
	return studio.WritePNG(w, studio.ChainStrip(pairs, max(1, scale/2)), e.run.Recipe(), nil)
}

func (s *Studio) saveDialog() {
	if s.current == nil || !s.current.done {
		s.showError(errors.New("generate a picture first (or wait for it to finish)"))
		return
	}
	s.saveAs(fmt.Sprintf("ddpm-seed%d.png", s.current.run.Recipe().Seed), s.WritePNG)
}

func (s *Studio) exportDialog(kind string) {
	if s.current == nil {
		s.showError(errors.New("generate a chain first"))
		return
	}
	name := "chain.png"
	if kind == "gif" {
		name = "chain.gif"
	}
	s.saveAs(name, func(w io.Writer) error { return s.WriteChain(w, kind) })
}

// saveAs asks for a file and writes it. The bytes are made in memory first,
// so a failure leaves no half-written file behind.
func (s *Studio) saveAs(name string, write func(io.Writer) error) {
	d := dialog.NewFileSave(func(wc fyne.URIWriteCloser, err error) {
		if err != nil || wc == nil {
			if err != nil {
				s.showError(err)
			}
			return
		}
		defer wc.Close()
		var b bytes.Buffer
		if err := write(&b); err != nil {
			s.showError(err)
			return
		}
		if _, err := wc.Write(b.Bytes()); err != nil {
			s.showError(err)
		}
	}, s.win)
	d.SetFileName(name)
	d.SetFilter(storage.NewExtensionFileFilter([]string{filepath.Ext(name)}))
	d.Show()
}

func (s *Studio) openDialog() {
	s.openAs([]string{".png"}, func(b []byte, _ string) error { return s.OpenRecipe(b) })
}

// openAs asks for a file of one of the extensions and hands its bytes
// (within the image size limit) to use; an error is a dialog naming it.
func (s *Studio) openAs(exts []string, use func(b []byte, name string) error) {
	d := dialog.NewFileOpen(func(rc fyne.URIReadCloser, err error) {
		if err != nil || rc == nil {
			if err != nil {
				s.showError(err)
			}
			return
		}
		defer rc.Close()
		b, err := io.ReadAll(io.LimitReader(rc, imageio.MaxImageBytes+1))
		if err == nil && len(b) > imageio.MaxImageBytes {
			err = fmt.Errorf("larger than %d bytes", imageio.MaxImageBytes)
		}
		if err == nil {
			err = use(b, rc.URI().Name())
		}
		if err != nil {
			s.showError(fmt.Errorf("%s: %w", rc.URI().Name(), err))
		}
	}, s.win)
	d.SetFilter(storage.NewExtensionFileFilter(exts))
	d.Show()
}

// dropped opens the first picture dropped on the window: a recipe PNG is
// drawn again, another picture goes to the Inpaint tab.
func (s *Studio) dropped(uris []fyne.URI) {
	for _, u := range uris {
		switch strings.ToLower(u.Extension()) {
		case ".png", ".jpg", ".jpeg":
		default:
			continue
		}
		rc, err := storage.Reader(u)
		if err != nil {
			s.showError(err)
			return
		}
		b, err := io.ReadAll(io.LimitReader(rc, imageio.MaxImageBytes+1))
		rc.Close()
		if err == nil {
			err = s.openBytes(b, u.Name())
		}
		if err != nil {
			s.showError(fmt.Errorf("%s: %w", u.Name(), err))
		}
		return
	}
}

// OpenRecipe restores every setting of a PNG's recipe and draws it again.
func (s *Studio) OpenRecipe(b []byte) error {
	r, mask, err := studio.ReadPNG(b)
	if err != nil {
		return err
	}
	if r.ModelHash != s.info.Hash {
		return fmt.Errorf("this picture was drawn by model %s (sha256 %.12s…); open that model first", r.Model, r.ModelHash)
	}
	var in studio.Inputs
	if r.Inpaint != nil || r.Init != nil {
		// The picture is named by its hash: it must be the one in the
		// Inpaint tab (open it there first); the mask travels in the PNG.
		want := ""
		if r.Inpaint != nil {
			want = r.Inpaint.ImageHash
		} else {
			want = r.Init.ImageHash
		}
		pic := s.inpaint.painter.Picture()
		if studio.ImageHash(pic) != want {
			return fmt.Errorf("this recipe starts from the picture %q: open it in the Inpaint tab first, then open the PNG again", recipeImage(r))
		}
		in.Image = pic
		if mask != nil {
			in.Mask = mask
			s.inpaint.painter.SetMask(mask)
		}
	}
	if r.Fork == nil {
		s.SetRecipe(r)
	}
	return s.launch(r, in, nil, -1, studio.Changes{})
}

// ---- status and preferences ----

func (s *Studio) updateStatus() {
	if s.sess == nil {
		s.status.SetText("no model")
		return
	}
	backend := strings.ToUpper(s.info.Backend)
	if s.info.BackendNote != "" {
		backend += " (" + s.info.BackendNote + ")"
	}
	var held int64
	for _, e := range s.entries {
		held += e.run.MemoryHeld()
	}
	name := s.info.Name
	if name == studio.EmbeddedModel {
		name = "embedded MNIST model"
	}
	s.status.SetText(fmt.Sprintf("backend %s · %s · chains hold %.1f MB · F1 lists the keys", backend, name, float64(held)/(1<<20)))
}

// Status is the status bar's text.
func (s *Studio) Status() string { return s.status.Text }

func (s *Studio) loadPrefs() {
	p := s.prefs
	s.applying = true
	s.samplerSel.SetSelected(p.StringWithFallback("sampler", "DDPM"))
	s.stepsEntry.SetText(p.StringWithFallback("steps", "250"))
	s.etaSlider.SetValue(p.FloatWithFallback("eta", 0))
	s.etaLabel.SetText(fmt.Sprintf("η %.2f", s.etaSlider.Value))
	s.clipCheck.SetChecked(p.BoolWithFallback("clip", true))
	s.countSel.SetSelected(p.StringWithFallback("count", "4"))
	s.seedEntry.SetText(p.StringWithFallback("seed", "1"))
	s.lockCheck.SetChecked(p.BoolWithFallback("seed_locked", false))
	s.extraCheck.SetChecked(p.BoolWithFallback("extra", false))
	s.speedSel.SetSelectedIndex(p.IntWithFallback("speed", 1))
	s.backendSel.SetSelected(p.StringWithFallback("backend", studio.BackendAuto))
	s.applying = false
	if w, h := p.Float("window_w"), p.Float("window_h"); w > 0 && h > 0 {
		s.win.Resize(fyne.NewSize(float32(w), float32(h)))
	}
}

// savePrefs stores the panels' settings (and the window size).
func (s *Studio) savePrefs() {
	p := s.prefs
	p.SetString("sampler", s.samplerSel.Selected)
	p.SetString("steps", s.stepsEntry.Text)
	p.SetFloat("eta", s.etaSlider.Value)
	p.SetBool("clip", s.clipCheck.Checked)
	p.SetString("count", s.countSel.Selected)
	p.SetString("seed", s.seedEntry.Text)
	p.SetBool("seed_locked", s.lockCheck.Checked)
	p.SetBool("extra", s.extraCheck.Checked)
	p.SetInt("speed", s.speedSel.SelectedIndex())
	if sz := s.win.Canvas().Size(); sz.Width > 0 {
		p.SetFloat("window_w", float64(sz.Width))
		p.SetFloat("window_h", float64(sz.Height))
	}
}

// Close stops work and stores the settings: call before the window closes.
func (s *Studio) Close() {
	s.stopPlay()
	s.Cancel()
	s.savePrefs()
}

func recipeImage(r studio.Recipe) string {
	if r.Inpaint != nil {
		return r.Inpaint.Image
	}
	if r.Init != nil {
		return r.Init.Image
	}
	return ""
}

// OpenFile opens a picture file: a PNG carrying a recipe is drawn again
// with its settings; any other picture goes to the Inpaint tab.
func (s *Studio) OpenFile(path string) {
	b, err := safeio.ReadFile(s.ctx, path, imageio.MaxImageBytes)
	if err == nil {
		err = s.openBytes(b, path)
	}
	if err != nil {
		s.showError(err)
	}
}

func (s *Studio) openBytes(b []byte, name string) error {
	if len(b) > imageio.MaxImageBytes {
		return fmt.Errorf("larger than %d bytes", imageio.MaxImageBytes)
	}
	if _, _, err := studio.ReadPNG(b); err == nil {
		return s.OpenRecipe(b)
	}
	img, err := imageio.Decode(b)
	if err != nil {
		return err
	}
	s.SetInputPicture(img, name)
	s.tabs.SelectIndex(1)
	return nil
}

// backendChoice is the backend the status bar asks for.
func (s *Studio) backendChoice() string {
	if s.backendSel == nil || s.backendSel.Selected == "" {
		return studio.BackendAuto
	}
	return s.backendSel.Selected
}
