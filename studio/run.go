package studio

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/ddpmstudio/ddpmstudio/diffusion"
)

// DefaultRetention is the memory a run's chain may hold before it keeps
// only every k-th frame (the others are recomputed when asked for).
const DefaultRetention = 1 << 30

// Event is one finished event of a run, delivered to OnEvent. Its slices
// are copies of the sampler's buffers that nothing writes again (a kept
// frame shares them): safe to read from any goroutine, not to modify.
type Event struct {
	Index int // position in the run's plan (a fork counts from its parent's start)
	Total int // events in the plan
	Kind  diffusion.EventKind
	T     int // the timestep the event started from
	Next  int // the timestep it arrived at
	Shape diffusion.Shape
	// X is x at T (the event's input); X0 the predicted clean image (nil for
	// a re-noising event); Eps the model output (ε̂, or what the model
	// predicts) and Noise the first noise tensor drawn, when asked for.
	X, X0, Eps, Noise []float32
	// XNext is x after the event: the finished sample for the last one.
	XNext []float32
}

// StartOptions adjust a run.
type StartOptions struct {
	// OnEvent receives every event of the run's first batch (the one whose
	// chain is recorded), on the run's goroutine, at most once each.
	OnEvent func(Event)
	// WithEps and WithNoise add ε̂ and the drawn noise to events and frames.
	WithEps, WithNoise bool
	// Retention is the chain's memory budget in bytes (DefaultRetention when 0).
	Retention int64
	// Batch is the number of samples per forward pass (Session.DefaultBatch
	// when 0). Forks need the whole recipe in one batch.
	Batch int
	// Progress receives run-wide counts after every event, all batches.
	Progress func(done, total int)
	// Recompute receives the events done of those a fork reruns before its
	// first own event, when it starts between the parent's kept states.
	Recompute func(done, total int)
	// Inputs are the inpainting image and mask the recipe needs.
	Inputs Inputs
}

// Frame is one recorded event of a run's first batch.
type Frame struct {
	Index             int
	Event             diffusion.Event
	X, X0, Eps, Noise []float32
	// Kept tells a frame the run retained from one recomputed on demand.
	Kept bool
}

// Result is a finished (or stopped) run's output.
type Result struct {
	Samples [][]float32 // each C·H·W, in sample order
	Shape   diffusion.Shape
}

// Run is a recipe running (or run) on a session.
type Run struct {
	s       *Session
	recipe  Recipe
	known   *diffusion.Known
	sched   diffusion.SchedulerConfig
	model   diffusion.Denoiser
	labels  labeling
	shape   diffusion.Shape // of the first batch
	batch   int
	opt     StartOptions
	plan    []diffusion.Event // the whole plan, parent events included for a fork
	parent  *Run              // a fork's parent, sharing frames [0, start)
	start   int               // first event this run computes
	initX   []float32         // x at start, for a fork
	ownPlan []diffusion.Event // a fork's own events (nil: the sampler's plan)
	every   int               // retention: every k-th own frame is kept
	frameSz int64
	// replayParent: the parent is a recipe to replay up to the fork (a fork
	// recipe started from scratch), not a live run.
	replayParent bool
	// forkPending: the fork's starting state is still to be read (or
	// recomputed) from the parent when the run starts.
	forkPending bool

	ctx    context.Context
	cancel context.CancelFunc

	mu        sync.Mutex
	frames    map[int]*Frame // own frames kept, by plan index
	shots     map[int]*Shot  // every own step's pictures, by plan index
	shotBytes int64
	done      int       // own events finished (first batch)
	final     []float32 // x after the last event of the first batch
	paused    bool
	resume    chan struct{}
	held      int64
	result    *Result
	err       error
	finishd   chan struct{}
	notice    string
}

// Notice is a remark about the run's inputs for the user ("image and mask
// resized …"), or "".
func (r *Run) Notice() string { return r.notice }

// Start runs the recipe on a worker goroutine and returns at once. The
// recipe is checked first (Session.Check); a recipe with inpainting needs
// opt.Inputs; a fork recipe (Recipe.Fork) replays its parent up to the
// fork point, then continues.
func (s *Session) Start(ctx context.Context, r Recipe, opt StartOptions) (*Run, error) {
	if err := s.Check(r); err != nil {
		return nil, err
	}
	run, err := s.newRun(ctx, r, opt)
	if err != nil {
		return nil, err
	}
	if r.Fork != nil {
		if run.batch < r.Count {
			return nil, fmt.Errorf("a fork runs its samples in one batch: batch %d < count %d", run.batch, r.Count)
		}
		// The parent is replayed silently up to the fork: frames before the
		// fork belong to this run's chain only through recomputation.
		parent, err := s.newRun(ctx, *r.Fork.Parent, StartOptions{Batch: run.batch, Retention: 1})
		if err != nil {
			return nil, fmt.Errorf("fork parent: %w", err)
		}
		if err := run.setForkPlan(parent, r.Fork.At); err != nil {
			return nil, err
		}
		run.replayParent = true
	}
	return s.launch(run)
}

// newRun binds a recipe to the session without starting it.
func (s *Session) newRun(ctx context.Context, r Recipe, opt StartOptions) (*Run, error) {
	r.Backend = s.info.Backend
	sched, _, err := s.schedulerFor(r)
	if err != nil {
		return nil, err
	}
	model, labels, err := s.conditioning(r)
	if err != nil {
		return nil, err
	}
	if r.Init != nil {
		in := *r.Init
		r.Init = &in // prepareInit fills in the hash: not the caller's copy
	}
	var known *diffusion.Known
	var notice string
	if r.Inpaint != nil {
		ip := *r.Inpaint
		r.Inpaint = &ip // PrepareInpaint fills in hashes: not the caller's copy
		if known, notice, err = s.PrepareInpaint(&r, opt.Inputs); err != nil {
			return nil, err
		}
	}
	batch := opt.Batch
	if batch <= 0 {
		batch = s.DefaultBatch()
	}
	batch = min(batch, r.Count)
	run := &Run{s: s, recipe: r, known: known, sched: sched, model: model, labels: labels, batch: batch, opt: opt,
		frames: map[int]*Frame{}, shots: map[int]*Shot{}, finishd: make(chan struct{}), notice: notice}
	run.shape = s.Shape()
	run.shape.N = batch
	smp, err := run.sampler()
	if err != nil {
		return nil, err
	}
	run.plan = smp.Plan()
	if r.Init != nil {
		run.batch = r.Count // every sample starts from the picture in one pass
		run.shape.N = r.Count
		if err := run.prepareInit(opt.Inputs); err != nil {
			return nil, err
		}
	}
	run.ctx, run.cancel = context.WithCancel(ctx)
	return run, nil
}

// sampler builds a fresh sampler for the recipe (and, for a fork, its plan).
func (r *Run) sampler() (diffusion.Sampler, error) {
	rc := r.recipe
	if rc.Sampler == RePaint {
		return diffusion.NewRePaint(r.sched, rc.Steps, rc.Inpaint.JumpLength, rc.Inpaint.JumpNSample, rc.Eta, *r.known)
	}
	var inner diffusion.Sampler
	var err error
	switch rc.Sampler {
	case DDPM:
		inner, err = diffusion.NewDDPM(r.sched, min(rc.Steps, r.sched.NumTrainTimesteps))
	case DDIM:
		// use_clipped_model_output: with clip_sample, diffusers' default
		// pairs a clipped x̂0 with the unclipped ε, which breaks strokes under
		// guidance; re-deriving ε from the clipped x̂0 keeps the step
		// consistent (DDIM's own formulation).
		inner, err = diffusion.NewDDIM(r.sched, min(rc.Steps, r.sched.NumTrainTimesteps), rc.Eta, true)
	default:
		return nil, fmt.Errorf("unknown sampler %q (want ddpm, ddim or repaint)", rc.Sampler)
	}
	if err != nil {
		return nil, err
	}
	if r.ownPlan != nil {
		if err := inner.(interface{ SetPlan([]diffusion.Event) error }).SetPlan(r.ownPlan); err != nil {
			return nil, err
		}
	}
	if rc.Inpaint != nil {
		if rc.Inpaint.Method != Replace {
			return nil, fmt.Errorf("inpainting method %q with sampler %s (want replace, or the repaint sampler)", rc.Inpaint.Method, rc.Sampler)
		}
		return diffusion.NewReplace(inner, *r.known), nil
	}
	return inner, nil
}

// launch plans run's retention, makes it the session's active run and
// starts its loop: the one way Start and Fork set a run going.
func (s *Session) launch(run *Run) (*Run, error) {
	run.planRetention()
	if err := s.claim(run); err != nil {
		return nil, err
	}
	go run.loop()
	return run, nil
}

func (s *Session) claim(run *Run) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.active != nil {
		select {
		case <-s.active.finishd:
		default:
			return ErrBusy
		}
	}
	s.active = run
	return nil
}

// Recipe is the run's recipe.
func (r *Run) Recipe() Recipe { return r.recipe }

// Plan is the run's whole plan (for a fork: the parent's events before the
// fork, then the fork's own).
func (r *Run) Plan() []diffusion.Event { return append([]diffusion.Event(nil), r.plan...) }

// PlanLen is len(Plan()) without the copy: a timeline asks it every frame.
func (r *Run) PlanLen() int { return len(r.plan) }

// EventAt is Plan()[i] without the copy (i in [0, PlanLen())).
func (r *Run) EventAt(i int) diffusion.Event { return r.plan[i] }

// Shape is the shape of the recorded batch.
func (r *Run) Shape() diffusion.Shape { return r.shape }

// Start is the first event the run computes (0, or a fork's fork point).
func (r *Run) StartIndex() int { return r.start }

// Parent is a fork's parent run (nil otherwise).
func (r *Run) Parent() *Run { return r.parent }

// Len is the number of events recorded so far: those of the parent before
// a fork, plus this run's finished events.
func (r *Run) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.start + r.done
}

// Final is x after the last event of the first batch (nil until then).
func (r *Run) Final() []float32 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.final
}

// KeepEvery is the retention stride: 1 when every frame is kept.
func (r *Run) KeepEvery() int { return r.every }

// Pause holds the run after the event in progress; no event is delivered
// until Resume.
func (r *Run) Pause() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.paused {
		r.paused, r.resume = true, make(chan struct{})
	}
}

// Resume continues a paused run.
func (r *Run) Resume() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.paused {
		r.paused = false
		close(r.resume)
	}
}

// Paused reports whether the run is paused.
func (r *Run) Paused() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.paused
}

// Cancel stops the run within one event (a forward pass in progress stops
// at its next U-Net block). The chain so far stays readable.
func (r *Run) Cancel() { r.cancel() }

// Done is closed when the run has ended.
func (r *Run) Done() <-chan struct{} { return r.finishd }

// Wait blocks until the run ends and returns its result: the samples of
// every finished batch, and ctx's error when it was cancelled.
func (r *Run) Wait() (*Result, error) {
	<-r.finishd
	return r.result, r.err
}

// frameBytes is the size of one retained frame.
func (r *Run) frameBytes() int64 {
	n := int64(2)
	if r.opt.WithEps {
		n++
	}
	if r.opt.WithNoise {
		n++
	}
	return n * 4 * int64(r.shape.Len())
}

// keep decides, from the budget, which own frames are retained.
func (r *Run) planRetention() {
	r.frameSz = r.frameBytes()
	budget := r.opt.Retention
	if budget <= 0 {
		budget = DefaultRetention
	}
	own := int64(len(r.plan) - r.start)
	r.every = 1
	if own*r.frameSz > budget {
		r.every = int((own*r.frameSz + budget - 1) / budget)
	}
}

func (r *Run) kept(i int) bool {
	own := i - r.start
	return own%r.every == 0 || i == len(r.plan)-1
}

// loop runs the batches.
func (r *Run) loop() {
	defer close(r.finishd)
	defer r.cancel()
	res := &Result{Shape: r.s.Shape()}
	r.result = res
	if r.replayParent {
		x, err := r.parent.replayTo(r.ctx, r.start)
		if err != nil {
			r.err = err
			return
		}
		r.initX = x
	}
	if r.forkPending {
		f, err := r.parent.frame(r.ctx, r.start, r.opt.Recompute)
		if err != nil {
			r.err = err
			return
		}
		r.initX = f.X
	}
	total := (len(r.plan) - r.start) * ((r.recipe.Count + r.batch - 1) / r.batch)
	for b := 0; b*r.batch < r.recipe.Count; b++ {
		n := min(r.batch, r.recipe.Count-b*r.batch)
		first := b == 0
		smp, err := r.sampler()
		if err != nil {
			r.err = err
			return
		}
		shape := r.shape
		shape.N = n
		classes := r.classes(r.recipe.First+b*r.batch, n)
		doneBefore := b * (len(r.plan) - r.start)
		p := diffusion.Params{
			Model: r.model, Sampler: smp, Shape: shape, Seed: r.recipe.Seed, Classes: classes,
			FirstSample: r.recipe.First + b*r.batch,
			Progress: func(pr diffusion.Progress) {
				if r.opt.Progress != nil {
					r.opt.Progress(doneBefore+pr.Done, total)
				}
			},
		}
		if r.ownPlan != nil {
			if b > 0 {
				r.err = errors.New("a fork runs in one batch")
				return
			}
			p.Init, p.NoiseOffset = r.initX, r.start
		}
		if first {
			p.RecordNoise = r.opt.WithNoise
			p.OnFrame = r.record
		}
		chain, err := diffusion.Sample(r.ctx, p)
		if first && chain != nil {
			r.mu.Lock()
			r.final = append([]float32(nil), chain.Final...)
			r.mu.Unlock()
		}
		if err != nil {
			r.err = err
			return
		}
		per := shape.SampleLen()
		for i := 0; i < n; i++ {
			res.Samples = append(res.Samples, append([]float32(nil), chain.Final[i*per:(i+1)*per]...))
		}
	}
}

// record is the first batch's OnFrame: it keeps the frame if retention
// says so, delivers the event, then holds while paused.
func (r *Run) record(f diffusion.Frame) {
	i := f.Index + r.start // a fork's sampler counts from its own start
	fr := &Frame{Index: i, Event: f.Event, X: clone(f.X), X0: clone(f.X0), Kept: true}
	if r.opt.WithEps {
		fr.Eps = clone(f.ModelOutput)
	}
	if r.opt.WithNoise {
		fr.Noise = clone(f.Noise)
	}
	sh := shotOf(fr)
	r.mu.Lock()
	if r.kept(i) {
		r.frames[i] = fr
		r.held += r.frameSz
	}
	r.shots[i] = sh
	r.shotBytes += sh.bytes()
	r.done++
	r.mu.Unlock()
	if r.opt.OnEvent != nil {
		ev := Event{Index: i, Total: len(r.plan), Kind: f.Event.Kind, T: f.Event.T, Next: f.Event.Next, Shape: r.shape,
			X: fr.X, X0: fr.X0, Eps: fr.Eps, Noise: fr.Noise}
		r.opt.OnEvent(ev)
	}
	r.waitWhilePaused()
}

func (r *Run) waitWhilePaused() {
	r.mu.Lock()
	ch, paused := r.resume, r.paused
	r.mu.Unlock()
	if !paused {
		return
	}
	select {
	case <-ch:
	case <-r.ctx.Done():
	}
}

func clone(v []float32) []float32 {
	if v == nil {
		return nil
	}
	return append([]float32(nil), v...)
}

// ErrNotRecorded is returned for frames past what the run has computed.
var ErrNotRecorded = errors.New("frame not recorded (yet)")

// Frame returns frame i of the recorded batch: retained, or recomputed
// from the nearest retained frame before it (bit-identical: the noise is a
// pure function of seed and step). Frames before a fork are the parent's.
func (r *Run) Frame(ctx context.Context, i int) (Frame, error) {
	return r.frame(ctx, i, nil)
}

// frame is Frame, reporting the events a recomputation runs to progress.
func (r *Run) frame(ctx context.Context, i int, progress func(done, total int)) (Frame, error) {
	if i < 0 || i >= len(r.plan) {
		return Frame{}, fmt.Errorf("frame %d outside the plan of %d events", i, len(r.plan))
	}
	if i < r.start {
		if r.parent == nil {
			return Frame{}, fmt.Errorf("frame %d: the run starts at event %d", i, r.start)
		}
		return r.parent.frame(ctx, i, progress)
	}
	r.mu.Lock()
	f, ok := r.frames[i]
	recorded := i < r.start+r.done
	r.mu.Unlock()
	if ok {
		return *f, nil
	}
	if !recorded {
		return Frame{}, fmt.Errorf("%w: frame %d of %d", ErrNotRecorded, i, len(r.plan))
	}
	base := i - (i-r.start)%r.every
	r.mu.Lock()
	bf := r.frames[base]
	r.mu.Unlock()
	if bf == nil {
		return Frame{}, fmt.Errorf("frame %d: the kept frame %d is missing", i, base)
	}
	return r.recompute(ctx, bf, i, progress)
}

// recompute runs the events from kept frame bf up to and including i with
// a fresh sampler, and returns frame i.
func (r *Run) recompute(ctx context.Context, bf *Frame, i int, progress func(done, total int)) (Frame, error) {
	smp, err := r.sampler()
	if err != nil {
		return Frame{}, err
	}
	classes := r.classes(r.recipe.First, r.shape.N)
	var out Frame
	p := diffusion.Params{
		Model: r.model, Sampler: smp, Shape: r.shape, Seed: r.recipe.Seed, Classes: classes,
		FirstSample: r.recipe.First, Start: bf.Index - r.start, End: i - r.start + 1,
		Init: bf.X, NoiseOffset: r.start, RecordNoise: r.opt.WithNoise,
		Progress: func(pr diffusion.Progress) {
			if progress != nil {
				progress(pr.Done, i-bf.Index+1)
			}
		},
		OnFrame: func(f diffusion.Frame) {
			if f.Index+r.start == i {
				out = Frame{Index: i, Event: f.Event, X: clone(f.X), X0: clone(f.X0)}
				if r.opt.WithEps {
					out.Eps = clone(f.ModelOutput)
				}
				if r.opt.WithNoise {
					out.Noise = clone(f.Noise)
				}
			}
		},
	}
	if _, err := diffusion.Sample(ctx, p); err != nil {
		return Frame{}, err
	}
	return out, nil
}

// classes are the labels of samples first…first+n−1 of the run, or nil for
// a model without classes.
func (r *Run) classes(first, n int) []int {
	if !r.s.info.Conditional {
		return nil
	}
	c := make([]int, n)
	for i := range c {
		c[i] = r.labels.label(first + i)
	}
	return c
}
