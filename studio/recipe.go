package studio

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/ddpmstudio/ddpmstudio/diffusion"
)

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
	// Betas, with Kind "explicit", is a hand-edited schedule: β_t for
	// t = 0 … T−1. Explicit without Betas means the model's trained betas.
	Betas []float64 `json:"betas,omitempty"`
}

// Equal reports whether two schedules are the same.
func (s Schedule) Equal(o Schedule) bool {
	if s.Kind != o.Kind || s.BetaStart != o.BetaStart || s.BetaEnd != o.BetaEnd || s.T != o.T || len(s.Betas) != len(o.Betas) {
		return false
	}
	for i := range s.Betas {
		if s.Betas[i] != o.Betas[i] {
			return false
		}
	}
	return true
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
	// guidance scale applied with it. AnyClass instead lets the seed choose
	// each sample's class (diffusion.DrawClass, under the seed of the chain's
	// root recipe, since the class belongs to the chain as x_T does).
	// Clip overrides the model's clip_sample (nil: as the model says).
	Clip     *bool   `json:"clip_sample,omitempty"`
	Class    *int    `json:"class,omitempty"`
	AnyClass bool    `json:"any_class,omitempty"`
	Guidance float64 `json:"guidance,omitempty"`
	// Init, for an image-to-image run, is the picture it starts from.
	Init *Init `json:"init,omitempty"`
	// Backend is the backend that computed the picture ("cpu" or "gl"),
	// recorded by the run, not chosen by it: the CPU gives the same bits on
	// every machine, the GL backend agrees with it within a tolerance
	// (docs/determinism.md), so a reproduction can say which promise holds.
	Backend string `json:"backend,omitempty"`
	// Fork, for a run forked from another, is the parent recipe and the
	// event of the parent's plan it continues from; Sampler, Steps (the
	// remaining events), Eta, Seed, Class (or AnyClass) and Guidance are the
	// fork's own.
	Fork *Fork `json:"fork,omitempty"`
	// Checksum covers every other field (see Encode): a recipe edited by
	// hand or damaged is recognised instead of silently drawing something else.
	Checksum string `json:"checksum,omitempty"`
}

// Fork records where a forked run came from.
type Fork struct {
	Parent *Recipe `json:"parent"`
	At     int     `json:"at"`
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
		if s.Betas != nil {
			if len(s.Betas) != s.T {
				return model, false, fmt.Errorf("the schedule lists %d betas for T=%d", len(s.Betas), s.T)
			}
			out := model
			out.TrainedBetas = append([]float64(nil), s.Betas...)
			out.NumTrainTimesteps = s.T
			if _, err := out.Schedule(); err != nil {
				return model, false, err
			}
			return out, !ScheduleOf(model).Equal(s), nil
		}
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
	return out, !ScheduleOf(model).Equal(ScheduleOf(out)), nil
}
