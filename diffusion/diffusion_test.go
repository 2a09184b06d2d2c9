package diffusion

import (
	"context"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
)

func TestPhiloxKnownAnswers(t *testing.T) {
	// Random123's kat_vectors for philox4x32_10.
	cases := []struct {
		ctr  [4]uint32
		key  [2]uint32
		want [4]uint32
	}{
		{[4]uint32{}, [2]uint32{}, [4]uint32{0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}},
		{[4]uint32{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff}, [2]uint32{0xffffffff, 0xffffffff}, [4]uint32{0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}},
		{[4]uint32{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}, [2]uint32{0xa4093822, 0x299f31d0}, [4]uint32{0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}},
	}
	for _, c := range cases {
		if got := Philox4x32(c.ctr, c.key); got != c.want {
			t.Errorf("Philox4x32(%x, %x) = %x, want %x", c.ctr, c.key, got, c.want)
		}
	}
}

func TestNoiseStream(t *testing.T) {
	const n = 1 << 14
	a := make([]float32, n)
	FillNormal(a, 42, 3, 0, 0)
	t.Run("pure function of its indices", func(t *testing.T) {
		for _, e := range []int{0, 1, 2, 3, 4, 777, n - 1} {
			if got := Normal(42, 3, 0, 0, e); got != a[e] {
				t.Errorf("Normal(e=%d) = %v, FillNormal gave %v", e, got, a[e])
			}
		}
		b := make([]float32, n)
		FillNormal(b, 42, 3, 0, 0)
		if !reflect.DeepEqual(a, b) {
			t.Error("same indices gave different noise")
		}
	})
	t.Run("standard normal", func(t *testing.T) {
		var sum, sq float64
		for _, v := range a {
			sum += float64(v)
			sq += float64(v) * float64(v)
		}
		mean, variance := sum/n, sq/n-(sum/n)*(sum/n)
		// Standard errors: 1/√n ≈ 0.008 for the mean, √(2/n) ≈ 0.011 for the variance.
		if math.Abs(mean) > 0.04 || math.Abs(variance-1) > 0.06 {
			t.Errorf("mean %.4f variance %.4f", mean, variance)
		}
	})
	t.Run("independent of k, j, n and seed", func(t *testing.T) {
		for _, other := range []struct {
			name          string
			seed          uint64
			k, j, sampleN int
		}{{"k", 42, 4, 0, 0}, {"j", 42, 3, 1, 0}, {"sample", 42, 3, 0, 1}, {"seed", 43, 3, 0, 0}, {"seed high word", 42 + 1<<32, 3, 0, 0}} {
			b := make([]float32, n)
			FillNormal(b, other.seed, other.k, other.j, other.sampleN)
			var dot, same float64
			for i := range a {
				dot += float64(a[i]) * float64(b[i])
				if a[i] == b[i] {
					same++
				}
			}
			if r := dot / n; math.Abs(r) > 0.04 || same > 2 {
				t.Errorf("%s: correlation %.4f, %v equal values", other.name, r, same)
			}
		}
	})
}

func TestStreamNoiseIsBatchInvariant(t *testing.T) {
	// Sample 3 of a run is the same whether drawn in a batch of 4 or alone.
	shape := Shape{N: 4, C: 3, H: 5, W: 7}
	batch := make([]float32, shape.Len())
	StreamNoise{Seed: 9, K: 2, FirstSample: 0, Shape: shape}.Draw(1, batch)
	one := Shape{N: 1, C: 3, H: 5, W: 7}
	alone := make([]float32, one.Len())
	StreamNoise{Seed: 9, K: 2, FirstSample: 3, Shape: one}.Draw(1, alone)
	if !reflect.DeepEqual(batch[3*one.Len():], alone) {
		t.Error("sample 3 differs between batch and single draws")
	}
}

func TestScheduleProperties(t *testing.T) {
	for _, kind := range Kinds {
		for _, T := range []int{2, 10, 1000, 4000} {
			s, err := NewSchedule(kind, T, 1e-4, 0.02)
			if err != nil {
				t.Fatalf("%s T=%d: %v", kind, T, err)
			}
			for i := 0; i < T; i++ {
				if b := s.Beta(i); !(b > 0 && b < 1) {
					t.Fatalf("%s T=%d: β_%d = %v", kind, T, i, b)
				}
				if i > 0 && !(s.AlphaBar(i) < s.AlphaBar(i-1)) {
					t.Fatalf("%s T=%d: ᾱ not strictly decreasing at t=%d: %v then %v", kind, T, i, s.AlphaBar(i-1), s.AlphaBar(i))
				}
				if i > 0 && s.LogSNR(i) >= s.LogSNR(i-1) {
					t.Fatalf("%s T=%d: log-SNR not decreasing at t=%d", kind, T, i)
				}
				pv := s.PosteriorVariance(i)
				if i > 0 && !(pv > 0 && pv <= s.Beta(i)*(1+1e-6)) {
					t.Fatalf("%s T=%d: β̃_%d = %v not in (0, β=%v]", kind, T, i, pv, s.Beta(i))
				}
			}
			if s.PosteriorVariance(0) != 0 {
				t.Errorf("%s: β̃_0 = %v, want 0", kind, s.PosteriorVariance(0))
			}
			a := s.SqrtAlphaBar(T / 2)
			b := s.SqrtOneMinusAlphaBar(T / 2)
			if d := math.Abs(float64(a*a+b*b) - 1); d > 1e-6 {
				t.Errorf("%s: √ᾱ² + √(1−ᾱ)² = 1 + %g", kind, d)
			}
		}
	}
}

func TestScheduleErrors(t *testing.T) {
	cases := []struct {
		name   string
		kind   Kind
		T      int
		b0, b1 float64
		want   string
	}{
		{"T<2", Linear, 1, 1e-4, 0.02, "at least 2"},
		{"beta zero", Linear, 10, 0, 0.02, "beta_start"},
		{"beta one", Linear, 10, 1e-4, 1, "beta_end"},
		{"decreasing", ScaledLinear, 10, 0.02, 1e-4, "beta_start 0.02 > beta_end"},
		{"nan", Sigmoid, 10, math.NaN(), 0.02, "beta_start"},
		{"kind", "quadratic", 10, 1e-4, 0.02, "unknown kind"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := NewSchedule(c.kind, c.T, c.b0, c.b1)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want one mentioning %q", err, c.want)
			}
		})
	}
	if _, err := FromBetas([]float64{0.1, 1.5}); err == nil || !strings.Contains(err.Error(), "beta[1]") {
		t.Errorf("FromBetas accepted β = 1.5: %v", err)
	}
}

func TestSetTimesteps(t *testing.T) {
	cases := []struct {
		T, N    int
		spacing Spacing
		offset  int
		want    []int
	}{
		{1000, 10, Leading, 0, []int{900, 800, 700, 600, 500, 400, 300, 200, 100, 0}},
		{1000, 10, Leading, 1, []int{901, 801, 701, 601, 501, 401, 301, 201, 101, 1}},
		{1000, 10, Trailing, 0, []int{999, 899, 799, 699, 599, 499, 399, 299, 199, 99}},
		{1000, 10, Linspace, 0, []int{999, 888, 777, 666, 555, 444, 333, 222, 111, 0}},
		{1000, 3, Leading, 0, []int{666, 333, 0}},
		{1000, 3, Trailing, 0, []int{999, 666, 332}},
		{1000, 3, Linspace, 0, []int{999, 500, 0}},
		{50, 50, Leading, 0, nil}, // filled below: 49 … 0
	}
	for i := 49; i >= 0; i-- {
		cases[len(cases)-1].want = append(cases[len(cases)-1].want, i)
	}
	for _, c := range cases {
		got, err := SetTimesteps(c.T, c.N, c.spacing, c.offset)
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("SetTimesteps(%d, %d, %s, %d) = %v, %v; want %v", c.T, c.N, c.spacing, c.offset, got, err, c.want)
		}
	}
	for _, bad := range []struct{ T, N, off int }{{10, 11, 0}, {10, 0, 0}, {1000, 10, 100}} {
		if _, err := SetTimesteps(bad.T, bad.N, Leading, bad.off); err == nil {
			t.Errorf("SetTimesteps(%d, %d, offset %d) gave no error", bad.T, bad.N, bad.off)
		}
	}
}

func TestRePaintTimesteps(t *testing.T) {
	got, err := repaintTimesteps(1000, 10, 3, 2)
	want := []int{900, 800, 700, 600, 700, 800, 900, 800, 700, 600, 500, 400, 300, 400, 500, 600, 500, 400, 300, 200, 100, 0, 100, 200, 300, 200, 100, 0}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, %v", got, err)
	}
	// jump_n_sample = 1 means no jumps: plain descent.
	got, _ = repaintTimesteps(1000, 5, 2, 1)
	if !reflect.DeepEqual(got, []int{800, 600, 400, 200, 0}) {
		t.Errorf("no-jump plan %v", got)
	}
}

func TestQSampleMoments(t *testing.T) {
	s, _ := NewSchedule(Linear, 1000, 1e-4, 0.02)
	const n = 1 << 15
	x0 := make([]float32, n)
	for i := range x0 {
		x0[i] = 0.7
	}
	eps := make([]float32, n)
	FillNormal(eps, 5, 0, 0, 0)
	xt := make([]float32, n)
	for _, tt := range []int{0, 300, 999} {
		if err := QSample(s, tt, x0, eps, xt); err != nil {
			t.Fatal(err)
		}
		var sum, sq float64
		for _, v := range xt {
			sum += float64(v)
			sq += float64(v) * float64(v)
		}
		mean, variance := sum/n, sq/n-(sum/n)*(sum/n)
		wantMean := 0.7 * math.Sqrt(float64(s.AlphaBar(tt)))
		wantVar := 1 - float64(s.AlphaBar(tt))
		if math.Abs(mean-wantMean) > 4*math.Sqrt(wantVar/n)+1e-6 || math.Abs(variance-wantVar) > 0.05*wantVar+1e-9 {
			t.Errorf("t=%d: mean %.5f (want %.5f), variance %.5g (want %.5g)", tt, mean, wantMean, variance, wantVar)
		}
		back := make([]float32, n)
		if err := PredictX0(s, tt, xt, eps, back); err != nil {
			t.Fatal(err)
		}
		if d := maxAbs(back, x0); d > 2e-3 {
			t.Errorf("t=%d: PredictX0 recovers x0 within %g", tt, d)
		}
	}
	if err := QSample(s, 1000, x0, eps, xt); !errors.Is(err, errTimestep) {
		t.Errorf("t=T accepted: %v", err)
	}
}

func maxAbs(a, b []float32) float64 {
	m := 0.0
	for i := range a {
		m = max(m, math.Abs(float64(a[i]-b[i])))
	}
	return m
}

// linearModel predicts ε as a fixed linear function of x and t; enough to
// exercise the loop deterministically without a network.
func linearModel(_ context.Context, x []float32, _ Shape, ts []int, _ []int) ([]float32, error) {
	out := make([]float32, len(x))
	for i, v := range x {
		out[i] = 0.3*v + float32(0.01*math.Cos(float64(ts[0])))
	}
	return out, nil
}

func TestDDIMEtaZeroIsDeterministic(t *testing.T) {
	cfg := DefaultSchedulerConfig()
	run := func(seed uint64) []float32 {
		d, err := NewDDIM(cfg, 25, 0, false)
		if err != nil {
			t.Fatal(err)
		}
		// Same x_T, different seeds for the steps: with η = 0 no step draws.
		init := make([]float32, 64)
		FillNormal(init, 1, 0, 0, 0)
		c, err := Sample(context.Background(), Params{Model: DenoiserFunc(linearModel), Sampler: d, Shape: Shape{1, 1, 8, 8}, Seed: seed, Init: init})
		if err != nil {
			t.Fatal(err)
		}
		return c.Final
	}
	a, b := run(1), run(2)
	if !reflect.DeepEqual(a, b) {
		t.Error("DDIM η=0 depends on the step noise")
	}
	d, _ := NewDDPM(cfg, 25)
	c1, _ := Sample(context.Background(), Params{Model: DenoiserFunc(linearModel), Sampler: d, Shape: Shape{1, 1, 8, 8}, Seed: 1})
	d2, _ := NewDDPM(cfg, 25)
	c2, _ := Sample(context.Background(), Params{Model: DenoiserFunc(linearModel), Sampler: d2, Shape: Shape{1, 1, 8, 8}, Seed: 2})
	if reflect.DeepEqual(c1.Final, c2.Final) {
		t.Error("DDPM ignores the seed")
	}
}

func TestSampleRecordsForksAndCancels(t *testing.T) {
	cfg := DefaultSchedulerConfig()
	shape := Shape{2, 1, 4, 4}
	newSampler := func() Sampler { d, _ := NewDDPM(cfg, 20); return d }
	full, err := Sample(context.Background(), Params{Model: DenoiserFunc(linearModel), Sampler: newSampler(), Shape: shape, Seed: 7, KeepEvery: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(full.Frames) != 20 {
		t.Fatalf("%d frames, want 20", len(full.Frames))
	}
	// Frame i's state is frame i−1's state advanced; the last frame's noise is nil (t=0 draws none).
	if full.Frames[19].Noise != nil || full.Frames[0].Noise == nil {
		t.Error("noise recorded where none was drawn, or missing where drawn")
	}
	t.Run("replay is bit-identical", func(t *testing.T) {
		again, _ := Sample(context.Background(), Params{Model: DenoiserFunc(linearModel), Sampler: newSampler(), Shape: shape, Seed: 7})
		if !reflect.DeepEqual(again.Final, full.Final) {
			t.Error("same seed, different result")
		}
	})
	t.Run("fork from a frame with the same seed reproduces the rest", func(t *testing.T) {
		k := 8
		fork, err := Sample(context.Background(), Params{Model: DenoiserFunc(linearModel), Sampler: newSampler(), Shape: shape, Seed: 7, Start: k, Init: full.Frames[k].X})
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(fork.Final, full.Final) {
			t.Error("fork with the original seed differs")
		}
		other, _ := Sample(context.Background(), Params{Model: DenoiserFunc(linearModel), Sampler: newSampler(), Shape: shape, Seed: 99, Start: k, Init: full.Frames[k].X})
		if reflect.DeepEqual(other.Final, full.Final) {
			t.Error("fork with a new seed changed nothing")
		}
	})
	t.Run("keep every k-th frame and the last", func(t *testing.T) {
		c, _ := Sample(context.Background(), Params{Model: DenoiserFunc(linearModel), Sampler: newSampler(), Shape: shape, Seed: 7, KeepEvery: 6})
		var idx []int
		for _, f := range c.Frames {
			idx = append(idx, f.Index)
		}
		if !reflect.DeepEqual(idx, []int{0, 6, 12, 18, 19}) {
			t.Errorf("kept frames %v", idx)
		}
	})
	t.Run("cancel stops within one event", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		calls := 0
		model := DenoiserFunc(func(ctx context.Context, x []float32, s Shape, ts []int, cl []int) ([]float32, error) {
			calls++
			if calls == 3 {
				cancel()
			}
			return linearModel(ctx, x, s, ts, cl)
		})
		var progress []int
		_, err := Sample(ctx, Params{Model: model, Sampler: newSampler(), Shape: shape, Seed: 7, Progress: func(p Progress) { progress = append(progress, p.Done) }})
		if !errors.Is(err, context.Canceled) || calls != 3 {
			t.Errorf("err %v after %d model calls", err, calls)
		}
		if !reflect.DeepEqual(progress, []int{1, 2, 3}) {
			t.Errorf("progress %v", progress)
		}
	})
	t.Run("model errors are reported", func(t *testing.T) {
		bad := DenoiserFunc(func(context.Context, []float32, Shape, []int, []int) ([]float32, error) {
			return make([]float32, 3), nil
		})
		if _, err := Sample(context.Background(), Params{Model: bad, Sampler: newSampler(), Shape: shape}); !errors.Is(err, errShape) {
			t.Errorf("wrong-sized model output: %v", err)
		}
	})
}

func TestReplaceKeepsKnownPixels(t *testing.T) {
	cfg := DefaultSchedulerConfig()
	shape := Shape{1, 2, 4, 4}
	img := make([]float32, shape.SampleLen())
	for i := range img {
		img[i] = float32(i%7)/7 - 0.5
	}
	mask := make([]float32, 16) // H·W, shared by both channels
	for p := range mask {
		if p%4 >= 2 {
			mask[p] = 1 // regenerate the right half
		}
	}
	for _, inner := range []func() Sampler{
		func() Sampler { d, _ := NewDDPM(cfg, 10); return d },
		func() Sampler { d, _ := NewDDIM(cfg, 10, 0.5, false); return d },
	} {
		c, err := Sample(context.Background(), Params{Model: DenoiserFunc(linearModel), Sampler: NewReplace(inner(), Known{Image: img, Mask: mask}), Shape: shape, Seed: 3})
		if err != nil {
			t.Fatal(err)
		}
		changed := 0
		for ch := 0; ch < 2; ch++ {
			for p := 0; p < 16; p++ {
				i := ch*16 + p
				if mask[p] == 0 && c.Final[i] != img[i] {
					t.Errorf("kept pixel %d = %v, want %v", i, c.Final[i], img[i])
				}
				if mask[p] == 1 && c.Final[i] != img[i] {
					changed++
				}
			}
		}
		if changed == 0 {
			t.Error("nothing was regenerated")
		}
	}
}

func TestInpaintMaskErrors(t *testing.T) {
	cfg := DefaultSchedulerConfig()
	shape := Shape{1, 3, 4, 4}
	img := make([]float32, 48)
	for _, c := range []struct {
		name  string
		known Known
		want  string
	}{
		{"mask size", Known{Image: img, Mask: make([]float32, 15)}, "mask has 15 values"},
		{"image size", Known{Image: img[:40], Mask: make([]float32, 16)}, "image has 40 values"},
		{"mask range", Known{Image: img, Mask: append(make([]float32, 15), 2)}, "outside [0, 1]"},
	} {
		t.Run(c.name, func(t *testing.T) {
			rp, err := NewRePaint(cfg, 10, 2, 2, 0, c.known)
			if err != nil {
				t.Fatal(err)
			}
			_, err = Sample(context.Background(), Params{Model: DenoiserFunc(linearModel), Sampler: rp, Shape: shape})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("RePaint: %v, want %q", err, c.want)
			}
			d, _ := NewDDPM(cfg, 10)
			_, err = Sample(context.Background(), Params{Model: DenoiserFunc(linearModel), Sampler: NewReplace(d, c.known), Shape: shape})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("Replace: %v, want %q", err, c.want)
			}
		})
	}
}

func TestLearnedRangeVariance(t *testing.T) {
	cfg := DefaultSchedulerConfig()
	cfg.VarianceType = LearnedRange
	d, err := NewDDPM(cfg, 1000)
	if err != nil {
		t.Fatal(err)
	}
	shape := Shape{1, 1, 2, 2}
	x := []float32{0.1, -0.2, 0.3, 0.4}
	z := []float32{1, 1, 1, 1}
	noise := fixedNoise(z)
	// v = 1 gives log β_t, v = −1 gives log β̃_t: the same as fixed_large / fixed_small.
	for _, c := range []struct {
		v     float32
		fixed VarianceType
	}{{1, FixedLarge}, {-1, FixedSmall}} {
		out := []float32{0.5, 0.5, 0.5, 0.5, c.v, c.v, c.v, c.v}
		got := make([]float32, 4)
		e := Event{Kind: Denoise, T: 500, Next: 499}
		if err := d.Step(e, x, out, shape, noise, got, nil); err != nil {
			t.Fatal(err)
		}
		cfgF := DefaultSchedulerConfig()
		cfgF.VarianceType = c.fixed
		f, _ := NewDDPM(cfgF, 1000)
		want := make([]float32, 4)
		if err := f.Step(e, x, out, shape, noise, want, nil); err != nil {
			t.Fatal(err)
		}
		if d := maxAbs(got, want); d > 1e-6 {
			t.Errorf("learned_range v=%v differs from %s by %g", c.v, c.fixed, d)
		}
	}
	if err := d.Step(Event{Kind: Denoise, T: 500, Next: 499}, x, x, shape, noise, make([]float32, 4), nil); err == nil {
		t.Error("learned_range accepted a C-channel output")
	}
}

type fixedNoise []float32

func (f fixedNoise) Draw(_ int, dst []float32) { copy(dst, f) }

func TestPredictionTypesAgree(t *testing.T) {
	// For a model that knows x_0 and ε exactly, the three parameterisations
	// must give the same step.
	s, _ := NewSchedule(Linear, 1000, 1e-4, 0.02)
	x0 := []float32{0.5, -0.25, 0.75, -1}
	eps := []float32{0.3, -1.2, 0.8, 0.1}
	tt := 600
	xt := make([]float32, 4)
	_ = QSample(s, tt, x0, eps, xt)
	a, b := s.SqrtAlphaBar(tt), s.SqrtOneMinusAlphaBar(tt)
	v := make([]float32, 4)
	for i := range v {
		v[i] = a*eps[i] - b*x0[i]
	}
	// The DDIM step with η = 0 from exact x_0 and ε, in float64:
	// x_prev = √ᾱ_prev·x_0 + √(1−ᾱ_prev)·ε.
	prev := tt - 100
	abarPrev := float64(s.AlphaBar(prev))
	want := make([]float64, 4)
	for i := range want {
		want[i] = math.Sqrt(abarPrev)*float64(x0[i]) + math.Sqrt(1-abarPrev)*float64(eps[i])
	}
	outs := map[Prediction][]float32{PredictEpsilon: eps, PredictSample: x0, PredictV: v}
	for p, out := range outs {
		cfg := DefaultSchedulerConfig()
		cfg.PredictionType = p
		d, _ := NewDDIM(cfg, 10, 0, false)
		got := make([]float32, 4)
		if err := d.Step(Event{Kind: Denoise, T: tt, Next: prev}, xt, out, Shape{1, 1, 2, 2}, nil, got, nil); err != nil {
			t.Fatal(err)
		}
		for i := range got {
			if d := math.Abs(float64(got[i]) - want[i]); d > 1e-5 {
				t.Errorf("%s: x_prev[%d] = %v, want %v", p, i, got[i], want[i])
			}
		}
	}
}

func TestGuidanceCombinesPredictions(t *testing.T) {
	// A model whose prediction is the class label itself: guidance must give
	// null + s·(c − null), and scale 1 must be a single conditional pass.
	calls := 0
	model := DenoiserFunc(func(_ context.Context, x []float32, s Shape, _ []int, cl []int) ([]float32, error) {
		calls++
		out := make([]float32, len(x))
		per := s.SampleLen()
		for b := 0; b < s.N; b++ {
			for i := 0; i < per; i++ {
				out[b*per+i] = float32(cl[b])
			}
		}
		return out, nil
	})
	g := &Guided{Model: model, Null: 10, Scale: 3}
	out, err := g.Predict(context.Background(), make([]float32, 8), Shape{2, 1, 2, 2}, []int{5, 5}, []int{2, 7})
	if err != nil {
		t.Fatal(err)
	}
	if out[0] != 10+3*(2-10) || out[4] != 10+3*(7-10) || calls != 1 {
		t.Errorf("guided outputs %v after %d calls", out, calls)
	}
	g.Scale = 1
	out, _ = g.Predict(context.Background(), make([]float32, 4), Shape{1, 1, 2, 2}, []int{5}, []int{4})
	if out[0] != 4 || calls != 2 {
		t.Errorf("scale 1: %v after %d calls", out, calls)
	}
	if _, err := g.Predict(context.Background(), make([]float32, 4), Shape{1, 1, 2, 2}, []int{5}, nil); err == nil {
		t.Error("no labels accepted")
	}
}

func TestPortableMath(t *testing.T) {
	for i := 1; i <= 100000; i++ {
		u := float64(uint32(i*42949)+1) / 4294967296.0
		if got, want := logUnit(u), math.Log(u); math.Abs(got-want) > 4e-16*math.Max(1, math.Abs(want)) {
			t.Fatalf("logUnit(%v) = %v, math.Log %v", u, got, want)
		}
		s, c := sincosTurn(u)
		ws, wc := math.Sincos(2 * math.Pi * u)
		if math.Abs(s-ws) > 1e-15 || math.Abs(c-wc) > 1e-15 {
			t.Fatalf("sincosTurn(%v) = %v, %v; math.Sincos %v, %v", u, s, c, ws, wc)
		}
	}
	if logUnit(1) != 0 {
		t.Errorf("ln 1 = %v", logUnit(1))
	}
}

func TestNoiseStreamKnownValues(t *testing.T) {
	// The stream is part of the file format (recipes name a seed): these
	// values must never change, on any platform.
	got := make([]float32, 6)
	FillNormal(got, 42, 1, 0, 0)
	want := []float32{goldenNoise0, goldenNoise1, goldenNoise2, goldenNoise3, goldenNoise4, goldenNoise5}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("Normal(42, 1, 0, 0, %d) = %v (%#08x), recorded %v", i, got[i], math.Float32bits(got[i]), want[i])
		}
	}
}

func TestNoiseStreamMatchesTextbookBoxMuller(t *testing.T) {
	// An independent computation of the stream's definition with the math
	// package: it must agree to float32 rounding.
	key := seedKey(7)
	for block := uint32(0); block < 2000; block++ {
		x := Philox4x32([4]uint32{block, 3, 1, 2}, key)
		z := normalBlock(key, block, 3, 1, 2)
		for p := 0; p < 2; p++ {
			u0 := (float64(x[2*p]) + 1) / 4294967296
			u1 := (float64(x[2*p+1]) + 1) / 4294967296
			r := math.Sqrt(-2 * math.Log(u0))
			s, c := math.Sincos(2 * math.Pi * u1)
			for i, want := range []float64{r * c, r * s} {
				if got := float64(z[2*p+i]); math.Abs(got-want) > 1e-6*math.Max(1, math.Abs(want)) {
					t.Fatalf("block %d value %d: %v, textbook %v", block, 2*p+i, got, want)
				}
			}
		}
	}
}

// TestRePaintHonoursPredictionType: a model that knows x_0 and ε exactly,
// in any parameterisation, gives RePaint the same step: known pixels
// √ᾱ_prev·image + √(1−ᾱ_prev)·z, generated ones √ᾱ_prev·x_0 + √(1−ᾱ_prev)·ε
// (η = 0), both computed here in float64.
func TestRePaintHonoursPredictionType(t *testing.T) {
	s, _ := NewSchedule(Linear, 1000, 1e-4, 0.02)
	x0 := []float32{0.5, -0.25, 0.75, -1}
	eps := []float32{0.3, -1.2, 0.8, 0.1}
	img := []float32{0.1, 0.2, -0.3, 0.4}
	mask := []float32{1, 0, 1, 0} // regenerate pixels 0 and 2
	z := fixedNoise{0.7, -0.4, 0.2, 1.1}
	tt, prev := 600, 500
	xt := make([]float32, 4)
	_ = QSample(s, tt, x0, eps, xt)
	a, b := s.SqrtAlphaBar(tt), s.SqrtOneMinusAlphaBar(tt)
	v := make([]float32, 4)
	for i := range v {
		v[i] = a*eps[i] - b*x0[i]
	}
	ap := float64(s.AlphaBar(prev))
	want := make([]float64, 4)
	for i := range want {
		if mask[i] == 1 {
			want[i] = math.Sqrt(ap)*float64(x0[i]) + math.Sqrt(1-ap)*float64(eps[i])
		} else {
			want[i] = math.Sqrt(ap)*float64(img[i]) + math.Sqrt(1-ap)*float64(z[i])
		}
	}
	for p, out := range map[Prediction][]float32{PredictEpsilon: eps, PredictSample: x0, PredictV: v} {
		cfg := DefaultSchedulerConfig()
		cfg.PredictionType = p
		cfg.ClipSample = false
		r, err := NewRePaint(cfg, 10, 1, 1, 0, Known{Image: img, Mask: mask})
		if err != nil {
			t.Fatal(err)
		}
		got, gotX0 := make([]float32, 4), make([]float32, 4)
		if err := r.Step(Event{Kind: Denoise, T: tt, Next: prev}, xt, out, Shape{1, 1, 2, 2}, z, got, gotX0); err != nil {
			t.Fatal(err)
		}
		for i := range got {
			if d := math.Abs(float64(got[i]) - want[i]); d > 1e-5 {
				t.Errorf("%s: x_prev[%d] = %v, want %v", p, i, got[i], want[i])
			}
			if d := math.Abs(float64(gotX0[i] - x0[i])); d > 1e-5 {
				t.Errorf("%s: x̂0[%d] = %v, want %v", p, i, gotX0[i], x0[i])
			}
		}
	}
}

func TestNonFiniteStepStopsTheRun(t *testing.T) {
	calls := 0
	model := DenoiserFunc(func(_ context.Context, x []float32, _ Shape, ts []int, _ []int) ([]float32, error) {
		calls++
		out := make([]float32, len(x))
		if calls == 3 {
			out[5] = float32(math.Inf(1))
		}
		return out, nil
	})
	cfg := DefaultSchedulerConfig()
	cfg.ClipSample = false
	s, err := NewDDIM(cfg, 10, 0, false)
	if err != nil {
		t.Fatal(err)
	}
	chain, err := Sample(context.Background(), Params{Model: model, Sampler: s, Shape: Shape{2, 1, 2, 2}, Seed: 1})
	if !errors.Is(err, ErrNonFinite) || !strings.Contains(err.Error(), "event 2") || !strings.Contains(err.Error(), "sample 1") {
		t.Fatalf("error %v, want a non-finite error naming event 2 and sample 1", err)
	}
	if chain == nil || firstNonFinite(chain.Final) >= 0 {
		t.Error("the partial chain's last state is not the last finite one")
	}
}
