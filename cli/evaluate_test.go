package cli_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/ddpmstudio/ddpmstudio/imageio"
	"github.com/ddpmstudio/ddpmstudio/train"
)

// TestEvaluateCalibratesAgainstRealDigits: evaluate reports real held-out
// digits beside the samples (Fréchet and kernel distance, confidence). Given those very digits as the samples, the
// two rows must agree and the ratio be 1; given them blurred into noise it
// must not.
func TestEvaluateCalibratesAgainstRealDigits(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a classifier")
	}
	mnistDir, err := train.FindMNIST()
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	test, err := train.LoadMNIST(mnistDir, true)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(sub string, img []float32, i int) {
		im, err := imageio.ToImage(img, 1, 28, 28)
		if err != nil {
			t.Fatal(err)
		}
		f, err := os.Create(filepath.Join(dir, sub, strconv.Itoa(i)+".png"))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if err := imageio.EncodePNG(f, im, nil); err != nil {
			t.Fatal(err)
		}
	}
	const n = 60
	os.Mkdir(filepath.Join(dir, "real"), 0o755)
	os.Mkdir(filepath.Join(dir, "flat"), 0o755)
	for i := 0; i < n; i++ {
		write("real", test.Images[i], i)
		// Each digit smeared to its mean: no strokes left to read.
		var mean float32
		for _, v := range test.Images[i] {
			mean += v / 784
		}
		flat := make([]float32, 784)
		for j := range flat {
			flat[j] = mean
		}
		write("flat", flat, i)
	}
	row := regexp.MustCompile(`(?m)^\s*(real held-out digits|samples)\s+(\d+)\s+FD\s+([0-9.]+)\s+KD\s+(-?[0-9.]+)\s+confidence\s+([0-9.]+)`)
	ratio := regexp.MustCompile(`samples/real FD: ([0-9.]+)`)
	parse := func(out string) (fd, kd, conf [2]float64, r float64) {
		t.Helper()
		rows := row.FindAllStringSubmatch(out, -1)
		m := ratio.FindStringSubmatch(out)
		if len(rows) != 2 || m == nil {
			t.Fatalf("evaluate printed no calibration table:\n%s", out)
		}
		for i, rw := range rows {
			if rw[2] != strconv.Itoa(n) {
				t.Errorf("%s: %s images, want %d", rw[1], rw[2], n)
			}
			fd[i], _ = strconv.ParseFloat(rw[3], 64)
			kd[i], _ = strconv.ParseFloat(rw[4], 64)
			conf[i], _ = strconv.ParseFloat(rw[5], 64)
		}
		r, _ = strconv.ParseFloat(m[1], 64)
		return fd, kd, conf, r
	}
	out := mustRun(t, dir, "evaluate", "--samples", "real", "--epochs", "1").stdout
	fd, kd, conf, r := parse(out)
	if fd[0] != fd[1] || kd[0] != kd[1] || conf[0] != conf[1] || r != 1 {
		t.Errorf("the held-out digits themselves as samples: FD %v, KD %v, confidence %v, ratio %v; want equal rows and 1\n%s", fd, kd, conf, r, out)
	}
	out = mustRun(t, dir, "evaluate", "--samples", "flat", "--epochs", "1").stdout
	fd, kd, conf, r = parse(out)
	if !(r > 3) || !(kd[1] > kd[0]+0.1) || !(conf[1] < conf[0]-0.2) {
		t.Errorf("featureless samples: FD %v (ratio %v), KD %v, confidence %v; want far from real\n%s", fd, r, kd, conf, out)
	}
	if !strings.Contains(out, "classifier:") {
		t.Errorf("no classifier accuracy line:\n%s", out)
	}
}
