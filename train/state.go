package train

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/ddpmstudio/ddpmstudio/safetensors"
)

// StoredOptions are the options a checkpoint records: everything that
// shapes the run's numbers, so that --resume continues exactly.
type StoredOptions struct {
	Steps           int     `json:"Steps"`
	Batch           int     `json:"Batch"`
	Warmup          int     `json:"Warmup"`
	CheckpointEvery int     `json:"CheckpointEvery"`
	SampleEvery     int     `json:"SampleEvery"`
	LR              float64 `json:"LR"`
	EMA             float64 `json:"EMA"`
	ClipNorm        float64 `json:"ClipNorm"`
	LabelDropout    float64 `json:"LabelDropout"`
	HFlip           bool    `json:"HFlip"`
	Seed            uint64  `json:"Seed"`
}

func storedOptions(o Options) StoredOptions {
	return StoredOptions{o.Steps, o.Batch, o.Warmup, o.CheckpointEvery, o.SampleEvery, o.LR, o.EMA, o.ClipNorm, o.LabelDropout, o.HFlip, o.Seed}
}

// Apply puts the stored options into o (Log and LogEvery stay).
func (s StoredOptions) Apply(o Options) Options {
	o.Steps, o.Batch, o.Warmup, o.CheckpointEvery, o.SampleEvery = s.Steps, s.Batch, s.Warmup, s.CheckpointEvery, s.SampleEvery
	o.LR, o.EMA, o.ClipNorm, o.LabelDropout, o.HFlip, o.Seed = s.LR, s.EMA, s.ClipNorm, s.LabelDropout, s.HFlip, s.Seed
	return o
}

// Limits a stored run's options must respect (as the flags do).
const (
	maxSteps = 100_000_000
	maxBatch = 4096
)

// Validate checks options from flags or from a state file.
func (o Options) Validate() error {
	switch {
	case o.Steps < 1 || o.Steps > maxSteps:
		return fmt.Errorf("steps = %d, must lie in 1…%d", o.Steps, maxSteps)
	case o.Batch < 1 || o.Batch > maxBatch:
		return fmt.Errorf("batch = %d, must lie in 1…%d", o.Batch, maxBatch)
	case !(o.LR > 0) || o.LR > 1:
		return fmt.Errorf("lr = %v, must lie in (0, 1]", o.LR)
	case o.Warmup < 0 || o.Warmup > maxSteps:
		return fmt.Errorf("warmup = %d, must lie in 0…%d", o.Warmup, maxSteps)
	case !(o.EMA >= 0 && o.EMA < 1):
		return fmt.Errorf("ema = %v, must lie in [0, 1)", o.EMA)
	case !(o.ClipNorm >= 0) || math.IsInf(o.ClipNorm, 0):
		return fmt.Errorf("clip norm = %v, must be finite and not negative", o.ClipNorm)
	case !(o.LabelDropout >= 0 && o.LabelDropout <= 1):
		return fmt.Errorf("label dropout = %v, must lie in [0, 1]", o.LabelDropout)
	case o.CheckpointEvery < 0 || o.CheckpointEvery > maxSteps:
		return fmt.Errorf("checkpoint-every = %d, must lie in 0 (only at the end)…%d", o.CheckpointEvery, maxSteps)
	case o.SampleEvery < 0 || o.SampleEvery > maxSteps:
		return fmt.Errorf("sample-every = %d, must lie in 0…%d", o.SampleEvery, maxSteps)
	}
	return nil
}

// StateMeta is the metadata of training_state.safetensors.
type StateMeta struct {
	Step    int
	RNG     []byte
	Options StoredOptions
	// HasOptions is false for state files written before options were
	// read back (they recorded a subset, or none).
	HasOptions bool
}

// ParseStateMeta checks a state file's metadata: the step, the random
// generator's state and the options, each validated.
func ParseStateMeta(meta map[string]string) (StateMeta, error) {
	var s StateMeta
	step, err := strconv.Atoi(meta["step"])
	if err != nil || step < 0 || step > maxSteps {
		return s, fmt.Errorf("bad step %q", meta["step"])
	}
	s.Step = step
	raw, err := base64.StdEncoding.DecodeString(meta["rng"])
	if err != nil {
		return s, fmt.Errorf("bad random state: %w", err)
	}
	if err := new(rand.PCG).UnmarshalBinary(raw); err != nil {
		return s, fmt.Errorf("bad random state: %w", err)
	}
	s.RNG = raw
	if o, ok := meta["options"]; ok {
		dec := json.NewDecoder(strings.NewReader(o))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&s.Options); err != nil {
			return s, fmt.Errorf("bad options: %w", err)
		}
		opts := s.Options.Apply(DefaultOptions())
		if err := opts.Validate(); err != nil {
			return s, fmt.Errorf("bad options: %w", err)
		}
		if step > s.Options.Steps {
			return s, fmt.Errorf("step %d is past the run's %d steps", step, s.Options.Steps)
		}
		s.HasOptions = true
	}
	return s, nil
}

// ReadStateMeta reads the metadata of the state file in a run folder
// without loading its tensors.
func ReadStateMeta(out string) (StateMeta, error) {
	path := filepath.Join(out, stateFile)
	f, err := safetensors.ReadFile(path)
	if err != nil {
		return StateMeta{}, err
	}
	m, err := ParseStateMeta(f.Metadata)
	if err != nil {
		return m, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}
