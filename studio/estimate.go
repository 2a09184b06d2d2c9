package studio

import (
	"context"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/ddpmstudio/ddpmstudio/diffusion"
	"github.com/ddpmstudio/ddpmstudio/unet"
)

// Estimates of a run's time come from its work (the U-Net passes it makes
// and their FLOPs, as Model.FLOPs counts them) and a speed measured on this
// machine: the forward passes this session has timed, or before any, a
// probe of the backend — a few 3×3 convolutions of the size a U-Net's big
// layers have — scaled by how much slower a whole U-Net runs than its
// convolutions (probeEfficiency). Each run's passes refine it.

// probeEfficiency is the ratio of a whole forward pass's speed to the
// probe's, in FLOPs per second: the normalisations, attention and memory
// traffic a U-Net has besides its big convolutions, and the small layers
// of a small model, which run further from the kernel's peak. Measured on
// two cores: 0.6 for google/ddpm-cifar10-32 (12.4 GFLOP a pass), 0.85
// for the 256² configs (497 GFLOP); between and beyond, interpolated in
// log FLOPs and clamped (docs/cpu-speed.md). The first timed passes
// replace it.
func probeEfficiency(gflopPerPass float64) float64 {
	const f0, e0, f1, e1 = 12.4, 0.6, 497, 0.85
	t := math.Log(gflopPerPass/f0) / math.Log(f1/f0)
	return min(e1, max(e0, e0+float64(t*(e1-e0)))) // unfused: the arm64 audit wants every FMA named
}

// LongDDPM is how long a DDPM run may be estimated to take before the
// estimate says how long DDIM with DDIMSuggestSteps steps would take.
const (
	LongDDPM         = 2 * time.Minute
	DDIMSuggestSteps = 50
)

// Estimate is a run's expected time on the session's backend.
type Estimate struct {
	Passes  int     // forward passes (a guided step is one pass of twice the batch)
	GFLOP   float64 // their work
	Rate    float64 // GFLOP/s assumed
	Seconds float64
	// Basis says where Rate comes from: "measured" (this session's passes)
	// or "probe" (the backend probed before any pass was timed).
	Basis string
	// DDIM50 is the estimate for DDIM with DDIMSuggestSteps steps, when the
	// recipe is a DDPM run estimated above LongDDPM; 0 otherwise.
	DDIM50 float64
}

// String is the estimate as one line, the CLI's first.
func (e Estimate) String() string {
	how := "measured on this machine"
	if e.Basis == "probe" {
		how = "from a probe of this machine's backend; refined as the run goes"
	}
	s := fmt.Sprintf("estimated %s: %d U-Net passes, %.0f GFLOP at %.0f GFLOP/s (%s)", Duration(e.Seconds), e.Passes, e.GFLOP, e.Rate, how)
	if e.DDIM50 > 0 {
		s += fmt.Sprintf("; DDIM with %d steps would take about %s", DDIMSuggestSteps, Duration(e.DDIM50))
	}
	return s
}

// Duration writes seconds as people read a wait: "40 s", "3 min 20 s", "1 h 05 min".
func Duration(sec float64) string {
	s := int(math.Round(sec))
	switch {
	case sec < 1:
		return fmt.Sprintf("%.2f s", sec)
	case sec < 10:
		return fmt.Sprintf("%.1f s", sec)
	case s < 60:
		return fmt.Sprintf("%d s", s)
	case s < 3600:
		return fmt.Sprintf("%d min %02d s", s/60, s%60)
	}
	return fmt.Sprintf("%d h %02d min", s/3600, s%3600/60)
}

// Estimate is how long recipe r would take at this batch size, from the
// speed measured so far (ProbeSpeed first if nothing was). It never runs
// the model, so the window can call it as settings change.
func (s *Session) Estimate(r Recipe, batch int) (Estimate, error) {
	rate, basis := s.meter.rate()
	if rate <= 0 {
		return Estimate{}, fmt.Errorf("no speed measured yet on the %s backend", s.info.Backend)
	}
	e, err := s.work(r, batch)
	if err != nil {
		return Estimate{}, err
	}
	e.Rate, e.Basis = rate, basis
	e.Seconds = e.GFLOP / rate
	if r.Sampler == DDPM && e.Seconds > LongDDPM.Seconds() {
		d := r
		d.Sampler, d.Steps, d.Eta = DDIM, DDIMSuggestSteps, 0
		if w, err := s.work(d, batch); err == nil {
			e.DDIM50 = w.GFLOP / rate
		}
	}
	return e, nil
}

// work counts a recipe's U-Net passes (its plan's denoising events: a
// re-noising event runs none) and their FLOPs, without its inputs.
func (s *Session) work(r Recipe, batch int) (Estimate, error) {
	sched, _, err := s.schedulerFor(r)
	if err != nil {
		return Estimate{}, err
	}
	probe := &Run{recipe: r, sched: sched, known: &diffusion.Known{}}
	smp, err := probe.sampler()
	if err != nil {
		return Estimate{}, err
	}
	plan := smp.Plan()
	start := 0
	switch {
	case r.Fork != nil:
		start = max(0, len(plan)-r.Steps)
	case r.Init != nil && r.Init.Strength < 1:
		start = StartIndex(plan, sched.NumTrainTimesteps, r.Init.Strength)
	}
	steps := 0
	for _, ev := range plan[start:] {
		if ev.Kind == diffusion.Denoise {
			steps++
		}
	}
	if batch <= 0 {
		batch = s.DefaultBatch()
	}
	if r.Init != nil {
		batch = r.Count // one pass for every sample (newRun)
	}
	batch = max(1, min(batch, r.Count))
	per := 1.0
	if (r.Class != nil || r.AnyClass) && r.Guidance != 1 {
		per = 2 // guidance runs the batch twice, as one pass of twice the batch
	}
	var e Estimate
	for done := 0; done < r.Count; done += batch {
		n := min(batch, r.Count-done)
		e.Passes += steps
		e.GFLOP += float64(steps) * per * float64(n) * s.info.FLOPs / 1e9
	}
	return e, nil
}

// ProbeSpeed measures the backend with a few convolutions, once a
// session, unless forward passes were timed already. It waits for a pass
// in progress (one model, one pass at a time).
func (s *Session) ProbeSpeed(ctx context.Context) error {
	if r, _ := s.meter.rate(); r > 0 {
		return nil
	}
	s.model.mu.Lock()
	defer s.model.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return err
	}
	gflops, err := probeBackend(s.loaded.Model.Backend())
	if err != nil {
		return err
	}
	s.meter.setProbe(gflops * probeEfficiency(s.info.FLOPs/1e9))
	return nil
}

// probeBackend times 3×3 convolutions of 128 channels on 64×64 (1.2 GFLOP
// each) after one to warm up, and returns the GFLOP/s of the fastest:
// the machine's other work only ever slows a run down.
func probeBackend(b unet.Backend) (float64, error) {
	const c, hw, reps = 128, 64, 5
	x, y := b.Alloc(unet.Shape{1, c, hw, hw}), b.Alloc(unet.Shape{1, c, hw, hw})
	w, bias := b.Alloc(unet.Shape{c, c, 3, 3}), b.Alloc(unet.Shape{c, 1, 1, 1})
	defer func() {
		for _, t := range []unet.Tensor{x, y, w, bias} {
			b.Free(t)
		}
	}()
	v := make([]float32, c*hw*hw)
	for i := range v {
		v[i] = float32(i%17)/17 - 0.5
	}
	b.Upload(x, v)
	b.Upload(w, v[:c*c*9])
	b.Upload(bias, v[:c])
	pad := unet.Padding{Top: 1, Left: 1, Bottom: 1, Right: 1}
	b.Conv2D(y, x, w, bias, 1, pad)
	b.Download(v, y) // the warm-up (transforms, shader compilation) is done
	best := math.Inf(1)
	for range reps {
		t0 := time.Now()
		b.Conv2D(y, x, w, bias, 1, pad)
		b.Download(v, y) // the barrier: the kernel has finished
		best = min(best, time.Since(t0).Seconds())
	}
	if err := b.Err(); err != nil {
		return 0, fmt.Errorf("probing the %s backend: %w", b.Name(), err)
	}
	return 2 * c * c * 9 * hw * hw / 1e9 / max(best, 1e-6), nil
}

// speedMeter accumulates the timed forward passes of a session. The first
// pass of a model is left out: it transforms and packs the weights.
type speedMeter struct {
	mu             sync.Mutex
	gflop, seconds float64
	passes         int
	probe          float64
}

func (m *speedMeter) add(gflop float64, d time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.passes++
	if m.passes == 1 {
		return
	}
	m.gflop += gflop
	m.seconds += d.Seconds()
}

func (m *speedMeter) setProbe(r float64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.probe = r
}

// rate is the speed to assume, in GFLOP/s, and its basis.
func (m *speedMeter) rate() (float64, string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.seconds > 0 {
		return m.gflop / m.seconds, "measured"
	}
	if m.probe > 0 {
		return m.probe, "probe"
	}
	return 0, ""
}
