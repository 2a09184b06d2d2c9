package train

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ddpmstudio/ddpmstudio/unet"
	"github.com/ddpmstudio/ddpmstudio/unet/cpu"
)

func tinyConfig(classes int) unet.Config {
	c := unet.DefaultConfig()
	c.SampleSize = [2]int{8, 8}
	c.InChannels, c.OutChannels = 1, 1
	c.BlockOutChannels = []int{8, 16}
	c.DownBlockTypes = []string{unet.DownBlock, unet.AttnDownBlock}
	c.UpBlockTypes = []string{unet.AttnUpBlock, unet.UpBlock}
	c.LayersPerBlock, c.NormNumGroups, c.AttentionHeadDim = 1, 4, 8
	if classes > 0 {
		c.NumClassEmbeds = classes + 1
	}
	return c
}

// writeFolder makes a class-per-sub-folder image set: bright squares in
// "a", dark rings in "b", at 16×16 so loading must resize.
func writeFolder(t *testing.T) string {
	dir := t.TempDir()
	for ci, class := range []string{"a", "b"} {
		os.MkdirAll(filepath.Join(dir, class), 0o755)
		for k := 0; k < 4; k++ {
			img := image.NewGray(image.Rect(0, 0, 16, 16))
			for y := 0; y < 16; y++ {
				for x := 0; x < 16; x++ {
					v := uint8(0)
					inside := x > 3+k/2 && x < 12 && y > 3 && y < 12
					if (ci == 0) == inside {
						v = 230
					}
					img.SetGray(x, y, color.Gray{v})
				}
			}
			f, _ := os.Create(filepath.Join(dir, class, string(rune('0'+k))+".png"))
			png.Encode(f, img)
			f.Close()
		}
	}
	return dir
}

func quietOptions() Options {
	o := DefaultOptions()
	o.Steps, o.Batch, o.Warmup, o.CheckpointEvery, o.SampleEvery, o.LR = 6, 4, 2, 3, 1000, 2e-3
	o.Log = nil
	return o
}

func TestFolderTrainingResumesExactly(t *testing.T) {
	data, err := LoadFolder(writeFolder(t), 1, 8, 8)
	if err != nil {
		t.Fatal(err)
	}
	if data.Len() != 8 || len(data.Classes) != 2 || data.Labels[7] != 1 {
		t.Fatalf("loaded %d images, classes %v, labels %v", data.Len(), data.Classes, data.Labels)
	}
	cfg := tinyConfig(2)

	// One uninterrupted run of six steps…
	full := t.TempDir()
	a, err := New(cfg, data, full, quietOptions())
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	// …and one stopped after three steps and resumed from its checkpoint.
	split := t.TempDir()
	o := quietOptions()
	o.Steps = 3
	b, _ := New(cfg, data, split, o)
	if err := b.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	resumeAndCompare(t, a, cfg, data, split, 3)
	// The exported folder is a loadable diffusers model with the null class marked.
	l, err := unet.Load(split, cpu.New())
	if err != nil {
		t.Fatal(err)
	}
	if l.Model.Config.NullClass != 2 || !l.HasScheduler {
		t.Errorf("exported config: null class %d, scheduler %v", l.Model.Config.NullClass, l.HasScheduler)
	}
	for _, f := range []string{"loss.csv", "loss.png", "samples.png", "training_state.safetensors"} {
		if _, err := os.Stat(filepath.Join(split, f)); err != nil {
			t.Errorf("missing %s", f)
		}
	}
	hist, _ := readLog(filepath.Join(split, "loss.csv"), 100)
	if len(hist) != 6 || hist[5].Step != 6 {
		t.Errorf("loss log %v", hist)
	}
}

func TestTrainingReducesLoss(t *testing.T) {
	data, err := LoadFolder(writeFolder(t), 1, 8, 8)
	if err != nil {
		t.Fatal(err)
	}
	o := quietOptions()
	o.Steps, o.Batch, o.CheckpointEvery = 60, 8, 0
	tr, err := New(tinyConfig(0), data, t.TempDir(), o)
	if err != nil {
		t.Fatal(err)
	}
	var first, last float64
	for i := 0; i < o.Steps; i++ {
		loss, err := tr.TrainStep()
		if err != nil {
			t.Fatal(err)
		}
		if i < 10 {
			first += loss / 10
		}
		if i >= o.Steps-10 {
			last += loss / 10
		}
	}
	t.Logf("mean loss of the first 10 steps %.3f, of the last 10 %.3f", first, last)
	if !(last < 0.7*first) {
		t.Errorf("loss did not fall: %.3f → %.3f", first, last)
	}
}

func TestLearningRateSchedule(t *testing.T) {
	tr := &Trainer{Opts: Options{LR: 1e-3, Warmup: 10, Steps: 110}}
	if got := tr.LR(0); math.Abs(got-1e-4) > 1e-12 {
		t.Errorf("LR(0) = %g", got)
	}
	if got := tr.LR(9); math.Abs(got-1e-3) > 1e-12 {
		t.Errorf("end of warm-up %g", got)
	}
	if got := tr.LR(110); math.Abs(got-1e-4) > 1e-12 {
		t.Errorf("final LR %g, want a tenth of the peak", got)
	}
	if !(tr.LR(60) < tr.LR(20)) {
		t.Error("no decay")
	}
}

func TestIncompatibleData(t *testing.T) {
	data, _ := LoadFolder(writeFolder(t), 1, 8, 8)
	cfg := tinyConfig(5) // 6 embeddings for 2 classes
	if _, err := New(cfg, data, t.TempDir(), quietOptions()); err == nil {
		t.Error("num_class_embeds mismatch accepted")
	}
	cfg = tinyConfig(2)
	cfg.InChannels, cfg.OutChannels = 3, 3
	if _, err := New(cfg, data, t.TempDir(), quietOptions()); err == nil {
		t.Error("channel mismatch accepted")
	}
	if _, err := LoadFolder(t.TempDir(), 1, 8, 8); err == nil {
		t.Error("empty folder accepted")
	}
}

func TestMNISTLoads(t *testing.T) {
	dir, err := FindMNIST()
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal(err) // GoMNIST is a module dependency: CI always has it
		}
		t.Skipf("MNIST not available: %v", err)
	}
	d, err := LoadMNIST(dir, true)
	if err != nil {
		t.Fatal(err)
	}
	if d.Len() != 10000 || d.H != 28 || len(d.Classes) != 10 {
		t.Fatalf("test split: %d images of %d px, %d classes", d.Len(), d.H, len(d.Classes))
	}
	var mean float64
	for _, v := range d.Images[0] {
		mean += float64(v)
	}
	if mean /= 784; mean > -0.5 { // mostly black background at −1
		t.Errorf("first image mean %.2f: not white digits on black", mean)
	}
}

func gzipBytes(b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func idxBytes(dims []uint32, data []byte) []byte {
	b := []byte{0, 0, 8, byte(len(dims))}
	for _, d := range dims {
		b = binary.BigEndian.AppendUint32(b, d)
	}
	return append(b, data...)
}

func TestIDXHeadersCheckedAgainstData(t *testing.T) {
	cases := []struct {
		name string
		raw  []byte
		want string
	}{
		{"claims 2^31-1 images", gzipBytes(idxBytes([]uint32{1<<31 - 1, 28, 28}, make([]byte, 784))), "2147483647"},
		{"claims more than it holds", idxBytes([]uint32{3, 28, 28}, make([]byte, 784)), "holds 784"},
		{"negative count", idxBytes([]uint32{0xffffffff, 28, 28}, nil), "dimension 0"},
		{"zero dimension", idxBytes([]uint32{0}, nil), "dimension 0"},
		{"float elements", []byte{0, 0, 0x0d, 1, 0, 0, 0, 1, 0, 0, 0, 0}, "element type"},
		{"truncated header", []byte{0, 0, 8}, "truncated"},
	}
	for _, c := range cases {
		if _, err := ParseIDX(c.raw); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
	x, err := ParseIDX(gzipBytes(idxBytes([]uint32{2, 28, 28}, make([]byte, 2*784))))
	if err != nil || len(x.Data) != 2*784 {
		t.Fatalf("valid file: %v", err)
	}
	labels, _ := ParseIDX(idxBytes([]uint32{2}, []byte{3, 7}))
	if _, err := mnistFrom(x, labels, "i", "l"); err != nil {
		t.Errorf("valid MNIST: %v", err)
	}
	odd, _ := ParseIDX(idxBytes([]uint32{2, 29, 29}, make([]byte, 2*841)))
	if _, err := mnistFrom(odd, labels, "i", "l"); err == nil || !strings.Contains(err.Error(), "28×28") {
		t.Errorf("29×29 images: %v", err)
	}
	bad, _ := ParseIDX(idxBytes([]uint32{2}, []byte{3, 70}))
	if _, err := mnistFrom(x, bad, "i", "l"); err == nil || !strings.Contains(err.Error(), "not a digit") {
		t.Errorf("label 70: %v", err)
	}
}

// FuzzParseIDX: any bytes give an error or data exactly as long as the
// header's dimensions say.
func FuzzParseIDX(f *testing.F) {
	f.Add(idxBytes([]uint32{2, 2}, []byte{1, 2, 3, 4}))
	f.Add(gzipBytes(idxBytes([]uint32{1, 28, 28}, make([]byte, 784))))
	f.Add(idxBytes([]uint32{1<<31 - 1, 28, 28}, nil))
	f.Fuzz(func(t *testing.T, raw []byte) {
		x, err := ParseIDX(raw)
		if err != nil {
			return
		}
		n := 1
		for _, d := range x.Dims {
			n *= d
		}
		if n != len(x.Data) {
			t.Fatalf("dims %v but %d bytes", x.Dims, len(x.Data))
		}
	})
}

// FuzzStateMeta: a state file's metadata is either refused or valid
// options, a step within them and a usable random state.
func FuzzStateMeta(f *testing.F) {
	good := map[string]string{"step": "3", "rng": "cGNnOgAAAAAAAAABAAAAAAAAAAI=", "options": `{"Steps":6,"Batch":4,"Warmup":2,"CheckpointEvery":3,"SampleEvery":0,"LR":0.002,"EMA":0.999,"ClipNorm":1,"LabelDropout":0.1,"HFlip":false,"Seed":1}`}
	f.Add(good["step"], good["rng"], good["options"])
	f.Add("-1", "", "{}")
	f.Add("9", good["rng"], `{"Steps":6,"Batch":0}`)
	f.Fuzz(func(t *testing.T, step, rng, opts string) {
		m, err := ParseStateMeta(map[string]string{"step": step, "rng": rng, "options": opts})
		if err != nil {
			return
		}
		o := m.Options.Apply(DefaultOptions())
		if err := o.Validate(); err != nil || m.Step < 0 || m.Step > o.Steps {
			t.Fatalf("accepted step %d with options %+v (%v)", m.Step, m.Options, err)
		}
	})
}

// TestStopAtKeepsTheSchedule: a run stopped with StopAt past its warm-up
// and resumed ends where the uninterrupted run ends, bit for bit; had StopAt
// shortened the schedule, the learning rates of the steps before it (and so
// the weights) would differ.
func TestStopAtKeepsTheSchedule(t *testing.T) {
	data, err := LoadFolder(writeFolder(t), 1, 8, 8)
	if err != nil {
		t.Fatal(err)
	}
	cfg := tinyConfig(2)
	a, err := New(cfg, data, t.TempDir(), quietOptions())
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	o := quietOptions()
	o.StopAt = 4 // LR(3) is 0.25 of the way down a 6-step cosine, 0.5 of a 4-step one
	b, err := New(cfg, data, dir, o)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if b.Step != 4 {
		t.Fatalf("StopAt 4 stopped at step %d", b.Step)
	}
	resumeAndCompare(t, a, cfg, data, dir, 4)
}

// resumeAndCompare resumes the run in dir, which must have stopped at step
// at, runs it to its end and holds its weights and EMA to the uninterrupted
// run a's, bit for bit.
func resumeAndCompare(t *testing.T, a *Trainer, cfg unet.Config, data *Dataset, dir string, at int) {
	t.Helper()
	c, err := Resume(cfg, data, dir, quietOptions())
	if err != nil {
		t.Fatal(err)
	}
	if c.Step != at {
		t.Fatalf("resumed at step %d, want %d", c.Step, at)
	}
	if err := c.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	for i := range a.params {
		for j := range a.params[i] {
			if a.params[i][j] != c.params[i][j] || a.ema[i][j] != c.ema[i][j] {
				t.Fatalf("parameter %s differs from the uninterrupted run", a.Model.Params()[i].Name)
			}
		}
	}
}
