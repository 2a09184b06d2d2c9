package studio

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/color"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/ddpmstudio/ddpmstudio/diffusion"
	"github.com/ddpmstudio/ddpmstudio/unet"
	"github.com/ddpmstudio/ddpmstudio/unet/cpu"
)

// tinySession is a session on a small random model (1×8×8, a few thousand
// parameters): fast enough to run whole chains in every test.
func tinySession(t testing.TB, classes int) *Session {
	t.Helper()
	cfg := unet.DefaultConfig()
	cfg.SampleSize = [2]int{8, 8}
	cfg.InChannels, cfg.OutChannels = 1, 1
	cfg.BlockOutChannels = []int{8, 16}
	cfg.DownBlockTypes = []string{unet.DownBlock, unet.AttnDownBlock}
	cfg.UpBlockTypes = []string{unet.AttnUpBlock, unet.UpBlock}
	cfg.LayersPerBlock, cfg.NormNumGroups, cfg.AttentionHeadDim = 1, 4, 8
	if classes > 0 {
		cfg.NumClassEmbeds, cfg.NullClass = classes+1, classes
	}
	m, err := unet.New(cfg, 3, cpu.New())
	if err != nil {
		t.Fatal(err)
	}
	return NewSession(&unet.Loaded{Model: m, Scheduler: diffusion.DefaultSchedulerConfig(), WeightsHash: HashBytes([]byte("tiny"))}, "tiny")
}

var (
	fuzzOnce sync.Once
	fuzzSess *Session
)

func fuzzSession(t testing.TB) *Session {
	fuzzOnce.Do(func() { fuzzSess = tinySession(t, 0) })
	return fuzzSess
}

func recipeFor(s *Session, sampler string, steps int, seed uint64, count int) Recipe {
	r := s.DefaultRecipe(sampler)
	r.Steps, r.Seed, r.Count = steps, seed, count
	return r
}

func run(t *testing.T, s *Session, r Recipe, opt StartOptions) (*Run, *Result) {
	t.Helper()
	if opt.Batch == 0 {
		opt.Batch = r.Count
	}
	rn, err := s.Start(context.Background(), r, opt)
	if err != nil {
		t.Fatal(err)
	}
	res, err := rn.Wait()
	if err != nil {
		t.Fatal(err)
	}
	return rn, res
}

func frame(t *testing.T, r *Run, i int) Frame {
	t.Helper()
	f, err := r.Frame(context.Background(), i)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func equalBits(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return false
		}
	}
	return true
}

func TestStreamedEventsEqualTheChain(t *testing.T) {
	s := tinySession(t, 0)
	var events []Event
	rn, res := run(t, s, recipeFor(s, DDPM, 30, 7, 3), StartOptions{OnEvent: func(e Event) { events = append(events, e) }, WithEps: true, WithNoise: true})
	if len(events) != 30 || rn.Len() != 30 {
		t.Fatalf("%d events, %d recorded; want 30", len(events), rn.Len())
	}
	for i, e := range events {
		f := frame(t, rn, i)
		if e.Index != i || e.Total != 30 || !equalBits(e.X, f.X) || !equalBits(e.X0, f.X0) || !equalBits(e.Eps, f.Eps) || !f.Kept {
			t.Fatalf("event %d differs from frame %d", e.Index, i)
		}
		if e.T != rn.Plan()[i].T || e.Shape.N != 3 {
			t.Fatalf("event %d: t=%d shape %v", i, e.T, e.Shape)
		}
		if i < 29 && e.Noise == nil {
			t.Fatalf("event %d carries no noise though DDPM drew some", i)
		}
	}
	// The next event starts where this one ended; the last ends at the sample.
	for i := 1; i < len(events); i++ {
		if equalBits(events[i].X, events[i-1].X) {
			t.Fatalf("event %d did not move x", i)
		}
	}
	per := rn.Shape().SampleLen()
	for n := 0; n < 3; n++ {
		if !equalBits(res.Samples[n], rn.Final()[n*per:(n+1)*per]) {
			t.Errorf("sample %d differs from the chain's final state", n)
		}
	}
}

func TestCancelKeepsThePartialChain(t *testing.T) {
	s := tinySession(t, 0)
	var rn *Run
	started := make(chan *Run, 1)
	const k = 6
	count := 0
	r := recipeFor(s, DDPM, 40, 1, 1)
	rn, err := s.Start(context.Background(), r, StartOptions{OnEvent: func(e Event) {
		count++
		if e.Index == k-1 {
			(<-started).Cancel()
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	started <- rn
	_, err = rn.Wait()
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Wait: %v, want context.Canceled", err)
	}
	if rn.Len() != k || count != k {
		t.Fatalf("after a cancel at event %d: %d recorded, %d delivered", k-1, rn.Len(), count)
	}
	for i := 0; i < k; i++ {
		frame(t, rn, i)
	}
	if _, err := rn.Frame(context.Background(), k); !errors.Is(err, ErrNotRecorded) {
		t.Errorf("frame %d after the cancel: %v", k, err)
	}
	// The session is free again.
	run(t, s, recipeFor(s, DDIM, 3, 1, 1), StartOptions{})
}

func TestPauseHoldsEvents(t *testing.T) {
	s := tinySession(t, 0)
	var mu sync.Mutex
	delivered := 0
	atPause := make(chan struct{})
	var rn *Run
	ready := make(chan struct{})
	rn, err := s.Start(context.Background(), recipeFor(s, DDIM, 10, 2, 1), StartOptions{OnEvent: func(e Event) {
		<-ready
		mu.Lock()
		delivered++
		mu.Unlock()
		if e.Index == 2 {
			rn.Pause()
			close(atPause)
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	close(ready)
	<-atPause
	if !rn.Paused() {
		t.Fatal("not paused")
	}
	if _, err := s.Start(context.Background(), recipeFor(s, DDIM, 3, 1, 1), StartOptions{}); !errors.Is(err, ErrBusy) {
		t.Errorf("a second run while one is paused: %v, want ErrBusy", err)
	}
	// The run is held inside its event-3 gate: whatever time passes, no
	// further event is delivered (a pass here cannot be a false failure).
	time.Sleep(50 * time.Millisecond)
	mu.Lock()
	if delivered != 3 || rn.Len() != 3 {
		t.Errorf("while paused: %d delivered, %d recorded; want 3", delivered, rn.Len())
	}
	mu.Unlock()
	rn.Resume()
	if _, err := rn.Wait(); err != nil {
		t.Fatal(err)
	}
	if delivered != 10 {
		t.Errorf("%d events after resuming, want 10", delivered)
	}
}

func TestForkUnchangedReproducesTheParent(t *testing.T) {
	for _, sampler := range []string{DDPM, DDIM} {
		t.Run(sampler, func(t *testing.T) {
			s := tinySession(t, 0)
			r := recipeFor(s, sampler, 25, 11, 2)
			r.Eta = 0.5
			parent, pres := run(t, s, r, StartOptions{})
			fork, err := s.Fork(context.Background(), parent, 9, Changes{}, StartOptions{})
			if err != nil {
				t.Fatal(err)
			}
			fres, err := fork.Wait()
			if err != nil {
				t.Fatal(err)
			}
			if fork.Len() != 25 || fork.StartIndex() != 9 {
				t.Fatalf("fork: %d events from %d", fork.Len(), fork.StartIndex())
			}
			for i := 0; i < 25; i++ {
				a, b := frame(t, parent, i), frame(t, fork, i)
				if !equalBits(a.X, b.X) || !equalBits(a.X0, b.X0) {
					t.Fatalf("frame %d differs", i)
				}
			}
			for n := range pres.Samples {
				if !equalBits(pres.Samples[n], fres.Samples[n]) {
					t.Fatalf("sample %d differs", n)
				}
			}
		})
	}
}

func TestForkWithNewSeedChangesOnlyLaterFrames(t *testing.T) {
	s := tinySession(t, 0)
	parent, pres := run(t, s, recipeFor(s, DDPM, 20, 3, 1), StartOptions{})
	seed := uint64(4)
	fork, err := s.Fork(context.Background(), parent, 8, Changes{Seed: &seed}, StartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	fres, err := fork.Wait()
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i <= 8; i++ { // frame 8 is the fork's starting state and its prediction
		if a, b := frame(t, parent, i), frame(t, fork, i); !equalBits(a.X, b.X) || !equalBits(a.X0, b.X0) {
			t.Fatalf("frame %d at or before the fork differs", i)
		}
	}
	for i := 9; i < 20; i++ {
		if equalBits(frame(t, parent, i).X, frame(t, fork, i).X) {
			t.Fatalf("frame %d after the fork is the parent's", i)
		}
	}
	if equalBits(pres.Samples[0], fres.Samples[0]) {
		t.Error("a new seed drew the same sample")
	}
	if fr := fork.Recipe(); fr.Fork == nil || fr.Fork.At != 8 || fr.Fork.Parent.Seed != 3 || fr.Seed != 4 {
		t.Errorf("fork recipe %+v", fr.Fork)
	}
}

func TestForkIntoDDIMStartsAtTheSameTimestep(t *testing.T) {
	s := tinySession(t, 0)
	parent, _ := run(t, s, recipeFor(s, DDPM, 50, 5, 1), StartOptions{})
	ddim, steps := DDIM, 6
	fork, err := s.Fork(context.Background(), parent, 20, Changes{Sampler: &ddim, Steps: &steps}, StartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fork.Wait(); err != nil {
		t.Fatal(err)
	}
	pp, fp := parent.Plan(), fork.Plan()
	if len(fp) != 26 || fp[20].T != pp[20].T || fp[25].Next != -1 {
		t.Fatalf("fork plan %v from parent t=%d", fp[18:], pp[20].T)
	}
	if !equalBits(frame(t, fork, 20).X, frame(t, parent, 20).X) {
		t.Error("the fork did not start from the parent's state")
	}
}

func TestTinyRetentionBudgetRecomputesIdentically(t *testing.T) {
	s := tinySession(t, 0)
	r := recipeFor(s, DDPM, 40, 9, 2)
	full, _ := run(t, s, r, StartOptions{WithEps: true})
	frameBytes := int64(3 * 4 * 2 * 64)
	small, _ := run(t, s, r, StartOptions{WithEps: true, Retention: 6 * frameBytes})
	if h := small.Holding(); small.KeepEvery() < 2 || h.StateBytes > 8*frameBytes {
		t.Fatalf("retention: every %d, holding %d bytes of states", small.KeepEvery(), h.StateBytes)
	}
	recomputed := 0
	for i := 0; i < 40; i++ {
		a, b := frame(t, full, i), frame(t, small, i)
		if !b.Kept {
			recomputed++
		}
		if !equalBits(a.X, b.X) || !equalBits(a.X0, b.X0) || !equalBits(a.Eps, b.Eps) {
			t.Fatalf("frame %d (kept %v) differs from the full-retention run", i, b.Kept)
		}
	}
	if recomputed == 0 {
		t.Error("nothing was recomputed")
	}
}

func TestCheckSpeaksOfSettings(t *testing.T) {
	s := tinySession(t, 3)
	r := s.DefaultRecipe(DDIM)
	c := 7
	r.Class = &c
	var fe *FieldError
	if err := s.Check(r); !errors.As(err, &fe) || fe.Field != "class" {
		t.Errorf("class 7 of 3: %v", err)
	}
	c = 2
	r.Guidance = 3
	if err := s.Check(r); err != nil {
		t.Errorf("class 2, guidance 3: %v", err)
	}
	plain := tinySession(t, 0)
	r = plain.DefaultRecipe(DDIM)
	r.Class = &c
	if err := plain.Check(r); !errors.As(err, &fe) || fe.Field != "class" {
		t.Errorf("class on an unconditional model: %v", err)
	}
}

// TestPNGRoundTrips: pictures made in memory — an edited schedule, a
// painted mask, a fork — carry recipes that reproduce them exactly.
func TestPNGRoundTrips(t *testing.T) {
	s := tinySession(t, 0)
	reproduce := func(t *testing.T, r Recipe, mask image.Image, in Inputs) {
		t.Helper()
		rn, res := run(t, s, r, StartOptions{Inputs: in})
		var a bytes.Buffer
		pics, _ := SamplePictures(res)
		if err := WritePNG(&a, GridOf(pics), rn.Recipe(), mask); err != nil {
			t.Fatal(err)
		}
		back, emb, err := ReadPNG(a.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		if emb != nil {
			in.Mask = emb // the PNG alone carries the mask
		}
		rn2, res2 := run(t, s, back, StartOptions{Inputs: in})
		var b bytes.Buffer
		pics2, _ := SamplePictures(res2)
		if err := WritePNG(&b, GridOf(pics2), rn2.Recipe(), emb); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a.Bytes(), b.Bytes()) {
			t.Error("the PNG's recipe did not reproduce its bytes")
		}
	}
	t.Run("edited schedule", func(t *testing.T) {
		r := recipeFor(s, DDIM, 10, 2, 1)
		betas := make([]float64, 300)
		for i := range betas {
			betas[i] = 1e-4 + 0.03*float64(i*i)/300/300
		}
		r.Schedule = Schedule{Kind: "explicit", T: 300, Betas: betas}
		reproduce(t, r, nil, Inputs{})
	})
	t.Run("painted mask", func(t *testing.T) {
		img := image.NewGray(image.Rect(0, 0, 8, 8))
		mask := image.NewGray(image.Rect(0, 0, 8, 8))
		for i := range img.Pix {
			img.Pix[i] = byte(i * 4)
			if i%8 >= 4 {
				mask.Pix[i] = 255
			}
		}
		r := recipeFor(s, DDIM, 10, 2, 1)
		r.Inpaint = &Inpaint{Method: Replace, Image: "painted.png", Mask: "painted-mask.png"}
		reproduce(t, r, mask, Inputs{Image: img, Mask: mask})
		// A different mask is named as the culprit.
		r.Inpaint.MaskHash = MaskHash(mask)
		other := image.NewGray(image.Rect(0, 0, 8, 8))
		other.SetGray(1, 1, color.Gray{255})
		r.Inpaint.ImageHash = ImageHash(img)
		if _, err := s.Start(context.Background(), r, StartOptions{Inputs: Inputs{Image: img, Mask: other}}); err == nil || !bytesContains(err.Error(), "the mask") {
			t.Errorf("changed mask: %v", err)
		}
	})
	t.Run("fork", func(t *testing.T) {
		parent, _ := run(t, s, recipeFor(s, DDPM, 30, 5, 2), StartOptions{})
		seed, steps, ddim := uint64(77), 5, DDIM
		fork, err := s.Fork(context.Background(), parent, 12, Changes{Seed: &seed, Steps: &steps, Sampler: &ddim}, StartOptions{})
		if err != nil {
			t.Fatal(err)
		}
		fres, err := fork.Wait()
		if err != nil {
			t.Fatal(err)
		}
		// From the recipe alone (the parent is replayed up to the fork).
		again, ares := run(t, s, fork.Recipe(), StartOptions{})
		for n := range fres.Samples {
			if !equalBits(fres.Samples[n], ares.Samples[n]) {
				t.Fatalf("sample %d of the fork differs when run from its recipe", n)
			}
		}
		if again.Len() != len(again.Plan()) {
			t.Errorf("replayed fork recorded %d of %d", again.Len(), len(again.Plan()))
		}
		reproduce(t, fork.Recipe(), nil, Inputs{})
	})
}

func bytesContains(s, sub string) bool { return bytes.Contains([]byte(s), []byte(sub)) }

func testPicture() image.Image {
	img := image.NewGray(image.Rect(0, 0, 8, 8))
	for i := range img.Pix {
		img.Pix[i] = byte(30 * (i % 8))
	}
	return img
}

// TestNoisedIsTheForwardProcess: the Noise view's x_t is q(x_t | x_0) with
// the seed's x_T noise, and an image-to-image run from a timestep starts
// from exactly that state.
func TestNoisedIsTheForwardProcess(t *testing.T) {
	s := tinySession(t, 0)
	img := testPicture()
	x0, _, err := s.pictureTensor(img)
	if err != nil {
		t.Fatal(err)
	}
	eps := make([]float32, 64)
	diffusion.StreamNoise{Seed: 5, K: 0, Shape: s.Shape()}.Draw(0, eps)
	sched, _ := diffusion.DefaultSchedulerConfig().Schedule()
	for _, tt := range []int{0, 250, 600, 999} {
		xt, ro, err := s.Noised(img, 5, tt, s.Info().Trained)
		if err != nil {
			t.Fatal(err)
		}
		a := float64(sched.AlphaBar(tt))
		for i := range xt {
			want := math.Sqrt(a)*float64(x0[i]) + math.Sqrt(1-a)*float64(eps[i])
			if math.Abs(float64(xt[i])-want) > 1e-5 {
				t.Fatalf("t=%d element %d: %v, want %v", tt, i, xt[i], want)
			}
		}
		if math.Abs(ro.AlphaBar-a) > 1e-12 {
			t.Errorf("t=%d: read-out ᾱ %v, want %v", tt, ro.AlphaBar, a)
		}
	}
	r := recipeFor(s, DDPM, 50, 5, 1)
	r.Init = &Init{Image: "pic.png", Strength: 0.5}
	rn, _ := run(t, s, r, StartOptions{Inputs: Inputs{Image: img}})
	start := rn.StartIndex()
	t0 := rn.Plan()[start].T
	if t0 > 500 || start == 0 || rn.Len() != 50 {
		t.Fatalf("strength 0.5 starts at event %d (t=%d), %d recorded", start, t0, rn.Len())
	}
	want, _, _ := s.Noised(img, 5, t0, r.Schedule)
	if !equalBits(frame(t, rn, start).X, want) {
		t.Error("the run did not start from the Noise view's x_t")
	}
	if rn.Recipe().Init.ImageHash != ImageHash(img) {
		t.Error("the recipe lacks the picture's hash")
	}
}

func TestStrengthOneIsAnUnconditionalRun(t *testing.T) {
	s := tinySession(t, 0)
	r := recipeFor(s, DDIM, 12, 8, 2)
	r.Eta = 1
	_, plain := run(t, s, r, StartOptions{})
	r.Init = &Init{Image: "pic.png", Strength: 1}
	_, img2img := run(t, s, r, StartOptions{Inputs: Inputs{Image: testPicture()}})
	for n := range plain.Samples {
		if !equalBits(plain.Samples[n], img2img.Samples[n]) {
			t.Fatalf("sample %d differs from the unconditional run", n)
		}
	}
}
