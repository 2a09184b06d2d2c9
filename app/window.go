package app

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/ddpmstudio/ddpmstudio/hub"
	"github.com/ddpmstudio/ddpmstudio/studio"
)

// Opener opens a model folder or Hub repo id ("" = the embedded model),
// reporting a download's progress when it has to fetch one.
type Opener func(ctx context.Context, dir string, progress func(hub.Progress)) (*studio.Session, error)

// Options configure the window.
type Options struct {
	// Open opens models; nil uses studio.Open with the chosen backend.
	Open Opener
	// Model is the folder to open first; "" reopens the last model used
	// (the embedded one the first time).
	Model string
	// queueUI makes background work post to a queue that WaitIdle drains
	// (tests; see Window.do).
	queueUI bool
	// retention is the runs' budget for exact states (0: studio's
	// default); tests make it small so that most steps are not kept.
	retention int64
}

// Window is DDPM Studio's main window. It wires the panels (sampler,
// schedule, model, timeline, runs, inpaint, noise, compare) to the session
// and keeps the run being shown; every decision that the command line
// also needs is studio's.
type Window struct {
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

	sampler  *samplerPanel
	schedule *schedulePanel
	model    *modelPanel
	timeline *Timeline
	runs     *runsPanel
	inpaint  *inpaintPanel
	noise    *noisePanel
	compare  *comparePanel

	view                                        *ChainView
	genBtn, cancelBtn, forkBtn, saveBtn, cmpBtn *widget.Button
	extraCheck                                  *widget.Check
	progress                                    *widget.ProgressBar
	progressLabel                               *widget.Label
	status                                      *widget.Label
	backendSel                                  *widget.Select
	tabs                                        *container.AppTabs
	chainArea                                   *fyne.Container

	current  *entry
	follow   bool
	live     liveState
	applying bool // the backend picker is being set from preferences
}

// New builds the window's content on w and opens the first model. It does
// not show the window.
func New(a fyne.App, w fyne.Window, opt Options) *Window {
	s := &Window{app: a, win: w, prefs: a.Preferences(), opt: opt, ctx: context.Background(), follow: true, do: fyne.Do}
	if opt.queueUI {
		s.queue = &uiQueue{ready: make(chan struct{}, 1)}
		s.do = s.queue.post
	}
	if opt.Open == nil {
		s.opt.Open = func(ctx context.Context, dir string, progress func(hub.Progress)) (*studio.Session, error) {
			return studio.Open(ctx, dir, studio.OpenOptions{Backend: s.backendChoice(), Progress: progress})
		}
	}
	s.build()
	s.loadPrefs()
	dir := opt.Model
	if dir == "" {
		dir = s.prefs.String("model")
	}
	// A Hub model still to download opens through the Hub dialog (progress,
	// Cancel) once the window is up; the embedded model fills it meanwhile.
	fetch := ""
	if needsDownload(dir) {
		fetch, dir = dir, ""
	}
	sess, err := s.opt.Open(s.ctx, dir, nil)
	if err != nil && dir != "" {
		s.showError(fmt.Errorf("opening %s: %w; the embedded model is used", dir, err))
		dir = ""
		sess, err = s.opt.Open(s.ctx, "", nil)
	}
	if err != nil {
		s.showError(err)
	} else {
		s.setSession(sess, dir)
	}
	w.SetContent(s.content())
	s.installKeys()
	w.SetOnDropped(func(_ fyne.Position, uris []fyne.URI) { s.dropped(uris) })
	if fetch != "" {
		d := s.newHubDialog()
		d.entry.SetText(fetch)
		d.dlg.Show()
		s.hubOpen(d)
	}
	return s
}

// needsDownload reports whether dir is a Hub model id (not a folder here)
// that the Hugging Face cache does not hold.
func needsDownload(dir string) bool {
	if dir == "" {
		return false
	}
	if _, err := os.Stat(dir); err == nil {
		return false
	}
	repo, rev, ok := studio.ParseRepoID(dir)
	if !ok || hub.Offline() {
		return false
	}
	_, _, err := studio.ResolveCached(studio.HubCache(), repo, rev)
	return err != nil
}

// waitIdle waits for background work (frame fetches, plots, model loads,
// runs) to finish, running what it posts for the UI goroutine: for tests.
func (s *Window) waitIdle() {
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

func (s *Window) build() {
	s.view = NewChainView()
	s.view.OnFocus = func(int) { s.updateStatus(); s.showCursor() }
	s.genBtn = widget.NewButtonWithIcon("Generate", theme.MediaPlayIcon(), s.Generate)
	s.genBtn.Importance = widget.HighImportance
	s.cancelBtn = widget.NewButtonWithIcon("Cancel", theme.CancelIcon(), s.Cancel)
	s.cancelBtn.Disable()
	s.forkBtn = widget.NewButtonWithIcon("Fork from here", theme.ContentCopyIcon(), s.ForkHere)
	s.forkBtn.Disable()
	s.cmpBtn = widget.NewButtonWithIcon("Compare", theme.ViewRestoreIcon(), s.Compare)
	s.cmpBtn.Disable()
	s.saveBtn = widget.NewButtonWithIcon("Save PNG", theme.DocumentSaveIcon(), s.saveDialog)
	s.extraCheck = widget.NewCheck("show ε̂ and noise", func(on bool) {
		s.view.SetExtra(on)
		s.compare.setExtra(on)
		s.showCursor()
	})
	s.progress = widget.NewProgressBar()
	s.progressLabel = widget.NewLabel("")

	s.sampler = newSamplerPanel(func(t string) { s.win.Clipboard().SetContent(t) })
	s.sampler.onChange = s.updateEstimate
	s.schedule = newSchedulePanel(&s.bg, s.do)
	s.schedule.OnChanged = s.showNoised
	s.model = newModelPanel(s.prefs, s.OpenModel, s.openModelDialog, s.openHubDialog)
	s.timeline = NewTimeline(&s.bg, s.do)
	s.timeline.OnCursor = s.cursorMoved
	s.runs = newRunsPanel()
	s.runs.OnSelect = s.selectEntry
	s.inpaint = newInpaintPanel(s)
	s.noise = newNoisePanel(s)
	s.compare = newComparePanel()
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

func (s *Window) content() fyne.CanvasObject {
	toolbar := container.NewHBox(s.genBtn, s.cancelBtn, s.forkBtn, s.cmpBtn, widget.NewSeparator(), s.saveBtn,
		widget.NewButton("Chain GIF…", func() { s.exportDialog("gif") }),
		widget.NewButton("Chain strip…", func() { s.exportDialog("strip") }),
		widget.NewButton("Save chain…", s.saveChainDialog),
		widget.NewButtonWithIcon("Open PNG…", theme.FolderOpenIcon(), s.openDialog),
		widget.NewButtonWithIcon("", theme.HelpIcon(), s.ShowHelp), widget.NewLabel(""), s.extraCheck)
	// Half for the bar, half for what it says (cut with … rather than
	// pushed out of the pane when the pane is narrow).
	s.progressLabel.Truncation = fyne.TextTruncateEllipsis
	progressRow := container.NewGridWithColumns(2, s.progress, s.progressLabel)
	s.chainArea = container.NewStack(s.view, s.compare.obj)
	s.compare.obj.Hide()
	s.tabs = container.NewAppTabs(
		container.NewTabItem("Chain", s.chainArea),
		container.NewTabItem("Inpaint", s.inpaint.obj),
		container.NewTabItem("Noise", s.noise.obj))
	s.tabs.OnSelected = func(t *container.TabItem) {
		if t.Text == "Noise" {
			s.showNoised()
		}
	}
	center := container.NewBorder(nil, container.NewVBox(s.timeline, progressRow), nil, nil, s.tabs)
	left := container.NewVScroll(container.NewVBox(s.sampler.obj, s.model.obj))
	left.SetMinSize(fyne.NewSize(300, 200))
	runs := container.NewBorder(widget.NewLabelWithStyle("Runs", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}), nil, nil, nil, s.runs.tree)
	sched := container.NewVScroll(s.schedule.obj)
	sched.SetMinSize(fyne.NewSize(320, 200))
	right := container.NewVSplit(runs, sched)
	right.Offset = 0.3
	inner := container.NewHSplit(center, right)
	inner.Offset = 0.66
	body := container.NewHSplit(left, inner)
	body.Offset = 0.22
	statusRow := container.NewBorder(nil, nil, nil, container.NewHBox(widget.NewLabel("backend"), s.backendSel), s.status)
	return container.NewBorder(toolbar, statusRow, nil, nil, body)
}

func (s *Window) showError(err error) {
	if s.win != nil {
		dialog.ShowError(err, s.win)
	}
}

// setSession makes sess the model in use and resets the panels to it.
func (s *Window) setSession(sess *studio.Session, dir string) {
	s.sess, s.info = sess, sess.Info()
	s.view.SetShape(sess.Shape())
	s.view.SetHint(fmt.Sprintf("%s\n%s\n\nPress Generate (Ctrl+Enter) to watch the reverse chain from x_T to x₀.",
		modelTitle(s.info), modelSummary(s.info)))
	s.model.setModel(s.info, dir)
	s.sampler.setModel(s.info, sess.DefaultGuidance())
	s.schedule.setModel(sess)
	s.resetInputs()
	s.updateStatus()
	s.updateEstimate()
	// Until a run has been timed, the estimate rests on a probe of the
	// backend (a few convolutions, milliseconds), made off the UI goroutine.
	s.bg.Add(1)
	go func() {
		defer s.bg.Done()
		if err := sess.ProbeSpeed(s.ctx); err == nil {
			s.do(func() {
				if s.sess == sess {
					s.updateEstimate()
				}
			})
		}
	}()
}

// hasClassPicker reports whether the class picker is shown.
func (s *Window) hasClassPicker() bool { return s.sampler.classBox.Visible() }

// OpenModel opens a model folder or Hub repo id ("" = embedded) in the
// background; one that cannot be opened is an error dialog and the model
// in use stays.
func (s *Window) OpenModel(dir string) { s.openModel(s.ctx, dir, nil, nil) }

// openModel opens dir in the background; progress receives a download's
// counts (on the UI goroutine) and done the outcome.
func (s *Window) openModel(ctx context.Context, dir string, progress func(hub.Progress), done func(error)) {
	s.status.SetText("opening " + displayName(dir) + "…")
	var report func(hub.Progress)
	if progress != nil {
		report = func(p hub.Progress) { s.do(func() { progress(p) }) }
	}
	s.bg.Add(1)
	go func() {
		defer s.bg.Done()
		sess, err := s.opt.Open(ctx, dir, report)
		s.do(func() {
			if done != nil {
				done(err) // the caller shows what went wrong
			}
			if err != nil {
				s.updateStatus()
				if done == nil {
					s.showError(fmt.Errorf("cannot open %s: %w", displayName(dir), err))
				}
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

func (s *Window) openModelDialog() {
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

// plotCurves are the curves the schedule plot shows now (for tests).
func (s *Window) plotCurves() *studio.Curves { return s.schedule.curves }

// ResetSchedule puts the model's trained schedule back in the panel.
func (s *Window) ResetSchedule() { s.schedule.reset() }

// Recipe is the recipe the panels describe now.
func (s *Window) Recipe() (studio.Recipe, error) {
	if s.sess == nil {
		return studio.Recipe{}, errors.New("no model is open")
	}
	r := s.sess.DefaultRecipe(strings.ToLower(s.sampler.kind.Selected))
	if err := s.sampler.fill(&r, s.info.Conditional, s.sess.Scheduler().ClipSample); err != nil {
		return r, err
	}
	sch, err := s.schedule.schedule()
	if err != nil {
		return r, err
	}
	r.Schedule = sch
	return r, nil
}

// SetRecipe puts a recipe's settings into the panels.
func (s *Window) SetRecipe(r studio.Recipe) {
	s.sampler.set(r, s.info.Conditional, s.sess.Scheduler().ClipSample)
	s.schedule.set(r.Schedule)
}

// RollSeed draws a new seed into the field.
func (s *Window) RollSeed() { s.sampler.rollSeed() }

func (s *Window) updateStatus() {
	if s.sess == nil {
		s.status.SetText("no model")
		return
	}
	backend := strings.ToUpper(s.info.Backend)
	if s.info.BackendNote != "" {
		backend += " (" + s.info.BackendNote + ")"
	}
	var pics, states int64
	var npics, nstates int
	for _, e := range s.runs.entries {
		h := e.run.Holding()
		pics, states = pics+h.PictureBytes, states+h.StateBytes
		npics, nstates = npics+h.Pictures, nstates+h.States
	}
	name := s.info.Name
	if name == studio.EmbeddedModel {
		name = "embedded MNIST model"
	}
	// What the chains hold first: the backend's note (why auto chose it)
	// can be long enough for the bar to cut what follows.
	s.status.SetText(fmt.Sprintf("%s · %d runs keep %d pictures (%.1f MB) and %d exact states (%.1f MB) · F1 lists the keys · backend %s",
		name, len(s.runs.entries), npics, float64(pics)/(1<<20), nstates, float64(states)/(1<<20), backend))
}

// statusText is the status bar's text.
func (s *Window) statusText() string { return s.status.Text }

func (s *Window) loadPrefs() {
	p := s.prefs
	s.sampler.load(p)
	s.extraCheck.SetChecked(p.BoolWithFallback("extra", false))
	s.timeline.speed.SetSelectedIndex(p.IntWithFallback("speed", 1))
	s.applying = true
	s.backendSel.SetSelected(p.StringWithFallback("backend", studio.BackendAuto))
	s.applying = false
	if w, h := p.Float("window_w"), p.Float("window_h"); w > 0 && h > 0 {
		s.win.Resize(fyne.NewSize(float32(w), float32(h)))
	}
}

// savePrefs stores the panels' settings (and the window size).
func (s *Window) savePrefs() {
	p := s.prefs
	s.sampler.save(p)
	p.SetBool("extra", s.extraCheck.Checked)
	p.SetInt("speed", s.timeline.speed.SelectedIndex())
	if sz := s.win.Canvas().Size(); sz.Width > 0 {
		p.SetFloat("window_w", float64(sz.Width))
		p.SetFloat("window_h", float64(sz.Height))
	}
}

// Close stops work and stores the settings: call before the window closes.
func (s *Window) Close() {
	s.timeline.Stop()
	s.Cancel()
	s.savePrefs()
}

// backendChoice is the backend the status bar asks for.
func (s *Window) backendChoice() string {
	if s.backendSel == nil || s.backendSel.Selected == "" {
		return studio.BackendAuto
	}
	return s.backendSel.Selected
}
