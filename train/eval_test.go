package train

import (
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"testing"
)

func mnistOrSkip(t *testing.T) (*Dataset, *Dataset) {
	dir, err := FindMNIST()
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	tr, err := LoadMNIST(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	te, err := LoadMNIST(dir, true)
	if err != nil {
		t.Fatal(err)
	}
	return tr, te
}

func TestClassifierAndFrechetDistance(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a classifier")
	}
	train, test := mnistOrSkip(t)
	c, err := TrainClassifier(train, 3, 1)
	if err != nil {
		t.Fatal(err)
	}
	acc := c.Accuracy(test)
	t.Logf("test accuracy after three epochs: %.4f", acc)
	if acc < 0.96 {
		t.Errorf("classifier accuracy %.3f < 0.96", acc)
	}
	// Real digits are read with confidence, noise is not; the labels are
	// Classify's.
	real := c.Read(test.Images[:2000])
	if labels, _ := c.Classify(test.Images[:2000]); !slices.Equal(labels, real.Labels) {
		t.Error("Read and Classify label differently")
	}
	for i, p := range real.Confidence {
		if !(p >= 0.1 && p <= 1) {
			t.Fatalf("digit %d: confidence %v outside [0.1, 1] (ten classes)", i, p)
		}
	}
	// Two halves of the test set are close; test digits and noise are far.
	_, f1 := c.Classify(test.Images[:2000])
	_, f2 := c.Classify(test.Images[2000:4000])
	r := rand.New(rand.NewPCG(1, 1))
	noise := make([][]float32, 2000)
	for i := range noise {
		noise[i] = make([]float32, 784)
		for j := range noise[i] {
			noise[i][j] = float32(r.Float64()*2 - 1)
		}
	}
	noiseRead := c.Read(noise)
	fn := noiseRead.Features
	t.Logf("mean confidence: test digits %.3f, noise %.3f", real.MeanConfidence(), noiseRead.MeanConfidence())
	if real.MeanConfidence() < 0.9 || noiseRead.MeanConfidence() > real.MeanConfidence()-0.1 {
		t.Errorf("confidence does not separate digits (%.3f) from noise (%.3f)", real.MeanConfidence(), noiseRead.MeanConfidence())
	}
	if h := real.Histogram(10); slices.Min(h) < 150 || slices.Max(h) > 260 {
		t.Errorf("2000 test digits read as %v: some class far from 200", h)
	}
	same, err := FrechetDistance(f1, f2)
	if err != nil {
		t.Fatal(err)
	}
	far, _ := FrechetDistance(f1, fn)
	t.Logf("Fréchet distance: test vs test %.2f, test vs noise %.2f", same, far)
	// The kernel distance: about 0 for two real sets, at a small n as at a
	// large one (where the Fréchet distance grows as n shrinks); far for noise.
	// (A reference of 600 keeps the all-pairs sums quick under -race.)
	kSame, err := KernelDistance(f1[:200], f2[:600])
	if err != nil {
		t.Fatal(err)
	}
	kFar, _ := KernelDistance(fn[:200], f2[:600])
	fdSmall, _ := FrechetDistance(f1[:200], f2)
	t.Logf("kernel distance: 200 test vs 600 test %.4f, 200 noise vs test %.4f; Fréchet at 200: %.2f", kSame, kFar, fdSmall)
	if !(math.Abs(kSame) < kFar/50) {
		t.Errorf("kernel distance %.4g (real) vs %.4g (noise): not about 0 for real digits", kSame, kFar)
	}
	if !(fdSmall > 2*same) {
		t.Errorf("Fréchet distance at n=200 (%.2f) not above n=2000 (%.2f): the bias this estimator avoids", fdSmall, same)
	}
	if !(same >= 0 && same < far/20) {
		t.Errorf("distances %.3f (same) vs %.3f (noise) do not separate", same, far)
	}
}
