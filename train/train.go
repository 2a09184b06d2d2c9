// Package train trains a diffusers UNet2DModel with the DDPM objective on
// the CPU: ε-prediction MSE at uniformly drawn timesteps, AdamW with warm-up
// and cosine decay, global-norm gradient clipping, an EMA copy of the
// weights (what gets exported), optional horizontal flips, and label dropout
// to a null class so one model samples both conditionally and
// unconditionally (classifier-free guidance).
//
// Every CheckpointEvery steps it writes, atomically, a diffusers model
// folder (config.json, diffusion_pytorch_model.safetensors with the EMA
// weights, scheduler_config.json) and training_state.safetensors (weights,
// EMA, Adam moments, step, random state), so a run resumes exactly.
package train

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/ddpmstudio/ddpmstudio/internal/detmath"
	"io"
	"math"
	"math/rand/v2"
	"path/filepath"
	"strconv"
	"time"

	"github.com/ddpmstudio/ddpmstudio/diffusion"
	"github.com/ddpmstudio/ddpmstudio/internal/atomicfile"
	"github.com/ddpmstudio/ddpmstudio/safetensors"
	"github.com/ddpmstudio/ddpmstudio/unet"
	"github.com/ddpmstudio/ddpmstudio/unet/cpu"
)

// Options configure a run.
type Options struct {
	Steps           int
	Batch           int
	LR              float64
	Warmup          int     // linear warm-up steps
	EMA             float64 // EMA decay
	ClipNorm        float64 // global gradient-norm clip; 0 = none
	LabelDropout    float64 // probability of training a sample as the null class
	HFlip           bool
	Seed            uint64
	CheckpointEvery int
	SampleEvery     int // 0: at checkpoints
	// StopAt, when positive, ends Run at that step with a checkpoint, leaving
	// the run's schedule (set by Steps) as it is: the model a run would have
	// at that step, to evaluate or ship before the run ends. Not stored: a
	// resumed run continues past it.
	StopAt int
	// Log receives one progress line every LogEvery steps.
	Log      io.Writer
	LogEvery int
}

// DefaultOptions are the settings the default model was trained with.
func DefaultOptions() Options {
	return Options{Steps: 12000, Batch: 32, LR: 1e-3, Warmup: 200, EMA: 0.999, ClipNorm: 1, LabelDropout: 0.1,
		Seed: 1, CheckpointEvery: 250, SampleEvery: 1000, LogEvery: 25}
}

// SchedulerConfig is the noise schedule models are trained with: diffusers'
// DDPMScheduler defaults (linear β 1e-4 → 0.02, T = 1000, fixed_small, ε).
func SchedulerConfig() diffusion.SchedulerConfig { return diffusion.DefaultSchedulerConfig() }

// Trainer holds a run's state.
type Trainer struct {
	Opts    Options
	Model   *unet.Model
	Data    *Dataset
	Out     string
	Sched   *diffusion.Schedule
	Step    int
	rng     *rand.Rand
	pcg     *rand.PCG
	tape    *unet.Tape
	params  [][]float32 // live views of the model's CPU tensors
	ema     [][]float32
	m, v    [][]float32
	history []Record
	null    int // the null class label, -1 for unconditional models
}

// Record is one logged step.
type Record struct {
	Step int
	Loss float64
	LR   float64
}

// New prepares a run of a fresh model of cfg (on the CPU) on data.
func New(cfg unet.Config, data *Dataset, out string, opts Options) (*Trainer, error) {
	if err := checkCompatible(cfg, data); err != nil {
		return nil, err
	}
	if cfg.NumClassEmbeds > 0 {
		cfg.NullClass = cfg.NumClassEmbeds - 1
	}
	m, err := unet.New(cfg, opts.Seed, cpu.New())
	if err != nil {
		return nil, err
	}
	return newTrainer(m, data, out, opts)
}

func checkCompatible(cfg unet.Config, data *Dataset) error {
	if cfg.InChannels != data.C || cfg.SampleSize != [2]int{data.H, data.W} {
		return fmt.Errorf("the config wants %d×%d×%d samples, the data is %d×%d×%d", cfg.InChannels, cfg.SampleSize[0], cfg.SampleSize[1], data.C, data.H, data.W)
	}
	if cfg.OutChannels != cfg.InChannels {
		return fmt.Errorf("out_channels %d: training predicts ε, so out_channels must equal in_channels (%d)", cfg.OutChannels, cfg.InChannels)
	}
	if cfg.NumClassEmbeds > 0 {
		if len(data.Classes) == 0 {
			return fmt.Errorf("the config is class-conditional (num_class_embeds %d) but the data has no classes", cfg.NumClassEmbeds)
		}
		if cfg.NumClassEmbeds != len(data.Classes)+1 {
			return fmt.Errorf("num_class_embeds must be classes + 1 (the null class) = %d, the config says %d", len(data.Classes)+1, cfg.NumClassEmbeds)
		}
	}
	if cfg.ClassEmbedType != "" {
		return errors.New("class_embed_type \"timestep\" is not supported for training; use num_class_embeds")
	}
	return nil
}

func newTrainer(m *unet.Model, data *Dataset, out string, opts Options) (*Trainer, error) {
	if err := opts.Validate(); err != nil {
		return nil, fmt.Errorf("invalid options: %w", err)
	}
	sched, err := SchedulerConfig().Schedule()
	if err != nil {
		return nil, err
	}
	tape, err := m.NewTape()
	if err != nil {
		return nil, err
	}
	t := &Trainer{Opts: opts, Model: m, Data: data, Out: out, Sched: sched, tape: tape, null: -1}
	t.pcg = rand.NewPCG(opts.Seed, 0xda7a)
	t.rng = rand.New(t.pcg)
	for _, p := range m.Params() {
		d := p.Tensor.(*cpu.Tensor).Data
		t.params = append(t.params, d)
		t.ema = append(t.ema, append([]float32(nil), d...))
		t.m = append(t.m, make([]float32, len(d)))
		t.v = append(t.v, make([]float32, len(d)))
	}
	if m.Config.NumClassEmbeds > 0 {
		t.null = m.Config.NumClassEmbeds - 1
	}
	return t, nil
}

// LR is the learning rate at a step: linear warm-up, then cosine decay to a
// tenth of the peak at the last step.
func (t *Trainer) LR(step int) float64 {
	o := t.Opts
	if step < o.Warmup {
		return o.LR * float64(step+1) / float64(o.Warmup)
	}
	frac := float64(step-o.Warmup) / math.Max(1, float64(o.Steps-o.Warmup))
	return o.LR * (0.1 + float64(0.9*0.5*(1+detmath.Cos(math.Pi*min(frac, 1)))))
}

// TrainStep draws a batch, takes one optimizer step and returns the loss.
func (t *Trainer) TrainStep() (float64, error) {
	d, o := t.Data, t.Opts
	n, per := o.Batch, d.C*d.H*d.W
	x := make([]float32, n*per)
	eps := make([]float32, n*per)
	ts := make([]float32, n)
	var classes []int
	if t.null >= 0 {
		classes = make([]int, n)
	}
	for b := 0; b < n; b++ {
		i := t.rng.IntN(d.Len())
		img := d.Images[i]
		flip := o.HFlip && t.rng.IntN(2) == 1
		step := t.rng.IntN(t.Sched.T())
		ts[b] = float32(step)
		a, s := t.Sched.SqrtAlphaBar(step), t.Sched.SqrtOneMinusAlphaBar(step)
		for c := 0; c < d.C; c++ {
			for y := 0; y < d.H; y++ {
				for xx := 0; xx < d.W; xx++ {
					src := xx
					if flip {
						src = d.W - 1 - xx
					}
					j := (c*d.H+y)*d.W + xx
					e := t.normal()
					eps[b*per+j] = e
					x[b*per+j] = float32(a*img[(c*d.H+y)*d.W+src]) + float32(s*e)
				}
			}
		}
		if classes != nil {
			classes[b] = d.Labels[i]
			if t.rng.Float64() < o.LabelDropout {
				classes[b] = t.null
			}
		}
	}
	t.tape.ZeroGrad()
	out, err := t.tape.Forward(x, n, d.H, d.W, ts, classes)
	if err != nil {
		return 0, err
	}
	dOut := make([]float32, len(out))
	var loss float64
	for i := range out {
		diff := out[i] - eps[i]
		loss += float64(float64(diff) * float64(diff))
		dOut[i] = 2 * diff / float32(len(out))
	}
	loss /= float64(len(out))
	if math.IsNaN(loss) || math.IsInf(loss, 0) {
		return loss, fmt.Errorf("step %d: loss is %v; lower --lr", t.Step, loss)
	}
	if err := t.tape.Backward(dOut); err != nil {
		return 0, err
	}
	t.update(t.tape.Grads())
	t.Step++
	return loss, nil
}

// update is AdamW (no weight decay: DDPM trains without it) after global
// norm clipping, then the EMA.
func (t *Trainer) update(grads [][]float32) {
	o := t.Opts
	scale := float32(1)
	if o.ClipNorm > 0 {
		var sq float64
		for _, g := range grads {
			for _, v := range g {
				sq += float64(float64(v) * float64(v))
			}
		}
		if norm := math.Sqrt(sq); norm > o.ClipNorm {
			scale = float32(o.ClipNorm / norm)
		}
	}
	const b1, b2, epsAdam = 0.9, 0.999, 1e-8
	step := float64(t.Step + 1)
	lr := t.LR(t.Step)
	c1 := 1 - detmath.PowInt(b1, t.Step+1)
	c2 := 1 - detmath.PowInt(b2, t.Step+1)
	alpha := float32(lr * math.Sqrt(c2) / c1)
	decay := float32(min(o.EMA, (1+step)/(10+step)))
	for i, g := range grads {
		p, m, v, e := t.params[i], t.m[i], t.v[i], t.ema[i]
		for j, gv := range g {
			gv *= scale
			m[j] = float32(b1*m[j]) + float32((1-b1)*gv)
			v[j] = float32(b2*v[j]) + float32((1-b2)*gv*gv)
			p[j] -= alpha * m[j] / (float32(math.Sqrt(float64(v[j]))) + epsAdam)
			e[j] = float32(decay*e[j]) + float32((1-decay)*p[j])
		}
	}
	for _, p := range t.Model.Params() {
		p.Tensor.(*cpu.Tensor).Touch()
	}
}

// Run trains until Opts.Steps (or Opts.StopAt), checkpointing as it goes.
// It returns ctx's error after writing a checkpoint when cancelled.
func (t *Trainer) Run(ctx context.Context) error {
	o := t.Opts
	start, startStep := time.Now(), t.Step
	var window float64
	var windowN int
	end := o.Steps
	if o.StopAt > 0 {
		end = min(end, o.StopAt)
	}
	for t.Step < end {
		if err := ctx.Err(); err != nil {
			if cerr := t.Checkpoint(); cerr != nil {
				return cerr
			}
			return err
		}
		loss, err := t.TrainStep()
		if err != nil {
			return err
		}
		t.history = append(t.history, Record{Step: t.Step, Loss: loss, LR: t.LR(t.Step - 1)})
		window += loss
		windowN++
		if o.Log != nil && o.LogEvery > 0 && (t.Step%o.LogEvery == 0 || t.Step == o.Steps) {
			el := time.Since(start).Seconds()
			rate := float64(t.Step-startStep) / el
			eta := time.Duration(float64(o.Steps-t.Step)/rate) * time.Second
			fmt.Fprintf(o.Log, "step %d/%d  loss %.4f (mean of last %d %.4f)  lr %.2g  %.2f steps/s  ETA %s\n",
				t.Step, o.Steps, loss, windowN, window/float64(windowN), t.LR(t.Step-1), rate, eta.Round(time.Second))
			window, windowN = 0, 0
		}
		if o.CheckpointEvery > 0 && t.Step%o.CheckpointEvery == 0 || t.Step == end {
			if err := t.Checkpoint(); err != nil {
				return err
			}
			every := o.SampleEvery
			if every <= 0 {
				every = o.CheckpointEvery
			}
			if every > 0 && (t.Step%every == 0 || t.Step == end) {
				if err := t.SampleGrid(ctx, filepath.Join(t.Out, "samples.png")); err != nil && ctx.Err() == nil {
					return err
				}
			}
		}
	}
	return nil
}

// EMAModel returns a model holding the EMA weights (sharing nothing with the
// training weights).
func (t *Trainer) EMAModel() (*unet.Model, error) {
	w := &unet.Weights{Source: "EMA", Tensors: map[string]unet.WeightTensor{}}
	for i, p := range t.Model.Params() {
		w.Tensors[p.Name] = unet.WeightTensor{Dims: p.Dims, Data: append([]float32(nil), t.ema[i]...)}
	}
	return unet.FromWeights(t.Model.Config, w, cpu.New())
}

const stateFile = "training_state.safetensors"

// Checkpoint writes the model folder (EMA weights) and the training state.
func (t *Trainer) Checkpoint() error {
	ema, err := t.EMAModel()
	if err != nil {
		return err
	}
	sc := SchedulerConfig()
	if err := ema.Save(t.Out, false, &sc); err != nil {
		return err
	}
	var tensors []safetensors.Tensor
	for i, p := range t.Model.Params() {
		tensors = append(tensors,
			safetensors.FromFloat32("param/"+p.Name, p.Dims, t.params[i]),
			safetensors.FromFloat32("ema/"+p.Name, p.Dims, t.ema[i]),
			safetensors.FromFloat32("adam_m/"+p.Name, p.Dims, t.m[i]),
			safetensors.FromFloat32("adam_v/"+p.Name, p.Dims, t.v[i]))
	}
	rngState, err := t.pcg.MarshalBinary()
	if err != nil {
		return err
	}
	opts, _ := json.Marshal(storedOptions(t.Opts))
	meta := map[string]string{"step": strconv.Itoa(t.Step), "rng": base64.StdEncoding.EncodeToString(rngState), "options": string(opts)}
	if err := atomicfile.Write(filepath.Join(t.Out, stateFile), func(w io.Writer) error { return safetensors.Write(w, tensors, meta) }); err != nil {
		return err
	}
	if err := t.writeLog(); err != nil {
		return err
	}
	return nil
}

// Resume loads the training state in out into a trainer of cfg.
func Resume(cfg unet.Config, data *Dataset, out string, opts Options) (*Trainer, error) {
	if err := checkCompatible(cfg, data); err != nil {
		return nil, err
	}
	if cfg.NumClassEmbeds > 0 {
		cfg.NullClass = cfg.NumClassEmbeds - 1
	}
	path := filepath.Join(out, stateFile)
	f, err := safetensors.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("resume: %w", err)
	}
	meta, err := ParseStateMeta(f.Metadata)
	if err != nil {
		return nil, fmt.Errorf("resume: %s: %w", path, err)
	}
	w := &unet.Weights{Source: path, Tensors: map[string]unet.WeightTensor{}}
	for _, name := range f.Names {
		if len(name) > 6 && name[:6] == "param/" {
			v, dims, err := f.Float32(name)
			if err != nil {
				return nil, err
			}
			w.Tensors[name[6:]] = unet.WeightTensor{Dims: dims, Data: v}
		}
	}
	m, err := unet.FromWeights(cfg, w, cpu.New())
	if err != nil {
		return nil, fmt.Errorf("resume: %w", err)
	}
	t, err := newTrainer(m, data, out, opts)
	if err != nil {
		return nil, err
	}
	for i, p := range m.Params() {
		for _, part := range []struct {
			prefix string
			dst    []float32
		}{{"ema/", t.ema[i]}, {"adam_m/", t.m[i]}, {"adam_v/", t.v[i]}} {
			v, _, err := f.Float32(part.prefix + p.Name)
			if err != nil {
				return nil, fmt.Errorf("resume: %s: %w", path, err)
			}
			copy(part.dst, v)
		}
	}
	t.Step = meta.Step
	if err := t.pcg.UnmarshalBinary(meta.RNG); err != nil {
		return nil, fmt.Errorf("resume: %s: bad random state: %w", path, err)
	}
	t.history, _ = readLog(filepath.Join(out, "loss.csv"), t.Step)
	return t, nil
}

// normal is a standard normal draw by Box–Muller from two of the trainer's
// uniforms, through detmath's log and cos: the same bits on every CPU
// (math/rand's NormFloat64 calls math.Exp, assembly that rounds
// differently on arm64 and on amd64 with and without FMA).
func (t *Trainer) normal() float32 {
	u1 := float64(t.rng.Uint64()>>11+1) / (1 << 53) // (0, 1]
	u2 := float64(t.rng.Uint64()>>11) / (1 << 53)   // [0, 1)
	r := math.Sqrt(-2 * detmath.Log(u1))
	return float32(float64(r * detmath.Cos(float64(2*math.Pi*u2))))
}
