package diffusion_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ddpmstudio/ddpmstudio/diffusion"
	"github.com/ddpmstudio/ddpmstudio/internal/golden"
	"github.com/ddpmstudio/ddpmstudio/safetensors"
)

// Tolerances: the README of the fixtures records, per file, the largest
// float32-vs-float64 difference of diffusers' own run; we allow 10× that.
const tolFactor = 10

func mustF32(t *testing.T, f *safetensors.File, name string) []float32 {
	t.Helper()
	v, _, err := f.Float32(name)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func mustF64(t *testing.T, f *safetensors.File, name string) []float64 {
	t.Helper()
	v, _, err := f.Float64(name)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func mustI64(t *testing.T, f *safetensors.File, name string) []int64 {
	t.Helper()
	v, _, err := f.Int64(name)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func maxAbsDiff32(a, b []float32) float64 {
	m := 0.0
	for i := range a {
		d := math.Abs(float64(a[i]) - float64(b[i]))
		if math.IsNaN(d) {
			return math.Inf(1)
		}
		m = max(m, d)
	}
	return m
}

// scheduleSettings is how one schedule of a fixture was made.
type scheduleSettings struct {
	BetaSchedule string  `json:"beta_schedule"`
	T            int     `json:"num_train_timesteps"`
	BetaStart    float64 `json:"beta_start"`
	BetaEnd      float64 `json:"beta_end"`
}

// TestGoldenSchedules holds every β_t and ᾱ_t to diffusers' float32 tensors
// bit for bit, for every schedule file (schedules*.safetensors) under every
// fixture root. A schedule's settings come from the file's own "schedules"
// metadata, else from manifest.json beside it, else from its key
// (<beta_schedule>_T<T>, diffusers' default β range).
func TestGoldenSchedules(t *testing.T) {
	for _, fx := range golden.Files(t, "schedulers", "schedules*.safetensors") {
		t.Run(fx.Name(), func(t *testing.T) {
			f, err := safetensors.ReadFile(fx.Path)
			if err != nil {
				t.Fatal(err)
			}
			settings := map[string]scheduleSettings{}
			if m, ok := f.Metadata["schedules"]; ok {
				if err := json.Unmarshal([]byte(m), &settings); err != nil {
					t.Fatalf("schedules metadata: %v", err)
				}
			} else if b, err := os.ReadFile(filepath.Join(filepath.Dir(fx.Path), "manifest.json")); err == nil {
				var manifest struct {
					Files map[string]json.RawMessage `json:"files"`
				}
				if err := json.Unmarshal(b, &manifest); err != nil {
					t.Fatalf("manifest.json: %v", err)
				}
				if raw, ok := manifest.Files[filepath.Base(fx.Path)]; ok {
					if err := json.Unmarshal(raw, &settings); err != nil {
						t.Fatalf("manifest.json schedules entry: %v", err)
					}
				}
			}
			keys := map[string]bool{}
			for _, n := range f.Names {
				if k, ok := strings.CutSuffix(n, ".betas"); ok {
					keys[k] = true
				}
			}
			if len(keys) == 0 {
				t.Fatal("the file holds no <key>.betas tensors")
			}
			for key := range keys {
				t.Run(key, func(t *testing.T) { checkSchedule(t, f, key, settings) })
			}
		})
	}
}

func checkSchedule(t *testing.T, f *safetensors.File, key string, settings map[string]scheduleSettings) {
	m, ok := settings[key]
	if !ok {
		i := strings.LastIndex(key, "_T")
		if i < 0 {
			t.Fatalf("key %q has no settings and is not <schedule>_T<T>", key)
		}
		m = scheduleSettings{BetaSchedule: key[:i], BetaStart: 0.0001, BetaEnd: 0.02}
		if _, err := fmt.Sscanf(key[i+2:], "%d", &m.T); err != nil {
			t.Fatalf("key %q: %v", key, err)
		}
	}
	kind, err := diffusion.ParseKind(m.BetaSchedule)
	if err != nil {
		t.Fatal(err)
	}
	s, err := diffusion.NewSchedule(kind, m.T, m.BetaStart, m.BetaEnd)
	if err != nil {
		t.Fatal(err)
	}
	betas := mustF32(t, f, key+".betas")
	abar := mustF32(t, f, key+".alphas_cumprod")
	if len(betas) != m.T || len(abar) != m.T {
		t.Fatalf("fixture lengths %d, %d for T=%d", len(betas), len(abar), m.T)
	}
	nb, na := 0, 0
	for i := range betas {
		if math.Float32bits(s.Betas[i]) != math.Float32bits(betas[i]) {
			if nb++; nb <= 3 {
				t.Errorf("β[%d] = %v (%#08x), diffusers %v (%#08x)", i, s.Betas[i], math.Float32bits(s.Betas[i]), betas[i], math.Float32bits(betas[i]))
			}
		}
		if math.Float32bits(s.AlphasCumprod[i]) != math.Float32bits(abar[i]) {
			if na++; na <= 3 {
				t.Errorf("ᾱ[%d] = %v, diffusers %v", i, s.AlphasCumprod[i], abar[i])
			}
		}
	}
	if nb+na > 0 {
		t.Errorf("%s T=%d [%g, %g]: %d βs and %d ᾱs differ from diffusers' bits", kind, m.T, m.BetaStart, m.BetaEnd, nb, na)
	}
}

type trajectoryInfo struct {
	Scheduler    string          `json:"scheduler"`
	Config       json.RawMessage `json:"config"`
	SetTimesteps json.RawMessage `json:"set_timesteps"`
	Eta          *float64        `json:"eta"`
	UseClipped   bool            `json:"use_clipped_model_output"`
	MaxAbs       float64         `json:"f32_vs_f64_x_maxabs"`
}

// standIn is the fixtures' model: eps(x, t) = 0.5·x + float32(0.1·sin t).
func standIn(_ context.Context, x []float32, _ diffusion.Shape, ts []int, _ []int) ([]float32, error) {
	out := make([]float32, len(x))
	c := float32(0.1 * math.Sin(float64(ts[0])))
	for i, v := range x {
		out[i] = 0.5*v + c
	}
	return out, nil
}

// recorded replays stored noise tensors and counts the draws.
type recorded struct {
	t     *testing.T
	noise [][]float32 // the draws this step may take, in order
	used  int
}

func (r *recorded) Draw(j int, dst []float32) {
	if j >= len(r.noise) {
		r.t.Errorf("draw %d requested, the reference drew only %d", j, len(r.noise))
		return
	}
	copy(dst, r.noise[j])
	r.used = max(r.used, j+1)
}

func TestGoldenTrajectories(t *testing.T) {
	n := 0
	for _, fx := range golden.Files(t, "schedulers", "*.safetensors") {
		if strings.HasPrefix(filepath.Base(fx.Path), "schedules") {
			continue
		}
		n++
		t.Run(fx.Name(), func(t *testing.T) { runTrajectory(t, fx.Path) })
	}
	if n == 0 {
		t.Fatal("no trajectory fixtures found")
	}
}

func runTrajectory(t *testing.T, path string) {
	f, err := safetensors.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var info trajectoryInfo
	if err := json.Unmarshal([]byte(f.Metadata["info"]), &info); err != nil {
		t.Fatalf("info metadata: %v", err)
	}
	var cfgMap map[string]any
	if err := json.Unmarshal(info.Config, &cfgMap); err != nil {
		t.Fatal(err)
	}
	cfgMap["_class_name"] = info.Scheduler
	cfgJSON, _ := json.Marshal(cfgMap)
	cfg, err := diffusion.ParseSchedulerConfig(cfgJSON)
	if err != nil {
		t.Fatalf("config from info: %v", err)
	}
	eta := 0.0
	if info.Eta != nil {
		eta = *info.Eta
	}
	tol := tolFactor * info.MaxAbs
	if tol == 0 {
		tol = 1e-5
	}

	xs := mustF32(t, f, "x")
	xInfo, _, _ := f.Raw("x")
	xShape := xInfo.Shape
	shape := diffusion.Shape{N: xShape[1], C: xShape[2], H: xShape[3], W: xShape[4]}
	per := shape.Len()
	state := func(i int) []float32 { return xs[i*per : (i+1)*per] }
	noise := mustF32(t, f, "noise")
	noiseAt := func(i int) []float32 { return noise[i*per : (i+1)*per] }
	timesteps := mustI64(t, f, "timesteps")

	var sampler diffusion.Sampler
	var draws func(e int) [][]float32 // the reference's draws for event e
	var wantDraws func(e int) int
	switch info.Scheduler {
	case "DDPMScheduler", "DDIMScheduler":
		var steps int
		if err := json.Unmarshal(info.SetTimesteps, &steps); err != nil {
			t.Fatal(err)
		}
		if info.Scheduler == "DDPMScheduler" {
			sampler, err = diffusion.NewDDPM(cfg, steps)
		} else {
			sampler, err = diffusion.NewDDIM(cfg, steps, eta, info.UseClipped)
		}
		if err != nil {
			t.Fatal(err)
		}
		used := mustI64(t, f, "noise_used")
		draws = func(e int) [][]float32 { return [][]float32{noiseAt(e)} }
		wantDraws = func(e int) int { return int(used[e]) }
		prev := mustI64(t, f, "prev_timesteps")
		variance := mustF32(t, f, "variance")
		for i, e := range sampler.Plan() {
			if int64(e.Next) != prev[i] {
				t.Errorf("step %d: previous timestep %d, diffusers %d", i, e.Next, prev[i])
			}
			var v float32
			switch s := sampler.(type) {
			case *diffusion.DDPM:
				if e.T == 0 {
					continue // the fixture stores 0 where no variance is used
				}
				v = s.Variance(e.T, e.Next)
			case *diffusion.DDIM:
				v = s.Variance(e.T, e.Next)
			}
			if d := math.Abs(float64(v - variance[i])); d > 1e-6*math.Abs(float64(variance[i]))+1e-12 {
				t.Errorf("step %d (t=%d): variance %g, diffusers %g", i, e.T, v, variance[i])
			}
		}
	case "RePaintScheduler":
		var st struct {
			N, J, R int
		}
		var raw map[string]int
		if err := json.Unmarshal(info.SetTimesteps, &raw); err != nil {
			t.Fatal(err)
		}
		st.N, st.J, st.R = raw["num_inference_steps"], raw["jump_length"], raw["jump_n_sample"]
		img := mustF32(t, f, "original_image")
		known := mustF32(t, f, "mask") // diffusers: 1 = known
		regen := make([]float32, len(known))
		for i, m := range known {
			regen[i] = 1 - m
		}
		sampler, err = diffusion.NewRePaint(cfg, st.N, st.J, st.R, eta, diffusion.Known{Image: img, Mask: regen})
		if err != nil {
			t.Fatal(err)
		}
		start, count := mustI64(t, f, "noise_start"), mustI64(t, f, "noise_count")
		draws = func(e int) [][]float32 {
			d := make([][]float32, count[e])
			for j := range d {
				d[j] = noiseAt(int(start[e]) + j)
			}
			return d
		}
		wantDraws = func(e int) int { return int(count[e]) }
		kinds, args := mustI64(t, f, "event_kind"), mustI64(t, f, "event_t_arg")
		for i, e := range sampler.Plan() {
			if i >= len(kinds) {
				break
			}
			if int64(e.Kind) != kinds[i] || int64(e.T) != args[i] {
				t.Errorf("event %d: %v at t=%d, diffusers kind %d at t=%d", i, e.Kind, e.T, kinds[i], args[i])
			}
		}
	default:
		t.Fatalf("unknown scheduler %q in info", info.Scheduler)
	}

	plan := sampler.Plan()
	if len(plan) != len(timesteps) {
		t.Fatalf("plan has %d events, diffusers %d", len(plan), len(timesteps))
	}
	for i, e := range plan {
		want := int(timesteps[i])
		got := e.T
		if e.Kind == diffusion.Renoise {
			got = e.Next
		}
		if got != want {
			t.Errorf("event %d: timestep %d, diffusers %d", i, got, want)
		}
	}

	sources := make([]*recorded, len(plan))
	chain, err := diffusion.Sample(context.Background(), diffusion.Params{
		Model:     diffusion.DenoiserFunc(standIn),
		Sampler:   sampler,
		Shape:     shape,
		Init:      state(0),
		KeepEvery: 1,
		Noise: func(k int) diffusion.NoiseSource {
			if k == 0 {
				t.Fatal("x_T requested from noise although Init was given")
			}
			sources[k-1] = &recorded{t: t, noise: draws(k - 1)}
			return sources[k-1]
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	preds := mustF32(t, f, "pred_original_sample")
	var worstX, worstX0 float64
	for i, fr := range chain.Frames {
		if sources[i].used != wantDraws(i) {
			t.Errorf("event %d: drew %d noise tensors, diffusers %d", i, sources[i].used, wantDraws(i))
		}
		if d := maxAbsDiff32(fr.X, state(i)); d > worstX {
			worstX = d
		}
		if fr.Event.Kind == diffusion.Denoise {
			worstX0 = max(worstX0, maxAbsDiff32(fr.X0, preds[i*per:(i+1)*per]))
		}
	}
	final := maxAbsDiff32(chain.Final, state(len(plan)))
	worstX = max(worstX, final)
	t.Logf("max |Δx| = %.3g, final %.3g, max |Δx̂0| = %.3g (tol %.3g)", worstX, final, worstX0, tol)
	if worstX > tol || worstX0 > tol {
		t.Errorf("trajectory differs from diffusers beyond %.3g", tol)
	}
	if f.Has("pipeline_image_np") {
		img := mustF32(t, f, "pipeline_image_np") // NHWC; equal to NCHW for C=1
		if shape.C == 1 {
			out := make([]float32, per)
			for i, v := range chain.Final {
				out[i] = min(max(v/2+0.5, 0), 1)
			}
			if d := maxAbsDiff32(out, img); d > tol {
				t.Errorf("pipeline image differs by %.3g", d)
			}
		}
	}
}
