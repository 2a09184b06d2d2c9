// Package cli is DDPM Studio's command line: `sample` (sampling,
// inpainting, chain export, reproduction from a PNG's recipe) and `info`. It
// drives the same engine (package studio) as the GUI.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"github.com/ddpmstudio/ddpmstudio/internal/safeio"
	"github.com/ddpmstudio/ddpmstudio/internal/simd"
	"image"
	"io"
	"math"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/ddpmstudio/ddpmstudio/diffusion"
	"github.com/ddpmstudio/ddpmstudio/imageio"
	"github.com/ddpmstudio/ddpmstudio/internal/atomicfile"
	"github.com/ddpmstudio/ddpmstudio/studio"
)

// Usage is the top-level help.
const Usage = `DDPM Studio %s — sampling from denoising diffusion probabilistic models

Usage:
  ddpmstudio                     open the studio window (needs a display)
  ddpmstudio sample [flags]      sample, inpaint, export the chain (see ddpmstudio sample -h)
  ddpmstudio info [--model DIR]  describe a diffusers UNet2DModel folder (default: the embedded model)
  ddpmstudio train [flags]       train a UNet2DModel (see ddpmstudio train -h)
  ddpmstudio evaluate --samples DIR   judge generated MNIST digits (class agreement, feature FID)
  ddpmstudio classgrid [flags]   one row of samples per class of a class-conditional model
  ddpmstudio export --model DIR --out DIR [--half]   rewrite a model folder (F16 weights; reads .bin too)
  ddpmstudio download owner/name[@REV] [--variant fp16]   fetch a Hub model into the Hugging Face cache
  ddpmstudio schedule [--model DIR | --schedule K --timesteps T --beta-start B --beta-end E] [--csv]
                                 print a β schedule (a summary, or every t as CSV)
  ddpmstudio version             print the version
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
	if err := simd.Err(); err != nil { // DDPM_CPU names a path this CPU lacks
		fmt.Fprintln(stderr, "ddpmstudio:", err)
		return 2
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
	case "download":
		err = runDownload(ctx, args[1:], stdout, stderr)
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
	model := fs.String("model", "", "diffusers model folder, or owner/name[@rev] from the Hugging Face cache (default: the embedded model)")
	if err := parseFlags(fs, args, w); err != nil {
		return err
	}
	sess, err := studio.Open(context.Background(), *model, studio.OpenOptions{Backend: studio.BackendCPU})
	if err != nil {
		return err
	}
	fmt.Fprint(w, sess.Describe())
	fmt.Fprintf(w, "cpu path     %s\n", cpuPath())
	if !studio.HasGL {
		fmt.Fprintln(w, "gl           not in this build (built without cgo)")
	}
	return nil
}

// cpuPath names the CPU kernels in use, how they were chosen and what else
// this CPU can run (all give the same bits: docs/determinism.md).
func cpuPath() string {
	how := "auto"
	if v := os.Getenv(simd.Env); v != "" {
		how = v
	}
	var all []string
	for _, p := range simd.Available() {
		all = append(all, string(p))
	}
	return fmt.Sprintf("%s (%s=%s; this CPU runs %s, all with the same bits)", simd.Current(), simd.Env, how, strings.Join(all, ", "))
}

type sampleFlags struct {
	model, sampler, schedule, out, outdir, chain, image, mask, inpaint, backend, from string
	trajectory                                                                        string
	steps, timesteps, count, batch, every, jumpLength, jumpNSample                    int
	memoryGiB, strength                                                               float64
	eta, betaStart, betaEnd                                                           float64
	seed                                                                              uint64
	invertMask, quiet, allowNonFinite                                                 bool
	class                                                                             string
	guidance                                                                          float64
	set                                                                               map[string]bool
}

func parseSampleFlags(args []string, stderr io.Writer) (*sampleFlags, error) {
	f := &sampleFlags{set: map[string]bool{}}
	fs := newFlags("sample")
	fs.StringVar(&f.model, "model", "", "diffusers model folder, or owner/name[@rev] from the Hugging Face cache (default: the embedded model)")
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
	fs.StringVar(&f.trajectory, "trajectory", "", "write every x_t, x̂₀ and ε̂ of the first batch to FILE.safetensors (with the recipe in its metadata)")
	fs.StringVar(&f.image, "image", "", "image to inpaint (PNG or JPEG)")
	fs.StringVar(&f.mask, "mask", "", "inpainting mask: white = regenerate, black = keep")
	fs.Float64Var(&f.strength, "strength", 0, "with --image and no --mask: noise the image to strength·T and denoise it (image-to-image, SDEdit); 1 forgets the image")
	fs.BoolVar(&f.invertMask, "invert-mask", false, "swap the mask's meaning")
	fs.BoolVar(&f.allowNonFinite, "allow-nonfinite", false, "load a model whose weights hold NaN or Inf (refused by default)")
	fs.StringVar(&f.inpaint, "inpaint", "repaint", "inpainting method: repaint or replace")
	fs.IntVar(&f.jumpLength, "jump-length", 10, "RePaint jump length")
	fs.IntVar(&f.jumpNSample, "jump-n-sample", 10, "RePaint resampling count")
	fs.StringVar(&f.backend, "backend", "auto", "auto, cpu or gl")
	fs.StringVar(&f.from, "from", "", "reproduce the picture whose recipe this PNG carries")
	fs.BoolVar(&f.quiet, "quiet", false, "no progress output")
	fs.StringVar(&f.class, "class", "", "class label to draw, or \"any\" to let the seed choose each sample's class (class-conditional models; default: unconditional)")
	fs.Float64Var(&f.guidance, "guidance", 0, "classifier-free guidance scale W: ε = ε_uncond + W·(ε_cond − ε_uncond) (default 2 with --class when the model has a null class)")
	if err := parseFlags(fs, args, stderr); err != nil {
		return nil, err
	}
	fs.Visit(func(fl *flag.Flag) { f.set[fl.Name] = true })
	return f, nil
}

// fromAllowed are the flags that may accompany --from: where things are and
// where results go, never what is computed.
var fromAllowed = map[string]bool{"from": true, "model": true, "image": true, "mask": true, "out": true, "outdir": true,
	"chain": true, "every": true, "trajectory": true, "batch": true, "backend": true, "quiet": true, "allow-nonfinite": true, "memory-budget": true}

func runSample(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f, err := parseSampleFlags(args, stderr)
	if err != nil {
		return err
	}
	var recipe studio.Recipe
	var embeddedMask image.Image
	var fromBytes []byte
	if f.from != "" {
		recipe, embeddedMask, fromBytes, err = recipeFromPNG(ctx, f.from)
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
	if !(f.memoryGiB > 0 && f.memoryGiB <= 1<<20) {
		return fmt.Errorf("--memory-budget %v: must be a positive number of GiB", f.memoryGiB)
	}
	if f.set["batch"] && f.batch < 1 {
		return fmt.Errorf("--batch %d: must be at least 1", f.batch)
	}
	if !f.quiet {
		name := f.model
		if studio.IsEmbedded(name) {
			name = "the embedded model"
		}
		fmt.Fprintf(stderr, "loading %s\n", name)
	}
	oo := studio.OpenOptions{Backend: f.backend, AllowNonFinite: f.allowNonFinite}
	if !f.quiet {
		oo.Progress = progressLine(stderr) // a Hub model not yet cached
	}
	sess, err := studio.Open(ctx, f.model, oo)
	if err != nil {
		if f.from != "" && !f.set["model"] && errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("%w (the recipe names the model %q; pass --model DIR to say where it is)", err, recipe.Model)
		}
		if errors.Is(err, studio.ErrNoGL) {
			return fmt.Errorf("--backend gl: %w", err)
		}
		return flagError(err)
	}
	defer sess.Close()
	info := sess.Info()
	if f.from != "" && info.Hash != recipe.ModelHash {
		return fmt.Errorf("the weights in %s (sha256 %.12s…) are not the ones the recipe used (%.12s…)", info.Weights, info.Hash, recipe.ModelHash)
	}
	if f.from == "" {
		if recipe, err = recipeFromFlags(f, sess); err != nil {
			return err
		}
	}
	recipe.Program = "DDPM Studio " + studio.Version
	recipe.Model, recipe.ModelHash = studio.ModelName(f.model), info.Hash
	if err := sess.Check(recipe); err != nil {
		return flagError(err)
	}
	if _, changed, _ := studio.ApplySchedule(sess.Scheduler(), recipe.Schedule); changed && !f.quiet {
		was, now := info.Trained, recipe.Schedule
		fmt.Fprintf(stderr, "warning: schedule %s T=%d β %g→%g differs from the model's training schedule %s T=%d β %g→%g\n",
			now.Kind, now.T, now.BetaStart, now.BetaEnd, was.Kind, was.T, was.BetaStart, was.BetaEnd)
	}
	batch := f.batch
	if !f.set["batch"] {
		batch = sess.DefaultBatch()
	}
	if err := sess.CheckBatch(recipe, batch, int64(f.memoryGiB*(1<<30))); err != nil {
		return fmt.Errorf("--batch %d: %w (or raise --memory-budget)", batch, err)
	}
	if !f.quiet {
		// The first line: how long this will take (a Hub download's
		// progress, when there was one, came before it).
		if err := sess.ProbeSpeed(ctx); err != nil {
			return err
		}
		if e, err := sess.Estimate(recipe, batch); err == nil {
			fmt.Fprintln(stderr, e)
		}
		if info.BackendNote != "" {
			fmt.Fprintln(stderr, "backend:", info.BackendNote)
		}
	}
	opt := studio.StartOptions{Batch: batch, WithEps: f.trajectory != ""}
	var mask image.Image
	switch {
	case recipe.Inpaint != nil:
		if opt.Inputs, err = inpaintInputs(ctx, f, recipe.Inpaint, embeddedMask); err != nil {
			return err
		}
		mask = opt.Inputs.Mask
	case recipe.Init != nil:
		path := resolveBesides(f.from, recipe.Init.Image)
		if f.set["image"] {
			path = f.image
		}
		img, b, err := imageio.LoadContext(ctx, path)
		if err != nil {
			return fmt.Errorf("--image: %w", err)
		}
		opt.Inputs = studio.Inputs{Image: img, ImageFileHash: studio.HashBytes(b)}
	}
	fmt.Fprintf(stderr, "seed %d\n", recipe.Seed)
	if !f.quiet {
		opt.Progress = newProgress(stderr, isTerminal(stderr)).update
	}
	run, err := sess.Start(ctx, recipe, opt)
	if err != nil {
		return flagError(err)
	}
	if n := run.Notice(); n != "" && !f.quiet {
		fmt.Fprintln(stderr, "notice:", n)
	}
	res, err := run.Wait()
	if err != nil {
		return err
	}
	if !f.quiet && isTerminal(stderr) {
		fmt.Fprintln(stderr)
	}
	if err := writeOutputs(ctx, f, run, res, mask, stdout); err != nil {
		return err
	}
	if f.from != "" && f.outdir == "" {
		compareWithSource(stderr, f.from, fromBytes, res, recipe.Backend, info.Backend)
	}
	return nil
}

// compareWithSource says in one line whether a reproduction gave the
// source PNG's pixels: the CPU promises the same bytes on every machine,
// the GL backend only agreement within a tolerance (docs/determinism.md),
// so a difference across backends is expected and said so, not hidden.
func compareWithSource(stderr io.Writer, path string, b []byte, res *studio.Result, was, now string) {
	src, err := imageio.Decode(b)
	if err != nil {
		return
	}
	imgs, err := studio.SamplePictures(res)
	if err != nil {
		return
	}
	same := samePixels(src, studio.GridOf(imgs))
	switch {
	case same:
		fmt.Fprintf(stderr, "reproduced %s pixel for pixel\n", path)
	case was != "" && was != now:
		fmt.Fprintf(stderr, "note: the pixels differ from %s: its recipe ran on the %s backend and this run on %s, which agree within a tolerance, not to the bit\n", path, was, now)
	default:
		fmt.Fprintf(stderr, "warning: the pixels differ from %s although this run used the same recipe on the %s backend\n", path, now)
	}
}

// samePixels compares two pictures as 8-bit RGBA, pixel for pixel.
func samePixels(a, b image.Image) bool {
	if a.Bounds().Size() != b.Bounds().Size() {
		return false
	}
	ao, bo := a.Bounds().Min, b.Bounds().Min
	for y := 0; y < a.Bounds().Dy(); y++ {
		for x := 0; x < a.Bounds().Dx(); x++ {
			r1, g1, b1, a1 := a.At(ao.X+x, ao.Y+y).RGBA()
			r2, g2, b2, a2 := b.At(bo.X+x, bo.Y+y).RGBA()
			if r1>>8 != r2>>8 || g1>>8 != g2>>8 || b1>>8 != b2>>8 || a1>>8 != a2>>8 {
				return false
			}
		}
	}
	return true
}

func recipeFromPNG(ctx context.Context, path string) (studio.Recipe, image.Image, []byte, error) {
	b, err := safeio.ReadFile(ctx, path, imageio.MaxImageBytes)
	if err != nil {
		return studio.Recipe{}, nil, nil, fmt.Errorf("--from: %w", err)
	}
	r, mask, err := studio.ReadPNG(b)
	if err != nil {
		return r, nil, nil, fmt.Errorf("--from %s: %w", path, err)
	}
	return r, mask, b, nil
}

func recipeFromFlags(f *sampleFlags, sess *studio.Session) (studio.Recipe, error) {
	r := sess.DefaultRecipe(f.sampler)
	r.Eta, r.Count = f.eta, f.count
	if f.set["seed"] {
		r.Seed = f.seed
	}
	if f.set["steps"] {
		r.Steps = f.steps
	}
	if f.set["class"] {
		if f.class == "any" {
			r.AnyClass = true
		} else {
			c, err := strconv.Atoi(f.class)
			if err != nil {
				return r, fmt.Errorf("--class %q: a class label (an integer) or \"any\"", f.class)
			}
			r.Class = &c
		}
		r.Guidance = sess.DefaultGuidance()
	}
	if f.set["guidance"] {
		r.Guidance = f.guidance
	}
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
	if f.set["strength"] {
		if !f.set["image"] || f.set["mask"] {
			return r, errors.New("--strength goes with --image and no --mask (image-to-image)")
		}
		r.Init = &studio.Init{Image: recordedPath(f.image), Strength: f.strength}
	} else if f.set["image"] != f.set["mask"] {
		return r, errors.New("inpainting needs both --image and --mask (or --image with --strength for image-to-image)")
	}
	if f.set["image"] && f.set["mask"] {
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
	"class": "--class", "any_class": "--class any", "schedule.timesteps": "--timesteps", "schedule.kind": "--schedule",
	"schedule": "--schedule/--beta-start/--beta-end/--timesteps", "inpaint.jump_length": "--jump-length",
	"inpaint.jump_n_sample": "--jump-n-sample", "inpaint.method": "--inpaint", "init.strength": "--strength",
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

// inpaintInputs loads the image and mask files (a reproduced recipe's mask
// may come from its PNG instead), each read once so that its hash is of
// the very bytes decoded.
func inpaintInputs(ctx context.Context, f *sampleFlags, in *studio.Inpaint, embeddedMask image.Image) (studio.Inputs, error) {
	var out studio.Inputs
	imgPath := resolveBesides(f.from, in.Image)
	if f.set["image"] {
		imgPath = f.image
	}
	img, imgBytes, err := imageio.LoadContext(ctx, imgPath)
	if err != nil {
		return out, fmt.Errorf("--image: %w", err)
	}
	out.Image, out.ImageFileHash = img, studio.HashBytes(imgBytes)
	switch {
	case f.set["mask"] || embeddedMask == nil:
		maskPath := resolveBesides(f.from, in.Mask)
		if f.set["mask"] {
			maskPath = f.mask
		}
		mask, maskBytes, err := imageio.LoadContext(ctx, maskPath)
		if err != nil {
			return out, fmt.Errorf("--mask: %w", err)
		}
		out.Mask, out.MaskFileHash = mask, studio.HashBytes(maskBytes)
	default:
		out.Mask = embeddedMask // the PNG carries it
	}
	return out, nil
}

func writeOutputs(ctx context.Context, f *sampleFlags, run *studio.Run, res *studio.Result, mask image.Image, stdout io.Writer) error {
	r := run.Recipe()
	imgs, err := studio.SamplePictures(res)
	if err != nil {
		return err
	}
	if f.outdir != "" {
		if err := os.MkdirAll(f.outdir, 0o755); err != nil {
			return err
		}
		for i, img := range imgs {
			one := r
			one.First, one.Count = r.First+i, 1
			path := filepath.Join(f.outdir, fmt.Sprintf("sample-%05d.png", r.First+i))
			if err := writePNG(path, img, one, mask); err != nil {
				return err
			}
		}
		fmt.Fprintf(stdout, "wrote %d samples to %s\n", len(imgs), f.outdir)
	} else {
		out := f.out
		if out == "" {
			out = "sample.png"
		}
		if err := writePNG(out, studio.GridOf(imgs), r, mask); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "wrote %s\n", out)
	}
	if f.chain != "" {
		every := f.every
		if every <= 0 {
			every = max(1, len(run.Plan())/40)
		}
		if err := writeChain(ctx, f.chain, run, every); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "wrote %s\n", f.chain)
	}
	if f.trajectory != "" {
		if err := atomicfile.Write(f.trajectory, func(w io.Writer) error { return studio.WriteTrajectory(ctx, w, run) }); err != nil {
			return fmt.Errorf("--trajectory: %w", err)
		}
		fmt.Fprintf(stdout, "wrote %s\n", f.trajectory)
	}
	return nil
}

func writePNG(path string, img image.Image, r studio.Recipe, mask image.Image) error {
	if !strings.EqualFold(filepath.Ext(path), ".png") {
		return fmt.Errorf("%s: output images are PNG files; name it *.png", path)
	}
	return atomicfile.Write(path, func(w io.Writer) error { return studio.WritePNG(w, img, r, mask) })
}

func writeChain(ctx context.Context, path string, run *studio.Run, every int) error {
	pairs, err := studio.ChainPairs(ctx, run, 0, every)
	if err != nil {
		return err
	}
	scale := studio.ChainScale(run.Shape())
	switch strings.ToLower(filepath.Ext(path)) {
	case ".gif":
		return atomicfile.Write(path, func(w io.Writer) error { return studio.WriteChainGIF(w, pairs, scale) })
	case ".png":
		strip := studio.ChainStrip(pairs, scale/2)
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

// recordedPath is studio.RecordedPath, leaving the embedded model's names be.
func recordedPath(p string) string {
	if studio.IsEmbedded(p) {
		return p
	}
	return studio.RecordedPath(p)
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
	if f.trajectory != "" {
		if !strings.EqualFold(filepath.Ext(f.trajectory), ".safetensors") {
			return fmt.Errorf("--trajectory %s: name it *.safetensors", f.trajectory)
		}
		if err := writableDir(filepath.Dir(f.trajectory), false); err != nil {
			return fmt.Errorf("--trajectory %s: %w", f.trajectory, err)
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
	if !canWrite(dir) {
		return fmt.Errorf("folder %s is not writable", dir)
	}
	atomicfile.CleanStale(dir)
	return nil
}
