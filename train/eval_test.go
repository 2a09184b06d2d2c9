package train

import (
	"math/rand/v2"
	"os"
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
	_, fn := c.Classify(noise)
	same, err := FrechetDistance(f1, f2)
	if err != nil {
		t.Fatal(err)
	}
	far, _ := FrechetDistance(f1, fn)
	t.Logf("Fréchet distance: test vs test %.2f, test vs noise %.2f", same, far)
	if !(same >= 0 && same < far/20) {
		t.Errorf("distances %.3f (same) vs %.3f (noise) do not separate", same, far)
	}
}
