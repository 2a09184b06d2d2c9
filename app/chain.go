package app

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/ddpmstudio/ddpmstudio/diffusion"
	"github.com/ddpmstudio/ddpmstudio/studio"
)

// liveState hands the newest event of the running chain to the UI
// goroutine, at most one request pending at a time.
type liveState struct {
	mu      sync.Mutex
	event   *studio.Event
	pending bool
	lastX0  []float32 // the last prediction, shown on re-noising events
}

// Generate starts a run from the panels (Ctrl+Enter). An unlocked seed is
// rolled first.
func (s *Window) Generate() {
	if s.sess == nil {
		return
	}
	if r, ok := s.nextRecipe(); ok {
		s.launch(launchSpec{recipe: r})
	}
}

// nextRecipe is the panels' recipe for a new run or fork, with the seed
// rolled first unless it is locked; a bad setting is an error dialog.
func (s *Window) nextRecipe() (studio.Recipe, bool) {
	if !s.sampler.lock.Checked {
		s.sampler.rollSeed()
	}
	r, err := s.Recipe()
	if err != nil {
		s.showError(err)
		return r, false
	}
	return r, true
}

// startRecipe runs a recipe as a new history entry (what Generate and opening a
// PNG do).
func (s *Window) startRecipe(r studio.Recipe) error { return s.launch(launchSpec{recipe: r}) }

// launchSpec is one new entry: a recipe, or a fork of parent at frame at
// towards the recipe; partner makes it a comparison with that chain.
type launchSpec struct {
	recipe  studio.Recipe
	inputs  studio.Inputs
	source  *studio.PictureSource
	parent  *entry
	at      int
	partner *entry
}

func (s *Window) launch(l launchSpec) error {
	if s.current != nil && !s.current.done {
		s.current.run.Cancel()
		s.current.run.Wait()
	}
	s.timeline.Stop()
	e := &entry{parent: l.parent, partner: l.partner, started: time.Now(), inputs: l.inputs, source: l.source}
	opt := studio.StartOptions{OnEvent: s.onEvent, WithEps: true, WithNoise: true, Batch: l.recipe.Count, Inputs: l.inputs, Retention: s.opt.retention}
	var run *studio.Run
	var err error
	if l.parent != nil {
		opt.Batch = l.parent.run.Recipe().Count
		// A fork between kept states first reruns the steps from the
		// nearest kept one: say so, with progress.
		opt.Recompute = func(done, total int) {
			s.do(func() {
				if s.current == e && !e.done {
					s.progress.SetValue(float64(done) / float64(total))
					s.progressLabel.SetText(fmt.Sprintf("recomputing the state at step %d from the nearest kept one: %d of %d", l.at+1, done, total))
				}
			})
		}
		run, err = s.sess.ForkTo(s.ctx, l.parent.run, l.at, l.recipe, opt)
	} else if err = s.sess.CheckBatch(l.recipe, l.recipe.Count, 0); err == nil {
		run, err = s.sess.Start(s.ctx, l.recipe, opt)
	}
	if err != nil {
		s.showError(err)
		return err
	}
	e.run = run
	e.curves, _ = s.sess.Curves(run.Recipe().Schedule)
	s.runs.add(e)
	s.live.mu.Lock()
	s.live.lastX0 = nil
	s.live.mu.Unlock()
	s.show(e)
	s.follow = true
	s.timeline.SetCursor(run.StartIndex())
	s.genBtn.Disable()
	s.cancelBtn.Enable()
	s.forkBtn.Disable()
	s.cmpBtn.Disable()
	s.progress.SetValue(0)
	s.savePrefs()
	s.bg.Add(1)
	go func() {
		defer s.bg.Done()
		_, err := run.Wait()
		s.do(func() { s.runEnded(e, err) })
	}()
	return nil
}

// onEvent runs on the run's goroutine: it keeps the newest event and asks
// the UI goroutine to show it, so the view follows at the display's pace
// whatever the sampling rate.
func (s *Window) onEvent(ev studio.Event) {
	s.live.mu.Lock()
	s.live.event = &ev
	pending := s.live.pending
	s.live.pending = true
	s.live.mu.Unlock()
	if !pending {
		s.do(s.flushLive)
	}
}

func (s *Window) flushLive() {
	s.live.mu.Lock()
	ev := s.live.event
	s.live.pending = false
	if ev != nil && ev.X0 != nil {
		s.live.lastX0 = ev.X0
	}
	x0 := s.live.lastX0
	s.live.mu.Unlock()
	e := s.current
	if ev == nil || e == nil {
		return
	}
	done, total := e.run.Len(), e.run.PlanLen()
	s.progress.SetValue(float64(done) / float64(total))
	if el := time.Since(e.started).Seconds(); el > 0 && done > e.run.StartIndex() {
		rate := float64(done-e.run.StartIndex()) / el
		eta := time.Duration(float64(total-done)/rate) * time.Second
		s.progressLabel.SetText(fmt.Sprintf("%d/%d · %.1f steps/s · ETA %s", done, total, rate, eta.Round(time.Second)))
	}
	s.updateTimeline()
	if s.follow {
		if s.compare.active() {
			s.timeline.SetCursor(s.compare.leadIndex(ev.Index))
			s.showCursor()
		} else {
			s.timeline.SetCursor(ev.Index)
			s.view.ShowFrame(ev.X, x0, ev.Eps, ev.Noise)
			s.showReadout(ev.Index)
		}
	}
	s.updateStatus()
}

func (s *Window) runEnded(e *entry, err error) {
	e.done, e.err = true, err
	if e != s.current {
		return
	}
	s.setButtons()
	switch {
	case errors.Is(err, context.Canceled):
		s.progressLabel.SetText(fmt.Sprintf("cancelled at step %d of %d; the chain so far is kept", e.run.Len(), e.run.PlanLen()))
		e.label += " (cancelled)"
		s.runs.refresh()
	case err != nil:
		s.progressLabel.SetText("failed")
		s.showError(err)
	default:
		s.progress.SetValue(1)
		s.progressLabel.SetText(fmt.Sprintf("done: %d steps in %s", e.run.PlanLen()-e.run.StartIndex(), time.Since(e.started).Round(10*time.Millisecond)))
	}
	s.updateTimeline()
	if s.follow {
		s.timeline.SetCursor(s.timelineMax())
		s.showCursor()
	}
	s.updateStatus()
	s.updateEstimate() // now from the passes just timed
}

// setButtons enables what the current entry allows.
func (s *Window) setButtons() {
	e := s.current
	if e == nil || !e.done {
		return
	}
	s.genBtn.Enable()
	s.cancelBtn.Disable()
	if s.compare.active() {
		s.forkBtn.Disable()
	} else {
		s.forkBtn.Enable()
	}
	if e.run.Recipe().Fork == nil && e.run.Recipe().Inpaint == nil && e.partner == nil {
		s.cmpBtn.Enable()
	} else {
		s.cmpBtn.Disable()
	}
}

// Cancel stops the running chain (Esc); what it computed stays.
func (s *Window) Cancel() {
	if s.current != nil && !s.current.done {
		s.current.run.Cancel()
	}
}

// wait waits for the current run (for tests).
func (s *Window) wait() error {
	if s.current == nil {
		return nil
	}
	_, err := s.current.run.Wait()
	s.waitIdle()
	return err
}

// ForkHere continues the current run from the timeline's step with what
// the panels say now (studio.ChangesTo decides what that changes).
func (s *Window) ForkHere() {
	e := s.current
	if e == nil || s.sess == nil || s.compare.active() {
		return
	}
	at := min(s.timeline.Cursor(), e.run.Len()-1, e.run.PlanLen()-1)
	if at < 0 {
		return
	}
	if want, ok := s.nextRecipe(); ok {
		s.launch(launchSpec{recipe: want, parent: e, at: at})
	}
}

// show makes e the entry the chain area shows: alone, or beside the chain
// it is compared with.
func (s *Window) show(e *entry) {
	s.current = e
	if e.partner != nil {
		s.compare.set(e.partner, e)
		s.view.Hide()
		s.compare.obj.Show()
	} else {
		s.compare.set(nil, nil)
		s.compare.obj.Hide()
		s.view.Show()
		s.view.SetShape(e.run.Shape())
	}
	s.updateTimeline()
}

func (s *Window) selectEntry(e *entry) {
	if e == s.current {
		return
	}
	s.timeline.Stop()
	s.show(e)
	s.follow = !e.done
	s.timeline.SetCursor(s.timelineMax())
	s.setButtons()
	s.showCursor()
	s.updateStatus()
}

// entries is the number of runs in the history.
func (s *Window) entries() int { return len(s.runs.entries) }

// currentRun is the run the view shows.
func (s *Window) currentRun() *studio.Run {
	if s.current == nil {
		return nil
	}
	return s.current.run
}

// selectRun shows history entry i.
func (s *Window) selectRun(i int) {
	if i >= 0 && i < len(s.runs.entries) {
		s.runs.tree.Select(s.runs.id(s.runs.entries[i]))
	}
}

// timelineRun is the run whose events the timeline walks: the current one,
// or in compare mode the chain with more events.
func (s *Window) timelineRun() *studio.Run {
	if s.compare.active() {
		return s.compare.lead().run
	}
	return s.current.run
}

// timelineMax is the last position: the final sample once the run is
// done, else the newest recorded event.
func (s *Window) timelineMax() int {
	if s.current == nil {
		return 0
	}
	r := s.timelineRun()
	if r.Final() != nil {
		return r.PlanLen()
	}
	return max(0, r.Len()-1)
}

func (s *Window) updateTimeline() {
	if s.current == nil {
		return
	}
	r := s.timelineRun()
	lo := 0
	if s.current.parent == nil && !s.compare.active() {
		lo = r.StartIndex() // an image-to-image run starts part-way
	}
	s.timeline.SetRange(lo, s.timelineMax())
	T := 1000
	if s.current.curves != nil {
		T = s.current.curves.T
	}
	s.timeline.SetPlan(r, T)
}

// cursorMoved is the person moving the timeline.
func (s *Window) cursorMoved(i int) {
	if s.current == nil {
		return
	}
	r := s.timelineRun()
	s.follow = !s.current.done && i >= r.Len()-1
	s.showCursor()
}

// cursor is the timeline position.
func (s *Window) cursor() int { return s.timeline.Cursor() }

// SetCursor moves the timeline (clamped) and shows that step.
func (s *Window) SetCursor(i int) {
	if s.current != nil {
		s.timeline.Seek(i)
	}
}

// Step moves the timeline by d steps.
func (s *Window) Step(d int) { s.SetCursor(s.timeline.Cursor() + d) }

// TogglePlay starts or stops replaying the timeline (Space).
func (s *Window) TogglePlay() {
	if s.current != nil {
		s.timeline.TogglePlay()
	}
}

// showCursor shows the frame at the cursor: fetched (or recomputed) off the
// UI goroutine, shown if the cursor has not moved on meanwhile.
func (s *Window) showCursor() {
	e := s.current
	if e == nil {
		return
	}
	i := s.timeline.Cursor()
	if s.compare.active() {
		s.compare.showAt(s, i)
		return
	}
	s.showReadout(i)
	// Every step's pictures are kept (studio.Shot): no U-Net call, so the
	// timeline moves at once at any model size.
	if sh, err := e.run.Shot(i); err == nil {
		s.view.ShowShot(sh.X, sh.X0, sh.Eps, sh.Noise)
	}
}

func (s *Window) showReadout(i int) {
	e := s.current
	if e == nil || e.curves == nil {
		return
	}
	s.timeline.SetReadout(readoutAt(e.run, e.curves, i))
}

// readoutAt describes position i of a run: step, t, ᾱ_t, σ_t, SNR.
func readoutAt(run *studio.Run, c *studio.Curves, i int) string {
	n := run.PlanLen()
	if i >= n {
		return fmt.Sprintf("final sample x₀ · %d events", n)
	}
	ev := run.EventAt(i)
	r := c.At(ev.T)
	kind := ""
	if ev.Kind == diffusion.Renoise {
		kind = " (re-noising)"
	}
	return fmt.Sprintf("step %d/%d%s · t = %d to %d · ᾱ_t = %.4f · σ_t = %.4f · SNR = %.3g", i+1, n, kind, ev.T, ev.Next, r.AlphaBar, r.Sigma, r.SNR)
}
