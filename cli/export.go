package cli

import (
	"context"
	"errors"
	"fmt"
	"image"
	"io"

	"github.com/ddpmstudio/ddpmstudio/diffusion"
	"github.com/ddpmstudio/ddpmstudio/imageio"
	"github.com/ddpmstudio/ddpmstudio/internal/atomicfile"
	"github.com/ddpmstudio/ddpmstudio/studio"
	"github.com/ddpmstudio/ddpmstudio/unet"
)

// runExport rewrites a model folder, optionally as F16 weights: how the
// trainer's EMA checkpoint becomes the embedded default model.
func runExport(args []string, stdout io.Writer) error {
	fs := newFlags("export")
	model := fs.String("model", "", "model folder to read")
	out := fs.String("out", "", "folder to write (config.json, weights, scheduler_config.json)")
	half := fs.Bool("half", true, "store the weights as F16")
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	if *model == "" || *out == "" {
		return errors.New("export: --model DIR and --out DIR are required")
	}
	l, err := unet.Load(*model, unet.NewCPU())
	if err != nil {
		return err
	}
	sc := l.Scheduler
	if err := l.Model.Save(*out, *half, &sc); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s (%d parameters, F16=%v)\n", *out, l.Model.ParamCount(), *half)
	return nil
}

// runClassGrid draws a grid with one row per class of a class-conditional
// model: the picture MODEL.md shows.
func runClassGrid(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("classgrid")
	model := fs.String("model", "", "model folder (default: the embedded model)")
	out := fs.String("out", "classes.png", "output PNG")
	per := fs.Int("per-class", 10, "samples per row")
	steps := fs.Int("steps", 50, "DDIM steps")
	guidance := fs.Float64("guidance", 2, "classifier-free guidance scale")
	seed := fs.Uint64("seed", 1, "seed")
	scale := fs.Int("scale", 2, "pixel magnification")
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	l, err := loadModel(*model, "cpu")
	if err != nil {
		return err
	}
	cfg := l.Model.Config
	if !cfg.HasClasses() || cfg.NumClassEmbeds == 0 {
		return errors.New("classgrid: the model is not class-conditional")
	}
	classes := cfg.NumClassEmbeds
	if cfg.NullClass >= 0 {
		classes--
	}
	h, w := cfg.SampleSize[0], cfg.SampleSize[1]
	var imgs []image.Image
	for c := 0; c < classes; c++ {
		class := c
		job := &studio.Job{
			Recipe:    studio.Recipe{Sampler: studio.DDIM, Steps: *steps, Seed: *seed, Count: *per, Class: &class, Guidance: *guidance},
			Model:     l.Model,
			Scheduler: l.Scheduler,
			Shape:     diffusion.Shape{N: 1, C: cfg.InChannels, H: h, W: w}, Batch: *per,
			Conditional: true, Null: cfg.NullClass,
		}
		res, err := job.Run(ctx)
		if err != nil {
			return err
		}
		for _, s := range res.Samples {
			img, err := imageio.ToImage(s, cfg.InChannels, h, w)
			if err != nil {
				return err
			}
			imgs = append(imgs, img)
		}
		fmt.Fprintf(stderr, "class %d done\n", c)
	}
	grid := imageio.Scale(imageio.Grid(imgs, *per, 2), *scale)
	if err := atomicfile.Write(*out, func(w io.Writer) error { return imageio.EncodePNG(w, grid, nil) }); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s\n", *out)
	return nil
}
