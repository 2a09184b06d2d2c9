// Package cli is DDPM Studio's command line: `sample` (sampling,
// inpainting, chain export, reproduction from a PNG's recipe) and `info`. It
// drives the same engine (package studio) as the GUI.
package cli

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"github.com/ddpmstudio/ddpmstudio/internal/safeio"
	"golang.org/x/sys/unix"
	"image"
	"io"
	"math"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/ddpmstudio/ddpmstudio/assets"
	"github.com/ddpmstudio/ddpmstudio/diffusion"
	"github.com/ddpmstudio/ddpmstudio/imageio"
	"github.com/ddpmstudio/ddpmstudio/internal/atomicfile"
	"github.com/ddpmstudio/ddpmstudio/studio"
	"github.com/ddpmstudio/ddpmstudio/unet"
)

// Usage is the top-level help.
const Usage = `DDPM Studio %s — sampling from denoising diffusion probabilistic models

Usage:
  ddpmstudio sample [flags]      sample, inpaint, export the chain (see ddpmstudio sample -h)
  ddpmstudio info [--model DIR]  describe a diffusers UNet2DModel folder (default: the embedded model)
  ddpmstudio train [flags]       train a UNet2DModel (see ddpmstudio train -h)
  ddpmstudio evaluate --samples DIR   judge generated MNIST digits (class agreement, feature FID)
  ddpmstudio classgrid [flags]   one row of samples per class of a class-conditional model
  ddpmstudio export --model DIR --out DIR [--half]   rewrite a model folder (F16 weights)
  ddpmstudio schedule [--model DIR | --schedule K --timesteps T --beta-start B --beta-end E] [--csv]
                                 print a β schedule (a summary, or every t as CSV)
  ddpmstudio version             print the version

The graphical studio is not built yet.
`

// Exit statuses after a signal, as a shell reports them: 128 + the signal.
const (
	exitInterrupted = 130 // SIGINT
	exitTerminated  = 143 // SIGTERM
)

// signalError is the cause of a context cancelled by a signal.
type signalError struct{ sig os.Signal }

func (e signalError) Error() string { return "stopped by " + e.sig.String() }

// signalContext is cancelled by the first SIGINT or SIGTERM, whose signal
// becomes its cause. Work honours it at its next check (within one sampling
// step, between U-Net blocks, between 4 MiB of a file read); a second
// signal ends the process at once with the same status, for whatever does
// not check. Temporary files a hard exit leaves behind follow our naming
// pattern and are removed by the next write (see atomicfile).
func signalContext() (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(context.Background())
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case s := <-sigs:
			cancel(signalError{s})
		case <-done:
			return
		}
		select {
		case s := <-sigs:
			os.Exit(exitStatus(signalError{s}))
		case <-done:
		}
	}()
	return ctx, func() {
		signal.Stop(sigs)
		close(done)
		cancel(nil)
	}
}

// exitStatus maps a cancellation cause to the process's exit status.
func exitStatus(cause error) int {
	var se signalError
	if errors.As(cause, &se) && se.sig == syscall.SIGTERM {
		return exitTerminated
	}
	return exitInterrupted
}

// Main runs the command line with args (without the program name) and
// returns the exit status. Errors are one line on stderr, never a panic.
func Main(args []string, stdout, stderr io.Writer) (status int) {
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(stderr, "ddpmstudio: internal error: %v\n", r)
			status = 70
		}
	}()
	if len(args) == 0 {
		fmt.Fprintf(stdout, Usage, studio.Version)
		return 0
	}
	ctx, stop := signalContext()
	defer stop()
	var err error
	switch args[0] {
	case "sample":
		err = runSample(ctx, args[1:], stdout, stderr)
	case "info":
		err = runInfo(args[1:], stdout)
	case "train":
		err = runTrain(ctx, args[1:], stdout, stderr)
	case "evaluate":
		err = runEvaluate(args[1:], stdout)
	case "export":
		err = runExport(args[1:], stdout)
	case "classgrid":
		err = runClassGrid(ctx, args[1:], stdout, stderr)
	case "schedule":
		err = runSchedule(args[1:], stdout)
	case "version":
		fmt.Fprintln(stdout, studio.Version)
	case "help", "-h", "--help":
		fmt.Fprintf(stdout, Usage, studio.Version)
	default:
		err = fmt.Errorf("unknown command %q (try: ddpmstudio help)", args[0])
	}
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, context.Canceled):
		if args[0] == "train" {
			fmt.Fprintln(stderr, "ddpmstudio: interrupted; a checkpoint was written, continue with --resume")
		} else {
			fmt.Fprintln(stderr, "ddpmstudio: interrupted; no files were written")
		}
		return exitStatus(context.Cause(ctx))
	}
	fmt.Fprintln(stderr, "ddpmstudio:", oneLine(err.Error()))
	return 1
}

func oneLine(s string) string { return strings.ReplaceAll(strings.TrimSpace(s), "\n", "; ") }

func runInfo(args []string, w io.Writer) error {
	fs := newFlags("info")
	model := fs.String("model", "", "diffusers model folder (default: the embedded model)")
	if err := parseFlags(fs, args, w); err != nil {
		return err
	}
	l, err := loadModel(*model, "cpu")
	if err != nil {
		return err
	}
	fmt.Fprint(w, studio.ModelInfo(l))
	return nil
}

func loadModel(dir, backend string) (*unet.Loaded, error) {
	return loadModelContext(context.Background(), dir, backend, unet.LoadOptions{})
}

// loadModelContext loads a model folder, or the embedded model, honouring
// ctx while the files are read.
func loadModelContext(ctx context.Context, dir, backend string, opt unet.LoadOptions) (*unet.Loaded, error) {
	switch backend {
	case "auto", "cpu":
	case "gl":
		return nil, errors.New("--backend gl: the OpenGL compute backend is not built yet; use --backend cpu")
	default:
		return nil, fmt.Errorf("--backend %q: want auto, cpu or gl", backend)
	}
	if studio.IsEmbedded(dir) {
		fsys, ok := assets.DefaultModel()
		if !ok {
			return nil, errors.New("this build has no embedded default model; pass --model DIR, a diffusers UNet2DModel folder")
		}
		return unet.LoadFS(fsys, studio.EmbeddedModel, unet.NewCPU())
	}
	return unet.LoadContext(ctx, dir, unet.NewCPU(), opt)
}

type sampleFlags struct {
	model, sampler, schedule, out, outdir, chain, image, mask, inpaint, backend, from string
	steps, timesteps, count, batch, every, jumpLength, jumpNSample                    int
	memoryGiB                                                                         float64
	eta, betaStart, betaEnd                                                           float64
	seed                                                                              uint64
	invertMask, quiet, allowNonFinite                                                 bool
	class                                                                             int
	guidance                                                                          float64
	set                                                                               map[string]bool
}

func parseSampleFlags(args []string, stderr io.Writer) (*sampleFlags, error) {
	f := &sampleFlags{set: map[string]bool{}}
	fs := newFlags("sample")
	fs.StringVar(&f.model, "model", "", "diffusers model folder (default: the embedded model)")
	fs.StringVar(&f.sampler, "sampler", "ddpm", "ddpm or ddim")
	fs.IntVar(&f.steps, "steps", 0, "denoising steps (default: T for ddpm, 50 for ddim and repaint)")
	fs.Float64Var(&f.eta, "eta", 0, "DDIM / RePaint noise scale η in [0, 1]")
	fs.StringVar(&f.schedule, "schedule", "", "override the β schedule: linear, scaled_linear, cosine or sigmoid")
	fs.Float64Var(&f.betaStart, "beta-start", 0, "override β_1")
	fs.Float64Var(&f.betaEnd, "beta-end", 0, "override β_T")
	fs.IntVar(&f.timesteps, "timesteps", 0, "override the number of training timesteps T")
	fs.Uint64Var(&f.seed, "seed", 0, "seed (default random; always printed and recorded)")
	fs.IntVar(&f.count, "count", 1, "number of samples")
	fs.IntVar(&f.batch, "batch", 0, "samples per forward pass (default: as many as fit in about 64 MiB of activations, at most 32); results do not depend on it")
	fs.Float64Var(&f.memoryGiB, "memory-budget", 4, "GiB of activations one forward pass may use; a larger batch or model is refused before it starts")
	fs.StringVar(&f.out, "out", "", "output PNG (a grid when --count > 1; default sample.png)")
	fs.StringVar(&f.outdir, "outdir", "", "write one PNG per sample into this folder")
	fs.StringVar(&f.chain, "chain", "", "export the first sample's chain: FILE.gif (animated) or FILE.png (strip)")
	fs.IntVar(&f.every, "every", 0, "record every k-th step for --chain (default: about 40 frames)")
	fs.StringVar(&f.image, "image", "", "image to inpaint (PNG or JPEG)")
	fs.StringVar(&f.mask, "mask", "", "inpainting mask: white = regenerate, black = keep")
	fs.BoolVar(&f.invertMask, "invert-mask", false, "swap the mask's meaning")
	fs.BoolVar(&f.allowNonFinite, "allow-nonfinite", false, "load a model whose weights hold NaN or Inf (refused by default)")
	fs.StringVar(&f.inpaint, "inpaint", "repaint", "inpainting method: repaint or replace")
	fs.IntVar(&f.jumpLength, "jump-length", 10, "RePaint jump length")
	fs.IntVar(&f.jumpNSample, "jump-n-sample", 10, "RePaint resampling count")
	fs.StringVar(&f.backend, "backend", "auto", "auto, cpu or gl")
	fs.StringVar(&f.from, "from", "", "reproduce the picture whose recipe this PNG carries")
	fs.BoolVar(&f.quiet, "quiet", false, "no progress output")
	fs.IntVar(&f.class, "class", 0, "class label to draw (class-conditional models; default: unconditional)")
	fs.Float64Var(&f.guidance, "guidance", 0, "classifier-free guidance scale W: ε = ε_uncond + W·(ε_cond − ε_uncond) (default 2 with --class)")
	if err := parseFlags(fs, args, stderr); err != nil {
		return nil, err
	}
	fs.Visit(func(fl *flag.Flag) { f.set[fl.Name] = true })
	return f, nil
}

// fromAllowed are the flags that may accompany --from: where things are and
// where results go, never what is computed.
var fromAllowed = map[string]bool{"from": true, "model": true, "image": true, "mask": true, "out": true, "outdir": true,
	"chain": true, "every": true, "batch": true, "backend": true, "quiet": true, "allow-nonfinite": true, "memory-budget": true}

func runSample(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f, err := parseSampleFlags(args, stderr)
	if err != nil {
		return err
	}
	var recipe studio.Recipe
	if f.from != "" {
		recipe, err = recipeFromPNG(ctx, f.from)
		if err != nil {
			return err
		}
		for name := range f.set {
			if !fromAllowed[name] {
				return fmt.Errorf("--%s cannot be combined with --from: the recipe fixes it", name)
			}
		}
		if !f.set["model"] {
			f.model = resolveBesides(f.from, recipe.Model)
		}
	}
	if err := checkOutputs(f); err != nil {
		return err
	}
	if !f.quiet {
		name := f.model
		if studio.IsEmbedded(name) {
			name = "the embedded model"
		}
		fmt.Fprintf(stderr, "loading %s\n", name)
	}
	l, err := loadModelContext(ctx, f.model, f.backend, unet.LoadOptions{AllowNonFinite: f.allowNonFinite})
	if err != nil {
		if f.from != "" && !f.set["model"] && errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("%w (the recipe names the model %q; pass --model DIR to say where it is)", err, recipe.Model)
		}
		return err
	}
	hash := l.WeightsHash
	if f.from != "" && hash != recipe.ModelHash {
		return fmt.Errorf("the weights in %s (sha256 %.12s…) are not the ones the recipe used (%.12s…)", l.Folder.Weights, hash, recipe.ModelHash)
	}
	cfg := l.Model.Config

	if f.from == "" {
		recipe, err = recipeFromFlags(f, l)
		if err != nil {
			return err
		}
	}
	recipe.Program = "DDPM Studio " + studio.Version
	recipe.Model, recipe.ModelHash = studio.ModelName(recordedPath(f.model)), hash
	if studio.IsEmbedded(f.model) {
		recipe.Model = studio.EmbeddedModel
	}

	sched, changed, err := studio.ApplySchedule(l.Scheduler, recipe.Schedule)
	if err != nil {
		return fmt.Errorf("schedule: %w", err)
	}
	if changed && !f.quiet {
		was := studio.ScheduleOf(l.Scheduler)
		fmt.Fprintf(stderr, "warning: schedule %s T=%d β %g→%g differs from the model's training schedule %s T=%d β %g→%g\n",
			recipe.Schedule.Kind, recipe.Schedule.T, recipe.Schedule.BetaStart, recipe.Schedule.BetaEnd, was.Kind, was.T, was.BetaStart, was.BetaEnd)
	}
	h, w := cfg.SampleSize[0], cfg.SampleSize[1]
	job := &studio.Job{
		Recipe: recipe, Model: l.Model, Scheduler: sched,
		Shape: diffusion.Shape{N: 1, C: cfg.InChannels, H: h, W: w}, Batch: f.batch,
		Conditional: cfg.HasClasses(), Null: cfg.NullClass,
	}
	if recipe.Class != nil && (*recipe.Class < 0 || (cfg.NumClassEmbeds > 0 && *recipe.Class >= cfg.NumClassEmbeds)) {
		return fmt.Errorf("--class %d: the model has class labels 0–%d", *recipe.Class, cfg.NumClassEmbeds-1)
	}
	if !(f.memoryGiB > 0 && f.memoryGiB <= 1<<20) {
		return fmt.Errorf("--memory-budget %v: must be a positive number of GiB", f.memoryGiB)
	}
	if f.set["batch"] && f.batch < 1 {
		return fmt.Errorf("--batch %d: must be at least 1", f.batch)
	}
	if !f.set["batch"] {
		if job.Batch, err = defaultBatch(cfg); err != nil {
			return err
		}
	}
	// Classifier-free guidance runs the batch twice over in one pass.
	passN := min(job.Batch, recipe.Count)
	if recipe.Class != nil && recipe.Guidance != 1 {
		passN *= 2
	}
	if err := unet.CheckActivations(cfg, passN, h, w, int64(f.memoryGiB*(1<<30))); err != nil {
		return fmt.Errorf("--batch %d: %w (or raise --memory-budget)", job.Batch, err)
	}
	if recipe.Inpaint != nil {
		known, err := inpaintInputs(ctx, f, recipe.Inpaint, cfg.InChannels, h, w, stderr)
		if err != nil {
			return err
		}
		job.Known = known
	}
	sampler, err := job.NewSampler()
	if err != nil {
		return err
	}
	events := len(sampler.Plan())
	if f.chain != "" {
		job.KeepEvery = f.every
		if job.KeepEvery <= 0 {
			job.KeepEvery = max(1, events/40)
		}
	}
	fmt.Fprintf(stderr, "seed %d\n", recipe.Seed)
	if !f.quiet {
		job.Progress = newProgress(stderr, isTerminal(stderr)).update
	}
	res, err := job.Run(ctx)
	if err != nil {
		return err
	}
	if !f.quiet && isTerminal(stderr) {
		fmt.Fprintln(stderr)
	}
	return writeOutputs(f, recipe, res, job.Shape, stdout)
}

// defaultBatch sizes batches by the activations of one sample, computed
// from the config: small models sample many images per pass (far faster per
// image), large ones one.
func defaultBatch(cfg unet.Config) (int, error) {
	per, err := unet.ActivationBytes(cfg, 1, cfg.SampleSize[0], cfg.SampleSize[1])
	if err != nil {
		return 0, err
	}
	return int(max(1, min(32, (64<<20)/max(1, per)))), nil
}

func recipeFromPNG(ctx context.Context, path string) (studio.Recipe, error) {
	b, err := safeio.ReadFile(ctx, path, imageio.MaxImageBytes)
	if err != nil {
		return studio.Recipe{}, fmt.Errorf("--from: %w", err)
	}
	text, err := imageio.ReadPNGText(bytes.NewReader(b))
	if err != nil {
		return studio.Recipe{}, fmt.Errorf("--from %s: %w", path, err)
	}
	p, ok := text["parameters"]
	if !ok {
		return studio.Recipe{}, fmt.Errorf("--from %s: the PNG carries no recipe (no \"parameters\" text chunk)", path)
	}
	r, err := studio.DecodeRecipe(p)
	if err == nil {
		err = r.Validate()
	}
	if err != nil {
		return r, fmt.Errorf("--from %s: %w", path, err)
	}
	return r, nil
}

func recipeFromFlags(f *sampleFlags, l *unet.Loaded) (studio.Recipe, error) {
	r := studio.Recipe{Sampler: f.sampler, Steps: f.steps, Eta: f.eta, Seed: f.seed, Count: f.count}
	if math.IsNaN(f.eta) || f.eta < 0 || f.eta > 1 {
		return r, fmt.Errorf("--eta %v: must lie in [0, 1]", f.eta)
	}
	if f.count < 1 {
		return r, fmt.Errorf("--count %d: must be at least 1", f.count)
	}
	if !f.set["seed"] {
		var b [8]byte
		if _, err := rand.Read(b[:]); err != nil {
			return r, err
		}
		r.Seed = binary.LittleEndian.Uint64(b[:]) >> 1 // keep it friendly to tools that read int64
	}
	if f.set["class"] {
		c := f.class
		r.Class = &c
		r.Guidance = 1
		if l.Model.Config.NullClass >= 0 {
			r.Guidance = 2 // what the default model's class agreement was measured at
		}
	}
	if f.set["guidance"] {
		if math.IsNaN(f.guidance) || f.guidance < 0 || f.guidance > 50 {
			return r, fmt.Errorf("--guidance %v: must lie in [0, 50]", f.guidance)
		}
		r.Guidance = f.guidance
	}
	if f.sampler != studio.DDPM && f.sampler != studio.DDIM {
		return r, fmt.Errorf("--sampler %q: want ddpm or ddim", f.sampler)
	}
	r.Schedule = studio.ScheduleOf(l.Scheduler)
	if f.set["schedule"] || f.set["beta-start"] || f.set["beta-end"] || f.set["timesteps"] {
		if r.Schedule.Kind == string(diffusion.Explicit) {
			r.Schedule = studio.Schedule{Kind: string(diffusion.Linear), BetaStart: 1e-4, BetaEnd: 0.02, T: r.Schedule.T}
		}
		if f.set["schedule"] {
			k, err := diffusion.ParseKind(f.schedule)
			if err != nil {
				return r, fmt.Errorf("--schedule: %w", err)
			}
			r.Schedule.Kind = string(k)
		}
		if f.set["beta-start"] {
			r.Schedule.BetaStart = f.betaStart
		}
		if f.set["beta-end"] {
			r.Schedule.BetaEnd = f.betaEnd
		}
		if f.set["timesteps"] {
			r.Schedule.T = f.timesteps
		}
	}
	if f.set["image"] != f.set["mask"] {
		return r, errors.New("inpainting needs both --image and --mask")
	}
	if f.set["image"] {
		in := &studio.Inpaint{Method: f.inpaint, Image: recordedPath(f.image), Mask: recordedPath(f.mask), InvertMask: f.invertMask}
		switch f.inpaint {
		case studio.RePaint:
			in.JumpLength, in.JumpNSample = f.jumpLength, f.jumpNSample
			r.Sampler = studio.RePaint
		case studio.Replace:
		default:
			return r, fmt.Errorf("--inpaint %q: want repaint or replace", f.inpaint)
		}
		r.Inpaint = in
	}
	if !f.set["steps"] {
		switch r.Sampler {
		case studio.DDPM:
			r.Steps = r.Schedule.T
		default:
			r.Steps = min(50, r.Schedule.T)
		}
	}
	return r, flagError(r.Validate())
}

// recipeFlags names the flag that sets each recipe field.
var recipeFlags = map[string]string{
	"sampler": "--sampler", "steps": "--steps", "eta": "--eta", "count": "--count", "guidance": "--guidance",
	"class": "--class", "schedule.timesteps": "--timesteps", "schedule.kind": "--schedule",
	"schedule": "--schedule/--beta-start/--beta-end/--timesteps", "inpaint.jump_length": "--jump-length",
	"inpaint.jump_n_sample": "--jump-n-sample", "inpaint.method": "--inpaint",
}

// flagError restates a recipe's field error in terms of the flag that set it.
func flagError(err error) error {
	var fe *studio.FieldError
	if errors.As(err, &fe) {
		if flag, ok := recipeFlags[fe.Field]; ok {
			return fmt.Errorf("%s %v: %s", flag, fe.Value, fe.Why)
		}
	}
	return err
}

// inpaintInputs loads the image and mask, checks they match, fits them to
// the model and verifies them against a reproduced recipe's hashes.
func inpaintInputs(ctx context.Context, f *sampleFlags, in *studio.Inpaint, c, h, w int, stderr io.Writer) (*diffusion.Known, error) {
	imgPath, maskPath := resolveBesides(f.from, in.Image), resolveBesides(f.from, in.Mask)
	if f.set["image"] {
		imgPath = f.image
	}
	if f.set["mask"] {
		maskPath = f.mask
	}
	// Each file is read once: the hash is of the very bytes decoded.
	img, imgBytes, err := imageio.LoadContext(ctx, imgPath)
	if err != nil {
		return nil, fmt.Errorf("--image: %w", err)
	}
	mask, maskBytes, err := imageio.LoadContext(ctx, maskPath)
	if err != nil {
		return nil, fmt.Errorf("--mask: %w", err)
	}
	imgHash, maskHash := studio.HashBytes(imgBytes), studio.HashBytes(maskBytes)
	if f.from != "" {
		if imgHash != in.ImageHash {
			return nil, fmt.Errorf("the image %s (sha256 %.12s…) is not the one the recipe used (%.12s…)", imgPath, imgHash, in.ImageHash)
		}
		if maskHash != in.MaskHash {
			return nil, fmt.Errorf("the mask %s (sha256 %.12s…) is not the one the recipe used (%.12s…)", maskPath, maskHash, in.MaskHash)
		}
	}
	in.Image, in.Mask, in.ImageHash, in.MaskHash = recordedPath(imgPath), recordedPath(maskPath), imgHash, maskHash
	if img.Bounds().Size() != mask.Bounds().Size() {
		return nil, fmt.Errorf("mask %s is %v but image %s is %v: they must be the same size", maskPath, mask.Bounds().Size(), imgPath, img.Bounds().Size())
	}
	fitted, resized := imageio.Fit(img, w, h)
	fittedMask, _ := imageio.Fit(mask, w, h)
	if resized && !f.quiet {
		fmt.Fprintf(stderr, "notice: image and mask resized from %dx%d to the model's %dx%d\n", img.Bounds().Dx(), img.Bounds().Dy(), w, h)
	}
	x, err := imageio.FromImage(fitted, c, h, w)
	if err != nil {
		return nil, err
	}
	return &diffusion.Known{Image: x, Mask: imageio.MaskFromImage(fittedMask, in.InvertMask)}, nil
}

func writeOutputs(f *sampleFlags, r studio.Recipe, res *studio.Result, shape diffusion.Shape, stdout io.Writer) error {
	imgs := make([]image.Image, len(res.Samples))
	for i, s := range res.Samples {
		img, err := imageio.ToImage(s, shape.C, shape.H, shape.W)
		if err != nil {
			return err
		}
		imgs[i] = img
	}
	if f.outdir != "" {
		if err := os.MkdirAll(f.outdir, 0o755); err != nil {
			return err
		}
		for i, img := range imgs {
			one := r
			one.First, one.Count = r.First+i, 1
			path := filepath.Join(f.outdir, fmt.Sprintf("sample-%05d.png", r.First+i))
			if err := writePNG(path, img, one); err != nil {
				return err
			}
		}
		fmt.Fprintf(stdout, "wrote %d samples to %s\n", len(imgs), f.outdir)
	} else {
		out := f.out
		if out == "" {
			out = "sample.png"
		}
		img := imgs[0]
		if len(imgs) > 1 {
			img = imageio.Grid(imgs, int(math.Ceil(math.Sqrt(float64(len(imgs))))), 2)
		}
		if err := writePNG(out, img, r); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "wrote %s\n", out)
	}
	if f.chain != "" {
		if err := writeChain(f.chain, res.Chain, shape); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "wrote %s\n", f.chain)
	}
	return nil
}

func writePNG(path string, img image.Image, r studio.Recipe) error {
	if !strings.EqualFold(filepath.Ext(path), ".png") {
		return fmt.Errorf("%s: output images are PNG files; name it *.png", path)
	}
	return atomicfile.Write(path, func(w io.Writer) error {
		return imageio.EncodePNG(w, img, map[string]string{"parameters": r.Encode(), "Software": r.Program})
	})
}

// chainPairs renders each recorded denoising frame of sample 0 as (x_t,
// x̂_0), ending with the final sample beside itself.
func chainPairs(c *diffusion.Chain, shape diffusion.Shape) ([][2]image.Image, error) {
	per := shape.SampleLen()
	var pairs [][2]image.Image
	add := func(a, b []float32) error {
		xt, err := imageio.ToImage(a[:per], shape.C, shape.H, shape.W)
		if err != nil {
			return err
		}
		x0, err := imageio.ToImage(b[:per], shape.C, shape.H, shape.W)
		if err != nil {
			return err
		}
		pairs = append(pairs, [2]image.Image{xt, x0})
		return nil
	}
	for _, fr := range c.Frames {
		if fr.Event.Kind == diffusion.Denoise {
			if err := add(fr.X, fr.X0); err != nil {
				return nil, err
			}
		}
	}
	if err := add(c.Final, c.Final); err != nil {
		return nil, err
	}
	return pairs, nil
}

func writeChain(path string, c *diffusion.Chain, shape diffusion.Shape) error {
	pairs, err := chainPairs(c, shape)
	if err != nil {
		return err
	}
	scale := max(1, 128/max(shape.H, shape.W))
	switch strings.ToLower(filepath.Ext(path)) {
	case ".gif":
		// Each frame: x_t on the left, the predicted x̂_0 on the right.
		frames := make([]image.Image, len(pairs))
		for i, p := range pairs {
			frames[i] = imageio.Scale(imageio.Grid(p[:], 2, 1), scale)
		}
		return atomicfile.Write(path, func(w io.Writer) error { return imageio.WriteGIF(w, frames, 8) })
	case ".png":
		// A strip: one column per recorded step, x_t above x̂_0.
		cols := make([]image.Image, len(pairs))
		for i, p := range pairs {
			cols[i] = imageio.Grid(p[:], 1, 1)
		}
		strip := imageio.Scale(imageio.Grid(cols, len(cols), 1), max(1, scale/2))
		return atomicfile.Write(path, func(w io.Writer) error { return imageio.EncodePNG(w, strip, nil) })
	}
	return fmt.Errorf("--chain %s: want a .gif or .png file", path)
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// progress prints a bar with steps/s and ETA on a terminal, and a plain line
// every tenth of the run otherwise.
type progress struct {
	w        io.Writer
	terminal bool
	start    time.Time
	lastPct  int
}

func newProgress(w io.Writer, terminal bool) *progress {
	return &progress{w: w, terminal: terminal, start: time.Now(), lastPct: -1}
}

func (p *progress) update(done, total int) {
	el := time.Since(p.start).Seconds()
	rate := float64(done) / math.Max(el, 1e-9)
	eta := time.Duration(float64(total-done)/math.Max(rate, 1e-9)) * time.Second
	if p.terminal {
		const width = 30
		fill := width * done / total
		fmt.Fprintf(p.w, "\r[%s%s] %d/%d steps  %.1f steps/s  ETA %s ", strings.Repeat("#", fill), strings.Repeat(".", width-fill), done, total, rate, eta.Round(time.Second))
		return
	}
	pct := 100 * done / total
	if pct/10 != p.lastPct/10 || done == total {
		p.lastPct = pct
		fmt.Fprintf(p.w, "step %d/%d (%d%%, %.1f steps/s, ETA %s)\n", done, total, pct, rate, eta.Round(time.Second))
	}
}

// recordedPath is how a recipe records a path the user gave: relative paths
// as given (cleaned), absolute ones by their base name, so that no user or
// folder name leaks into a shared PNG.
func recordedPath(p string) string {
	if p == "" || studio.IsEmbedded(p) {
		return p
	}
	if filepath.IsAbs(p) {
		return filepath.Base(p)
	}
	return filepath.Clean(p)
}

// resolveBesides finds a recipe's relative path: beside the PNG that
// carries the recipe when it exists there, else as given (from the
// working folder).
func resolveBesides(png, p string) string {
	if png == "" || p == "" || filepath.IsAbs(p) || studio.IsEmbedded(p) {
		return p
	}
	q := filepath.Join(filepath.Dir(png), p)
	if _, err := os.Stat(q); err != nil {
		q = p
	}
	if studio.IsEmbedded(filepath.Clean(q)) {
		return "." + string(filepath.Separator) + filepath.Clean(q) // a folder, whatever its name
	}
	return q
}

// checkOutputs verifies every output path before any work: known
// extensions, and folders that exist and can be written.
func checkOutputs(f *sampleFlags) error {
	if f.out != "" && f.outdir != "" {
		return errors.New("give --out or --outdir, not both")
	}
	if f.outdir != "" {
		if err := writableDir(f.outdir, true); err != nil {
			return fmt.Errorf("--outdir: %w", err)
		}
	} else {
		out := f.out
		if out == "" {
			out = "sample.png"
		}
		if !strings.EqualFold(filepath.Ext(out), ".png") {
			return fmt.Errorf("--out %s: output images are PNG files; name it *.png", out)
		}
		if err := writableDir(filepath.Dir(out), false); err != nil {
			return fmt.Errorf("--out %s: %w", out, err)
		}
	}
	if f.chain != "" {
		if e := strings.ToLower(filepath.Ext(f.chain)); e != ".gif" && e != ".png" {
			return fmt.Errorf("--chain %s: want a .gif or .png file", f.chain)
		}
		if err := writableDir(filepath.Dir(f.chain), false); err != nil {
			return fmt.Errorf("--chain %s: %w", f.chain, err)
		}
	}
	return nil
}

// writableDir checks that dir is a folder we can create files in (or, with
// mayCreate, that its parent is), and removes temporary files that an
// earlier killed run of ours left there.
func writableDir(dir string, mayCreate bool) error {
	st, err := os.Stat(dir)
	if errors.Is(err, os.ErrNotExist) && mayCreate {
		return writableDir(filepath.Dir(filepath.Clean(dir)), false)
	}
	if err != nil {
		return fmt.Errorf("folder %s: %w", dir, err)
	}
	if !st.IsDir() {
		return fmt.Errorf("%s is not a folder", dir)
	}
	if err := unix.Access(dir, unix.W_OK|unix.X_OK); err != nil {
		return fmt.Errorf("folder %s is not writable", dir)
	}
	atomicfile.CleanStale(dir)
	return nil
}
