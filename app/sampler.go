package app

import (
	"fmt"
	"strconv"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/ddpmstudio/ddpmstudio/studio"
)

// Choices the sampler panel offers.
var countNames = []string{"1", "4", "9", "16", "25", "36", "49", "64"}

// noClass is the class picker's "unconditional" choice (the null class)
// and anyClass the one that lets the seed choose each sample's class: the
// default, since a model draws its best pictures of a class it was asked
// for, and drawing the class first samples the data's own mixture.
const (
	noClass  = "none (unconditional)"
	anyClass = "any (the seed chooses)"
)

// samplerPanel is the Sampler card: sampler, steps, η, clipping, samples,
// class and guidance, seed. It maps itself to and from a recipe and its
// preference keys here, and nowhere else.
type samplerPanel struct {
	kind          *widget.RadioGroup
	steps         *widget.Entry
	eta           *widget.Slider
	etaLabel      *widget.Label
	clip          *widget.Check
	count         *widget.Select
	classBox      *fyne.Container
	class         *widget.Select
	guidance      *widget.Slider
	guidanceLabel *widget.Label
	seed          *widget.Entry
	lock          *widget.Check
	estimate      *widget.Label // how long Generate would take
	onChange      func()        // a setting the estimate depends on changed
	obj           fyne.CanvasObject
}

func (p *samplerPanel) changed() {
	if p.onChange != nil {
		p.onChange()
	}
}

// newSamplerPanel builds the card; copySeed puts the seed on the clipboard.
func newSamplerPanel(copySeed func(string)) *samplerPanel {
	p := &samplerPanel{}
	p.kind = widget.NewRadioGroup([]string{"DDPM", "DDIM"}, func(string) { p.changed() })
	p.kind.Horizontal, p.kind.Required = true, true
	p.steps = widget.NewEntry()
	p.steps.OnChanged = func(string) { p.changed() }
	p.etaLabel = widget.NewLabel("η 0.00")
	p.eta = widget.NewSlider(0, 1)
	p.eta.Step = 0.05
	p.eta.OnChanged = func(v float64) { p.etaLabel.SetText(fmt.Sprintf("η %.2f", v)) }
	p.clip = widget.NewCheck("clip x̂₀ to [-1, 1]", nil)
	p.count = widget.NewSelect(countNames, func(string) { p.changed() })
	p.class = widget.NewSelect([]string{noClass}, func(string) { p.changed() })
	p.guidanceLabel = widget.NewLabel("guidance 2.0")
	p.guidance = widget.NewSlider(0, 8)
	p.guidance.Step = 0.25
	p.guidance.OnChanged = func(v float64) {
		p.guidanceLabel.SetText(fmt.Sprintf("guidance %.2f", v))
		p.changed()
	}
	p.classBox = container.NewVBox(widget.NewLabel("Class"), p.class, p.guidanceLabel, p.guidance)
	p.seed = widget.NewEntry()
	p.lock = widget.NewCheck("lock", nil)
	p.estimate = widget.NewLabel("")
	p.estimate.Wrapping = fyne.TextWrapWord
	seedRow := container.NewBorder(nil, nil, nil, container.NewHBox(
		widget.NewButtonWithIcon("", theme.ViewRefreshIcon(), p.rollSeed),
		widget.NewButtonWithIcon("", theme.ContentCopyIcon(), func() { copySeed(p.seed.Text) }),
		p.lock), p.seed)
	p.obj = widget.NewCard("Sampler", "", container.NewVBox(
		p.kind,
		container.NewBorder(nil, nil, widget.NewLabel("steps"), nil, p.steps),
		p.etaLabel, p.eta, p.clip,
		container.NewBorder(nil, nil, widget.NewLabel("samples"), nil, p.count),
		p.classBox,
		widget.NewLabel("Seed"), seedRow, p.estimate))
	return p
}

// setModel offers the model's classes: a picker only for class-conditional
// models, "any" first, "none" where the model has a null class.
func (p *samplerPanel) setModel(info studio.ModelInfo, guidance float64) {
	if !info.Conditional || info.Classes <= 0 {
		p.class.Options = []string{noClass}
		p.class.SetSelectedIndex(0)
		p.classBox.Hide()
		return
	}
	labels := info.Classes
	opts := []string{anyClass}
	if info.NullClass >= 0 {
		labels--
		opts = append(opts, noClass)
	}
	for c := 0; c < labels; c++ {
		opts = append(opts, strconv.Itoa(c))
	}
	p.class.Options = opts
	p.class.SetSelectedIndex(0)
	p.guidance.SetValue(guidance)
	p.classBox.Show()
}

// fill sets r's sampler, steps, seed, samples, η, clipping and class from
// the panel; clipDefault is the model's clip_sample.
func (p *samplerPanel) fill(r *studio.Recipe, conditional, clipDefault bool) error {
	steps, err := strconv.Atoi(strings.TrimSpace(p.steps.Text))
	if err != nil {
		return fmt.Errorf("steps %q is not a whole number", p.steps.Text)
	}
	seed, err := p.seedValue()
	if err != nil {
		return err
	}
	count, _ := strconv.Atoi(p.count.Selected)
	r.Sampler = strings.ToLower(p.kind.Selected)
	r.Steps, r.Seed, r.Count = steps, seed, max(1, count)
	r.Eta = studio.RoundSig(p.eta.Value)
	if p.eta.Value == 0 {
		r.Eta = 0
	}
	r.Clip = nil
	if clip := p.clip.Checked; clip != clipDefault {
		r.Clip = &clip
	}
	r.Class, r.AnyClass, r.Guidance = nil, false, 0
	if sel := p.class.Selected; conditional && sel != noClass && sel != "" {
		if sel == anyClass {
			r.AnyClass = true
		} else {
			c, err := strconv.Atoi(sel)
			if err != nil {
				return err
			}
			r.Class = &c
		}
		r.Guidance = p.guidance.Value
	}
	return nil
}

// set shows a recipe's settings (RePaint shows as DDIM, its inner sampler).
func (p *samplerPanel) set(r studio.Recipe, conditional, clipDefault bool) {
	p.kind.SetSelected(strings.ToUpper(r.Sampler))
	if r.Sampler == studio.RePaint {
		p.kind.SetSelected("DDIM")
	}
	p.steps.SetText(strconv.Itoa(r.Steps))
	p.eta.SetValue(r.Eta)
	p.etaLabel.SetText(fmt.Sprintf("η %.2f", r.Eta))
	clip := clipDefault
	if r.Clip != nil {
		clip = *r.Clip
	}
	p.clip.SetChecked(clip)
	n := strconv.Itoa(r.Count)
	if p.count.SetSelected(n); p.count.Selected != n {
		p.count.Options = append(p.count.Options, n)
		p.count.SetSelected(n)
	}
	p.seed.SetText(strconv.FormatUint(r.Seed, 10))
	p.lock.SetChecked(true) // the recipe's seed is what the person asked for
	switch {
	case r.AnyClass:
		p.class.SetSelected(anyClass)
	case r.Class != nil:
		p.class.SetSelected(strconv.Itoa(*r.Class))
	case conditional:
		p.class.SetSelected(noClass)
	default:
		p.class.SetSelectedIndex(0)
	}
	if r.Class != nil || r.AnyClass {
		p.guidance.SetValue(r.Guidance)
		p.guidanceLabel.SetText(fmt.Sprintf("guidance %.2f", r.Guidance))
	}
}

func (p *samplerPanel) seedValue() (uint64, error) {
	seed, err := strconv.ParseUint(strings.TrimSpace(p.seed.Text), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("seed %q is not a whole number ≥ 0", p.seed.Text)
	}
	return seed, nil
}

func (p *samplerPanel) rollSeed() { p.seed.SetText(strconv.FormatUint(studio.RandomSeed(), 10)) }

// Preference keys of the sampler panel.
func (p *samplerPanel) load(prefs fyne.Preferences) {
	p.kind.SetSelected(prefs.StringWithFallback("sampler", "DDPM"))
	p.steps.SetText(prefs.StringWithFallback("steps", "250"))
	p.eta.SetValue(prefs.FloatWithFallback("eta", 0))
	p.etaLabel.SetText(fmt.Sprintf("η %.2f", p.eta.Value))
	p.clip.SetChecked(prefs.BoolWithFallback("clip", true))
	p.count.SetSelected(prefs.StringWithFallback("count", "4"))
	p.seed.SetText(prefs.StringWithFallback("seed", "1"))
	p.lock.SetChecked(prefs.BoolWithFallback("seed_locked", false))
}

func (p *samplerPanel) save(prefs fyne.Preferences) {
	prefs.SetString("sampler", p.kind.Selected)
	prefs.SetString("steps", p.steps.Text)
	prefs.SetFloat("eta", p.eta.Value)
	prefs.SetBool("clip", p.clip.Checked)
	prefs.SetString("count", p.count.Selected)
	prefs.SetString("seed", p.seed.Text)
	prefs.SetBool("seed_locked", p.lock.Checked)
}
