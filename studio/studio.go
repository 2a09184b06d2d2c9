// Package studio is the engine shared by the command line and the GUI: a
// Recipe says everything needed to reproduce a picture (model and its hash,
// sampler, steps, η, schedule, seed, sample indices, inpainting), and a Job
// turns a recipe, a model and optional inpainting inputs into samples and a
// recorded chain. It holds no kernels and no widgets.
package studio

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/ddpmstudio/ddpmstudio/diffusion"
	"github.com/ddpmstudio/ddpmstudio/unet"
)

// Version is the program version written into every recipe.
const Version = "0.1.0"

// EmbeddedModel names the embedded default model in recipes and settings. A
// model folder is recorded by its path, and a folder whose path happens to
// spell this name is recorded as "./" + name (see ModelName), so the two can
// never be confused.
const EmbeddedModel = "embedded:default"

// legacyEmbeddedModel is how recipes written before 0.1.1 named the embedded
// model; it is read as EmbeddedModel unless a folder of that name exists.
const legacyEmbeddedModel = "default"

// ModelName is the name a recipe records for the model loaded from dir
// ("" = the embedded model).
func ModelName(dir string) string {
	if dir == "" {
		return EmbeddedModel
	}
	c := filepath.Clean(dir)
	if c == EmbeddedModel {
		return "./" + c
	}
	return c
}

// IsEmbedded reports whether a recipe's model name means the embedded model.
func IsEmbedded(name string) bool {
	if name == "" || name == EmbeddedModel {
		return true
	}
	if name == legacyEmbeddedModel {
		st, err := os.Stat(name)
		return err != nil || !st.IsDir()
	}
	return false
}

// Samplers the recipes name.
const (
	DDPM    = "ddpm"
	DDIM    = "ddim"
	RePaint = "repaint"
	Replace = "replace"
)

// Schedule is the β schedule a run used.
type Schedule struct {
	Kind      string  `json:"kind"` // diffusers' beta_schedule, or "explicit" for a model's trained betas
	BetaStart float64 `json:"beta_start"`
	BetaEnd   float64 `json:"beta_end"`
	T         int     `json:"timesteps"`
}

// Inpaint records an inpainting run's settings and inputs.
type Inpaint struct {
	Method      string `json:"method"` // repaint or replace
	JumpLength  int    `json:"jump_length,omitempty"`
	JumpNSample int    `json:"jump_n_sample,omitempty"`
	Image       string `json:"image"`
	ImageHash   string `json:"image_sha256"`
	Mask        string `json:"mask"`
	MaskHash    string `json:"mask_sha256"`
	InvertMask  bool   `json:"invert_mask,omitempty"`
}

// Recipe is the full description of a picture, stored in its PNG.
type Recipe struct {
	Program   string   `json:"program"`
	Model     string   `json:"model"`
	ModelHash string   `json:"model_sha256"`
	Sampler   string   `json:"sampler"`
	Steps     int      `json:"steps"`
	Eta       float64  `json:"eta"`
	Schedule  Schedule `json:"schedule"`
	Seed      uint64   `json:"seed"`
	// First is the index of the first sample in the seed's stream and Count
	// how many samples the picture shows.
	First   int      `json:"first_sample"`
	Count   int      `json:"count"`
	Inpaint *Inpaint `json:"inpaint,omitempty"`
	// Class is the requested class label of a class-conditional model (nil:
	// unconditional, the null class) and Guidance the classifier-free
	// guidance scale applied with it.
	Class    *int    `json:"class,omitempty"`
	Guidance float64 `json:"guidance,omitempty"`
	// Checksum covers every other field (see Encode): a recipe edited by
	// hand or damaged is recognised instead of silently drawing something else.
	Checksum string `json:"checksum,omitempty"`
}

// Encode returns the recipe as the JSON text of a PNG's "parameters" chunk.
// The checksum is computed over the recipe itself, so the text carries it.
func (r Recipe) Encode() string {
	r.Checksum = r.checksum()
	b, _ := json.Marshal(r)
	return string(b)
}

// DecodeRecipe parses the text of a "parameters" chunk.
func DecodeRecipe(s string) (Recipe, error) {
	var r Recipe
	dec := json.NewDecoder(strings.NewReader(s))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return r, fmt.Errorf("recipe: %w", err)
	}
	if dec.More() {
		return r, errors.New("recipe: text after the JSON object")
	}
	if !strings.HasPrefix(r.Program, "DDPM Studio") {
		return r, fmt.Errorf("recipe: written by %q, not DDPM Studio", r.Program)
	}
	if r.Checksum != "" {
		if want := r.checksum(); r.Checksum != want {
			return r, fmt.Errorf("recipe: %w: it says %s, its settings give %s; the recipe was edited or damaged", ErrChecksum, r.Checksum, want)
		}
	}
	return r, nil
}

// HashFile is the hex SHA-256 of a file's bytes.
func HashFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// HashBytes is the hex SHA-256 of b.
func HashBytes(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// ScheduleOf describes a scheduler config's schedule.
func ScheduleOf(c diffusion.SchedulerConfig) Schedule {
	if c.TrainedBetas != nil {
		return Schedule{Kind: string(diffusion.Explicit), T: len(c.TrainedBetas)}
	}
	return Schedule{Kind: string(c.BetaSchedule), BetaStart: c.BetaStart, BetaEnd: c.BetaEnd, T: c.NumTrainTimesteps}
}

// ApplySchedule returns the model's scheduler config with the recipe's
// schedule put in, and whether that differs from what the model was trained
// with (which callers warn about: exploring it is allowed).
func ApplySchedule(model diffusion.SchedulerConfig, s Schedule) (diffusion.SchedulerConfig, bool, error) {
	if s.Kind == string(diffusion.Explicit) {
		if model.TrainedBetas == nil || len(model.TrainedBetas) != s.T {
			return model, false, fmt.Errorf("recipe asks for the model's explicit betas (T=%d), the model has none of that length", s.T)
		}
		return model, false, nil
	}
	kind, err := diffusion.ParseKind(s.Kind)
	if err != nil {
		return model, false, err
	}
	out := model
	out.TrainedBetas = nil
	out.BetaSchedule, out.BetaStart, out.BetaEnd, out.NumTrainTimesteps = kind, s.BetaStart, s.BetaEnd, s.T
	if _, err := out.Schedule(); err != nil {
		return model, false, err
	}
	return out, ScheduleOf(model) != ScheduleOf(out), nil
}

// Job is one run: a recipe bound to a model.
type Job struct {
	Recipe    Recipe
	Model     diffusion.Denoiser
	Scheduler diffusion.SchedulerConfig // with the recipe's schedule applied
	Shape     diffusion.Shape           // of one sample: N is ignored
	Batch     int                       // samples per forward pass
	Known     *diffusion.Known          // inpainting inputs, for RePaint and Replace
	// Null is the model's null class label, −1 when it has none, and
	// Conditional whether the model takes class labels at all.
	Null        int
	Conditional bool
	// KeepEvery records the chain of the first batch every k-th event (0: none).
	KeepEvery int
	// Progress is called after every event with the run-wide counts.
	Progress func(done, total int)
}

// NewSampler builds the recipe's sampler.
func (j *Job) NewSampler() (diffusion.Sampler, error) {
	r := j.Recipe
	if r.Steps < 1 {
		return nil, fmt.Errorf("steps = %d, must be at least 1", r.Steps)
	}
	if r.Inpaint != nil && j.Known == nil {
		return nil, errors.New("inpainting recipe without an image and mask")
	}
	if r.Sampler == RePaint {
		if r.Inpaint == nil || r.Inpaint.Method != RePaint {
			return nil, errors.New("the repaint sampler needs RePaint inpainting settings")
		}
		return diffusion.NewRePaint(j.Scheduler, r.Steps, r.Inpaint.JumpLength, r.Inpaint.JumpNSample, r.Eta, *j.Known)
	}
	var inner diffusion.Sampler
	var err error
	switch r.Sampler {
	case DDPM:
		inner, err = diffusion.NewDDPM(j.Scheduler, r.Steps)
	case DDIM:
		// use_clipped_model_output: with clip_sample, diffusers' default
		// pairs a clipped x̂0 with the unclipped ε, which breaks strokes under
		// guidance; re-deriving ε from the clipped x̂0 keeps the step
		// consistent (DDIM's own formulation).
		inner, err = diffusion.NewDDIM(j.Scheduler, r.Steps, r.Eta, true)
	default:
		return nil, fmt.Errorf("unknown sampler %q (want ddpm or ddim)", r.Sampler)
	}
	if err != nil {
		return nil, err
	}
	if r.Inpaint != nil {
		if r.Inpaint.Method != Replace {
			return nil, fmt.Errorf("inpainting method %q with sampler %s (want replace, or the repaint sampler)", r.Inpaint.Method, r.Sampler)
		}
		return diffusion.NewReplace(inner, *j.Known), nil
	}
	return inner, nil
}

// Result holds a job's samples (each C·H·W) and the recorded chain of its
// first batch.
type Result struct {
	Samples [][]float32
	Chain   *diffusion.Chain
}

// Run samples Recipe.Count images in batches. It stops within one step when
// ctx is cancelled.
func (j *Job) Run(ctx context.Context) (*Result, error) {
	r := j.Recipe
	if r.Count < 1 {
		return nil, fmt.Errorf("count = %d, must be at least 1", r.Count)
	}
	batch := max(1, min(j.Batch, r.Count))
	probe, err := j.NewSampler()
	if err != nil {
		return nil, err
	}
	perBatch := len(probe.Plan())
	batches := (r.Count + batch - 1) / batch
	model, label, err := j.conditioning()
	if err != nil {
		return nil, err
	}
	total := perBatch * batches
	res := &Result{}
	for b := 0; b < batches; b++ {
		n := min(batch, r.Count-b*batch)
		s := probe
		if b > 0 {
			if s, err = j.NewSampler(); err != nil {
				return nil, err
			}
		}
		shape := j.Shape
		shape.N = n
		keep := 0
		if b == 0 {
			keep = j.KeepEvery
		}
		done := b * perBatch
		var classes []int
		if j.Conditional {
			classes = make([]int, n)
			for i := range classes {
				classes[i] = label
			}
		}
		chain, err := diffusion.Sample(ctx, diffusion.Params{
			Model: model, Sampler: s, Shape: shape, Seed: r.Seed, Classes: classes,
			FirstSample: r.First + b*batch, KeepEvery: keep,
			Progress: func(p diffusion.Progress) {
				if j.Progress != nil {
					j.Progress(done+p.Done, total)
				}
			},
		})
		if err != nil {
			return nil, err
		}
		if b == 0 {
			res.Chain = chain
		}
		per := shape.SampleLen()
		for i := 0; i < n; i++ {
			res.Samples = append(res.Samples, append([]float32(nil), chain.Final[i*per:(i+1)*per]...))
		}
	}
	return res, nil
}

// conditioning resolves the recipe's class and guidance against the model:
// the denoiser to call and the label every sample gets.
func (j *Job) conditioning() (diffusion.Denoiser, int, error) {
	r := j.Recipe
	if !j.Conditional {
		if r.Class != nil {
			return nil, 0, errors.New("--class: this model is not class-conditional")
		}
		if r.Guidance != 0 && r.Guidance != 1 {
			return nil, 0, errors.New("--guidance: this model is not class-conditional")
		}
		return j.Model, 0, nil
	}
	if r.Class == nil {
		if j.Null < 0 {
			return nil, 0, errors.New("this class-conditional model has no null class: pass --class")
		}
		if r.Guidance != 0 && r.Guidance != 1 {
			return nil, 0, errors.New("--guidance needs --class")
		}
		return j.Model, j.Null, nil
	}
	g := r.Guidance // 0 is a valid scale: the null-class prediction alone
	if g == 1 {
		return j.Model, *r.Class, nil
	}
	if j.Null < 0 {
		return nil, 0, errors.New("--guidance: this model has no null class to guide against")
	}
	return &diffusion.Guided{Model: j.Model, Null: j.Null, Scale: g}, *r.Class, nil
}

// ModelInfo summarises a loaded model for `info` and the GUI.
func ModelInfo(l *unet.Loaded) string {
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
	fmt.Fprintf(&b, "parameters   %d\n", l.Model.ParamCount())
	fmt.Fprintf(&b, "FLOPs        %.3g GFLOP per forward at batch 1\n", l.Model.FLOPs(c.SampleSize[0], c.SampleSize[1])/1e9)
	s := l.Scheduler
	src := l.Folder.Scheduler
	if !l.HasScheduler {
		src = "none in the folder; diffusers' DDPM defaults"
	}
	sch := ScheduleOf(s)
	fmt.Fprintf(&b, "scheduler    %s (%s)\n", s.ClassName, src)
	fmt.Fprintf(&b, "schedule     %s, T=%d, β %g → %g\n", sch.Kind, sch.T, sch.BetaStart, sch.BetaEnd)
	fmt.Fprintf(&b, "variance     %s, prediction %s, clip_sample %v (range %g), spacing %s\n", s.VarianceType, s.PredictionType, s.ClipSample, s.ClipSampleRange, s.TimestepSpacing)
	return b.String()
}
