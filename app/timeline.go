package app

import (
	"image"
	"image/color"
	"math"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/ddpmstudio/ddpmstudio/diffusion"
	"github.com/ddpmstudio/ddpmstudio/studio"
)

var (
	speedNames  = []string{"10 steps/s", "30 steps/s", "100 steps/s", "300 steps/s"}
	speedValues = []float64{10, 30, 100, 300}
)

// Timeline is the chain's time axis: a slider over a run's events (and the
// final sample), buttons to step and play, a read-out line, and — when
// the plan travels back in time, as RePaint's does — a strip of t over
// the events. Moving it by hand or by playing calls OnCursor; SetCursor
// (the window following a live run) does not.
type Timeline struct {
	widget.BaseWidget

	slider                      *widget.Slider
	play, prev, next, home, end *widget.Button
	speed                       *widget.Select
	readout                     *widget.Label
	strip                       *canvas.Image
	stripPix                    *image.RGBA
	plan                        studio.EventList
	T                           int
	cursor, lo, hi              int
	setting, playing            bool
	stop                        chan struct{}
	bg                          *busy
	do                          func(func())
	OnCursor                    func(i int)
	content                     fyne.CanvasObject
}

// NewTimeline makes an empty timeline; play ticks run through do, counted
// in bg.
func NewTimeline(bg *busy, do func(func())) *Timeline {
	t := &Timeline{bg: bg, do: do, T: 1000}
	t.slider = widget.NewSlider(0, 1)
	t.slider.Step = 1
	t.slider.OnChanged = func(v float64) {
		if !t.setting {
			t.moved(int(v))
		}
	}
	t.play = widget.NewButtonWithIcon("", theme.MediaPlayIcon(), t.TogglePlay)
	t.prev = widget.NewButtonWithIcon("", theme.NavigateBackIcon(), func() { t.Step(-1) })
	t.next = widget.NewButtonWithIcon("", theme.NavigateNextIcon(), func() { t.Step(1) })
	t.home = widget.NewButtonWithIcon("", theme.MediaSkipPreviousIcon(), func() { t.Seek(0) })
	t.end = widget.NewButtonWithIcon("", theme.MediaSkipNextIcon(), func() { t.Seek(math.MaxInt) })
	t.speed = widget.NewSelect(speedNames, nil)
	t.speed.SetSelectedIndex(1)
	t.readout = widget.NewLabel("no run yet: press Generate (Ctrl+Enter)")
	t.readout.Truncation = fyne.TextTruncateEllipsis
	t.stripPix = image.NewRGBA(image.Rect(0, 0, 600, 36))
	t.strip = canvas.NewImageFromImage(t.stripPix)
	t.strip.FillMode = canvas.ImageFillStretch
	t.strip.SetMinSize(fyne.NewSize(100, 36))
	t.strip.Hide()
	row := container.NewBorder(nil, nil, container.NewHBox(t.home, t.prev, t.play, t.next, t.end), t.speed, t.slider)
	t.content = container.NewVBox(t.strip, row, t.readout)
	t.ExtendBaseWidget(t)
	return t
}

// CreateRenderer implements fyne.Widget.
func (t *Timeline) CreateRenderer() fyne.WidgetRenderer { return widget.NewSimpleRenderer(t.content) }

// SetPlan sets the events the strip draws (nil: none) and the schedule's T.
// The strip shows only for plans that are not a plain descent.
func (t *Timeline) SetPlan(plan studio.EventList, T int) {
	t.plan, t.T = plan, max(1, T)
	mono := true
	if plan != nil {
		for i := 1; i < plan.PlanLen(); i++ {
			if plan.EventAt(i).T > plan.EventAt(i-1).T {
				mono = false
				break
			}
		}
	}
	if mono {
		t.strip.Hide()
	} else {
		t.strip.Show()
	}
	t.drawStrip()
}

// SetRange sets the positions the slider reaches: lo…hi.
func (t *Timeline) SetRange(lo, hi int) {
	hi = max(hi, lo+1)
	if t.lo == lo && t.hi == hi {
		return
	}
	t.lo, t.hi = lo, hi
	t.slider.Min, t.slider.Max = float64(lo), float64(hi)
	t.slider.Refresh()
}

// cursor is the position shown.
func (t *Timeline) Cursor() int { return t.cursor }

// SetCursor moves the slider without calling OnCursor.
func (t *Timeline) SetCursor(i int) {
	t.cursor = i
	t.setting = true
	t.slider.SetValue(float64(i))
	t.setting = false
	t.drawStrip()
}

// Seek moves the cursor (clamped to the range) as the person does.
func (t *Timeline) Seek(i int) {
	i = max(t.lo, min(i, t.hi))
	t.SetCursor(i)
	t.moved(i)
}

// Step moves the cursor by d.
func (t *Timeline) Step(d int) { t.Seek(t.cursor + d) }

func (t *Timeline) moved(i int) {
	t.cursor = i
	t.drawStrip()
	if t.OnCursor != nil {
		t.OnCursor(i)
	}
}

// SetReadout sets the line under the slider.
func (t *Timeline) SetReadout(s string) { t.readout.SetText(s) }

// Readout is the line under the slider.
func (t *Timeline) Readout() string { return t.readout.Text }

// Playing reports whether the timeline is playing.
func (t *Timeline) Playing() bool { return t.playing }

// TogglePlay starts or stops replaying at the chosen speed, from the start
// when the cursor is at the end.
func (t *Timeline) TogglePlay() {
	if t.playing {
		t.Stop()
		return
	}
	if t.cursor >= t.hi {
		t.Seek(t.lo)
	}
	t.playing = true
	t.play.SetIcon(theme.MediaPauseIcon())
	stop := make(chan struct{})
	t.stop = stop
	rate := speedValues[max(0, t.speed.SelectedIndex())]
	t.bg.Add(1)
	go func() {
		defer t.bg.Done()
		tick := time.NewTicker(time.Duration(float64(time.Second) / rate))
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				t.do(func() {
					if !t.playing || t.stop != stop {
						return
					}
					if t.cursor >= t.hi {
						t.Stop()
						return
					}
					t.Step(1)
				})
			}
		}
	}()
}

// Stop stops playing.
func (t *Timeline) Stop() {
	if !t.playing {
		return
	}
	t.playing = false
	close(t.stop)
	t.play.SetIcon(theme.MediaPlayIcon())
}

func (t *Timeline) drawStrip() {
	if t.plan == nil || !t.strip.Visible() {
		return
	}
	drawTPlot(t.stripPix, t.plan, t.T, t.cursor)
	t.strip.Refresh()
}

// drawTPlot draws t over the plan's events: re-noising steps in orange, the
// cursor as a vertical bar. RePaint's time travel shows as a saw tooth.
func drawTPlot(dst *image.RGBA, plan studio.EventList, T, cursor int) {
	w, h := dst.Bounds().Dx(), dst.Bounds().Dy()
	clearTo(dst, color.RGBA{30, 30, 30, 255})
	n := plan.PlanLen()
	if n == 0 || T <= 0 {
		return
	}
	for i := range n {
		e := plan.EventAt(i)
		x := i * (w - 1) / max(1, n-1)
		y := (h - 2) - e.T*(h-3)/max(1, T-1)
		c := color.RGBA{90, 160, 255, 255}
		if e.Kind == diffusion.Renoise {
			c = color.RGBA{255, 150, 40, 255}
		}
		for dy := -1; dy <= 1; dy++ {
			if yy := y + dy; yy >= 0 && yy < h {
				dst.SetRGBA(x, yy, c)
			}
		}
	}
	if cursor >= 0 && cursor < n {
		x := cursor * (w - 1) / max(1, n-1)
		for y := 0; y < h; y++ {
			dst.SetRGBA(x, y, color.RGBA{255, 255, 255, 255})
		}
	}
}
