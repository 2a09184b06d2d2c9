package diffusion

import (
	"errors"
	"fmt"
	"github.com/ddpmstudio/ddpmstudio/internal/detmath"
	"math"
)

// Kind names a β schedule, spelled as diffusers' beta_schedule.
type Kind string

// The schedules diffusers' DDPM family offers.
const (
	Linear       Kind = "linear"
	ScaledLinear Kind = "scaled_linear"
	Cosine       Kind = "squaredcos_cap_v2"
	Sigmoid      Kind = "sigmoid"
	// Explicit is a schedule given as a list of betas (diffusers' trained_betas).
	Explicit Kind = "explicit"
)

// Kinds lists the schedules that NewSchedule builds from (β_start, β_end).
var Kinds = []Kind{Linear, ScaledLinear, Cosine, Sigmoid}

// ParseKind accepts diffusers' names and the short alias "cosine".
func ParseKind(s string) (Kind, error) {
	switch s {
	case "linear":
		return Linear, nil
	case "scaled_linear":
		return ScaledLinear, nil
	case "squaredcos_cap_v2", "cosine":
		return Cosine, nil
	case "sigmoid":
		return Sigmoid, nil
	}
	return "", fmt.Errorf("unknown beta schedule %q (want linear, scaled_linear, squaredcos_cap_v2 or sigmoid)", s)
}

// MaxT bounds the number of training timesteps a schedule may have, so that a
// hostile config cannot make us allocate gigabytes.
const MaxT = 1_000_000

// Schedule holds β_t for t = 0 … T−1 (diffusers' zero-based timesteps) and the
// cumulative products ᾱ_t, both in float32 exactly as diffusers keeps them.
type Schedule struct {
	Kind               Kind
	BetaStart, BetaEnd float64 // unused for Cosine and Explicit
	Betas              []float32
	AlphasCumprod      []float32
}

// NewSchedule builds a schedule of T steps. β_start and β_end are ignored by
// the cosine schedule, which derives β from ᾱ(u) = cos²((u+0.008)/1.008·π/2).
func NewSchedule(kind Kind, T int, betaStart, betaEnd float64) (*Schedule, error) {
	if T < 2 {
		return nil, fmt.Errorf("schedule: T = %d, need at least 2 timesteps", T)
	}
	if T > MaxT {
		return nil, fmt.Errorf("schedule: T = %d exceeds the limit of %d timesteps", T, MaxT)
	}
	if kind != Cosine {
		for _, b := range []struct {
			name string
			v    float64
		}{{"beta_start", betaStart}, {"beta_end", betaEnd}} {
			if math.IsNaN(b.v) || b.v <= 0 || b.v >= 1 {
				return nil, fmt.Errorf("schedule: %s = %v, must lie in (0, 1)", b.name, b.v)
			}
		}
		if betaStart > betaEnd {
			return nil, fmt.Errorf("schedule: beta_start %v > beta_end %v; %s schedules must not decrease", betaStart, betaEnd, kind)
		}
	}
	// Each case is diffusers' DDPMScheduler.__init__ in PyTorch's float32
	// arithmetic (see torch32.go), so β_t are diffusers' very bits.
	var b32 []float32
	switch kind {
	case Linear:
		b32 = linspace32(T, betaStart, betaEnd)
	case ScaledLinear:
		b32 = linspace32(T, math.Sqrt(betaStart), math.Sqrt(betaEnd))
		for i, b := range b32 {
			b32[i] = mul(b, b)
		}
	case Cosine:
		// betas_for_alpha_bar: Python float64, then one rounding to float32.
		abar := func(u float64) float64 {
			c := detmath.Cos((u + 0.008) / 1.008 * math.Pi / 2)
			return c * c
		}
		b32 = make([]float32, T)
		for i := range b32 {
			b32[i] = float32(math.Min(1-abar(float64(i+1)/float64(T))/abar(float64(i)/float64(T)), 0.999))
		}
	case Sigmoid:
		// torch.sigmoid(linspace(-6, 6)) * (β_end − β_start) + β_start: the
		// Python scalars become float32 before each float32 operation.
		b32 = sigmoid32(linspace32(T, -6, 6))
		scale, shift := float32(betaEnd-betaStart), float32(betaStart)
		for i, v := range b32 {
			b32[i] = mul(v, scale) + shift
		}
	default:
		return nil, fmt.Errorf("schedule: unknown kind %q", kind)
	}
	betas := make([]float64, T)
	for i, b := range b32 {
		betas[i] = float64(b)
	}
	s, err := FromBetas(betas)
	if err != nil {
		return nil, err
	}
	s.Kind, s.BetaStart, s.BetaEnd = kind, betaStart, betaEnd
	return s, nil
}

// FromBetas builds an explicit schedule. ᾱ is the product of float32 α_t
// accumulated in float64, as torch.cumprod does on the CPU, then rounded.
func FromBetas(betas []float64) (*Schedule, error) {
	if len(betas) < 2 {
		return nil, fmt.Errorf("schedule: %d betas, need at least 2 timesteps", len(betas))
	}
	s := &Schedule{Kind: Explicit, Betas: make([]float32, len(betas)), AlphasCumprod: make([]float32, len(betas))}
	prod := 1.0
	for i, b := range betas {
		b32 := float32(b)
		if math.IsNaN(b) || b32 <= 0 || b32 >= 1 {
			return nil, fmt.Errorf("schedule: beta[%d] = %v, must lie in (0, 1)", i, b)
		}
		s.Betas[i] = b32
		prod *= float64(1 - b32)
		s.AlphasCumprod[i] = float32(prod)
		if s.AlphasCumprod[i] <= 0 {
			return nil, fmt.Errorf("schedule: alpha_bar underflows to 0 at t=%d; the betas are too large for %d steps", i, len(betas))
		}
	}
	return s, nil
}

// T is the number of training timesteps.
func (s *Schedule) T() int { return len(s.Betas) }

// errTimestep is wrapped when a timestep lies outside [0, T).
var errTimestep = errors.New("timestep out of range")

func (s *Schedule) check(t int) error {
	if t < 0 || t >= len(s.Betas) {
		return fmt.Errorf("%w: t=%d, schedule has T=%d", errTimestep, t, len(s.Betas))
	}
	return nil
}

// Beta is β_t.
func (s *Schedule) Beta(t int) float32 { return s.Betas[t] }

// Alpha is α_t = 1 − β_t.
func (s *Schedule) Alpha(t int) float32 { return 1 - s.Betas[t] }

// AlphaBar is ᾱ_t = ∏_{i≤t} α_i. By diffusers' convention AlphaBar(−1) = 1.
func (s *Schedule) AlphaBar(t int) float32 {
	if t < 0 {
		return 1
	}
	return s.AlphasCumprod[t]
}

// SqrtAlphaBar is √ᾱ_t, the signal scale of q(x_t | x_0).
func (s *Schedule) SqrtAlphaBar(t int) float32 { return sqrt32(s.AlphaBar(t)) }

// SqrtOneMinusAlphaBar is √(1−ᾱ_t), the noise scale of q(x_t | x_0).
func (s *Schedule) SqrtOneMinusAlphaBar(t int) float32 { return sqrt32(1 - s.AlphaBar(t)) }

// PosteriorVariance is β̃_t = (1−ᾱ_{t−1})/(1−ᾱ_t)·β_t, the variance of
// q(x_{t−1} | x_t, x_0); it is 0 at t = 0.
func (s *Schedule) PosteriorVariance(t int) float32 {
	return (1 - s.AlphaBar(t-1)) / (1 - s.AlphaBar(t)) * s.Betas[t]
}

// LogSNR is log(ᾱ_t / (1−ᾱ_t)).
func (s *Schedule) LogSNR(t int) float64 {
	a := float64(s.AlphaBar(t))
	return detmath.Log(a / (1 - a))
}

func sqrt32(x float32) float32 { return float32(math.Sqrt(float64(x))) }
