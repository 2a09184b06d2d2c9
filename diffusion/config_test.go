package diffusion

import (
	"strings"
	"testing"
)

// The scheduler_config.json of google/ddpm-cifar10-32 as the Hub serves it,
// written by diffusers 0.1 (with its tensor_format key).
const cifarSchedulerConfig = `{
  "_class_name": "DDPMScheduler",
  "_diffusers_version": "0.1.1",
  "beta_end": 0.02,
  "beta_schedule": "linear",
  "beta_start": 0.0001,
  "clip_sample": true,
  "num_train_timesteps": 1000,
  "tensor_format": "pt",
  "trained_betas": null,
  "variance_type": "fixed_large"
}`

func TestParseSchedulerConfig(t *testing.T) {
	c, err := ParseSchedulerConfig([]byte(cifarSchedulerConfig))
	if err != nil {
		t.Fatal(err)
	}
	if c.VarianceType != FixedLarge || c.T() != 1000 || !c.ClipSample || c.PredictionType != PredictEpsilon || c.TimestepSpacing != Leading {
		t.Errorf("parsed %+v", c)
	}
	c, err = ParseSchedulerConfig([]byte(`{"_class_name":"DDIMScheduler","trained_betas":[0.1,0.2,0.3],"set_alpha_to_one":false,"timestep_spacing":"trailing","prediction_type":"v_prediction"}`))
	if err != nil {
		t.Fatal(err)
	}
	s, err := c.Schedule()
	if err != nil || s.T() != 3 || s.Kind != Explicit || c.SetAlphaToOne || c.TimestepSpacing != Trailing {
		t.Errorf("trained betas: %+v %v", c, err)
	}
	// Round trip through MarshalJSON.
	b, err := c.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	c2, err := ParseSchedulerConfig(b)
	if err != nil || c2.T() != 3 || c2.PredictionType != PredictV || c2.SetAlphaToOne {
		t.Errorf("round trip: %+v, %v\n%s", c2, err, b)
	}
}

func TestParseSchedulerConfigErrors(t *testing.T) {
	cases := []struct{ json, key string }{
		{`{"num_train_timesteps": 1000, "karras_sigmas": true}`, `"karras_sigmas"`},
		{`{"variance_type": "fixed_small_log"}`, `"variance_type"`},
		{`{"prediction_type": "x0"}`, `"prediction_type"`},
		{`{"beta_schedule": "quadratic"}`, `"beta_schedule"`},
		{`{"timestep_spacing": "karras"}`, `"timestep_spacing"`},
		{`{"thresholding": true}`, `"thresholding"`},
		{`{"rescale_betas_zero_snr": true}`, `"rescale_betas_zero_snr"`},
		{`{"num_train_timesteps": "many"}`, `"num_train_timesteps"`},
		{`{"num_train_timesteps": 1}`, `num_train_timesteps`},
		{`{"beta_start": 0.5, "beta_end": 0.1}`, `beta_start`},
		{`{"beta_end": 1.5}`, `beta_end`},
		{`{"trained_betas": []}`, `trained_betas`},
		{`{"_class_name": "EulerDiscreteScheduler"}`, `_class_name`},
		{`{"clip_sample_range": -1}`, `clip_sample_range`},
		{`{"eta": 2}`, `eta`},
		{`{"steps_offset": -1}`, `steps_offset`},
		{`[1,2]`, `not a JSON object`},
		{`null`, `null`},
	}
	for _, c := range cases {
		_, err := ParseSchedulerConfig([]byte(c.json))
		if err == nil || !strings.Contains(err.Error(), c.key) {
			t.Errorf("%s: error %v, want one naming %s", c.json, err, c.key)
		}
	}
}

func FuzzParseSchedulerConfig(f *testing.F) {
	f.Add([]byte(cifarSchedulerConfig))
	f.Add([]byte(`{"trained_betas":[0.1,0.2],"beta_schedule":"sigmoid","num_train_timesteps":2}`))
	f.Add([]byte(`{"beta_schedule":"squaredcos_cap_v2","num_train_timesteps":3,"timestep_spacing":"linspace"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseSchedulerConfig(b)
		if err != nil {
			return
		}
		// Whatever parses must give a usable schedule and samplers.
		s, err := c.Schedule()
		if err != nil {
			t.Fatalf("accepted config has no schedule: %v", err)
		}
		if s.T() != c.T() {
			t.Fatalf("T %d vs %d", s.T(), c.T())
		}
		if c.T() <= 100000 {
			if _, err := NewDDPM(c, 1); err != nil && !strings.Contains(err.Error(), "timestep") {
				t.Fatalf("accepted config gives no sampler: %v", err)
			}
		}
	})
}
