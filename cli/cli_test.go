package cli_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/gif"
	"image/png"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ddpmstudio/ddpmstudio/assets"
	"github.com/ddpmstudio/ddpmstudio/diffusion"
	"github.com/ddpmstudio/ddpmstudio/imageio"
	"github.com/ddpmstudio/ddpmstudio/internal/golden"
	"github.com/ddpmstudio/ddpmstudio/safetensors"
	"github.com/ddpmstudio/ddpmstudio/studio"
	"github.com/ddpmstudio/ddpmstudio/unet"
	"github.com/ddpmstudio/ddpmstudio/unet/cpu"
)

var binary, modelRoot string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "ddpmstudio-cli")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "ddpmstudio")
	modelRoot = filepath.Join(dir, "models")
	build := exec.Command("go", "build", "-o", binary, "../")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building the binary:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type result struct {
	code           int
	stdout, stderr string
}

func run(t *testing.T, dir string, args ...string) result {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Dir = dir
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	return resultOf(t, cmd.Run(), &out, &errb)
}

// resultOf turns a finished command into its exit status and output.
func resultOf(t *testing.T, err error, out, errb *bytes.Buffer) result {
	t.Helper()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return result{code, out.String(), errb.String()}
}

func mustRun(t *testing.T, dir string, args ...string) result {
	t.Helper()
	r := run(t, dir, args...)
	if r.code != 0 {
		t.Fatalf("%v: exit %d\n%s", args, r.code, r.stderr)
	}
	return r
}

// The CLI tests run on small models they build themselves (random weights,
// saved as diffusers folders), so they need no fixture beside the clone.
// Their configs are those of the diffusers fixtures of the same names.
var testConfigs = map[string]string{
	"tiny_gray16": `{"sample_size": 16, "in_channels": 1, "out_channels": 1, "block_out_channels": [32, 64],
		"down_block_types": ["DownBlock2D", "AttnDownBlock2D"], "up_block_types": ["AttnUpBlock2D", "UpBlock2D"],
		"layers_per_block": 1, "norm_num_groups": 8}`,
	"cifar_like32": `{"sample_size": 32, "in_channels": 3, "out_channels": 3, "block_out_channels": [32, 64, 64, 64],
		"down_block_types": ["DownBlock2D", "AttnDownBlock2D", "DownBlock2D", "DownBlock2D"],
		"up_block_types": ["UpBlock2D", "UpBlock2D", "AttnUpBlock2D", "UpBlock2D"],
		"layers_per_block": 2, "flip_sin_to_cos": false, "freq_shift": 1, "downsample_padding": 0, "norm_eps": 1e-6,
		"attention_head_dim": null, "norm_num_groups": 8}`,
	"scaleshift_class16": `{"sample_size": 16, "in_channels": 3, "out_channels": 3, "block_out_channels": [32, 64],
		"down_block_types": ["AttnDownBlock2D", "DownBlock2D"], "up_block_types": ["UpBlock2D", "AttnUpBlock2D"],
		"layers_per_block": 1, "attention_head_dim": 16, "norm_num_groups": 16, "num_class_embeds": 10,
		"resnet_time_scale_shift": "scale_shift"}`,
}

var (
	modelsMu sync.Mutex
	models   = map[string]string{}
)

// model returns the folder of the named test model, building it on first use.
func model(t *testing.T, name string) string {
	t.Helper()
	modelsMu.Lock()
	defer modelsMu.Unlock()
	if dir, ok := models[name]; ok {
		return dir
	}
	cfg, err := unet.ParseConfig([]byte(testConfigs[name]))
	if err != nil {
		t.Fatalf("config %s: %v", name, err)
	}
	m, err := unet.New(cfg, 7, cpu.New())
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(modelRoot, name)
	if err := m.Save(dir, false, nil); err != nil {
		t.Fatal(err)
	}
	models[name] = dir
	return dir
}

func decode(t *testing.T, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func samePixels(a, b image.Image) bool {
	if a.Bounds() != b.Bounds() {
		return false
	}
	for y := a.Bounds().Min.Y; y < a.Bounds().Max.Y; y++ {
		for x := a.Bounds().Min.X; x < a.Bounds().Max.X; x++ {
			r1, g1, b1, a1 := a.At(x, y).RGBA()
			r2, g2, b2, a2 := b.At(x, y).RGBA()
			if r1 != r2 || g1 != g2 || b1 != b2 || a1 != a2 {
				return false
			}
		}
	}
	return true
}

func recipeOf(t *testing.T, path string) studio.Recipe {
	t.Helper()
	f, _ := os.Open(path)
	defer f.Close()
	text, err := imageio.ReadPNGText(f)
	if err != nil {
		t.Fatal(err)
	}
	r, err := studio.DecodeRecipe(text["parameters"])
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestSampleDeterministicAndReproducible(t *testing.T) {
	dir := t.TempDir()
	m := model(t, "tiny_gray16")
	args := []string{"sample", "--model", m, "--sampler", "ddim", "--steps", "8", "--eta", "0.5", "--seed", "5"}
	r := mustRun(t, dir, append(args, "--out", "a.png")...)
	if !strings.Contains(r.stderr, "seed 5") {
		t.Errorf("seed not printed: %q", r.stderr)
	}
	mustRun(t, dir, append(args, "--out", "b.png")...)
	a, _ := os.ReadFile(filepath.Join(dir, "a.png"))
	b, _ := os.ReadFile(filepath.Join(dir, "b.png"))
	if !bytes.Equal(a, b) {
		t.Error("the same command wrote different bytes")
	}
	img := decode(t, filepath.Join(dir, "a.png"))
	if _, ok := img.(*image.Gray); !ok || img.Bounds().Dx() != 16 {
		t.Errorf("a 1-channel model wrote %T of %v", img, img.Bounds())
	}
	rec := recipeOf(t, filepath.Join(dir, "a.png"))
	if rec.Seed != 5 || rec.Sampler != "ddim" || rec.Steps != 8 || rec.Eta != 0.5 || len(rec.ModelHash) != 64 || rec.Schedule.T != 1000 {
		t.Errorf("recipe %+v", rec)
	}
	// The recipe names the model folder by its base name (never an absolute
	// path): without the folder beside it, --from says to pass --model.
	if r := run(t, dir, "sample", "--from", "a.png", "--out", "c.png"); r.code != 1 || !strings.Contains(r.stderr, "pass --model") {
		t.Errorf("--from without the model folder: exit %d %q", r.code, r.stderr)
	}
	mustRun(t, dir, "sample", "--from", "a.png", "--model", m, "--out", "c.png")
	if !samePixels(img, decode(t, filepath.Join(dir, "c.png"))) {
		t.Error("--from did not reproduce the pixels")
	}
	// A different seed gives a different picture.
	mustRun(t, dir, "sample", "--model", m, "--sampler", "ddim", "--steps", "8", "--eta", "0.5", "--seed", "6", "--out", "d.png")
	if samePixels(img, decode(t, filepath.Join(dir, "d.png"))) {
		t.Error("seed 6 drew the same picture as seed 5")
	}
}

func TestBatchesAndOutdir(t *testing.T) {
	dir := t.TempDir()
	m := model(t, "cifar_like32")
	mustRun(t, dir, "sample", "--model", m, "--sampler", "ddim", "--steps", "4", "--seed", "9", "--count", "3", "--batch", "2", "--outdir", "many", "--quiet")
	files, _ := filepath.Glob(filepath.Join(dir, "many", "*.png"))
	if len(files) != 3 {
		t.Fatalf("%d files: %v", len(files), files)
	}
	third := filepath.Join(dir, "many", "sample-00002.png")
	img := decode(t, third)
	if _, grey := img.(*image.Gray); grey || img.Bounds().Dx() != 32 {
		t.Errorf("an RGB model wrote %T of %v", img, img.Bounds())
	}
	// The third sample came from the second batch of two; alone it is the same image.
	mustRun(t, dir, "sample", "--from", third, "--model", m, "--out", "again.png", "--quiet")
	if !samePixels(img, decode(t, filepath.Join(dir, "again.png"))) {
		t.Error("sample 2 differs when drawn alone")
	}
	// A grid of four.
	mustRun(t, dir, "sample", "--model", m, "--sampler", "ddim", "--steps", "2", "--seed", "9", "--count", "4", "--batch", "4", "--out", "grid.png", "--quiet")
	if b := decode(t, filepath.Join(dir, "grid.png")).Bounds(); b.Dx() != 2*32+2 || b.Dy() != 2*32+2 {
		t.Errorf("grid is %v", b)
	}
}

func TestChainExport(t *testing.T) {
	dir := t.TempDir()
	m := model(t, "tiny_gray16")
	mustRun(t, dir, "sample", "--model", m, "--sampler", "ddpm", "--steps", "12", "--seed", "1", "--out", "s.png", "--chain", "c.gif", "--every", "3", "--quiet")
	f, err := os.Open(filepath.Join(dir, "c.gif"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	g, err := gif.DecodeAll(f)
	if err != nil {
		t.Fatal(err)
	}
	// Frames at events 0, 3, 6, 9, 11 plus the final sample.
	if len(g.Image) != 6 {
		t.Errorf("%d frames, want 6", len(g.Image))
	}
	if b := g.Image[0].Bounds(); b.Dx() <= b.Dy() {
		t.Errorf("frame %v is not x_t and x̂_0 side by side", b)
	}
	mustRun(t, dir, "sample", "--model", m, "--sampler", "ddim", "--steps", "6", "--seed", "1", "--out", "s.png", "--chain", "strip.png", "--every", "2", "--quiet")
	strip := decode(t, filepath.Join(dir, "strip.png")).Bounds()
	if strip.Dx() < 4*strip.Dy()/2 {
		t.Errorf("strip %v is not a row of steps", strip)
	}
}

func writeImage(t *testing.T, path string, img image.Image) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
	f.Close()
}

func TestInpainting(t *testing.T) {
	dir := t.TempDir()
	m := model(t, "tiny_gray16")
	// A 32×32 picture (resized to the model's 16×16) and a mask regenerating the right half.
	src := image.NewGray(image.Rect(0, 0, 32, 32))
	mask := image.NewGray(image.Rect(0, 0, 32, 32))
	for y := 0; y < 32; y++ {
		for x := 0; x < 32; x++ {
			src.SetGray(x, y, color.Gray{uint8(8 * (x/4 + y/4))})
			if x >= 16 {
				mask.SetGray(x, y, color.Gray{255})
			}
		}
	}
	writeImage(t, filepath.Join(dir, "in.png"), src)
	writeImage(t, filepath.Join(dir, "mask.png"), mask)
	fitted, _ := imageio.Fit(src, 16, 16)
	want, _ := imageio.FromImage(fitted, 1, 16, 16)
	for _, method := range []string{"repaint", "replace"} {
		t.Run(method, func(t *testing.T) {
			out := method + ".png"
			r := mustRun(t, dir, "sample", "--model", m, "--sampler", "ddim", "--steps", "6", "--seed", "2", "--image", "in.png", "--mask", "mask.png",
				"--inpaint", method, "--jump-length", "2", "--jump-n-sample", "2", "--out", out)
			if !strings.Contains(r.stderr, "resized") {
				t.Errorf("no resize notice: %q", r.stderr)
			}
			got := decode(t, filepath.Join(dir, out)).(*image.Gray)
			changed := 0
			for y := 0; y < 16; y++ {
				for x := 0; x < 16; x++ {
					wantPix := imageio.To8Bit(want[y*16+x])
					if x < 8 && got.GrayAt(x, y).Y != wantPix {
						t.Fatalf("kept pixel (%d,%d) = %d, want %d", x, y, got.GrayAt(x, y).Y, wantPix)
					}
					if x >= 8 && got.GrayAt(x, y).Y != wantPix {
						changed++
					}
				}
			}
			if changed < 32 {
				t.Errorf("only %d regenerated pixels changed", changed)
			}
			rec := recipeOf(t, filepath.Join(dir, out))
			if rec.Inpaint == nil || rec.Inpaint.Method != method || len(rec.Inpaint.MaskHash) != 64 {
				t.Errorf("recipe %+v", rec.Inpaint)
			}
			mustRun(t, dir, "sample", "--from", out, "--model", m, "--out", "re-"+out, "--quiet")
			if !samePixels(got, decode(t, filepath.Join(dir, "re-"+out))) {
				t.Error("--from did not reproduce the inpainting")
			}
		})
	}
	// Changing the mask after the fact is caught.
	mask.SetGray(0, 0, color.Gray{255})
	writeImage(t, filepath.Join(dir, "mask.png"), mask)
	if r := run(t, dir, "sample", "--from", "repaint.png", "--model", m, "--mask", "mask.png", "--out", "x.png"); r.code == 0 || !strings.Contains(r.stderr, "the mask") {
		t.Errorf("changed mask accepted: %d %q", r.code, r.stderr)
	}
	// Without --mask the PNG's own embedded mask reproduces the inpainting,
	// whatever happened to mask.png.
	os.Remove(filepath.Join(dir, "mask.png"))
	mustRun(t, dir, "sample", "--from", "repaint.png", "--model", m, "--out", "again-repaint.png", "--quiet")
	if a, b := readFile(t, filepath.Join(dir, "repaint.png")), readFile(t, filepath.Join(dir, "again-repaint.png")); !bytes.Equal(a, b) {
		t.Error("the embedded mask did not reproduce the PNG byte for byte")
	}
}

func TestErrorsAreOneLine(t *testing.T) {
	dir := t.TempDir()
	m := model(t, "tiny_gray16")
	os.MkdirAll(filepath.Join(dir, "empty"), 0o755)
	os.WriteFile(filepath.Join(dir, "broken.png"), []byte("not an image"), 0o644)
	writeImage(t, filepath.Join(dir, "img.png"), image.NewGray(image.Rect(0, 0, 16, 16)))
	writeImage(t, filepath.Join(dir, "small.png"), image.NewGray(image.Rect(0, 0, 8, 8)))
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"sample", "--model", "nowhere"}, "nowhere"},
		{[]string{"sample", "--model", "empty"}, "no config.json"},
		{[]string{"sample", "--model", m, "--sampler", "euler"}, "euler"},
		{[]string{"sample", "--model", m, "--schedule", "quadratic"}, "quadratic"},
		{[]string{"sample", "--model", m, "--backend", "vulkan"}, "want auto, cpu or gl"},
		{[]string{"sample", "--model", m, "--image", "broken.png", "--mask", "img.png"}, "broken.png"},
		{[]string{"sample", "--model", m, "--image", "img.png", "--mask", "small.png"}, "same size"},
		{[]string{"sample", "--model", m, "--image", "img.png"}, "both --image and --mask"},
		{[]string{"sample", "--model", m, "--eta", "2"}, "--eta"},
		{[]string{"sample", "--model", m, "--bogus"}, "bogus"},
		{[]string{"sample", "--from", "img.png"}, "no recipe"},
		{[]string{"sample", "--model", m, "--steps", "5000"}, "exceed"},
		{[]string{"info", "--model", "nowhere"}, "nowhere"},
		{[]string{"frobnicate"}, "unknown command"},
	}
	for _, c := range cases {
		r := run(t, dir, c.args...)
		if r.code == 0 {
			t.Errorf("%v: exit 0", c.args)
			continue
		}
		msg := errorLines(r.stderr)
		if strings.Contains(msg, "\n") || strings.Contains(msg, "goroutine") || !strings.Contains(msg, c.want) {
			t.Errorf("%v: stderr %q, want one line mentioning %q", c.args, msg, c.want)
		}
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.png"))
	if len(files) != 3 {
		t.Errorf("failed runs left files: %v", files)
	}
}

func TestScheduleOverrideWarns(t *testing.T) {
	dir := t.TempDir()
	r := mustRun(t, dir, "sample", "--model", model(t, "tiny_gray16"), "--sampler", "ddim", "--steps", "4", "--seed", "1",
		"--schedule", "cosine", "--timesteps", "500", "--out", "o.png")
	if !strings.Contains(r.stderr, "warning: schedule squaredcos_cap_v2 T=500") {
		t.Errorf("no warning: %q", r.stderr)
	}
	if rec := recipeOf(t, filepath.Join(dir, "o.png")); rec.Schedule.Kind != "squaredcos_cap_v2" || rec.Schedule.T != 500 {
		t.Errorf("recipe schedule %+v", rec.Schedule)
	}
}

// signalAfter runs the binary in dir, sends sig once a stderr line
// contains marker, and returns the exit status and every stderr line.
// stderr is read on one goroutine and handed over through a channel, so
// nothing is shared without synchronisation; a run that ignores the signal
// is killed at the test's time limit and fails the test.
func signalAfter(t *testing.T, dir, marker string, sig syscall.Signal, args ...string) (int, []string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Dir = dir
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 64)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	var all []string
	for line := range lines {
		all = append(all, line)
		if strings.Contains(line, marker) {
			break
		}
	}
	if err := cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	for line := range lines {
		all = append(all, line)
	}
	err = cmd.Wait()
	if ctx.Err() != nil {
		t.Fatalf("%v: did not stop after %v (killed at the test's time limit); stderr %q", args, sig, all)
	}
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), all
	}
	if err != nil {
		t.Fatal(err)
	}
	return 0, all
}

func TestInterruptLeavesNoFiles(t *testing.T) {
	dir := t.TempDir()
	// "seed" is printed when sampling starts.
	code, all := signalAfter(t, dir, "seed", syscall.SIGINT,
		"sample", "--model", model(t, "cifar_like32"), "--sampler", "ddpm", "--seed", "1", "--out", "never.png", "--chain", "never.gif")
	if code != 130 {
		t.Fatalf("exit %d, stderr %q", code, all)
	}
	if !strings.Contains(strings.Join(all, "\n"), "interrupted") {
		t.Errorf("stderr %q", all)
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Errorf("interrupted run left %v", left)
	}
}

func TestInfo(t *testing.T) {
	r := mustRun(t, t.TempDir(), "info", "--model", model(t, "scaleshift_class16"))
	for _, want := range []string{"parameters   719875", "classes      10", "GFLOP", "fixed_small"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("info lacks %q:\n%s", want, r.stdout)
		}
	}
}

func TestClassesAndGuidance(t *testing.T) {
	dir := t.TempDir()
	plain := model(t, "scaleshift_class16") // 10 classes, no null class
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"sample", "--model", plain, "--sampler", "ddim", "--steps", "2"}, "no null class"},
		{[]string{"sample", "--model", plain, "--sampler", "ddim", "--steps", "2", "--class", "3", "--guidance", "2"}, "no null class"},
		{[]string{"sample", "--model", plain, "--sampler", "ddim", "--steps", "2", "--class", "12"}, "0–9"},
		{[]string{"sample", "--model", model(t, "tiny_gray16"), "--class", "1"}, "not class-conditional"},
		{[]string{"sample", "--model", model(t, "tiny_gray16"), "--class", "any"}, "not class-conditional"},
		{[]string{"sample", "--model", plain, "--class", "seven"}, `"any"`},
	} {
		if r := run(t, dir, c.args...); r.code == 0 || !strings.Contains(r.stderr, c.want) {
			t.Errorf("%v: exit %d, %q; want an error mentioning %q", c.args, r.code, r.stderr, c.want)
		}
	}
	mustRun(t, dir, "sample", "--model", plain, "--sampler", "ddim", "--steps", "2", "--class", "3", "--out", "c3.png", "--quiet")
	if rec := recipeOf(t, filepath.Join(dir, "c3.png")); rec.Class == nil || *rec.Class != 3 || rec.Guidance != 1 {
		t.Errorf("recipe class %v guidance %v", rec.Class, rec.Guidance)
	}
	// --class any: the recipe says so, and it reproduces.
	mustRun(t, dir, "sample", "--model", plain, "--sampler", "ddim", "--steps", "2", "--class", "any", "--count", "4", "--out", "any.png", "--quiet")
	if rec := recipeOf(t, filepath.Join(dir, "any.png")); !rec.AnyClass || rec.Class != nil || rec.Guidance != 1 {
		t.Errorf("--class any: recipe any_class %v class %v guidance %v", rec.AnyClass, rec.Class, rec.Guidance)
	}
	mustRun(t, dir, "sample", "--model", plain, "--from", "any.png", "--out", "any2.png", "--quiet")
	if !samePixels(decode(t, filepath.Join(dir, "any.png")), decode(t, filepath.Join(dir, "any2.png"))) {
		t.Error("--from did not reproduce a --class any picture")
	}
}

func TestGuidedModelWithNullClass(t *testing.T) {
	dir := t.TempDir()
	cfg := unet.DefaultConfig()
	cfg.SampleSize = [2]int{8, 8}
	cfg.InChannels, cfg.OutChannels = 1, 1
	cfg.BlockOutChannels = []int{8, 16}
	cfg.DownBlockTypes = []string{unet.DownBlock, unet.DownBlock}
	cfg.UpBlockTypes = []string{unet.UpBlock, unet.UpBlock}
	cfg.LayersPerBlock, cfg.NormNumGroups = 1, 4
	cfg.NumClassEmbeds, cfg.NullClass = 4, 3
	m, err := unet.New(cfg, 1, cpu.New())
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Save(filepath.Join(dir, "m"), true, nil); err != nil {
		t.Fatal(err)
	}
	mustRun(t, dir, "sample", "--model", "m", "--sampler", "ddim", "--steps", "3", "--seed", "1", "--out", "uncond.png", "--quiet")
	mustRun(t, dir, "sample", "--model", "m", "--sampler", "ddim", "--steps", "3", "--seed", "1", "--class", "1", "--out", "g2.png", "--quiet")
	mustRun(t, dir, "sample", "--model", "m", "--sampler", "ddim", "--steps", "3", "--seed", "1", "--class", "1", "--guidance", "4", "--out", "g4.png", "--quiet")
	rec := recipeOf(t, filepath.Join(dir, "g2.png"))
	if rec.Class == nil || *rec.Class != 1 || rec.Guidance != 2 {
		t.Errorf("default guidance recipe: class %v guidance %v", rec.Class, rec.Guidance)
	}
	if samePixels(decode(t, filepath.Join(dir, "g2.png")), decode(t, filepath.Join(dir, "g4.png"))) {
		t.Error("guidance 4 drew the same picture as guidance 2")
	}
	mustRun(t, dir, "sample", "--from", "g4.png", "--out", "again.png", "--quiet")
	if !samePixels(decode(t, filepath.Join(dir, "g4.png")), decode(t, filepath.Join(dir, "again.png"))) {
		t.Error("--from did not reproduce a guided sample")
	}
	r := mustRun(t, dir, "info", "--model", "m")
	if !strings.Contains(r.stdout, "null class") {
		t.Errorf("info does not mention the null class:\n%s", r.stdout)
	}
	// One row per (non-null) class.
	mustRun(t, dir, "classgrid", "--model", "m", "--per-class", "2", "--steps", "2", "--scale", "1", "--out", "grid.png")
	if b := decode(t, filepath.Join(dir, "grid.png")).Bounds(); b.Dx() != 2*8+2 || b.Dy() != 3*8+2*2 {
		t.Errorf("class grid is %v, want 2 columns by 3 rows of 8×8", b)
	}
	// export rewrites the folder as F16; it samples the same within F16 rounding.
	mustRun(t, dir, "export", "--model", "m", "--out", "m32", "--half=false")
	mustRun(t, dir, "sample", "--model", "m32", "--sampler", "ddim", "--steps", "3", "--seed", "1", "--out", "u32.png", "--quiet")
	if !samePixels(decode(t, filepath.Join(dir, "uncond.png")), decode(t, filepath.Join(dir, "u32.png"))) {
		t.Error("exported F32 copy of an F16 model samples differently")
	}
}

func TestDefaultModel(t *testing.T) {
	dir := t.TempDir()
	_, embedded := assets.DefaultModel()
	r := run(t, dir, "sample", "--sampler", "ddim", "--steps", "5", "--seed", "3", "--out", "d.png", "--quiet")
	if !embedded {
		if r.code == 0 || !strings.Contains(r.stderr, "no embedded default model") {
			t.Errorf("without an embedded model: exit %d, %q", r.code, r.stderr)
		}
		return
	}
	if r.code != 0 {
		t.Fatalf("default model: %s", r.stderr)
	}
	rec := recipeOf(t, filepath.Join(dir, "d.png"))
	if rec.Model != studio.EmbeddedModel || len(rec.ModelHash) != 64 {
		t.Errorf("recipe model %q hash %q", rec.Model, rec.ModelHash)
	}
	mustRun(t, dir, "sample", "--from", "d.png", "--out", "again.png", "--quiet")
	if !samePixels(decode(t, filepath.Join(dir, "d.png")), decode(t, filepath.Join(dir, "again.png"))) {
		t.Error("--from did not reproduce a default-model sample")
	}
	if r := mustRun(t, dir, "info"); !strings.Contains(r.stdout, "null class") {
		t.Errorf("info on the default model:\n%s", r.stdout)
	}
}

// TestEmbeddedNameCannotBeShadowed: folders named "default" or like the
// embedded model's recipe name are ordinary model folders, and a recipe of
// the embedded model still finds the embedded model beside them.
func TestEmbeddedNameCannotBeShadowed(t *testing.T) {
	if _, ok := assets.DefaultModel(); !ok {
		t.Skip("this build has no embedded model")
	}
	dir := t.TempDir()
	for _, name := range []string{"default", studio.EmbeddedModel} {
		src := model(t, "tiny_gray16")
		if err := os.CopyFS(filepath.Join(dir, name), os.DirFS(src)); err != nil {
			t.Fatal(err)
		}
	}
	weights, err := os.ReadFile(filepath.Join(dir, "default", "diffusion_pytorch_model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	folderHash := studio.HashBytes(weights)

	mustRun(t, dir, "sample", "--model", "default", "--sampler", "ddim", "--steps", "2", "--seed", "1", "--out", "f.png", "--quiet")
	if rec := recipeOf(t, filepath.Join(dir, "f.png")); rec.Model != "./default" || rec.ModelHash != folderHash {
		t.Errorf("--model default: recipe model %q hash %.12s, want the folder (%.12s)", rec.Model, rec.ModelHash, folderHash)
	}
	mustRun(t, dir, "sample", "--model", "./"+studio.EmbeddedModel, "--sampler", "ddim", "--steps", "2", "--seed", "1", "--out", "g.png", "--quiet")
	if rec := recipeOf(t, filepath.Join(dir, "g.png")); rec.Model != "./"+studio.EmbeddedModel || rec.ModelHash != folderHash {
		t.Errorf("folder named like the embedded model: recipe model %q hash %.12s", rec.Model, rec.ModelHash)
	}
	mustRun(t, dir, "sample", "--sampler", "ddim", "--steps", "2", "--seed", "1", "--out", "e.png", "--quiet")
	rec := recipeOf(t, filepath.Join(dir, "e.png"))
	if rec.Model != studio.EmbeddedModel || rec.ModelHash == folderHash {
		t.Errorf("embedded model: recipe model %q hash %.12s", rec.Model, rec.ModelHash)
	}
	mustRun(t, dir, "sample", "--from", "e.png", "--out", "e2.png", "--quiet")
	mustRun(t, dir, "sample", "--from", "g.png", "--out", "g2.png", "--quiet")
	for _, p := range [][2]string{{"e.png", "e2.png"}, {"g.png", "g2.png"}} {
		a, _ := os.ReadFile(filepath.Join(dir, p[0]))
		b, _ := os.ReadFile(filepath.Join(dir, p[1]))
		if !bytes.Equal(a, b) {
			t.Errorf("--from %s did not reproduce its bytes", p[0])
		}
	}
}

// TestScheduleCSV: every row of `schedule --csv` holds diffusers' own
// float32 bits (the golden schedules), each in its shortest round-trip form,
// and the other columns follow from β and ᾱ.
func TestScheduleCSV(t *testing.T) {
	f, err := safetensors.ReadFile(golden.Find(t, "schedulers/schedules.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		key  string
		args []string
	}{
		{"linear_T1000", nil},
		{"scaled_linear_T1000", []string{"--schedule", "scaled_linear"}},
		{"squaredcos_cap_v2_T1000", []string{"--schedule", "cosine", "--timesteps", "1000"}},
		{"linear_T50", []string{"--timesteps", "50", "--beta-start", "0.0001", "--beta-end", "0.02"}},
	} {
		t.Run(c.key, func(t *testing.T) {
			r := mustRun(t, t.TempDir(), append([]string{"schedule", "--csv"}, c.args...)...)
			lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
			if lines[0] != "t,beta,alpha,alpha_bar,sqrt_alpha_bar,sqrt_one_minus_alpha_bar,posterior_variance,log_snr" {
				t.Fatalf("header %q", lines[0])
			}
			betas, _, err := f.Float32(c.key + ".betas")
			if err != nil {
				t.Fatal(err)
			}
			abar, _, err := f.Float32(c.key + ".alphas_cumprod")
			if err != nil {
				t.Fatal(err)
			}
			if len(lines)-1 != len(betas) {
				t.Fatalf("%d rows, want %d", len(lines)-1, len(betas))
			}
			for i, line := range lines[1:] {
				fields := strings.Split(line, ",")
				if len(fields) != 8 || fields[0] != strconv.Itoa(i) {
					t.Fatalf("row %d: %q", i, line)
				}
				v := make([]float32, 8)
				for j, s := range fields[1:] {
					x, err := strconv.ParseFloat(s, 32)
					if err != nil {
						t.Fatalf("row %d column %d: %v", i, j+1, err)
					}
					if short := strconv.FormatFloat(x, 'g', -1, 32); short != s {
						t.Fatalf("row %d: %q is not the shortest form (%q)", i, s, short)
					}
					v[j+1] = float32(x)
				}
				if math.Float32bits(v[1]) != math.Float32bits(betas[i]) || math.Float32bits(v[3]) != math.Float32bits(abar[i]) {
					t.Fatalf("row %d: β %v ᾱ %v, diffusers %v %v", i, v[1], v[3], betas[i], abar[i])
				}
				if v[2] != 1-betas[i] || v[4] != float32(math.Sqrt(float64(abar[i]))) {
					t.Fatalf("row %d: α %v √ᾱ %v", i, v[2], v[4])
				}
				if snr := math.Log(float64(abar[i]) / (1 - float64(abar[i]))); math.Abs(float64(v[7])-snr) > 1e-6*math.Max(1, math.Abs(snr)) {
					t.Fatalf("row %d: log-SNR %v, want %v", i, v[7], snr)
				}
			}
		})
	}
	if r := run(t, t.TempDir(), "schedule", "--schedule", "karras"); r.code != 1 || !strings.Contains(r.stderr, "karras") {
		t.Errorf("bad kind: exit %d %q", r.code, r.stderr)
	}
}

// errorLines drops progress lines ("loading …", "seed …") from stderr.
func errorLines(stderr string) string {
	var keep []string
	for _, l := range strings.Split(strings.TrimSpace(stderr), "\n") {
		if !strings.HasPrefix(l, "loading ") && !strings.HasPrefix(l, "seed ") && !strings.HasPrefix(l, "backend: ") && !strings.HasPrefix(l, "estimated ") {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestFromReproducesStudioPictures: PNGs that the app writes through studio
// for an edited schedule, a painted mask and a fork are reproduced byte for
// byte by `sample --from`.
func TestFromReproducesStudioPictures(t *testing.T) {
	dir := t.TempDir()
	m := model(t, "tiny_gray16")
	sess, err := studio.Open(context.Background(), m, studio.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, r studio.Recipe, in studio.Inputs, fork func(*studio.Run) *studio.Run) {
		t.Helper()
		run, err := sess.Start(context.Background(), r, studio.StartOptions{Inputs: in})
		if err != nil {
			t.Fatal(err)
		}
		if fork != nil {
			if _, err := run.Wait(); err != nil {
				t.Fatal(err)
			}
			run = fork(run)
		}
		res, err := run.Wait()
		if err != nil {
			t.Fatal(err)
		}
		pics, err := studio.SamplePictures(res)
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		if err := studio.WritePNG(&b, studio.GridOf(pics), run.Recipe(), in.Mask); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// An edited schedule: a hand-made list of betas.
	r := sess.DefaultRecipe(studio.DDIM)
	r.Steps, r.Seed = 6, 3
	betas := make([]float64, 200)
	for i := range betas {
		betas[i] = 2e-4 + 0.05*float64(i)/200
	}
	r.Schedule = studio.Schedule{Kind: "explicit", T: 200, Betas: betas}
	write("schedule.png", r, studio.Inputs{}, nil)
	// A mask painted in memory over an image that is also a file.
	img := image.NewGray(image.Rect(0, 0, 16, 16))
	mask := image.NewGray(image.Rect(0, 0, 16, 16))
	for i := range img.Pix {
		img.Pix[i] = byte(i)
		if i/16 < 8 {
			mask.Pix[i] = 255
		}
	}
	writeImage(t, filepath.Join(dir, "digit.png"), img)
	r = sess.DefaultRecipe(studio.DDIM)
	r.Steps, r.Seed = 6, 4
	r.Sampler = studio.RePaint
	r.Inpaint = &studio.Inpaint{Method: studio.RePaint, JumpLength: 2, JumpNSample: 2, Image: "digit.png", Mask: "painted"}
	write("inpaint.png", r, studio.Inputs{Image: img, Mask: mask}, nil)
	// A fork with a new seed and sampler from frame 7 of a DDPM run.
	r = sess.DefaultRecipe(studio.DDPM)
	r.Steps, r.Seed, r.Count = 20, 5, 2
	write("fork.png", r, studio.Inputs{}, func(parent *studio.Run) *studio.Run {
		seed, ddim, steps := uint64(9), studio.DDIM, 4
		f, err := sess.Fork(context.Background(), parent, 7, studio.Changes{Seed: &seed, Sampler: &ddim, Steps: &steps}, studio.StartOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return f
	})
	for _, name := range []string{"schedule.png", "inpaint.png", "fork.png"} {
		mustRun(t, dir, "sample", "--from", name, "--model", m, "--out", "re-"+name, "--quiet")
		if !bytes.Equal(readFile(t, filepath.Join(dir, name)), readFile(t, filepath.Join(dir, "re-"+name))) {
			t.Errorf("%s: --from did not reproduce its bytes", name)
		}
	}
}

// TestNoStrayLinesUnderCUTF8: the GUI toolkit linked into the binary must
// not log anything when a command runs under LANG=C.UTF-8 (Debian's and
// Docker's default), or every one-line error would gain a second line.
func TestNoStrayLinesUnderCUTF8(t *testing.T) {
	for _, lang := range []string{"C.UTF-8", "C", "POSIX", "en_US.UTF-8", ""} {
		cmd := exec.Command(binary, "version")
		cmd.Env = append(os.Environ(), "LANG="+lang, "LC_ALL=", "LC_MESSAGES=", "LANGUAGE=")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Run(); err != nil {
			t.Fatal(err)
		}
		if stderr.Len() != 0 {
			t.Errorf("LANG=%q: stderr %q", lang, stderr.String())
		}
	}
}

// TestImageToImage: --image with --strength noises the picture and denoises
// it; the PNG's recipe reproduces it; strength 1 is the plain run.
func TestImageToImage(t *testing.T) {
	dir := t.TempDir()
	m := model(t, "tiny_gray16")
	img := image.NewGray(image.Rect(0, 0, 16, 16))
	for i := range img.Pix {
		img.Pix[i] = byte(i)
	}
	writeImage(t, filepath.Join(dir, "pic.png"), img)
	mustRun(t, dir, "sample", "--model", m, "--sampler", "ddim", "--steps", "10", "--seed", "3", "--image", "pic.png", "--strength", "0.4", "--out", "half.png", "--quiet")
	rec := recipeOf(t, filepath.Join(dir, "half.png"))
	if rec.Init == nil || rec.Init.Strength != 0.4 || rec.Init.Image != "pic.png" || len(rec.Init.ImageHash) != 64 {
		t.Fatalf("recipe init %+v", rec.Init)
	}
	mustRun(t, dir, "sample", "--from", "half.png", "--model", m, "--out", "again.png", "--quiet")
	if !bytes.Equal(readFile(t, filepath.Join(dir, "half.png")), readFile(t, filepath.Join(dir, "again.png"))) {
		t.Error("--from did not reproduce an image-to-image PNG")
	}
	mustRun(t, dir, "sample", "--model", m, "--sampler", "ddim", "--steps", "10", "--seed", "3", "--image", "pic.png", "--strength", "1", "--out", "full.png", "--quiet")
	mustRun(t, dir, "sample", "--model", m, "--sampler", "ddim", "--steps", "10", "--seed", "3", "--out", "plain.png", "--quiet")
	if !samePixels(decode(t, filepath.Join(dir, "full.png")), decode(t, filepath.Join(dir, "plain.png"))) {
		t.Error("strength 1 drew something else than the plain run")
	}
	if r := run(t, dir, "sample", "--model", m, "--image", "pic.png", "--strength", "1.5"); r.code != 1 || !strings.Contains(r.stderr, "--strength") {
		t.Errorf("strength 1.5: exit %d %q", r.code, r.stderr)
	}
}

// TestFromSaysWhetherPixelsMatch: a reproduction says it gave the PNG's
// pixels, and a PNG made on another backend whose pixels differ gets one
// line naming both backends rather than a claim of byte equality.
func TestFromSaysWhetherPixelsMatch(t *testing.T) {
	dir := t.TempDir()
	mustRun(t, dir, "sample", "--sampler", "ddim", "--steps", "3", "--seed", "5", "--out", "a.png", "--quiet")
	r := mustRun(t, dir, "sample", "--from", "a.png", "--out", "b.png", "--quiet")
	if !strings.Contains(r.stderr, "pixel for pixel") {
		t.Errorf("reproduction did not say it matched: %q", r.stderr)
	}
	// The same recipe, said to come from the GL backend, over other pixels.
	b, err := os.ReadFile(filepath.Join(dir, "a.png"))
	if err != nil {
		t.Fatal(err)
	}
	rec, _, err := studio.ReadPNG(b)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Backend != "cpu" {
		t.Errorf("recipe backend %q, want cpu", rec.Backend)
	}
	rec.Backend, rec.Checksum = "gl", ""
	img, err := imageio.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	grey := image.NewGray(img.Bounds())
	draw.Draw(grey, grey.Bounds(), img, img.Bounds().Min, draw.Src)
	grey.Pix[0] ^= 1
	var buf bytes.Buffer
	if err := studio.WritePNG(&buf, grey, rec, nil); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "gl.png"), buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	r = mustRun(t, dir, "sample", "--from", "gl.png", "--out", "c.png", "--quiet")
	if !strings.Contains(r.stderr, "gl backend and this run on cpu") || strings.Contains(r.stderr, "pixel for pixel") {
		t.Errorf("a GL recipe with other pixels: %q", r.stderr)
	}
}

// TestTrajectoryExport: --trajectory writes every state of the chain as
// float32 tensors a notebook can read, with the recipe beside them; x at
// the first event is the noise stream's x_T for each sample.
func TestTrajectoryExport(t *testing.T) {
	dir := t.TempDir()
	mustRun(t, dir, "sample", "--sampler", "ddim", "--steps", "4", "--seed", "9", "--count", "2", "--batch", "2",
		"--out", "a.png", "--trajectory", "chain.safetensors", "--quiet")
	f, err := safetensors.ReadFile(filepath.Join(dir, "chain.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	x, xs, err := f.Float32("x")
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(xs) != "[5 2 1 28 28]" {
		t.Fatalf("x has shape %v", xs)
	}
	for _, name := range []string{"x0_pred", "eps"} {
		if _, s, err := f.Float32(name); err != nil || fmt.Sprint(s) != "[4 2 1 28 28]" {
			t.Errorf("%s: shape %v, %v", name, s, err)
		}
	}
	ts, _, err := f.Int64("timesteps")
	if err != nil || len(ts) != 5 || ts[4] != -1 || !(ts[0] > ts[1] && ts[1] > ts[2] && ts[2] > ts[3] && ts[3] >= 0) {
		t.Errorf("timesteps %v, %v", ts, err)
	}
	per := 28 * 28
	for n := 0; n < 2; n++ {
		want := make([]float32, per)
		diffusion.FillNormal(want, 9, 0, 0, n)
		if !slices.Equal(x[n*per:(n+1)*per], want) {
			t.Errorf("sample %d: x at the first event is not the stream's x_T", n)
		}
	}
	r, err := studio.DecodeRecipe(f.Metadata["recipe"])
	if err != nil || r.Seed != 9 || r.Steps != 4 {
		t.Errorf("recipe in the metadata: %+v, %v", r, err)
	}
	if r := run(t, dir, "sample", "--trajectory", "chain.npy"); r.code == 0 || !strings.Contains(r.stderr, "safetensors") {
		t.Errorf("a .npy trajectory: exit %d, %q", r.code, r.stderr)
	}
}

// TestSampleSaysHowLongFirst: once the model is loaded, the first line is
// the run's estimated time and the work it counts.
func TestSampleSaysHowLongFirst(t *testing.T) {
	r := run(t, t.TempDir(), "sample", "--steps", "5", "--count", "3", "--batch", "2", "--out", "a.png")
	lines := strings.Split(r.stderr, "\n")
	if r.code != 0 || len(lines) < 2 || !strings.HasPrefix(lines[0], "loading ") {
		t.Fatalf("exit %d, stderr:\n%s", r.code, r.stderr)
	}
	if !strings.HasPrefix(lines[1], "estimated ") || !strings.Contains(lines[1], ": 10 U-Net passes") {
		t.Errorf("the line after loading is %q, want the estimate of 2 batches × 5 steps", lines[1])
	}
}
