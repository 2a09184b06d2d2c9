package diffusion

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"sort"
	"strings"
)

// VarianceType selects the DDPM reverse-process variance, as diffusers names it.
type VarianceType string

// The variance types the DDPM sampler implements.
const (
	FixedSmall   VarianceType = "fixed_small"   // β̃_t, the posterior variance
	FixedLarge   VarianceType = "fixed_large"   // β_t
	LearnedRange VarianceType = "learned_range" // interpolates log β̃_t and log β_t by the model's second half
)

// Prediction says what the model outputs.
type Prediction string

// The parameterisations the samplers accept.
const (
	PredictEpsilon Prediction = "epsilon"
	PredictSample  Prediction = "sample"
	PredictV       Prediction = "v_prediction"
)

// Spacing selects how set_timesteps picks N of the T training timesteps.
type Spacing string

// The spacings of diffusers 0.31.
const (
	Leading  Spacing = "leading"
	Trailing Spacing = "trailing"
	Linspace Spacing = "linspace"
)

// SchedulerConfig is a diffusers scheduler_config.json for the DDPM family
// (DDPMScheduler, DDIMScheduler, RePaintScheduler), with diffusers' defaults.
type SchedulerConfig struct {
	ClassName         string
	NumTrainTimesteps int
	BetaStart         float64
	BetaEnd           float64
	BetaSchedule      Kind
	TrainedBetas      []float64 // when set, replaces BetaSchedule
	VarianceType      VarianceType
	ClipSample        bool
	ClipSampleRange   float64
	PredictionType    Prediction
	TimestepSpacing   Spacing
	StepsOffset       int
	SetAlphaToOne     bool
	Eta               float64 // RePaint's config key; DDIM takes η per run
}

// DefaultSchedulerConfig is what diffusers' DDPMScheduler() gives with no arguments.
func DefaultSchedulerConfig() SchedulerConfig {
	return SchedulerConfig{
		ClassName:         "DDPMScheduler",
		NumTrainTimesteps: 1000,
		BetaStart:         0.0001,
		BetaEnd:           0.02,
		BetaSchedule:      Linear,
		VarianceType:      FixedSmall,
		ClipSample:        true,
		ClipSampleRange:   1,
		PredictionType:    PredictEpsilon,
		TimestepSpacing:   Leading,
		SetAlphaToOne:     true,
	}
}

// schedulerClasses are the _class_name values whose configs describe a
// DDPM-family schedule this package can honour.
var schedulerClasses = map[string]bool{"DDPMScheduler": true, "DDIMScheduler": true, "RePaintScheduler": true}

// LoadSchedulerConfig reads a scheduler_config.json file.
func LoadSchedulerConfig(path string) (SchedulerConfig, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return SchedulerConfig{}, err
	}
	c, err := ParseSchedulerConfig(b)
	if err != nil {
		return SchedulerConfig{}, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// ParseSchedulerConfig parses scheduler_config.json. Every key must be one
// this package honours or diffusers' bookkeeping; a key or value it cannot
// honour is an error naming the key, never a silently different sampler.
func ParseSchedulerConfig(b []byte) (SchedulerConfig, error) {
	c := DefaultSchedulerConfig()
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return c, fmt.Errorf("scheduler config: not a JSON object: %w", err)
	}
	if raw == nil {
		return c, fmt.Errorf("scheduler config: JSON null, not an object")
	}
	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := raw[k]
		if bytes.Equal(bytes.TrimSpace(v), []byte("null")) {
			// diffusers writes null for unset optionals (trained_betas, eta, …);
			// null keeps the default.
			if _, known := configKeys[k]; !known {
				return c, fmt.Errorf("scheduler config: unknown key %q", k)
			}
			continue
		}
		set, known := configKeys[k]
		if !known {
			return c, fmt.Errorf("scheduler config: unknown key %q", k)
		}
		if err := set(&c, v); err != nil {
			return c, fmt.Errorf("scheduler config: key %q: %w", k, err)
		}
	}
	if err := c.Validate(); err != nil {
		return c, fmt.Errorf("scheduler config: %w", err)
	}
	return c, nil
}

// Validate checks the values together; it names the key at fault.
func (c SchedulerConfig) Validate() error {
	if !schedulerClasses[c.ClassName] {
		return fmt.Errorf("_class_name %q is not a DDPM, DDIM or RePaint scheduler", c.ClassName)
	}
	if c.TrainedBetas == nil {
		if c.NumTrainTimesteps < 2 {
			return fmt.Errorf("num_train_timesteps = %d, need at least 2", c.NumTrainTimesteps)
		}
		if _, err := NewSchedule(c.BetaSchedule, c.NumTrainTimesteps, c.BetaStart, c.BetaEnd); err != nil {
			return fmt.Errorf("beta_start/beta_end/beta_schedule: %w", err)
		}
	} else if _, err := FromBetas(c.TrainedBetas); err != nil {
		return fmt.Errorf("trained_betas: %w", err)
	}
	if !(c.ClipSampleRange > 0) || math.IsInf(c.ClipSampleRange, 0) {
		return fmt.Errorf("clip_sample_range = %v, must be positive and finite", c.ClipSampleRange)
	}
	if c.StepsOffset < 0 {
		return fmt.Errorf("steps_offset = %d, must not be negative", c.StepsOffset)
	}
	if math.IsNaN(c.Eta) || c.Eta < 0 || c.Eta > 1 {
		return fmt.Errorf("eta = %v, must lie in [0, 1]", c.Eta)
	}
	return nil
}

// Schedule builds the β schedule the config describes.
func (c SchedulerConfig) Schedule() (*Schedule, error) {
	if c.TrainedBetas != nil {
		return FromBetas(c.TrainedBetas)
	}
	return NewSchedule(c.BetaSchedule, c.NumTrainTimesteps, c.BetaStart, c.BetaEnd)
}

// T is the number of training timesteps.
func (c SchedulerConfig) T() int {
	if c.TrainedBetas != nil {
		return len(c.TrainedBetas)
	}
	return c.NumTrainTimesteps
}

// MarshalJSON writes the config as diffusers would read it.
func (c SchedulerConfig) MarshalJSON() ([]byte, error) {
	m := map[string]any{
		"_class_name":         c.ClassName,
		"num_train_timesteps": c.T(),
		"beta_start":          c.BetaStart,
		"beta_end":            c.BetaEnd,
		"beta_schedule":       string(c.BetaSchedule),
		"trained_betas":       c.TrainedBetas,
		"variance_type":       string(c.VarianceType),
		"clip_sample":         c.ClipSample,
		"clip_sample_range":   c.ClipSampleRange,
		"prediction_type":     string(c.PredictionType),
		"timestep_spacing":    string(c.TimestepSpacing),
		"steps_offset":        c.StepsOffset,
	}
	switch c.ClassName {
	case "DDIMScheduler":
		m["set_alpha_to_one"] = c.SetAlphaToOne
	case "RePaintScheduler":
		m["eta"] = c.Eta
	}
	return json.MarshalIndent(m, "", "  ")
}

type setter func(*SchedulerConfig, json.RawMessage) error

func strictUnmarshal(v json.RawMessage, dst any) error {
	if err := json.Unmarshal(v, dst); err != nil {
		return fmt.Errorf("value %s: %w", v, err)
	}
	return nil
}

func oneOf[T ~string](dst *T, allowed ...T) setter {
	return func(_ *SchedulerConfig, v json.RawMessage) error {
		var s string
		if err := strictUnmarshal(v, &s); err != nil {
			return err
		}
		for _, a := range allowed {
			if T(s) == a {
				*dst = a
				return nil
			}
		}
		names := make([]string, len(allowed))
		for i, a := range allowed {
			names[i] = string(a)
		}
		return fmt.Errorf("value %q is not supported (want one of %s)", s, strings.Join(names, ", "))
	}
}

// mustBe accepts a bookkeeping key only with the value under which ignoring it
// changes nothing.
func mustBe[T comparable](want T, why string) setter {
	return func(_ *SchedulerConfig, v json.RawMessage) error {
		var got T
		if err := strictUnmarshal(v, &got); err != nil {
			return err
		}
		if got != want {
			return fmt.Errorf("value %v is not supported: %s", got, why)
		}
		return nil
	}
}

func ignore(*SchedulerConfig, json.RawMessage) error { return nil }

var configKeys = map[string]setter{
	"_class_name": func(c *SchedulerConfig, v json.RawMessage) error {
		return strictUnmarshal(v, &c.ClassName)
	},
	"_diffusers_version":  ignore,
	"_use_default_values": ignore,
	"tensor_format":       ignore, // written by diffusers 0.1–0.2; only chose numpy or torch
	"num_train_timesteps": func(c *SchedulerConfig, v json.RawMessage) error { return strictUnmarshal(v, &c.NumTrainTimesteps) },
	"beta_start":          func(c *SchedulerConfig, v json.RawMessage) error { return strictUnmarshal(v, &c.BetaStart) },
	"beta_end":            func(c *SchedulerConfig, v json.RawMessage) error { return strictUnmarshal(v, &c.BetaEnd) },
	"beta_schedule": func(c *SchedulerConfig, v json.RawMessage) error {
		var s string
		if err := strictUnmarshal(v, &s); err != nil {
			return err
		}
		k, err := ParseKind(s)
		if err != nil || s == "cosine" {
			return fmt.Errorf("value %q is not supported (want linear, scaled_linear, squaredcos_cap_v2 or sigmoid)", s)
		}
		c.BetaSchedule = k
		return nil
	},
	"trained_betas": func(c *SchedulerConfig, v json.RawMessage) error {
		if err := strictUnmarshal(v, &c.TrainedBetas); err != nil {
			return err
		}
		if c.TrainedBetas == nil {
			c.TrainedBetas = []float64{}
		}
		return nil
	},
	"variance_type": func(c *SchedulerConfig, v json.RawMessage) error {
		return oneOf(&c.VarianceType, FixedSmall, FixedLarge, LearnedRange)(c, v)
	},
	"clip_sample":       func(c *SchedulerConfig, v json.RawMessage) error { return strictUnmarshal(v, &c.ClipSample) },
	"clip_sample_range": func(c *SchedulerConfig, v json.RawMessage) error { return strictUnmarshal(v, &c.ClipSampleRange) },
	"prediction_type": func(c *SchedulerConfig, v json.RawMessage) error {
		return oneOf(&c.PredictionType, PredictEpsilon, PredictSample, PredictV)(c, v)
	},
	"timestep_spacing": func(c *SchedulerConfig, v json.RawMessage) error {
		return oneOf(&c.TimestepSpacing, Leading, Trailing, Linspace)(c, v)
	},
	"steps_offset":     func(c *SchedulerConfig, v json.RawMessage) error { return strictUnmarshal(v, &c.StepsOffset) },
	"set_alpha_to_one": func(c *SchedulerConfig, v json.RawMessage) error { return strictUnmarshal(v, &c.SetAlphaToOne) },
	"eta":              func(c *SchedulerConfig, v json.RawMessage) error { return strictUnmarshal(v, &c.Eta) },
	// Keys diffusers writes whose only supported value is the default.
	"thresholding":               mustBe(false, "dynamic thresholding is not implemented"),
	"rescale_betas_zero_snr":     mustBe(false, "zero-terminal-SNR rescaling is not implemented"),
	"dynamic_thresholding_ratio": ignore, // read only when thresholding is true
	"sample_max_value":           ignore, // read only when thresholding is true
}
