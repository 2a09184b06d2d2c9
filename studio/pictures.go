package studio

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"io"
	"math"

	"github.com/ddpmstudio/ddpmstudio/diffusion"
	"github.com/ddpmstudio/ddpmstudio/imageio"
)

// Picture turns one sample (C·H·W values in [−1, 1]) into an image.
func Picture(x []float32, shape diffusion.Shape) (image.Image, error) {
	return imageio.ToImage(x, shape.C, shape.H, shape.W)
}

// SamplePictures converts every sample of a result.
func SamplePictures(res *Result) ([]image.Image, error) {
	imgs := make([]image.Image, len(res.Samples))
	for i, s := range res.Samples {
		img, err := Picture(s, res.Shape)
		if err != nil {
			return nil, err
		}
		imgs[i] = img
	}
	return imgs, nil
}

// GridOf tiles pictures in a near-square grid with a 2-pixel gap (one
// picture stays itself).
func GridOf(imgs []image.Image) image.Image {
	if len(imgs) == 1 {
		return imgs[0]
	}
	return imageio.Grid(imgs, int(math.Ceil(math.Sqrt(float64(len(imgs))))), 2)
}

// WritePNG writes img as PNG carrying the recipe (and, with a mask, the
// mask itself in MaskChunk, so the PNG alone reproduces an inpainting).
// The same picture and recipe give the same bytes from the CLI and the app.
func WritePNG(w io.Writer, img image.Image, r Recipe, mask image.Image) error {
	text := map[string]string{"parameters": r.Encode(), "Software": r.Program}
	if mask != nil {
		m, err := EncodeMask(mask)
		if err != nil {
			return err
		}
		text[MaskChunk] = m
	}
	return imageio.EncodePNG(w, img, text)
}

// ReadPNG reads the recipe (and embedded mask, if any) of a PNG's bytes,
// validated by Recipe.Validate.
func ReadPNG(b []byte) (Recipe, image.Image, error) {
	text, err := imageio.ReadPNGText(bytes.NewReader(b))
	if err != nil {
		return Recipe{}, nil, err
	}
	p, ok := text["parameters"]
	if !ok {
		return Recipe{}, nil, errors.New("the PNG carries no recipe (no \"parameters\" text chunk)")
	}
	r, err := DecodeRecipe(p)
	if err == nil {
		err = r.Validate()
	}
	if err != nil {
		return r, nil, err
	}
	var mask image.Image
	if m, ok := text[MaskChunk]; ok {
		if mask, err = DecodeMask(m); err != nil {
			return r, nil, err
		}
	}
	return r, mask, nil
}

// Pair is one step of a chain as pictures: x_t beside the predicted x̂_0.
type Pair struct{ XT, X0 image.Image }

// ChainPairs renders sample n of the run's recorded chain every `every`
// events (denoising events only), ending with the final sample beside
// itself. Frames not retained are recomputed.
func ChainPairs(ctx context.Context, run *Run, n, every int) ([]Pair, error) {
	shape := run.Shape()
	if n < 0 || n >= shape.N {
		return nil, fmt.Errorf("sample %d of a batch of %d", n, shape.N)
	}
	per := shape.SampleLen()
	one := shape
	one.N = 1
	pic := func(v []float32) (image.Image, error) { return Picture(v[n*per:(n+1)*per], one) }
	plan := run.Plan()
	every = max(1, every)
	var pairs []Pair
	for i := 0; i < run.Len(); i++ {
		if plan[i].Kind != diffusion.Denoise || (i%every != 0 && i != len(plan)-1) {
			continue
		}
		f, err := run.Frame(ctx, i)
		if err != nil {
			return nil, err
		}
		a, err := pic(f.X)
		if err != nil {
			return nil, err
		}
		b, err := pic(f.X0)
		if err != nil {
			return nil, err
		}
		pairs = append(pairs, Pair{a, b})
	}
	if final := run.Final(); final != nil {
		img, err := pic(final)
		if err != nil {
			return nil, err
		}
		pairs = append(pairs, Pair{img, img})
	}
	return pairs, nil
}

// ChainScale is the magnification that makes a chain picture about 128
// pixels tall per image.
func ChainScale(shape diffusion.Shape) int { return max(1, 128/max(shape.H, shape.W)) }

// WriteChainGIF writes the pairs as an animated GIF: x_t on the left, x̂_0
// on the right, magnified.
func WriteChainGIF(w io.Writer, pairs []Pair, scale int) error {
	frames := make([]image.Image, len(pairs))
	for i, p := range pairs {
		frames[i] = imageio.Scale(imageio.Grid([]image.Image{p.XT, p.X0}, 2, 1), scale)
	}
	return imageio.WriteGIF(w, frames, 8)
}

// ChainStrip is a strip: one column per pair, x_t above x̂_0.
func ChainStrip(pairs []Pair, scale int) image.Image {
	cols := make([]image.Image, len(pairs))
	for i, p := range pairs {
		cols[i] = imageio.Grid([]image.Image{p.XT, p.X0}, 1, 1)
	}
	return imageio.Scale(imageio.Grid(cols, len(cols), 1), max(1, scale))
}
