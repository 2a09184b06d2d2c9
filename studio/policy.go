package studio

import (
	"fmt"
	"math"
	"strconv"

	"github.com/ddpmstudio/ddpmstudio/diffusion"
)

// This file holds the decisions both faces (window and command line) make
// the same way: the schedule vocabulary and which schedule a run uses, and
// the defaults of runs that start from a picture (image-to-image and
// inpainting). The window shows them; it does not decide them.

// ScheduleKind is one choice of a schedule picker.
type ScheduleKind struct {
	Kind  string // as recipes and diffusers' beta_schedule name it
	Label string // as a picker shows it
	Betas bool   // whether β₁ and β_T shape it (cosine ignores them)
}

// ScheduleKinds are the schedules a person can pick, in picker order.
var ScheduleKinds = []ScheduleKind{
	{Kind: string(diffusion.Linear), Label: "linear", Betas: true},
	{Kind: string(diffusion.ScaledLinear), Label: "scaled linear", Betas: true},
	{Kind: string(diffusion.Cosine), Label: "cosine", Betas: false},
	{Kind: string(diffusion.Sigmoid), Label: "sigmoid", Betas: true},
}

// ScheduleLabels are the picker's labels, in ScheduleKinds order.
func ScheduleLabels() []string {
	l := make([]string, len(ScheduleKinds))
	for i, k := range ScheduleKinds {
		l[i] = k.Label
	}
	return l
}

// KindByLabel finds a picker label's kind.
func KindByLabel(label string) (ScheduleKind, bool) {
	for _, k := range ScheduleKinds {
		if k.Label == label {
			return k, true
		}
	}
	return ScheduleKind{}, false
}

// KindOf finds a recipe kind's entry (false for "explicit" and unknown kinds).
func KindOf(kind string) (ScheduleKind, bool) {
	for _, k := range ScheduleKinds {
		if k.Kind == kind {
			return k, true
		}
	}
	return ScheduleKind{}, false
}

// Ho et al.'s β₁ and β_T: what an editor shows for a schedule that names
// none (a model trained with an explicit list of betas).
const (
	DefaultBetaStart = 1e-4
	DefaultBetaEnd   = 0.02
)

// Editable is sch as an editor of kind, β₁, β_T and T shows it: an
// explicit (listed) schedule becomes Ho et al.'s linear schedule of the
// same length, and missing betas become Ho et al.'s.
func Editable(sch Schedule) Schedule {
	e := Schedule{Kind: sch.Kind, BetaStart: sch.BetaStart, BetaEnd: sch.BetaEnd, T: max(2, sch.T)}
	if _, ok := KindOf(sch.Kind); !ok {
		e.Kind, e.BetaStart, e.BetaEnd = string(diffusion.Linear), DefaultBetaStart, DefaultBetaEnd
	}
	if e.BetaStart <= 0 || e.BetaEnd <= 0 {
		e.BetaStart, e.BetaEnd = DefaultBetaStart, DefaultBetaEnd
	}
	return e
}

// EditedSchedule is the schedule an editor describes: kind by its label,
// β₁ and β_T rounded to three significant digits (slider positions become
// the numbers a person would type), T. A kind whose betas do not matter
// (cosine) records the trained schedule's editable betas, so that moving
// an ignored slider changes nothing.
func EditedSchedule(label string, betaStart, betaEnd float64, T int, trained Schedule) (Schedule, error) {
	k, ok := KindByLabel(label)
	if !ok {
		return Schedule{}, fmt.Errorf("unknown schedule %q", label)
	}
	sch := Schedule{Kind: k.Kind, BetaStart: RoundSig(betaStart), BetaEnd: RoundSig(betaEnd), T: T}
	if !k.Betas {
		e := Editable(trained)
		sch.BetaStart, sch.BetaEnd = e.BetaStart, e.BetaEnd
	}
	return sch, sch.validate()
}

// ChooseSchedule is the schedule a run uses when an editor shows shown:
// the model's own (trained) schedule when the editor shows it unchanged —
// also for a model trained with listed betas, which an editor cannot show
// exactly — else what the editor shows.
func ChooseSchedule(shown, trained Schedule) Schedule {
	if shown.Equal(Editable(trained)) || shown.Equal(trained) {
		return trained
	}
	return shown
}

// ScheduleWarning says why a chosen schedule may draw poor pictures, or "".
func ScheduleWarning(chosen, trained Schedule) string {
	if chosen.Equal(trained) {
		return ""
	}
	what := fmt.Sprintf("%s, β %.3g to %.3g, T=%d", trained.Kind, trained.BetaStart, trained.BetaEnd, trained.T)
	if trained.Kind == string(diffusion.Explicit) {
		what = fmt.Sprintf("its own list of %d betas", trained.T)
	}
	return fmt.Sprintf("differs from the schedule the model was trained with (%s): pictures will suffer, which is worth seeing", what)
}

// RoundSig keeps three significant digits.
func RoundSig(v float64) float64 {
	if v <= 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return v
	}
	r, err := strconv.ParseFloat(strconv.FormatFloat(v, 'g', 3, 64), 64)
	if err != nil {
		return v
	}
	return r
}

// RePaintMaxSteps caps the steps of a RePaint run started from a sampler's
// settings: RePaint multiplies its steps by its jumps and resamplings, so
// the 250 or 1000 steps of a DDPM setting would take many minutes.
const RePaintMaxSteps = 100

// StrengthAt is the image-to-image strength that starts the chain at
// timestep t of a T-step schedule: t/(T−1), and at least one step.
func StrengthAt(t, T int) float64 {
	s := float64(t) / float64(max(1, T-1))
	if s <= 0 {
		s = 1 / float64(max(1, T))
	}
	return min(s, 1)
}

// PictureSource is where a picture given to image-to-image or inpainting
// came from, when it came from a run: that run's recipe and the sample.
type PictureSource struct {
	Recipe Recipe
	Sample int // index within the recipe's samples (0 = its first)
}

// ForPicture applies the class policy of runs that redraw a given picture
// (image-to-image, inpainting) to r: a class pulls the picture towards
// another subject (a noised 9 comes back as a 4), so they keep the class
// of the recipe that drew the picture when there is one (the class the
// seed chose, for "any class"), else run unconditionally when the model
// can; a class-conditional model without a null class keeps r's class. It
// returns the recipe and a phrase saying which class is used.
func (s *Session) ForPicture(r Recipe, from *PictureSource) (Recipe, string) {
	info := s.info
	if !info.Conditional {
		r.Class, r.AnyClass, r.Guidance = nil, false, 0
		return r, ""
	}
	if from != nil && (from.Recipe.Class != nil || from.Recipe.AnyClass) {
		fr := from.Recipe
		c := 0
		if fr.Class != nil {
			c = *fr.Class
		} else if _, l, err := s.conditioning(fr); err == nil {
			c = l.label(fr.First + from.Sample)
		}
		r.Class, r.AnyClass, r.Guidance = &c, false, fr.Guidance
		return r, fmt.Sprintf("class %d (the picture's own)", c)
	}
	if info.NullClass >= 0 {
		r.Class, r.AnyClass, r.Guidance = nil, false, 0
		return r, "unconditional (no class)"
	}
	switch {
	case r.Class != nil:
		return r, fmt.Sprintf("class %d (the model has no unconditional mode)", *r.Class)
	case r.AnyClass:
		return r, "a class the seed chooses (the model has no unconditional mode)"
	}
	return r, ""
}

// InpaintRecipe makes r an inpainting of the picture named image with the
// painted mask: RePaint (its steps capped at RePaintMaxSteps) or
// replacement on r's sampler.
func InpaintRecipe(r Recipe, method, image string, jumpLength, jumpNSample int) Recipe {
	in := &Inpaint{Method: Replace, Image: image, Mask: "painted"}
	if method == RePaint {
		in.Method, in.JumpLength, in.JumpNSample = RePaint, jumpLength, jumpNSample
		r.Sampler = RePaint
		r.Steps = min(r.Steps, RePaintMaxSteps)
	}
	r.Inpaint = in
	return r
}

// InitRecipe makes r an image-to-image run of the picture named image,
// starting at timestep t of its schedule.
func InitRecipe(r Recipe, image string, t int) Recipe {
	r.Init = &Init{Image: image, Strength: StrengthAt(t, r.Schedule.T)}
	return r
}
