package app

import (
	"fmt"
	"image"
	"math"
	"strconv"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"

	"github.com/ddpmstudio/ddpmstudio/studio"
)

// schedulePanel is the β schedule card: kind, β₁, β_T (log sliders), T,
// the ᾱ_t plot against the trained schedule's, and a warning when the
// schedule is not the model's. Which schedule a run uses is studio's
// decision (ChooseSchedule); the panel shows it.
type schedulePanel struct {
	kind             *widget.Select
	b1, bT           *widget.Slider
	b1Label, bTLabel *widget.Label
	T                *widget.Entry
	plotImg          *canvas.Image
	warn             *widget.Label
	obj              fyne.CanvasObject

	plot            plotWorker
	plotGen         int
	sess            *studio.Session
	trained         studio.Schedule
	curves, trCurve *studio.Curves
	applying        bool
	// OnChanged runs after every change the person makes (the Noise tab
	// follows the schedule).
	OnChanged func()
}

func newSchedulePanel(bg *busy, do func(func())) *schedulePanel {
	p := &schedulePanel{}
	p.plot = plotWorker{work: latest{bg: bg}, done: p.plotDone, do: do}
	p.kind = widget.NewSelect(studio.ScheduleLabels(), func(string) { p.changed() })
	p.b1Label, p.bTLabel = widget.NewLabel(""), widget.NewLabel("")
	p.b1 = widget.NewSlider(-6, -1) // log10 β₁
	p.b1.Step = 0.01
	p.b1.OnChanged = func(float64) { p.changed() }
	p.bT = widget.NewSlider(-4, -0.3) // log10 β_T
	p.bT.Step = 0.01
	p.bT.OnChanged = func(float64) { p.changed() }
	p.T = widget.NewEntry()
	p.T.OnChanged = func(string) { p.changed() }
	p.plotImg = canvas.NewImageFromImage(image.NewRGBA(image.Rect(0, 0, 1, 1)))
	p.plotImg.FillMode = canvas.ImageFillContain
	p.plotImg.SetMinSize(fyne.NewSize(300, 190))
	p.warn = widget.NewLabel("")
	p.warn.Wrapping = fyne.TextWrapWord
	p.warn.Importance = widget.WarningImportance
	p.warn.Hide()
	p.obj = widget.NewCard("β schedule", "", container.NewVBox(
		container.NewBorder(nil, nil, widget.NewLabel("kind"), nil, p.kind),
		p.b1Label, p.b1, p.bTLabel, p.bT,
		container.NewBorder(nil, nil, widget.NewLabel("T"), nil, p.T),
		p.plotImg, p.warn,
		widget.NewButton("Reset to the model's schedule", p.reset)))
	return p
}

// setModel makes the panel show sess's trained schedule.
func (p *schedulePanel) setModel(sess *studio.Session) {
	p.sess = sess
	p.trained = sess.Info().Trained
	p.trCurve, _ = sess.Curves(p.trained)
	p.reset()
}

// shown is the schedule the sliders describe.
func (p *schedulePanel) shown() (studio.Schedule, error) {
	T, err := strconv.Atoi(strings.TrimSpace(p.T.Text))
	if err != nil {
		return studio.Schedule{}, fmt.Errorf("T %q is not a whole number", p.T.Text)
	}
	return studio.EditedSchedule(p.kind.Selected, math.Pow(10, p.b1.Value), math.Pow(10, p.bT.Value), T, p.trained)
}

// schedule is the schedule the next run uses.
func (p *schedulePanel) schedule() (studio.Schedule, error) {
	sch, err := p.shown()
	if err != nil {
		return sch, err
	}
	return studio.ChooseSchedule(sch, p.trained), nil
}

// set shows sch (a recipe's); a listed-betas schedule shows as its
// editable form.
func (p *schedulePanel) set(sch studio.Schedule) {
	e := studio.Editable(sch)
	if k, ok := studio.KindOf(e.Kind); ok {
		p.applying = true
		p.kind.SetSelected(k.Label)
		p.b1.SetValue(math.Log10(e.BetaStart))
		p.bT.SetValue(math.Log10(e.BetaEnd))
		p.T.SetText(strconv.Itoa(e.T))
		p.applying = false
	}
	p.changed()
}

// reset shows the model's trained schedule.
func (p *schedulePanel) reset() { p.set(p.trained) }

// changed relabels the sliders, requests a plot (off the UI goroutine) and
// says whether the schedule is the model's.
func (p *schedulePanel) changed() {
	if p.applying || p.sess == nil {
		return
	}
	b1, bT := studio.RoundSig(math.Pow(10, p.b1.Value)), studio.RoundSig(math.Pow(10, p.bT.Value))
	p.b1Label.SetText(fmt.Sprintf("β₁ = %.3g", b1))
	p.bTLabel.SetText(fmt.Sprintf("β_T = %.3g", bT))
	if k, ok := studio.KindByLabel(p.kind.Selected); ok && !k.Betas {
		p.b1.Disable()
		p.bT.Disable()
	} else {
		p.b1.Enable()
		p.bT.Enable()
	}
	sch, err := p.schedule()
	if err == nil {
		var c *studio.Curves
		if c, err = p.sess.Curves(sch); err == nil {
			p.curves = c
			p.plotGen++
			p.plot.request(&plotRequest{cur: c, trained: p.trCurve, w: 400, h: 250, gen: p.plotGen})
		}
	}
	warn := ""
	if err != nil {
		warn = err.Error()
	} else {
		warn = studio.ScheduleWarning(sch, p.trained)
	}
	if warn == "" {
		p.warn.Hide()
	} else {
		p.warn.SetText(warn)
		p.warn.Show()
	}
	if p.OnChanged != nil {
		p.OnChanged()
	}
}

func (p *schedulePanel) plotDone(img image.Image, r *plotRequest) {
	if r.gen != p.plotGen {
		return // a newer plot is on its way
	}
	p.plotImg.Image = img
	p.plotImg.Refresh()
}
