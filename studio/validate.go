package studio

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"strings"

	"github.com/ddpmstudio/ddpmstudio/diffusion"
)

// Limits on what a recipe may ask for, whoever wrote it (flags, a PNG, the
// app). They keep a hand-edited or hostile recipe from running for days.
const (
	MaxCount       = 4096    // samples in one picture or folder
	MaxSampleIndex = 1 << 31 // first_sample + count stays below this
	MaxSteps       = 100_000
	MaxTimesteps   = 100_000
	MaxJumpNSample = 100
	MaxGuidance    = 50
	MaxEvents      = 1_000_000 // events of one run (RePaint's plan grows with its jumps)
)

// FieldError is a recipe setting that is out of range. Field is the
// recipe's JSON key (e.g. "eta", "inpaint.jump_n_sample"); the CLI turns it
// into a flag name, the app into a widget.
type FieldError struct {
	Field string
	Value any
	Why   string
}

func (e *FieldError) Error() string { return fmt.Sprintf("%s = %v: %s", e.Field, e.Value, e.Why) }

func fieldErr(field string, value any, why string, args ...any) error {
	return &FieldError{Field: field, Value: value, Why: fmt.Sprintf(why, args...)}
}

// Validate checks every setting of the recipe that does not depend on the
// model: the same rules for a recipe built from flags, read from a PNG or
// made by the app. Model-dependent checks (class range, explicit betas)
// happen when the recipe is bound to a model.
func (r Recipe) Validate() error {
	switch r.Sampler {
	case DDPM, DDIM, RePaint:
	default:
		return fieldErr("sampler", r.Sampler, "want ddpm, ddim or repaint")
	}
	if r.Steps < 1 || r.Steps > MaxSteps {
		return fieldErr("steps", r.Steps, "must lie in 1…%d", MaxSteps)
	}
	if math.IsNaN(r.Eta) || r.Eta < 0 || r.Eta > 1 {
		return fieldErr("eta", r.Eta, "must lie in [0, 1]")
	}
	if r.Count < 1 || r.Count > MaxCount {
		return fieldErr("count", r.Count, "must lie in 1…%d", MaxCount)
	}
	if r.First < 0 || r.First > MaxSampleIndex-r.Count {
		return fieldErr("first_sample", r.First, "must lie in 0…%d for %d samples", MaxSampleIndex-r.Count, r.Count)
	}
	if math.IsNaN(r.Guidance) || r.Guidance < 0 || r.Guidance > MaxGuidance {
		return fieldErr("guidance", r.Guidance, "must lie in [0, %d]", MaxGuidance)
	}
	if r.Class != nil && *r.Class < 0 {
		return fieldErr("class", *r.Class, "must not be negative")
	}
	if r.Class != nil && r.AnyClass {
		return fieldErr("class", *r.Class, "a recipe names a class or lets the seed choose one (any_class), not both")
	}
	if r.ModelHash != "" && !isHexHash(r.ModelHash) {
		return fieldErr("model_sha256", r.ModelHash, "not a SHA-256 in hex")
	}
	if err := r.Schedule.validate(); err != nil {
		return err
	}
	if r.Steps > r.Schedule.T {
		return fieldErr("steps", r.Steps, "exceeds the schedule's %d timesteps", r.Schedule.T)
	}
	if (r.Sampler == RePaint) != (r.Inpaint != nil && r.Inpaint.Method == RePaint) {
		return fieldErr("sampler", r.Sampler, "the repaint sampler goes with inpaint.method repaint, and only with it")
	}
	if r.Inpaint != nil {
		if err := r.Inpaint.validate(r.Schedule.T, r.Steps); err != nil {
			return err
		}
	}
	if r.Init != nil {
		if err := r.Init.validate(); err != nil {
			return err
		}
		if r.Inpaint != nil || r.Fork != nil || r.Sampler == RePaint {
			return fieldErr("init", r.Init.Image, "an image-to-image run is neither an inpainting nor a fork")
		}
	}
	if r.Fork != nil {
		depth := 0
		for q := r.Fork; q != nil && q.Parent != nil; q = q.Parent.Fork {
			if depth++; depth > MaxForkDepth {
				return fieldErr("fork", depth, "forks nest deeper than %d", MaxForkDepth)
			}
		}
		return r.Fork.validate(r)
	}
	return nil
}

// MaxForkDepth bounds how many forks a recipe may stack.
const MaxForkDepth = 64

func (f *Fork) validate(child Recipe) error {
	p := f.Parent
	if p == nil {
		return fieldErr("fork.parent", nil, "a fork needs its parent recipe")
	}
	if err := p.Validate(); err != nil {
		return fmt.Errorf("fork parent: %w", err)
	}
	if f.At < 0 || f.At >= MaxEvents {
		return fieldErr("fork.at", f.At, "must lie in 0…%d", MaxEvents-1)
	}
	if p.ModelHash != child.ModelHash || p.Count != child.Count || p.First != child.First || !p.Schedule.Equal(child.Schedule) {
		return fieldErr("fork", "parent", "a fork keeps its parent's model, samples and schedule")
	}
	if child.Inpaint != nil || p.Inpaint != nil {
		return fieldErr("fork", "inpaint", "forks of inpainting runs are not supported")
	}
	return nil
}

func (s Schedule) validate() error {
	if s.T < 2 || s.T > MaxTimesteps {
		return fieldErr("schedule.timesteps", s.T, "must lie in 2…%d", MaxTimesteps)
	}
	if s.Kind == string(diffusion.Explicit) {
		if s.Betas != nil {
			if len(s.Betas) != s.T {
				return fieldErr("schedule.betas", len(s.Betas), "lists %d betas for %d timesteps", len(s.Betas), s.T)
			}
			if _, err := diffusion.FromBetas(s.Betas); err != nil {
				return fieldErr("schedule.betas", "…", "%v", err)
			}
		}
		return nil
	}
	kind, err := diffusion.ParseKind(s.Kind)
	if err != nil {
		return fieldErr("schedule.kind", s.Kind, "%v", err)
	}
	if _, err := diffusion.NewSchedule(kind, s.T, s.BetaStart, s.BetaEnd); err != nil {
		return fieldErr("schedule", fmt.Sprintf("%s T=%d β %g to %g", s.Kind, s.T, s.BetaStart, s.BetaEnd), "%v", err)
	}
	return nil
}

func (in *Inpaint) validate(T, steps int) error {
	switch in.Method {
	case RePaint:
		if in.JumpLength < 1 || in.JumpLength > T {
			return fieldErr("inpaint.jump_length", in.JumpLength, "must lie in 1…%d", T)
		}
		if in.JumpNSample < 1 || in.JumpNSample > MaxJumpNSample {
			return fieldErr("inpaint.jump_n_sample", in.JumpNSample, "must lie in 1…%d", MaxJumpNSample)
		}
		// Each jump re-noises jump_length steps and walks them down again,
		// jump_n_sample − 1 times: bound the whole plan.
		if ev := float64(steps) * (1 + 2*float64(in.JumpNSample-1)); ev > MaxEvents {
			return fieldErr("inpaint.jump_n_sample", in.JumpNSample, "with %d steps the run would have about %.0f events, above %d", steps, ev, MaxEvents)
		}
	case Replace:
	default:
		return fieldErr("inpaint.method", in.Method, "want repaint or replace")
	}
	for _, p := range []struct{ key, v string }{{"inpaint.image", in.Image}, {"inpaint.mask", in.Mask}} {
		if filepath.IsAbs(p.v) {
			return fieldErr(p.key, p.v, "recipes store relative paths or base names, not absolute paths")
		}
	}
	for _, h := range []struct{ key, v string }{{"inpaint.image_sha256", in.ImageHash}, {"inpaint.mask_sha256", in.MaskHash}} {
		if h.v != "" && !isHexHash(h.v) {
			return fieldErr(h.key, h.v, "not a SHA-256 in hex")
		}
	}
	return nil
}

func isAbs(p string) bool { return filepath.IsAbs(p) }

func isHexHash(s string) bool {
	if len(s) != 64 {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil && strings.ToLower(s) == s
}

// ErrChecksum is wrapped when a recipe's text does not match its checksum.
var ErrChecksum = errors.New("recipe checksum mismatch")

// checksum is the SHA-256 (first 16 hex digits) of the recipe's JSON with
// the checksum field empty.
func (r Recipe) checksum() string {
	r.Checksum = ""
	b, _ := json.Marshal(r)
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:8])
}
