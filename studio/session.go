package studio

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/ddpmstudio/ddpmstudio/assets"
	"github.com/ddpmstudio/ddpmstudio/diffusion"
	"github.com/ddpmstudio/ddpmstudio/hub"
	"github.com/ddpmstudio/ddpmstudio/unet"
	"github.com/ddpmstudio/ddpmstudio/unet/cpu"
)

// Backends a session may run on.
const (
	BackendAuto = "auto"
	BackendCPU  = "cpu"
	BackendGL   = "gl"
)

// ErrNoGL is wrapped when the gl backend was asked for and cannot be had.
var ErrNoGL = errors.New("the OpenGL compute backend is not available here")

// OpenOptions adjust how a model is opened.
type OpenOptions struct {
	Backend        string // auto (default), cpu or gl
	AllowNonFinite bool   // accept NaN/Inf weights (refused by default)
	// Progress receives download progress when a Hub model is fetched;
	// Variant asks for a weights variant ("fp16") where the repo has one.
	Progress func(hub.Progress)
	Variant  string
}

// ModelInfo describes an opened model, as data.
type ModelInfo struct {
	Name    string // as recipes record it: EmbeddedModel or the folder path
	Weights string // the weights file, for messages
	Hash    string // SHA-256 of the weights file's bytes
	Params  int
	Height  int
	Width   int
	// Channels of a sample; OutChannels is 2·Channels for learned variance.
	Channels, OutChannels int
	// Classes is the number of class labels (0: unconditional); NullClass
	// is the label used for "no class" (classifier-free guidance), or −1.
	Classes   int
	NullClass int
	// Conditional is true when the model takes class labels at all.
	Conditional bool
	// Trained is the schedule the model was trained with (its
	// scheduler_config.json, or diffusers' defaults when HasScheduler is false).
	Trained      Schedule
	HasScheduler bool
	FLOPs        float64 // per forward pass at batch 1
	Backend      string  // the backend in use
	BackendNote  string  // why it was chosen, when auto had to choose
}

// Session is an opened model: the one engine object the CLI and the app
// hold. See the package documentation for what may run concurrently.
type Session struct {
	info   ModelInfo
	loaded *unet.Loaded
	model  *lockedModel
	meter  *speedMeter // the passes timed, for Estimate

	mu     sync.Mutex
	active *Run
}

// ErrBusy is returned by Start and Fork while another run is active.
var ErrBusy = errors.New("a run is already in progress on this model")

// Open loads the model folder dir ("" or EmbeddedModel: the embedded
// default model) and returns its session. Reading honours ctx.
func Open(ctx context.Context, dir string, opt OpenOptions) (*Session, error) {
	b, note, err := chooseBackend(opt.Backend)
	if err != nil {
		return nil, err
	}
	s, err := openOn(ctx, dir, b, opt)
	if err != nil {
		b.Close()
		return nil, err
	}
	s.info.BackendNote = note
	return s, nil
}

// OpenOn is Open on a backend the caller made (and closes).
func OpenOn(ctx context.Context, dir string, b unet.Backend) (*Session, error) {
	return openOn(ctx, dir, b, OpenOptions{})
}

func openOn(ctx context.Context, dir string, b unet.Backend, opt OpenOptions) (*Session, error) {
	if c, ok := b.(*cpu.Backend); ok {
		// A session only samples: each kernel is kept in the one form its
		// products read (420 of a 256² model's 455 MB are kernels).
		c.ForInference()
	}
	var l *unet.Loaded
	var err error
	name := ModelName(dir)
	if IsEmbedded(dir) {
		fsys, ok := assets.DefaultModel()
		if !ok {
			return nil, errors.New("this build has no embedded default model; open a diffusers UNet2DModel folder")
		}
		l, err = unet.LoadFS(fsys, EmbeddedModel, b)
		name = EmbeddedModel
	} else {
		// A folder of that name wins over a Hub id, as in diffusers.
		if _, statErr := os.Stat(dir); statErr != nil {
			if repo, rev, ok := ParseRepoID(dir); ok {
				cached, commit, err := ResolveHub(ctx, repo, rev, opt.Variant, opt.Progress)
				if err != nil {
					return nil, err
				}
				dir, name = cached, repo+"@"+commit // recipes name the exact commit
			}
		}
		l, err = unet.LoadContext(ctx, dir, b, unet.LoadOptions{AllowNonFinite: opt.AllowNonFinite})
	}
	if err != nil {
		return nil, err
	}
	s := NewSession(l, name)
	s.info.Backend = b.Name()
	return s, nil
}

// chooseBackend resolves the backend setting. auto takes a hardware GPU
// through OpenGL ≥ 4.3 and otherwise the CPU — never a software renderer
// such as llvmpipe, which is slower than the CPU path — and says why.
func chooseBackend(b string) (unet.Backend, string, error) {
	switch b {
	case "", BackendAuto:
		g, renderer, err := openGL()
		if err != nil {
			return cpu.New(), "auto chose the CPU: " + err.Error(), nil
		}
		if !g.Caps().Hardware {
			g.Close()
			return cpu.New(), "auto chose the CPU: the GL renderer " + renderer + " is a software renderer, slower than the CPU path", nil
		}
		return g, "auto chose the GPU: " + renderer, nil
	case BackendCPU:
		return cpu.New(), "", nil
	case BackendGL:
		g, renderer, err := openGL()
		if err != nil {
			return nil, "", fmt.Errorf("%w: %v", ErrNoGL, err)
		}
		return g, "GL: " + renderer, nil
	}
	return nil, "", fmt.Errorf("backend %q: want auto, cpu or gl", b)
}

// Close releases the model and its backend.
func (s *Session) Close() {
	s.loaded.Model.Close()
	s.loaded.Model.Backend().Close()
}

// NewSession wraps an already loaded model (name as recipes should record it).
func NewSession(l *unet.Loaded, name string) *Session {
	c := l.Model.Config
	info := ModelInfo{
		Name: name, Weights: l.Folder.Weights, Hash: l.WeightsHash, Params: l.Model.ParamCount(),
		Height: c.SampleSize[0], Width: c.SampleSize[1], Channels: c.InChannels, OutChannels: c.OutChannels,
		Classes: c.NumClassEmbeds, NullClass: c.NullClass, Conditional: c.HasClasses(),
		Trained: ScheduleOf(l.Scheduler), HasScheduler: l.HasScheduler,
		FLOPs: l.Model.FLOPs(c.SampleSize[0], c.SampleSize[1]), Backend: BackendCPU,
	}
	meter := &speedMeter{}
	return &Session{info: info, loaded: l, meter: meter, model: &lockedModel{m: l.Model, meter: meter, flops: info.FLOPs}}
}

// Info describes the model.
func (s *Session) Info() ModelInfo { return s.info }

// Curves evaluates a schedule for plots and read-outs.
func (s *Session) Curves(sch Schedule) (*Curves, error) {
	return ScheduleCurves(sch, s.loaded.Scheduler)
}

// Scheduler is the model's scheduler config (as trained).
func (s *Session) Scheduler() diffusion.SchedulerConfig { return s.loaded.Scheduler }

// Loaded is the loaded model folder (for export and the CLI's info).
func (s *Session) Loaded() *unet.Loaded { return s.loaded }

// Shape is the shape of one sample.
func (s *Session) Shape() diffusion.Shape {
	return diffusion.Shape{N: 1, C: s.info.Channels, H: s.info.Height, W: s.info.Width}
}

// RandomSeed draws a seed from the operating system, kept below 2⁶³ so
// that tools reading int64 show it unchanged.
func RandomSeed() uint64 {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand does not fail on supported systems
	}
	return binary.LittleEndian.Uint64(b[:]) >> 1
}

// DefaultRecipe is the recipe a new run starts from: the sampler given
// (DDPM over every training step, DDIM or others in at most 50), η 0, a
// random seed, one sample, the model's trained schedule, unconditional.
func (s *Session) DefaultRecipe(sampler string) Recipe {
	r := Recipe{Program: "DDPM Studio " + Version, Model: s.info.Name, ModelHash: s.info.Hash,
		Sampler: sampler, Seed: RandomSeed(), Count: 1, Schedule: s.info.Trained}
	if sampler == DDPM {
		r.Steps = r.Schedule.T
	} else {
		r.Steps = min(50, r.Schedule.T)
	}
	return r
}

// DefaultGuidance is the guidance scale a class request gets unless it says
// otherwise: 2 for a model trained with a null class (what the embedded
// model's class agreement was measured at), else 1 (no guidance).
func (s *Session) DefaultGuidance() float64 {
	if s.info.NullClass >= 0 {
		return 2
	}
	return 1
}

// Check validates r for this model: Recipe.Validate, then the class and
// guidance against the model's labels, and the schedule against the model.
func (s *Session) Check(r Recipe) error {
	if err := r.Validate(); err != nil {
		return err
	}
	if _, _, err := s.schedulerFor(r); err != nil {
		return err
	}
	_, _, err := s.conditioning(r)
	return err
}

// schedulerFor is the model's scheduler config with the recipe's schedule.
func (s *Session) schedulerFor(r Recipe) (diffusion.SchedulerConfig, bool, error) {
	sc, changed, err := ApplySchedule(s.loaded.Scheduler, r.Schedule)
	if err != nil {
		return sc, false, &FieldError{Field: "schedule", Value: r.Schedule.Kind, Why: err.Error()}
	}
	if r.Clip != nil {
		sc.ClipSample = *r.Clip
	}
	return sc, changed, nil
}

// labeling is how a run labels its samples: every sample fixed, or (any > 0)
// each sample's class drawn from seed over any labels.
type labeling struct {
	fixed int
	any   int
	seed  uint64
}

// label is the class of sample n of the run.
func (l labeling) label(n int) int {
	if l.any > 0 {
		return diffusion.DrawClass(l.seed, n, l.any)
	}
	return l.fixed
}

// rootSeed is the seed of the recipe a chain of forks started from.
func (r Recipe) rootSeed() uint64 {
	for r.Fork != nil && r.Fork.Parent != nil {
		r = *r.Fork.Parent
	}
	return r.Seed
}

// conditioning resolves the recipe's class and guidance against the model:
// the denoiser to call and how every sample is labelled.
func (s *Session) conditioning(r Recipe) (diffusion.Denoiser, labeling, error) {
	var model diffusion.Denoiser = s.model
	null := s.info.NullClass
	if !s.info.Conditional {
		if r.Class != nil {
			return nil, labeling{}, &FieldError{Field: "class", Value: *r.Class, Why: "this model is not class-conditional"}
		}
		if r.AnyClass {
			return nil, labeling{}, &FieldError{Field: "any_class", Value: true, Why: "this model is not class-conditional"}
		}
		if r.Guidance != 0 && r.Guidance != 1 {
			return nil, labeling{}, &FieldError{Field: "guidance", Value: r.Guidance, Why: "this model is not class-conditional"}
		}
		return model, labeling{}, nil
	}
	if r.Class == nil && !r.AnyClass {
		if null < 0 {
			return nil, labeling{}, &FieldError{Field: "class", Value: "none", Why: "this class-conditional model has no null class: pass a class"}
		}
		if r.Guidance != 0 && r.Guidance != 1 {
			return nil, labeling{}, &FieldError{Field: "guidance", Value: r.Guidance, Why: "guidance needs a class"}
		}
		return model, labeling{fixed: null}, nil
	}
	labels := s.info.Classes
	if null >= 0 {
		labels-- // the null class is not a class to ask for
	}
	var l labeling
	if r.AnyClass {
		if labels <= 0 {
			return nil, l, &FieldError{Field: "any_class", Value: true, Why: "the model's config does not say how many classes it has"}
		}
		l = labeling{any: labels, seed: r.rootSeed()}
	} else {
		c := *r.Class
		if s.info.Classes > 0 && (c < 0 || c >= labels) {
			return nil, l, &FieldError{Field: "class", Value: c, Why: fmt.Sprintf("the model has class labels 0–%d", labels-1)}
		}
		l.fixed = c
	}
	g := r.Guidance // 0 is a valid scale: the null-class prediction alone
	if g == 1 {
		return model, l, nil
	}
	if null < 0 {
		return nil, l, &FieldError{Field: "guidance", Value: g, Why: "this model has no null class to guide against"}
	}
	return &diffusion.Guided{Model: model, Null: null, Scale: g}, l, nil
}

// DefaultBatch sizes batches by the activations of one sample, computed
// from the config: small models sample many images per pass (far faster
// per image), large ones one.
func (s *Session) DefaultBatch() int {
	c := s.loaded.Model.Config
	per, err := unet.ActivationBytes(c, 1, c.SampleSize[0], c.SampleSize[1])
	if err != nil {
		return 1
	}
	return int(max(1, min(32, (64<<20)/max(1, per))))
}

// CheckBatch refuses a batch whose activations exceed budget bytes
// (unet.DefaultActivationBudget when ≤ 0), before any work, in one line
// that names the largest batch that fits; guidance doubles the batch.
func (s *Session) CheckBatch(r Recipe, batch int, budget int64) error {
	n := max(1, min(batch, r.Count))
	k := 1
	if (r.Class != nil || r.AnyClass) && r.Guidance != 1 {
		k = 2
	}
	if budget <= 0 {
		budget = unet.DefaultActivationBudget
	}
	c, h, w := s.loaded.Model.Config, s.info.Height, s.info.Width
	need, err := unet.ActivationBytes(c, k*n, h, w)
	if err != nil {
		return err
	}
	if need <= budget {
		return nil
	}
	fit, err := unet.LargestBatch(c, h, w, k*n-1, budget) // k·n does not fit
	if err != nil {
		return err
	}
	lo := fit / k // the largest batch whose k passes' batch fits
	head := fmt.Sprintf("batch %d needs %.2f GiB of activations on %d×%d, above the budget of %.2f GiB", n, float64(need)/(1<<30), h, w, float64(budget)/(1<<30))
	if lo == 0 {
		return fmt.Errorf("%s; not even one sample fits", head)
	}
	return fmt.Errorf("%s; the largest batch that fits is %d", head, lo)
}

// Describe is the model's description as text, for `info`.
func (s *Session) Describe() string {
	l := s.loaded
	c := l.Model.Config
	var b strings.Builder
	fmt.Fprintf(&b, "model        %s\n", l.Folder.Config)
	fmt.Fprintf(&b, "sample       %d×%d, %d channel(s) in, %d out", c.SampleSize[0], c.SampleSize[1], c.InChannels, c.OutChannels)
	if c.OutChannels == 2*c.InChannels {
		b.WriteString(" (learned variance)")
	}
	fmt.Fprintf(&b, "\nblocks       %v channels, %d layers per block\n", c.BlockOutChannels, c.LayersPerBlock)
	fmt.Fprintf(&b, "down         %s\nup           %s\n", strings.Join(c.DownBlockTypes, ", "), strings.Join(c.UpBlockTypes, ", "))
	if c.HasClasses() {
		fmt.Fprintf(&b, "classes      %d", c.NumClassEmbeds)
		if c.NullClass >= 0 {
			fmt.Fprintf(&b, " (label %d is the null class: classifier-free guidance)", c.NullClass)
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "parameters   %d\n", s.info.Params)
	fmt.Fprintf(&b, "FLOPs        %.3g GFLOP per forward at batch 1\n", s.info.FLOPs/1e9)
	sc := l.Scheduler
	src := l.Folder.Scheduler
	if !l.HasScheduler {
		src = "none in the folder; diffusers' DDPM defaults"
	}
	sch := s.info.Trained
	fmt.Fprintf(&b, "scheduler    %s (%s)\n", sc.ClassName, src)
	fmt.Fprintf(&b, "schedule     %s, T=%d, β %g → %g\n", sch.Kind, sch.T, sch.BetaStart, sch.BetaEnd)
	fmt.Fprintf(&b, "variance     %s, prediction %s, clip_sample %v (range %g), spacing %s\n", sc.VarianceType, sc.PredictionType, sc.ClipSample, sc.ClipSampleRange, sc.TimestepSpacing)
	fmt.Fprintf(&b, "backend      %s\n", s.info.Backend)
	return b.String()
}

// lockedModel lets runs and frame recomputations share one model, one
// forward pass at a time (the model reuses its activation buffers).
// Each pass is timed for the session's estimates.
type lockedModel struct {
	mu    sync.Mutex
	m     *unet.Model
	meter *speedMeter
	flops float64 // per sample
}

func (l *lockedModel) Predict(ctx context.Context, x []float32, shape diffusion.Shape, t []int, classes []int) ([]float32, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	t0 := time.Now()
	out, err := l.m.Predict(ctx, x, shape, t, classes)
	if err != nil {
		return nil, err
	}
	if l.meter != nil {
		l.meter.add(float64(shape.N)*l.flops/1e9, time.Since(t0))
	}
	// The model reuses its output buffer on the next call, which may come
	// from another goroutine once the lock is released.
	return append([]float32(nil), out...), nil
}
