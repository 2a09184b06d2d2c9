package cli

import (
	"context"
	"errors"
	"fmt"
	"image"
	"io"
	"os"
	"path/filepath"

	"github.com/ddpmstudio/ddpmstudio/imageio"
	"github.com/ddpmstudio/ddpmstudio/internal/atomicfile"
	"github.com/ddpmstudio/ddpmstudio/studio"
	"github.com/ddpmstudio/ddpmstudio/unet"
	"github.com/ddpmstudio/ddpmstudio/unet/cpu"
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
	if same, err := sameFolder(*model, *out); err != nil {
		return fmt.Errorf("export: %w", err)
	} else if same {
		return fmt.Errorf("export: --out %s is its own input --model %s; write the copy to another folder", *out, *model)
	}
	l, err := unet.Load(*model, cpu.New())
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
	switch {
	case *per < 1 || *per > 100:
		return fmt.Errorf("--per-class %d: must lie in 1…100", *per)
	case *steps < 1 || *steps > 1000:
		return fmt.Errorf("--steps %d: must lie in 1…1000", *steps)
	case !(*guidance >= 0 && *guidance <= studio.MaxGuidance):
		return fmt.Errorf("--guidance %v: must lie in [0, %d]", *guidance, studio.MaxGuidance)
	case *scale < 1 || *scale > 64:
		return fmt.Errorf("--scale %d: must lie in 1…64", *scale)
	}
	if err := writableDir(filepath.Dir(*out), false); err != nil {
		return fmt.Errorf("--out %s: %w", *out, err)
	}
	sess, err := studio.Open(ctx, *model, studio.OpenOptions{Backend: studio.BackendCPU})
	if err != nil {
		return err
	}
	info := sess.Info()
	if !info.Conditional || info.Classes == 0 {
		return errors.New("classgrid: the model is not class-conditional")
	}
	classes := info.Classes
	if info.NullClass >= 0 {
		classes--
	}
	var imgs []image.Image
	for c := 0; c < classes; c++ {
		class := c
		r := sess.DefaultRecipe(studio.DDIM)
		r.Steps, r.Seed, r.Count, r.Class, r.Guidance = *steps, *seed, *per, &class, *guidance
		run, err := sess.Start(ctx, r, studio.StartOptions{Batch: *per})
		if err != nil {
			return flagError(err)
		}
		res, err := run.Wait()
		if err != nil {
			return err
		}
		pics, err := studio.SamplePictures(res)
		if err != nil {
			return err
		}
		imgs = append(imgs, pics...)
		fmt.Fprintf(stderr, "class %d done\n", c)
	}
	grid := imageio.Scale(imageio.Grid(imgs, *per, 2), *scale)
	if err := atomicfile.Write(*out, func(w io.Writer) error { return imageio.EncodePNG(w, grid, nil) }); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s\n", *out)
	return nil
}

// sameFolder reports whether two paths name the same existing folder (or
// b does not exist yet).
func sameFolder(a, b string) (bool, error) {
	sa, err := os.Stat(a)
	if err != nil {
		return false, err
	}
	sb, err := os.Stat(b)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if os.SameFile(sa, sb) {
		return true, nil
	}
	// A pipeline folder's unet/ is the model folder too.
	if su, err := os.Stat(filepath.Join(a, "unet")); err == nil && os.SameFile(su, sb) {
		return true, nil
	}
	return false, nil
}
