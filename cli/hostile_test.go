package cli_test

import (
	"bytes"
	"context"
	bin "encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ddpmstudio/ddpmstudio/imageio"
	"github.com/ddpmstudio/ddpmstudio/studio"
	"github.com/ddpmstudio/ddpmstudio/train"
	"github.com/ddpmstudio/ddpmstudio/unet"
	"github.com/ddpmstudio/ddpmstudio/unet/cpu"
)

// memLimitKB bounds the address space of every hostile run: a case that
// tried to allocate what its input claims would fail by OOM, not cleanly.
const memLimitKB = 6 << 20 // 6 GiB of virtual memory (Go reserves some up front)

// runLimited runs the binary under ulimit -v with the given arguments.
func runLimited(t *testing.T, dir string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	quoted := make([]string, len(args))
	for i, a := range args {
		quoted[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	cmd := exec.CommandContext(ctx, "sh", "-c", "ulimit -v "+strconv.Itoa(memLimitKB)+"; exec "+binary+" "+strings.Join(quoted, " "))
	cmd.Dir = dir
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("%v: did not finish (hang)", args)
	}
	return resultOf(t, err, &out, &errb)
}

// pngClaiming is a 69-byte PNG whose header claims w×h pixels.
func pngClaiming(w, h uint32) []byte {
	var buf bytes.Buffer
	buf.WriteString("\x89PNG\r\n\x1a\n")
	chunk := func(typ string, data []byte) {
		var n [4]byte
		bin.BigEndian.PutUint32(n[:], uint32(len(data)))
		buf.Write(n[:])
		buf.WriteString(typ)
		buf.Write(data)
		c := crc32.NewIEEE()
		c.Write([]byte(typ))
		c.Write(data)
		bin.BigEndian.PutUint32(n[:], c.Sum32())
		buf.Write(n[:])
	}
	ihdr := make([]byte, 13)
	bin.BigEndian.PutUint32(ihdr[0:], w)
	bin.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8] = 8
	chunk("IHDR", ihdr)
	chunk("IDAT", []byte{0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01})
	chunk("IEND", nil)
	return buf.Bytes()
}

// modelWithConfig writes a model folder whose config.json is cfgJSON and
// whose weights are those of the tiny test model (they need not match:
// the config must be refused first).
func modelWithConfig(t *testing.T, dir, name, cfgJSON string) string {
	t.Helper()
	src := model(t, "tiny_gray16")
	dst := filepath.Join(dir, name)
	if err := os.CopyFS(dst, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dst, "config.json"), []byte(cfgJSON), 0o644); err != nil {
		t.Fatal(err)
	}
	return name
}

// TestHostileInputs: each hostile input gives exit 1 with one line naming
// the problem, within the memory limit, no panic or goroutine dump, and
// leaves no file behind.
func TestHostileInputs(t *testing.T) {
	dir := t.TempDir()
	tiny := model(t, "tiny_gray16")
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.WriteFile(filepath.Join(dir, "huge.png"), pngClaiming(200000, 200000), 0o644))
	must(syscall.Mkfifo(filepath.Join(dir, "fifo"), 0o644))
	// A valid small picture for the cases that need one.
	img := image.NewGray(image.Rect(0, 0, 16, 16))
	for i := range img.Pix {
		img.Pix[i] = byte(i)
	}
	var pb bytes.Buffer
	png.Encode(&pb, img)
	must(os.WriteFile(filepath.Join(dir, "ok.png"), pb.Bytes(), 0o644))
	mask := image.NewGray(image.Rect(0, 0, 16, 16))
	mask.SetGray(3, 3, color.Gray{255})
	pb.Reset()
	png.Encode(&pb, mask)
	must(os.WriteFile(filepath.Join(dir, "mask.png"), pb.Bytes(), 0o644))

	// A model whose weights hold a NaN.
	nanModel := filepath.Join(dir, "nan")
	must(os.CopyFS(nanModel, os.DirFS(tiny)))
	l, err := unet.Load(nanModel, cpu.New())
	must(err)
	p := l.Model.Params()[5]
	vals := make([]float32, p.Elements())
	l.Model.Backend().Download(vals, p.Tensor)
	vals[0] = float32(nan())
	l.Model.Backend().Upload(p.Tensor, vals)
	must(l.Model.Save(nanModel, false, nil))

	// Recipes: a valid one, then edits of it.
	mustRun(t, dir, "sample", "--model", tiny, "--sampler", "ddim", "--steps", "2", "--seed", "3", "--out", "good.png", "--quiet")
	good := recipeOf(t, filepath.Join(dir, "good.png"))
	writeRecipe := func(name string, edit func(*studio.Recipe), tamper func(string) string) string {
		r := good
		edit(&r)
		text := r.Encode()
		if tamper != nil {
			text = tamper(text)
		}
		var b bytes.Buffer
		if err := encodeWithText(&b, img, text); err != nil {
			t.Fatal(err)
		}
		must(os.WriteFile(filepath.Join(dir, name), b.Bytes(), 0o644))
		return name
	}
	countBig := writeRecipe("count.png", func(r *studio.Recipe) { r.Count = 1_000_000_000 }, nil)
	guid := writeRecipe("guidance.png", func(r *studio.Recipe) { r.Guidance = 1e308 }, nil)
	first := writeRecipe("first.png", func(r *studio.Recipe) { r.First = 1<<32 + 5 }, nil)
	jumps := writeRecipe("jumps.png", func(r *studio.Recipe) {
		r.Sampler = studio.RePaint
		r.Inpaint = &studio.Inpaint{Method: studio.RePaint, JumpLength: 10, JumpNSample: 1_000_000, Image: "ok.png", Mask: "mask.png"}
	}, nil)
	devImage := writeRecipe("devimage.png", func(r *studio.Recipe) {
		r.Inpaint = &studio.Inpaint{Method: studio.Replace, Image: "fifo", Mask: "mask.png"}
	}, nil)
	absPath := writeRecipe("abs.png", func(r *studio.Recipe) {
		r.Inpaint = &studio.Inpaint{Method: studio.Replace, Image: "/etc/passwd", Mask: "mask.png"}
	}, nil)
	edited := writeRecipe("edited.png", func(*studio.Recipe) {}, func(s string) string {
		return strings.Replace(s, `"seed":3`, `"seed":4`, 1)
	})

	cases := []struct {
		name string
		args []string
		want string
	}{
		{"class embeds 2e9", []string{"sample", "--model", modelWithConfig(t, dir, "m1", `{"num_class_embeds": 2000000000}`)}, "num_class_embeds"},
		{"block 65536", []string{"sample", "--model", modelWithConfig(t, dir, "m2", `{"block_out_channels": [65536, 64]}`)}, "block_out_channels"},
		{"sample_size 65536", []string{"sample", "--model", modelWithConfig(t, dir, "m3", `{"sample_size": 65536}`)}, "sample_size"},
		{"sample_size 1e9", []string{"sample", "--model", modelWithConfig(t, dir, "m4", `{"sample_size": 1000000000}`)}, "sample_size"},
		{"layers 1e6", []string{"sample", "--model", modelWithConfig(t, dir, "m5", `{"layers_per_block": 1000000}`)}, "layers_per_block"},
		{"config is a FIFO", []string{"info", "--model", modelWithFIFOConfig(t, dir)}, "FIFO"},
		{"weights hold NaN", []string{"sample", "--model", "nan", "--steps", "2", "--sampler", "ddim"}, "non-finite"},
		{"huge PNG as image", []string{"sample", "--model", tiny, "--image", "huge.png", "--mask", "mask.png", "--steps", "2", "--sampler", "ddim", "--inpaint", "replace"}, "200000×200000"},
		{"huge PNG as mask", []string{"sample", "--model", tiny, "--image", "ok.png", "--mask", "huge.png", "--steps", "2", "--sampler", "ddim", "--inpaint", "replace"}, "200000×200000"},
		{"/dev/zero as image", []string{"sample", "--model", tiny, "--image", "/dev/zero", "--mask", "mask.png", "--steps", "2", "--sampler", "ddim", "--inpaint", "replace"}, "device"},
		{"/dev/zero as --from", []string{"sample", "--from", "/dev/zero"}, "device"},
		{"FIFO as --from", []string{"sample", "--from", "fifo"}, "FIFO"},
		{"recipe count 1e9", []string{"sample", "--from", countBig, "--model", tiny}, "count"},
		{"recipe guidance 1e308", []string{"sample", "--from", guid, "--model", tiny}, "guidance"},
		{"recipe first_sample 2^32+5", []string{"sample", "--from", first, "--model", tiny}, "first_sample"},
		{"recipe jump_n_sample 1e6", []string{"sample", "--from", jumps, "--model", tiny}, "jump_n_sample"},
		{"recipe image is a FIFO", []string{"sample", "--from", devImage, "--model", tiny}, "FIFO"},
		{"recipe with an absolute path", []string{"sample", "--from", absPath, "--model", tiny}, "absolute"},
		{"recipe edited by hand", []string{"sample", "--from", edited, "--model", tiny}, "checksum"},
		{"classgrid guidance NaN", []string{"classgrid", "--model", tiny, "--guidance", "NaN"}, "guidance"},
		{"classgrid scale 100000", []string{"classgrid", "--scale", "100000"}, "scale"},
		{"bad chain path", []string{"sample", "--model", tiny, "--steps", "2", "--sampler", "ddim", "--out", "never.png", "--chain", "no/such/dir/c.gif"}, "no/such/dir"},
		{"chain extension", []string{"sample", "--model", tiny, "--steps", "2", "--sampler", "ddim", "--out", "never.png", "--chain", "c.mp4"}, ".gif or .png"},
		{"activations over the budget", []string{"sample", "--model", tiny, "--count", "64", "--batch", "64", "--memory-budget", "0.01", "--out", "never.png"}, "budget"},
		{"export onto its input", []string{"export", "--model", tiny, "--out", tiny}, "its own input"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := listDir(t, dir)
			r := runLimited(t, dir, c.args...)
			if r.code != 1 {
				t.Errorf("exit %d, want 1; stderr %q", r.code, r.stderr)
			}
			var lines []string // the error lines: progress ("loading …") aside
			for _, l := range strings.Split(strings.TrimSpace(r.stderr), "\n") {
				if !strings.HasPrefix(l, "loading ") && !strings.HasPrefix(l, "backend: ") && !strings.HasPrefix(l, "estimated ") {
					lines = append(lines, l)
				}
			}
			if len(lines) != 1 || !strings.Contains(lines[0], c.want) || strings.Contains(r.stderr, "goroutine") || strings.Contains(r.stderr, "internal error") {
				t.Errorf("stderr %q: want one line mentioning %q", r.stderr, c.want)
			}
			if after := listDir(t, dir); after != before {
				t.Errorf("files changed:\nbefore %s\nafter  %s", before, after)
			}
		})
	}
}

func nan() float64 { var z float64; return z / z }

func modelWithFIFOConfig(t *testing.T, dir string) string {
	name := modelWithConfig(t, dir, "fifocfg", `{}`)
	p := filepath.Join(dir, name, "config.json")
	os.Remove(p)
	if err := syscall.Mkfifo(p, 0o644); err != nil {
		t.Fatal(err)
	}
	return name
}

func listDir(t *testing.T, dir string) string {
	var names []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil {
			names = append(names, strings.TrimPrefix(p, dir))
		}
		return nil
	})
	return strings.Join(names, " ")
}

// encodeWithText writes img as PNG with a "parameters" chunk holding text.
func encodeWithText(w *bytes.Buffer, img image.Image, text string) error {
	return imageio.EncodePNG(w, img, map[string]string{"parameters": text})
}

// TestSignalsDuringLoading: SIGTERM while the weights are read exits 143,
// SIGINT 130, with nothing written.
func TestSignalsDuringLoading(t *testing.T) {
	dir := t.TempDir()
	// A model folder whose weights file is large (sparse: all zeros read
	// fast but still take a while) so the signal lands during loading.
	name := modelWithConfig(t, dir, "big", `{"sample_size": 16, "in_channels": 1, "out_channels": 1, "block_out_channels": [32, 64], "down_block_types": ["DownBlock2D", "AttnDownBlock2D"], "up_block_types": ["AttnUpBlock2D", "UpBlock2D"], "layers_per_block": 1, "norm_num_groups": 8}`)
	wpath := filepath.Join(dir, name, "diffusion_pytorch_model.safetensors")
	f, err := os.OpenFile(wpath, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(1 << 30); err != nil { // trailing zeros: a lying, huge file
		t.Fatal(err)
	}
	f.Close()
	for _, c := range []struct {
		sig  syscall.Signal
		code int
	}{{syscall.SIGTERM, 143}, {syscall.SIGINT, 130}} {
		t.Run(c.sig.String(), func(t *testing.T) {
			code, all := signalAfter(t, dir, "loading", c.sig, "sample", "--model", name, "--out", "never.png")
			if code != c.code {
				t.Fatalf("exit %d, want %d; stderr %q", code, c.code, all)
			}
			if _, err := os.Stat(filepath.Join(dir, "never.png")); err == nil {
				t.Error("wrote never.png")
			}
		})
	}
}

// TestResumeRestoresStoredOptions: an interrupted run resumed with no
// training flag ends bit-identical to an uninterrupted one; a differing
// flag is refused unless --override.
func TestResumeRestoresStoredOptions(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	for ci, class := range []string{"a", "b"} {
		if err := os.MkdirAll(filepath.Join(data, class), 0o755); err != nil {
			t.Fatal(err)
		}
		for k := 0; k < 3; k++ {
			img := image.NewGray(image.Rect(0, 0, 8, 8))
			for i := range img.Pix {
				img.Pix[i] = byte(40*ci + 9*k + i)
			}
			var b bytes.Buffer
			png.Encode(&b, img)
			if err := os.WriteFile(filepath.Join(data, class, strconv.Itoa(k)+".png"), b.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	cfg := `{"sample_size": 8, "in_channels": 1, "out_channels": 1, "block_out_channels": [8, 16], "down_block_types": ["DownBlock2D", "DownBlock2D"], "up_block_types": ["UpBlock2D", "UpBlock2D"], "layers_per_block": 1, "norm_num_groups": 4, "num_class_embeds": 3}`
	if err := os.WriteFile(filepath.Join(dir, "cfg.json"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"train", "--data", "data", "--config", "cfg.json", "--steps", "300", "--batch", "3", "--checkpoint-every", "100", "--warmup", "10", "--lr", "0.003", "--seed", "5"}
	mustRun(t, dir, append(args, "--out", "full")...)
	// The same run, interrupted once it is under way.
	if code, all := signalAfter(t, dir, "training ", syscall.SIGINT, append(args, "--out", "part")...); code == 0 {
		t.Fatalf("the run finished before the interrupt; make it longer (stderr %q)", all)
	}
	meta, err := train.ReadStateMeta(filepath.Join(dir, "part"))
	if err != nil || meta.Step >= 300 {
		t.Fatalf("interrupted run's state: step %d, %v", meta.Step, err)
	}
	t.Logf("interrupted at step %d", meta.Step)
	// Resuming a finished run with a differing flag is refused…
	if r := run(t, dir, "train", "--resume", "--out", "part", "--data", "data", "--batch", "5"); r.code != 1 || !strings.Contains(r.stderr, "--batch 5 differs from the run's stored 3") {
		t.Errorf("differing --batch: exit %d %q", r.code, r.stderr)
	}
	// …and one with no training flag keeps every stored option.
	r := mustRun(t, dir, "train", "--resume", "--out", "part", "--data", "data")
	if !strings.Contains(r.stderr, "batch 3") {
		t.Errorf("resume did not use the stored batch: %q", r.stderr)
	}
	a, _ := os.ReadFile(filepath.Join(dir, "full", "diffusion_pytorch_model.safetensors"))
	b, _ := os.ReadFile(filepath.Join(dir, "part", "diffusion_pytorch_model.safetensors"))
	if len(a) == 0 || !bytes.Equal(a, b) {
		t.Error("resumed run differs from the uninterrupted one")
	}
}
