package diffusion

import (
	"fmt"
	"math"
)

// Mask convention
//
// In this package's API a mask is 1 (white) where the image is to be
// regenerated and 0 (black) where the known image is kept. diffusers'
// RePaintScheduler uses the opposite (1 = known); the conversion happens here.

// Known is the image to inpaint and its mask, for one sample; it is applied to
// every sample of the batch.
type Known struct {
	Image []float32 // C·H·W values in [−1, 1]
	// Mask holds H·W values (one per pixel, shared by the channels) or C·H·W
	// values; 1 = regenerate, 0 = keep. Values are used as weights, so
	// threshold a painted mask first if it must be binary.
	Mask []float32
}

// keepWeights expands the mask to C·H·W keep-weights (1 − mask).
func (k Known) keepWeights(shape Shape) ([]float32, error) {
	per := shape.SampleLen()
	if len(k.Image) != per {
		return nil, fmt.Errorf("inpaint: image has %d values, the model's sample has %d (C=%d, H=%d, W=%d)", len(k.Image), per, shape.C, shape.H, shape.W)
	}
	hw := shape.H * shape.W
	keep := make([]float32, per)
	switch len(k.Mask) {
	case hw:
		for c := 0; c < shape.C; c++ {
			for p := 0; p < hw; p++ {
				keep[c*hw+p] = 1 - k.Mask[p]
			}
		}
	case per:
		for i, m := range k.Mask {
			keep[i] = 1 - m
		}
	default:
		return nil, fmt.Errorf("inpaint: mask has %d values, want H·W = %d (%d×%d) or C·H·W = %d", len(k.Mask), hw, shape.H, shape.W, per)
	}
	for i, v := range keep {
		if math.IsNaN(float64(v)) || v < 0 || v > 1 {
			return nil, fmt.Errorf("inpaint: mask value %v at element %d lies outside [0, 1]", 1-v, i)
		}
	}
	return keep, nil
}

// RePaint is the inpainting sampler of Lugmayr et al. 2022 as diffusers'
// RePaintScheduler 0.31 implements it: DDIM-style steps whose known region is
// re-drawn from q at every step, with jumps back up the chain so the generated
// region can harmonise with the known one.
type RePaint struct {
	sched     *Schedule
	settings  predictionSettings
	timesteps []int
	stride    int
	eta       float32
	known     Known
	keep      []float32 // C·H·W, 1 = known (diffusers' mask)
	keepShape Shape
	z         []float32
}

// NewRePaint configures RePaint with `steps` coarse steps, jump length J and
// jump_n_sample R. x_0 is always clipped when the config's clip_sample is set.
func NewRePaint(cfg SchedulerConfig, steps, jumpLength, jumpNSample int, eta float64, known Known) (*RePaint, error) {
	if math.IsNaN(eta) || eta < 0 || eta > 1 {
		return nil, fmt.Errorf("repaint: eta = %v, must lie in [0, 1]", eta)
	}
	s, err := cfg.Schedule()
	if err != nil {
		return nil, err
	}
	ts, err := repaintTimesteps(s.T(), steps, jumpLength, jumpNSample)
	if err != nil {
		return nil, err
	}
	n := min(steps, s.T())
	return &RePaint{sched: s, settings: settingsOf(cfg), timesteps: ts, stride: s.T() / n, eta: float32(eta), known: known}, nil
}

// Schedule implements Sampler.
func (r *RePaint) Schedule() *Schedule { return r.sched }

// Plan implements Sampler, mirroring RePaintPipeline's loop: a timestep below
// the previous one is a step, one above it an undo_step from the previous.
func (r *RePaint) Plan() []Event {
	p := make([]Event, 0, len(r.timesteps))
	last := r.timesteps[0] + 1
	for _, t := range r.timesteps {
		if t < last {
			p = append(p, Event{Kind: Denoise, T: t, Next: t - r.stride})
		} else {
			p = append(p, Event{Kind: Renoise, T: last, Next: t})
		}
		last = t
	}
	return p
}

func (r *RePaint) keepFor(shape Shape) ([]float32, error) {
	one := Shape{1, shape.C, shape.H, shape.W}
	if r.keep != nil && r.keepShape == one {
		return r.keep, nil
	}
	keep, err := r.known.keepWeights(shape)
	if err != nil {
		return nil, err
	}
	r.keep, r.keepShape = keep, one
	return keep, nil
}

// Step implements Sampler. It always draws one noise tensor z, used both for
// the generated part's variance (η > 0) and to noise the known image to Next.
func (r *RePaint) Step(e Event, x, out []float32, shape Shape, noise NoiseSource, xNext, x0 []float32) error {
	outC, err := splitOutput(x, out, xNext, x0, shape)
	if err != nil {
		return err
	}
	if err := r.sched.check(e.T); err != nil {
		return err
	}
	keep, err := r.keepFor(shape)
	if err != nil {
		return err
	}
	c := newCoeffs(r.sched.AlphaBar(e.T), r.sched.AlphaBar(e.Next))
	r.z = grow(r.z, shape.Len())
	noise.Draw(0, r.z)
	variance := (c.betaProdPv / c.betaProd) * (1 - c.abar/c.abarPrev)
	std := r.eta * sqrt32(variance)
	addVar := e.T > 0 && r.eta > 0
	dirCoeff := sqrt32(1 - c.abarPrev - mul(std, std))
	sqrtBetaPrev := sqrt32(1 - c.abarPrev)
	per := shape.SampleLen()
	forEach(shape, outC, func(i, o int) {
		// diffusers' RePaintScheduler knows only ε-prediction; other
		// parameterisations are converted as DDIM converts them.
		p0, eps := c.predict(r.settings.prediction, x[i], out[o])
		if r.settings.clip {
			p0 = clamp(p0, 1)
		}
		if x0 != nil {
			x0[i] = p0
		}
		unknown := mul(c.sqrtAbarPrev, p0) + mul(dirCoeff, eps)
		if addVar {
			unknown += mul(std, r.z[i])
		}
		kn := mul(c.sqrtAbarPrev, r.known.Image[i%per]) + mul(sqrtBetaPrev, r.z[i])
		m := keep[i%per]
		xNext[i] = mul(m, kn) + mul(1-m, unknown)
	})
	return nil
}

// Renoise implements Sampler: undo_step, T div N draws of
// x ← √(1−β)·x + √β·z with β = β_{T+i}.
func (r *RePaint) Renoise(e Event, x []float32, shape Shape, noise NoiseSource, xNext []float32) error {
	if len(x) != shape.Len() || len(xNext) != shape.Len() {
		return fmt.Errorf("%w: buffers of %d and %d elements for shape %v", errShape, len(x), len(xNext), shape)
	}
	if e.T < 0 || e.Next > r.sched.T() || e.Next <= e.T {
		return fmt.Errorf("repaint: cannot renoise from t=%d to t=%d with T=%d", e.T, e.Next, r.sched.T())
	}
	copy(xNext, x)
	r.z = grow(r.z, shape.Len())
	for i := 0; i < e.Next-e.T; i++ {
		beta := r.sched.Betas[e.T+i]
		a, b := sqrt32(1-beta), sqrt32(beta)
		noise.Draw(i, r.z)
		for k := range xNext {
			xNext[k] = mul(a, xNext[k]) + mul(b, r.z[k])
		}
	}
	return nil
}

// Replace is the simple replacement method of inpainting (Song et al. 2021,
// appendix; "RePaint without resampling"): after every step of an inner
// sampler the known region is replaced by the known image noised to the
// step's target timestep, q(x_{t−1} | x_0), and at the end by the known pixels
// themselves. Its re-noising uses draw 1 of each step's noise.
type Replace struct {
	Inner     Sampler
	known     Known
	keep      []float32
	keepShape Shape
	z         []float32
}

// NewReplace wraps a DDPM or DDIM sampler for replacement inpainting.
func NewReplace(inner Sampler, known Known) *Replace { return &Replace{Inner: inner, known: known} }

// Schedule implements Sampler.
func (r *Replace) Schedule() *Schedule { return r.Inner.Schedule() }

// Plan implements Sampler.
func (r *Replace) Plan() []Event { return r.Inner.Plan() }

// Step implements Sampler.
func (r *Replace) Step(e Event, x, out []float32, shape Shape, noise NoiseSource, xNext, x0 []float32) error {
	if one := (Shape{1, shape.C, shape.H, shape.W}); r.keep == nil || r.keepShape != one {
		keep, err := r.known.keepWeights(shape)
		if err != nil {
			return err
		}
		r.keep, r.keepShape = keep, one
	}
	if err := r.Inner.Step(e, x, out, shape, noise, xNext, x0); err != nil {
		return err
	}
	per := shape.SampleLen()
	if e.Next < 0 {
		for i := range xNext {
			m := r.keep[i%per]
			xNext[i] = mul(m, r.known.Image[i%per]) + mul(1-m, xNext[i])
		}
		return nil
	}
	s := r.Inner.Schedule()
	a, b := s.SqrtAlphaBar(e.Next), s.SqrtOneMinusAlphaBar(e.Next)
	r.z = grow(r.z, shape.Len())
	noise.Draw(1, r.z)
	for i := range xNext {
		m := r.keep[i%per]
		xNext[i] = mul(m, mul(a, r.known.Image[i%per])+mul(b, r.z[i])) + mul(1-m, xNext[i])
	}
	return nil
}

// Renoise implements Sampler by delegating to the inner sampler.
func (r *Replace) Renoise(e Event, x []float32, shape Shape, noise NoiseSource, xNext []float32) error {
	return r.Inner.Renoise(e, x, shape, noise, xNext)
}
