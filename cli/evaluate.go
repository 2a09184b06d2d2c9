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
// trained here on MNIST reads each PNG's digit, which is compared with the
// class its recipe asked for, and the Fréchet distance between classifier
// features of the samples and of the MNIST test digits is reported.
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
		if r, _, err := recipeFromPNG(context.Background(), f); err == nil && r.Class != nil {
			class = *r.Class
		}
		want = append(want, class)
	}
	got, feats := clf.Classify(images)
	_, testFeats := clf.Classify(testSet.Images)
	fd, err := train.FrechetDistance(feats, testFeats)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "samples: %d; Fréchet distance of classifier features to MNIST test: %.2f\n", len(images), fd)
	hist := make([]int, 10)
	agree, asked := 0, 0
	perClass := map[int][2]int{}
	for i, g := range got {
		hist[g]++
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
	fmt.Fprintf(stdout, "read as digits 0-9: %v\n", hist)
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
				d += e * e
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
