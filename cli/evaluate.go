package cli

import (
	"context"
	"errors"
	"fmt"
	"image"
	"io"
	"math"
	"path/filepath"
	"sort"

	"github.com/ddpmstudio/ddpmstudio/imageio"
	"github.com/ddpmstudio/ddpmstudio/internal/atomicfile"
	"github.com/ddpmstudio/ddpmstudio/train"
)

// runEvaluate judges a folder of generated MNIST-sized digits: a classifier
// trained here on MNIST reads each PNG's digit (and how sure it is), which
// is compared with the class its recipe asked for, and the Fréchet distance
// between classifier features of the samples and of a reference set of MNIST
// test digits is reported. The same figures for as many real held-out test
// digits calibrate them: a Fréchet distance depends on the judge and on the
// number of samples, so "how far from real" is the ratio of the two.
func runEvaluate(args []string, stdout io.Writer) error {
	fs := newFlags("evaluate")
	dir := fs.String("samples", "", "folder of PNGs written by `sample --outdir` (and its sub-folders)")
	epochs := fs.Int("epochs", 5, "classifier training epochs")
	nearest := fs.String("nearest", "", "write a PNG pairing the first 10 samples (top) with their nearest MNIST training images (bottom)")
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	if *dir == "" {
		return errors.New("evaluate: --samples DIR is required")
	}
	files, _ := filepath.Glob(filepath.Join(*dir, "*.png"))
	more, _ := filepath.Glob(filepath.Join(*dir, "*", "*.png")) // one sub-folder per class is fine too
	files = append(files, more...)
	sort.Strings(files)
	if len(files) < 2 {
		return fmt.Errorf("evaluate: %s holds %d PNGs, need at least 2", *dir, len(files))
	}
	mnistDir, err := train.FindMNIST()
	if err != nil {
		return err
	}
	trainSet, err := train.LoadMNIST(mnistDir, false)
	if err != nil {
		return err
	}
	testSet, err := train.LoadMNIST(mnistDir, true)
	if err != nil {
		return err
	}
	clf, err := train.TrainClassifier(trainSet, *epochs, 1)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "classifier: %.2f%% on the MNIST test set\n", 100*clf.Accuracy(testSet))
	var images [][]float32
	var want []int
	for _, f := range files {
		img, err := imageio.Load(f)
		if err != nil {
			return err
		}
		if b := img.Bounds(); b.Dx() != 28 || b.Dy() != 28 {
			return fmt.Errorf("%s is %dx%d, not an MNIST-sized 28x28 sample", f, b.Dx(), b.Dy())
		}
		x, err := imageio.FromImage(img, 1, 28, 28)
		if err != nil {
			return err
		}
		images = append(images, x)
		class := -1
		if r, _, _, err := recipeFromPNG(context.Background(), f); err == nil && r.Class != nil {
			class = *r.Class
		}
		want = append(want, class)
	}
	// The first heldOut test digits are the real samples, the rest the
	// reference; up to heldOut samples are compared like for like.
	const heldOut = 2000
	if testSet.Len() <= heldOut {
		return fmt.Errorf("evaluate: the MNIST test set has %d digits, need more than %d", testSet.Len(), heldOut)
	}
	ref := clf.Read(testSet.Images[heldOut:])
	ours := clf.Read(images)
	fd, err := train.FrechetDistance(ours.Features, ref.Features)
	if err != nil {
		return err
	}
	real := clf.Read(testSet.Images[:min(len(images), heldOut)])
	realFD, err := train.FrechetDistance(real.Features, ref.Features)
	if err != nil {
		return err
	}
	// The kernel distance has no small-n bias; its reference is a fixed
	// 2000 of the 8000, which keeps the all-pairs sum quick.
	kref := ref.Features[:2000]
	kd, err := train.KernelDistance(ours.Features, kref)
	if err != nil {
		return err
	}
	realKD, err := train.KernelDistance(real.Features, kref)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "reference: %d MNIST test digits; Fréchet distance (FD) and kernel distance (KD, unbiased: ~0 for real digits at any n) of classifier features to it, mean confidence, read as 0-9:\n", len(ref.Labels))
	fmt.Fprintf(stdout, "  %-22s %5d  FD %7.2f  KD %7.4f  confidence %.3f  %v\n", "real held-out digits", len(real.Labels), realFD, realKD, real.MeanConfidence(), real.Histogram(10))
	fmt.Fprintf(stdout, "  %-22s %5d  FD %7.2f  KD %7.4f  confidence %.3f  %v\n", "samples", len(images), fd, kd, ours.MeanConfidence(), ours.Histogram(10))
	if realFD > 0 {
		note := ""
		if len(images) > heldOut {
			note = fmt.Sprintf(" (real: %d digits, not %d)", heldOut, len(images))
		}
		fmt.Fprintf(stdout, "samples/real FD: %.2f%s\n", fd/realFD, note)
	}
	got := ours.Labels
	agree, asked := 0, 0
	perClass := map[int][2]int{}
	for i, g := range got {
		if want[i] >= 0 {
			asked++
			pc := perClass[want[i]]
			pc[1]++
			if g == want[i] {
				agree++
				pc[0]++
			}
			perClass[want[i]] = pc
		}
	}
	if asked > 0 {
		fmt.Fprintf(stdout, "class agreement: %.1f%% (%d of %d)\n", 100*float64(agree)/float64(asked), agree, asked)
		keys := make([]int, 0, len(perClass))
		for k := range perClass {
			keys = append(keys, k)
		}
		sort.Ints(keys)
		for _, k := range keys {
			fmt.Fprintf(stdout, "  class %d: %d/%d\n", k, perClass[k][0], perClass[k][1])
		}
	}
	if *nearest != "" {
		if err := writeNearest(*nearest, images[:min(10, len(images))], trainSet); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "wrote %s\n", *nearest)
	}
	return nil
}

// writeNearest shows samples above their nearest training images (L2 in
// pixel space): a sample identical to its neighbour would be memorised.
func writeNearest(path string, samples [][]float32, data *train.Dataset) error {
	var row1, row2 []image.Image
	for _, s := range samples {
		best, bestD := 0, math.Inf(1)
		for i, x := range data.Images {
			var d float64
			for j, v := range x {
				e := float64(v - s[j])
				d += float64(e * e)
			}
			if d < bestD {
				best, bestD = i, d
			}
		}
		a, err := imageio.ToImage(s, 1, 28, 28)
		if err != nil {
			return err
		}
		b, _ := imageio.ToImage(data.Images[best], 1, 28, 28)
		row1, row2 = append(row1, a), append(row2, b)
	}
	grid := imageio.Scale(imageio.Grid(append(row1, row2...), len(row1), 2), 3)
	return atomicfile.Write(path, func(w io.Writer) error { return imageio.EncodePNG(w, grid, nil) })
}
