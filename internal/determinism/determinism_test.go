package determinism

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"flag"
	"fmt"
	"image"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"

	"github.com/ddpmstudio/ddpmstudio/diffusion"
	"github.com/ddpmstudio/ddpmstudio/internal/simd"
	"github.com/ddpmstudio/ddpmstudio/studio"
	"github.com/ddpmstudio/ddpmstudio/train"
	"github.com/ddpmstudio/ddpmstudio/unet"
	"github.com/ddpmstudio/ddpmstudio/unet/cpu"
)

var update = flag.Bool("update", false, "rewrite testdata/determinism/recipes.sha256 from this machine")

// hashFile is where the hashes live, relative to this package.
func hashFile() string {
	if d := os.Getenv("DDPM_DETERMINISM_FILE"); d != "" {
		return d
	}
	return filepath.Join("..", "..", "testdata", "determinism", "recipes.sha256")
}

// hashFloats is the SHA-256 of the float32 bits, little-endian.
func hashFloats(vs ...[]float32) string {
	h := sha256.New()
	var b [4]byte
	for _, v := range vs {
		for _, f := range v {
			binary.LittleEndian.PutUint32(b[:], math.Float32bits(f))
			h.Write(b[:])
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:32]
}

// tinyConfig is a model small enough to train and sample in every case:
// 1×8×8, attention at 4×4, classes for guidance.
func tinyConfig() unet.Config {
	c := unet.DefaultConfig()
	c.SampleSize = [2]int{8, 8}
	c.InChannels, c.OutChannels = 1, 1
	c.BlockOutChannels = []int{16, 32}
	c.DownBlockTypes = []string{unet.DownBlock, unet.AttnDownBlock}
	c.UpBlockTypes = []string{unet.AttnUpBlock, unet.UpBlock}
	c.LayersPerBlock, c.NormNumGroups, c.AttentionHeadDim = 1, 8, 8
	c.NumClassEmbeds, c.NullClass = 3, 2
	return c
}

type recipeCase struct {
	name  string
	sess  *studio.Session
	setup func(s *studio.Session) (studio.Recipe, studio.StartOptions)
}

// sample runs one recipe and hashes every sample's final x_0 and the first
// sample's recorded chain.
func sample(t *testing.T, s *studio.Session, r studio.Recipe, opt studio.StartOptions) string {
	t.Helper()
	run, err := s.Start(context.Background(), r, opt)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := run.Wait(); err != nil {
		t.Fatal(err)
	}
	vs := [][]float32{run.Final()}
	for i := 0; i < run.Len(); i++ {
		f, err := run.Frame(context.Background(), i)
		if err != nil {
			t.Fatal(err)
		}
		vs = append(vs, f.X, f.X0)
	}
	return hashFloats(vs...)
}

// inputs is a picture to inpaint and a mask over its right half.
func inputs(h, w int) studio.Inputs {
	img := image.NewGray(image.Rect(0, 0, w, h))
	mask := image.NewGray(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		x, y := i%w, i/w
		img.Pix[i] = byte((x*37 + y*11) % 256)
		if x >= w/2 {
			mask.Pix[i] = 255
		}
	}
	return studio.Inputs{Image: img, Mask: mask}
}

// computeHashes runs the table on this process's CPU path.
func computeHashes(t *testing.T) map[string]string {
	embedded, err := studio.Open(context.Background(), "", studio.OpenOptions{Backend: studio.BackendCPU})
	if err != nil {
		t.Fatal(err)
	}
	defer embedded.Close()
	m, err := unet.New(tinyConfig(), 7, cpu.New())
	if err != nil {
		t.Fatal(err)
	}
	tiny := studio.NewSession(&unet.Loaded{Model: m, Scheduler: diffusion.DefaultSchedulerConfig(), WeightsHash: studio.HashBytes([]byte("tiny"))}, "tiny")
	defer tiny.Close()
	short := func(r studio.Recipe) studio.Recipe {
		// A 10-step linear schedule keeps DDPM to 10 forwards.
		r.Schedule = studio.Schedule{Kind: "linear", T: 10, BetaStart: 1e-3, BetaEnd: 0.3}
		return r
	}
	class := func(c int) *int { return &c }
	cases := []recipeCase{
		{"embedded/ddim8/batch1", embedded, func(s *studio.Session) (studio.Recipe, studio.StartOptions) {
			r := s.DefaultRecipe(studio.DDIM)
			r.Steps, r.Seed, r.Count = 8, 11, 1
			return r, studio.StartOptions{Batch: 1}
		}},
		{"embedded/ddim4-eta/batch4", embedded, func(s *studio.Session) (studio.Recipe, studio.StartOptions) {
			r := s.DefaultRecipe(studio.DDIM)
			r.Steps, r.Seed, r.Count, r.Eta = 4, 12, 4, 0.5
			return r, studio.StartOptions{Batch: 4}
		}},
		{"embedded/ddpm10/guidance", embedded, func(s *studio.Session) (studio.Recipe, studio.StartOptions) {
			r := short(s.DefaultRecipe(studio.DDPM))
			r.Steps, r.Seed, r.Count, r.Class, r.Guidance = 10, 13, 1, class(3), 2.5
			return r, studio.StartOptions{Batch: 1}
		}},
		{"embedded/ddim4/inpaint-replace", embedded, func(s *studio.Session) (studio.Recipe, studio.StartOptions) {
			r := s.DefaultRecipe(studio.DDIM)
			r.Steps, r.Seed, r.Count = 4, 14, 1
			r.Inpaint = &studio.Inpaint{Method: studio.Replace, Image: "in.png", Mask: "mask.png"}
			return r, studio.StartOptions{Batch: 1, Inputs: inputs(28, 28)}
		}},
		{"tiny/ddpm10/batch4", tiny, func(s *studio.Session) (studio.Recipe, studio.StartOptions) {
			r := short(s.DefaultRecipe(studio.DDPM))
			r.Steps, r.Seed, r.Count = 10, 15, 4
			return r, studio.StartOptions{Batch: 4}
		}},
		{"tiny/repaint/batch1", tiny, func(s *studio.Session) (studio.Recipe, studio.StartOptions) {
			r := short(s.DefaultRecipe(studio.RePaint))
			r.Steps, r.Seed, r.Count = 4, 16, 1
			r.Inpaint = &studio.Inpaint{Method: studio.RePaint, JumpLength: 2, JumpNSample: 2, Image: "in.png", Mask: "mask.png"}
			return r, studio.StartOptions{Batch: 1, Inputs: inputs(8, 8)}
		}},
	}
	got := map[string]string{}
	for _, c := range cases {
		r, opt := c.setup(c.sess)
		got[c.name] = sample(t, c.sess, r, opt)
	}
	got["tiny/train6"] = trainHash(t)
	return got
}

// trainHash takes six optimizer steps of the tiny model on synthetic
// squares and hashes every parameter and EMA weight.
func trainHash(t *testing.T) string {
	data := &train.Dataset{C: 1, H: 8, W: 8, Classes: []string{"a", "b"}}
	for k := 0; k < 8; k++ {
		img := make([]float32, 64)
		for i := range img {
			x, y := i%8, i/8
			if (x > 1+k%3 && x < 6 && y > 1 && y < 6) == (k%2 == 0) {
				img[i] = 0.9
			} else {
				img[i] = -0.9
			}
		}
		data.Images = append(data.Images, img)
		data.Labels = append(data.Labels, k%2)
	}
	o := train.DefaultOptions()
	o.Steps, o.Batch, o.Warmup, o.CheckpointEvery, o.SampleEvery, o.LR, o.Log = 6, 4, 2, 0, 1000, 2e-3, nil
	o.HFlip = true
	tr, err := train.New(tinyConfig(), data, t.TempDir(), o)
	if err != nil {
		t.Fatal(err)
	}
	var losses []float32
	for range o.Steps {
		loss, err := tr.TrainStep()
		if err != nil {
			t.Fatal(err)
		}
		losses = append(losses, float32(loss))
	}
	vs := [][]float32{losses}
	for _, p := range tr.Model.Params() {
		v := make([]float32, p.Elements())
		tr.Model.Backend().Download(v, p.Tensor)
		vs = append(vs, v)
	}
	return hashFloats(vs...)
}

func readHashes(t *testing.T) map[string]string {
	f, err := os.Open(hashFile())
	if err != nil {
		t.Fatalf("%v (make it with go test ./internal/determinism -update)", err)
	}
	defer f.Close()
	m := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, h, ok := strings.Cut(line, " ")
		if !ok {
			t.Fatalf("%s: bad line %q", hashFile(), line)
		}
		m[name] = strings.TrimSpace(h)
	}
	return m
}

func writeHashes(t *testing.T, m map[string]string) {
	var names []string
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString("# SHA-256 (first 128 bits) of each recipe's float32 outputs: the same on\n")
	b.WriteString("# every CPU path and machine (docs/determinism.md). Rewritten only by\n")
	b.WriteString("# go test ./internal/determinism -update, after a deliberate change of arithmetic.\n")
	for _, n := range names {
		fmt.Fprintf(&b, "%s %s\n", n, m[n])
	}
	if err := os.WriteFile(hashFile(), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestRecipeHashes runs the table on this process's path (DDPM_CPU) and
// architecture and holds it to the checked-in hashes.
func TestRecipeHashes(t *testing.T) {
	if err := simd.Err(); err != nil {
		t.Fatal(err)
	}
	got := computeHashes(t)
	if *update {
		writeHashes(t, got)
		return
	}
	want := readHashes(t)
	for name, h := range got {
		if want[name] == "" {
			t.Errorf("%s: no hash checked in (run with -update)", name)
		} else if want[name] != h {
			t.Errorf("%s on %s/%s: hash %s, checked-in %s", name, runtime.GOARCH, simd.Current(), h, want[name])
		}
	}
	for name := range want {
		if got[name] == "" {
			t.Errorf("%s: checked in but not in the table", name)
		}
	}
}

// TestRecipeHashesEveryPath runs TestRecipeHashes again, in a child
// process, on every other CPU path this machine has: the kernels are chosen
// once per process, so each path gets a process of its own.
func TestRecipeHashesEveryPath(t *testing.T) {
	if os.Getenv(simd.Env) != "" {
		t.Skip("a child run on one path")
	}
	if *update {
		t.Skip("-update writes from this process's path only")
	}
	for _, p := range simd.Available() {
		if p == simd.Current() {
			continue
		}
		t.Run(string(p), func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run", "^TestRecipeHashes$", "-test.count", "1")
			cmd.Env = append(os.Environ(), simd.Env+"="+string(p))
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("path %s: %v\n%s", p, err, out)
			}
		})
	}
}
