package diffusion

import (
	"errors"
	"fmt"
	"github.com/ddpmstudio/ddpmstudio/internal/detmath"
	"math"
)

// Shape is the shape of a batch of images in NCHW order.
type Shape struct{ N, C, H, W int }

// Len is the number of elements of the batch.
func (s Shape) Len() int { return s.N * s.C * s.H * s.W }

// SampleLen is the number of elements of one sample.
func (s Shape) SampleLen() int { return s.C * s.H * s.W }

func (s Shape) String() string { return fmt.Sprintf("[%d,%d,%d,%d]", s.N, s.C, s.H, s.W) }

// EventKind tells a denoising step from a re-noising one.
type EventKind int

const (
	// Denoise calls the model at T and moves x_T to x_Next (Next < T; Next < 0 means the clean image).
	Denoise EventKind = iota
	// Renoise moves x_T forward to x_Next (Next > T) through q, without the
	// model: RePaint's undo_step.
	Renoise
)

func (k EventKind) String() string {
	if k == Renoise {
		return "renoise"
	}
	return "denoise"
}

// Event is one entry of a sampler's plan.
type Event struct {
	Kind EventKind
	T    int // the timestep the event starts from (the model's timestep for Denoise)
	Next int // the timestep it arrives at
}

// Sampler is one reverse-process algorithm configured for a run. The loop in
// Sample calls Step for every Denoise event and Renoise for every Renoise
// event of Plan, in order.
type Sampler interface {
	Schedule() *Schedule
	Plan() []Event
	// Step takes x_t and the model output at e.T (C or 2·C channels, the
	// second half being a learned variance) and writes x_{e.Next} to xNext and
	// the predicted x_0 to x0.
	Step(e Event, x, modelOut []float32, shape Shape, noise NoiseSource, xNext, x0 []float32) error
	// Renoise writes x_{e.Next} drawn from q(x_{e.Next} | x_{e.T}) to xNext.
	Renoise(e Event, x []float32, shape Shape, noise NoiseSource, xNext []float32) error
}

// errShape is wrapped by every size mismatch between the buffers of a step.
var errShape = errors.New("shape mismatch")

// splitOutput checks the model output against x and returns the number of
// channels per sample it holds (C or 2·C).
func splitOutput(x, modelOut, xNext, x0 []float32, shape Shape) (outC int, err error) {
	n := shape.Len()
	if len(x) != n || len(xNext) != n || (x0 != nil && len(x0) != n) {
		return 0, fmt.Errorf("%w: buffers of %d, %d, %d elements for shape %v", errShape, len(x), len(xNext), len(x0), shape)
	}
	switch len(modelOut) {
	case n:
		return shape.C, nil
	case 2 * n:
		return 2 * shape.C, nil
	}
	return 0, fmt.Errorf("%w: model output has %d elements, want %d (C channels) or %d (2·C, learned variance) for shape %v",
		errShape, len(modelOut), n, 2*n, shape)
}

// coeffs are the float32 scalars of one step at (t, prev), computed as
// diffusers computes its 0-d float32 tensors.
type coeffs struct {
	abar, abarPrev       float32
	sqrtAbar, sqrtBeta   float32 // √ᾱ_t, √(1−ᾱ_t)
	sqrtAbarPrev         float32
	betaProd, betaProdPv float32 // 1−ᾱ_t, 1−ᾱ_prev
}

func newCoeffs(abar, abarPrev float32) coeffs {
	return coeffs{
		abar: abar, abarPrev: abarPrev,
		sqrtAbar: sqrt32(abar), sqrtBeta: sqrt32(1 - abar), sqrtAbarPrev: sqrt32(abarPrev),
		betaProd: 1 - abar, betaProdPv: 1 - abarPrev,
	}
}

// predict returns (x̂_0, ε̂) from one element of x_t and the model output.
func (c coeffs) predict(kind Prediction, x, out float32) (x0, eps float32) {
	switch kind {
	case PredictSample:
		return out, (x - mul(c.sqrtAbar, out)) / c.sqrtBeta
	case PredictV:
		return mul(c.sqrtAbar, x) - mul(c.sqrtBeta, out), mul(c.sqrtAbar, out) + mul(c.sqrtBeta, x)
	}
	return (x - mul(c.sqrtBeta, out)) / c.sqrtAbar, out
}

// mul is a float32 product rounded on its own: the explicit conversion keeps
// Go from fusing it into a multiply-add on arm64, ppc64 or s390x, so every
// platform steps the chain with the same roundings (and as PyTorch does).
func mul(a, b float32) float32 { return float32(a * b) }

func clamp(v, r float32) float32 {
	if v > r {
		return r
	}
	if v < -r {
		return -r
	}
	return v
}

// forEach visits every element of the batch with its index in x and in the
// model output (whose samples may be twice as wide).
func forEach(shape Shape, outC int, f func(i, o int)) {
	per := shape.SampleLen()
	outPer := outC * shape.H * shape.W
	for b := 0; b < shape.N; b++ {
		for e := 0; e < per; e++ {
			f(b*per+e, b*outPer+e)
		}
	}
}

// grow returns buf resized to n, reusing its memory.
func grow(buf []float32, n int) []float32 {
	if cap(buf) < n {
		return make([]float32, n)
	}
	return buf[:n]
}

// predictionSettings are shared by every sampler.
type predictionSettings struct {
	prediction Prediction
	clip       bool
	clipRange  float32
}

func settingsOf(c SchedulerConfig) predictionSettings {
	p := c.PredictionType
	if p == "" {
		p = PredictEpsilon
	}
	r := float32(c.ClipSampleRange)
	if r == 0 {
		r = 1
	}
	return predictionSettings{prediction: p, clip: c.ClipSample, clipRange: r}
}

// DDPM is ancestral sampling (Ho et al. 2020) as diffusers' DDPMScheduler
// 0.31 implements it, over the timesteps of set_timesteps(N).
type DDPM struct {
	sched     *Schedule
	settings  predictionSettings
	variance  VarianceType
	timesteps []int
	stride    int     // T div N: diffusers 0.31 steps from t to t − T div N
	plan      []Event // an explicit plan (SetPlan), overriding timesteps
	z         []float32
}

// NewDDPM configures DDPM sampling in `steps` steps (steps = T is the full chain).
func NewDDPM(cfg SchedulerConfig, steps int) (*DDPM, error) {
	s, err := cfg.Schedule()
	if err != nil {
		return nil, err
	}
	ts, err := SetTimesteps(s.T(), steps, cfg.TimestepSpacing, cfg.StepsOffset)
	if err != nil {
		return nil, err
	}
	v := cfg.VarianceType
	if v == "" {
		v = FixedSmall
	}
	return &DDPM{sched: s, settings: settingsOf(cfg), variance: v, timesteps: ts, stride: s.T() / steps}, nil
}

// Schedule implements Sampler.
func (d *DDPM) Schedule() *Schedule { return d.sched }

// Plan implements Sampler.
func (d *DDPM) Plan() []Event {
	if d.plan != nil {
		return append([]Event(nil), d.plan...)
	}
	p := make([]Event, len(d.timesteps))
	for i, t := range d.timesteps {
		p[i] = Event{Kind: Denoise, T: t, Next: t - d.stride}
	}
	return p
}

// Variance is the fixed variance of the step from t to prev (diffusers'
// _get_variance for fixed_small and fixed_large), clamped at 1e-20.
func (d *DDPM) Variance(t, prev int) float32 {
	abar, abarPrev := d.sched.AlphaBar(t), d.sched.AlphaBar(prev)
	beta := 1 - abar/abarPrev
	if d.variance == FixedLarge {
		return beta
	}
	return max((1-abarPrev)/(1-abar)*beta, 1e-20)
}

// Step implements Sampler.
func (d *DDPM) Step(e Event, x, out []float32, shape Shape, noise NoiseSource, xNext, x0 []float32) error {
	outC, err := splitOutput(x, out, xNext, x0, shape)
	if err != nil {
		return err
	}
	if err := d.sched.check(e.T); err != nil {
		return err
	}
	learned := d.variance == LearnedRange
	if learned && outC != 2*shape.C {
		return fmt.Errorf("variance_type %s needs a model with 2·C = %d output channels, this one has %d", d.variance, 2*shape.C, outC)
	}
	c := newCoeffs(d.sched.AlphaBar(e.T), d.sched.AlphaBar(e.Next))
	alphaT := c.abar / c.abarPrev
	betaT := 1 - alphaT
	x0Coeff := c.sqrtAbarPrev * betaT / c.betaProd
	xCoeff := sqrt32(alphaT) * c.betaProdPv / c.betaProd
	drawn := e.T > 0
	if drawn {
		d.z = grow(d.z, shape.Len())
		noise.Draw(0, d.z)
	}
	std := sqrt32(d.Variance(e.T, e.Next))
	var minLog, maxLog float32
	if learned {
		minLog = float32(detmath.Log(float64(max((1-c.abarPrev)/(1-c.abar)*betaT, 1e-20))))
		maxLog = float32(detmath.Log(float64(betaT)))
	}
	perOut := shape.C * shape.H * shape.W // offset of the variance half within a sample
	forEach(shape, outC, func(i, o int) {
		p0, _ := c.predict(d.settings.prediction, x[i], out[o])
		if d.settings.clip {
			p0 = clamp(p0, d.settings.clipRange)
		}
		if x0 != nil {
			x0[i] = p0
		}
		v := mul(x0Coeff, p0) + mul(xCoeff, x[i])
		if drawn {
			if learned {
				frac := float32((out[o+perOut] + 1) / 2)
				logVar := mul(frac, maxLog) + mul(1-frac, minLog)
				v += mul(float32(detmath.Exp(float64(0.5*logVar))), d.z[i])
			} else {
				v += mul(std, d.z[i])
			}
		}
		xNext[i] = v
	})
	return nil
}

// Renoise implements Sampler; DDPM plans no re-noising.
func (d *DDPM) Renoise(e Event, _ []float32, _ Shape, _ NoiseSource, _ []float32) error {
	return fmt.Errorf("ddpm: unexpected %v event at t=%d", e.Kind, e.T)
}

// DDIM is denoising diffusion implicit sampling (Song et al. 2021) as
// diffusers' DDIMScheduler 0.31 implements it. η = 0 is deterministic, η = 1
// has DDPM's posterior variance.
type DDIM struct {
	sched             *Schedule
	settings          predictionSettings
	timesteps         []int
	stride            int
	eta               float32
	useClippedOutput  bool
	finalAlphaCumprod float32
	plan              []Event // an explicit plan (SetPlan), overriding timesteps
	z                 []float32
}

// NewDDIM configures DDIM sampling in `steps` steps with noise scale η.
func NewDDIM(cfg SchedulerConfig, steps int, eta float64, useClippedModelOutput bool) (*DDIM, error) {
	if math.IsNaN(eta) || eta < 0 || eta > 1 {
		return nil, fmt.Errorf("ddim: eta = %v, must lie in [0, 1]", eta)
	}
	s, err := cfg.Schedule()
	if err != nil {
		return nil, err
	}
	ts, err := SetTimesteps(s.T(), steps, cfg.TimestepSpacing, cfg.StepsOffset)
	if err != nil {
		return nil, err
	}
	final := float32(1)
	if !cfg.SetAlphaToOne {
		final = s.AlphasCumprod[0]
	}
	return &DDIM{sched: s, settings: settingsOf(cfg), timesteps: ts, stride: s.T() / steps,
		eta: float32(eta), useClippedOutput: useClippedModelOutput, finalAlphaCumprod: final}, nil
}

// Schedule implements Sampler.
func (d *DDIM) Schedule() *Schedule { return d.sched }

// Plan implements Sampler.
func (d *DDIM) Plan() []Event {
	if d.plan != nil {
		return append([]Event(nil), d.plan...)
	}
	p := make([]Event, len(d.timesteps))
	for i, t := range d.timesteps {
		p[i] = Event{Kind: Denoise, T: t, Next: t - d.stride}
	}
	return p
}

func (d *DDIM) alphaBarPrev(prev int) float32 {
	if prev < 0 {
		return d.finalAlphaCumprod
	}
	return d.sched.AlphasCumprod[prev]
}

// Variance is σ²/η², DDIM's variance of the step from t to prev.
func (d *DDIM) Variance(t, prev int) float32 {
	abar, abarPrev := d.sched.AlphaBar(t), d.alphaBarPrev(prev)
	return (1 - abarPrev) / (1 - abar) * (1 - abar/abarPrev)
}

// Step implements Sampler.
func (d *DDIM) Step(e Event, x, out []float32, shape Shape, noise NoiseSource, xNext, x0 []float32) error {
	outC, err := splitOutput(x, out, xNext, x0, shape)
	if err != nil {
		return err
	}
	if err := d.sched.check(e.T); err != nil {
		return err
	}
	c := newCoeffs(d.sched.AlphaBar(e.T), d.alphaBarPrev(e.Next))
	std := d.eta * sqrt32(d.Variance(e.T, e.Next))
	dirCoeff := sqrt32(1 - c.abarPrev - mul(std, std))
	drawn := d.eta > 0
	if drawn {
		d.z = grow(d.z, shape.Len())
		noise.Draw(0, d.z)
	}
	forEach(shape, outC, func(i, o int) {
		p0, eps := c.predict(d.settings.prediction, x[i], out[o])
		if d.settings.clip {
			p0 = clamp(p0, d.settings.clipRange)
		}
		if d.useClippedOutput {
			eps = (x[i] - mul(c.sqrtAbar, p0)) / c.sqrtBeta
		}
		if x0 != nil {
			x0[i] = p0
		}
		v := mul(c.sqrtAbarPrev, p0) + mul(dirCoeff, eps)
		if drawn {
			v += mul(std, d.z[i])
		}
		xNext[i] = v
	})
	return nil
}

// Renoise implements Sampler; DDIM plans no re-noising.
func (d *DDIM) Renoise(e Event, _ []float32, _ Shape, _ NoiseSource, _ []float32) error {
	return fmt.Errorf("ddim: unexpected %v event at t=%d", e.Kind, e.T)
}

// SetPlan replaces the sampler's timesteps with an explicit plan: how a run
// forked at timestep t continues, with the parent's remaining events or
// with new ones (ForkPlan). Every event must denoise, from a timestep of
// the schedule, to a smaller one (negative: the clean image), in
// descending order.
func (d *DDPM) SetPlan(p []Event) error {
	if err := checkPlan(p, d.sched.T()); err != nil {
		return fmt.Errorf("ddpm: %w", err)
	}
	d.plan = append([]Event(nil), p...)
	return nil
}

// SetPlan is DDPM.SetPlan for DDIM.
func (d *DDIM) SetPlan(p []Event) error {
	if err := checkPlan(p, d.sched.T()); err != nil {
		return fmt.Errorf("ddim: %w", err)
	}
	d.plan = append([]Event(nil), p...)
	return nil
}

func checkPlan(p []Event, T int) error {
	if len(p) == 0 {
		return errors.New("empty plan")
	}
	for i, e := range p {
		if e.Kind != Denoise || e.T < 0 || e.T >= T || e.Next >= e.T || (i > 0 && e.T > p[i-1].Next) {
			return fmt.Errorf("plan event %d (%v %d→%d) is not a descending denoising step within T=%d", i, e.Kind, e.T, e.Next, T)
		}
	}
	return nil
}

// ForkPlan is a plan of n denoising steps from timestep t to the clean
// image: t_k = ⌊t·(n−k)/n⌋ for k = 0 … n−1, each step going to the next
// (the last to −1, ᾱ = 1). n must lie in 1…t+1.
func ForkPlan(t, n int) ([]Event, error) {
	if t < 0 || n < 1 || n > t+1 {
		return nil, fmt.Errorf("fork plan: %d steps from t=%d (want 1…%d)", n, t, t+1)
	}
	p := make([]Event, n)
	for k := range p {
		p[k] = Event{Kind: Denoise, T: t * (n - k) / n}
		if n == t+1 {
			p[k].T = t - k
		}
	}
	for k := range p {
		p[k].Next = -1
		if k+1 < n {
			p[k].Next = p[k+1].T
		}
	}
	return p, nil
}
