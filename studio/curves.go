package studio

import (
	"math"

	"github.com/ddpmstudio/ddpmstudio/diffusion"
)

// Curves are a schedule's quantities over t = 0 … T−1, for plots and
// read-outs: what the app draws, computed here so that the GUI holds no
// math.
type Curves struct {
	T        int
	Beta     []float64
	AlphaBar []float64
	LogSNR   []float64 // log(ᾱ/(1−ᾱ))
}

// ScheduleCurves evaluates schedule s (on top of the model's scheduler
// config, which supplies trained betas for "explicit").
func ScheduleCurves(s Schedule, model diffusion.SchedulerConfig) (*Curves, error) {
	sc, _, err := ApplySchedule(model, s)
	if err != nil {
		return nil, err
	}
	sched, err := sc.Schedule()
	if err != nil {
		return nil, err
	}
	T := sched.T()
	c := &Curves{T: T, Beta: make([]float64, T), AlphaBar: make([]float64, T), LogSNR: make([]float64, T)}
	for t := 0; t < T; t++ {
		c.Beta[t] = float64(sched.Beta(t))
		c.AlphaBar[t] = float64(sched.AlphaBar(t))
		c.LogSNR[t] = sched.LogSNR(t)
	}
	return c, nil
}

// Readout is what the timeline shows at a timestep.
type Readout struct {
	T        int
	AlphaBar float64 // ᾱ_t
	Sigma    float64 // √(1−ᾱ_t), the noise scale of q(x_t | x_0)
	SNR      float64 // ᾱ_t/(1−ᾱ_t)
}

// At reads the curves at timestep t (clamped to the schedule; t < 0 is the
// clean image: ᾱ = 1).
func (c *Curves) At(t int) Readout {
	if t < 0 {
		return Readout{T: t, AlphaBar: 1, Sigma: 0, SNR: math.Inf(1)}
	}
	t = min(t, c.T-1)
	a := c.AlphaBar[t]
	return Readout{T: t, AlphaBar: a, Sigma: math.Sqrt(1 - a), SNR: a / (1 - a)}
}
