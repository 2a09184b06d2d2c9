package desktop_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ddpmstudio/ddpmstudio/imageio"
	"github.com/ddpmstudio/ddpmstudio/studio"
)

// tools are the programs the real-window test drives the binary with.
var tools = []string{"Xvfb", "xdotool", "import"}

// needTools skips (or, under CI, fails) when a tool is missing.
func needTools(t *testing.T) {
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("%s is not installed; .ci/run installs xvfb, xdotool and imagemagick", tool)
			}
			t.Skipf("%s is not installed (apt-get install xvfb xdotool imagemagick)", tool)
		}
	}
}

type display struct {
	t    *testing.T
	name string
	env  []string
}

// startXvfb starts a virtual screen on a display number the server picks
// itself (-displayfd): the server knows a stale lock from a live one, which a
// scan of /tmp/.X*-lock cannot, so screens killed in earlier runs never use
// up the numbers. It is stopped with SIGTERM so that it removes its own lock
// and socket; SIGKILL left them behind.
func startXvfb(t *testing.T) *display {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("Xvfb", "-displayfd", "3", "-screen", "0", "1280x900x24", "-nolisten", "tcp")
	cmd.ExtraFiles = []*os.File{w}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	})
	number := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(r).ReadString('\n')
		r.Close()
		number <- strings.TrimSpace(line)
	}()
	var n string
	select {
	case n = <-number:
	case <-time.After(30 * time.Second):
		t.Fatal("Xvfb did not report a display number within 30 s")
	}
	if n == "" {
		t.Fatal("Xvfb exited without reporting a display number")
	}
	name := ":" + n
	d := &display{t: t, name: name, env: append(os.Environ(), "DISPLAY="+name)}
	if !d.waitFor(30*time.Second, func() bool { return d.run("xdotool", "getmouselocation") == nil }) {
		t.Fatalf("Xvfb on %s did not come up", name)
	}
	return d
}

func (d *display) run(args ...string) error {
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = d.env
	return cmd.Run()
}

func (d *display) output(args ...string) (string, error) {
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = d.env
	out, err := cmd.Output()
	return string(out), err
}

// waitFor polls cond until it holds or the limit passes (a bound on a hang,
// not an assertion about speed).
func (d *display) waitFor(limit time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		if cond() {
			return true
		}
		time.Sleep(250 * time.Millisecond)
	}
	return false
}

func (d *display) screenshot() image.Image {
	d.t.Helper()
	cmd := exec.Command("import", "-window", "root", "png:-")
	cmd.Env = d.env
	out, err := cmd.Output()
	if err != nil {
		d.t.Fatalf("screenshot: %v", err)
	}
	img, err := png.Decode(bytes.NewReader(out))
	if err != nil {
		d.t.Fatalf("screenshot: %v", err)
	}
	return img
}

// settled waits until the view has not changed for n screenshots in a row
// (a quarter of a second apart), within five minutes.
func (d *display) settled(win image.Rectangle, n int) bool {
	var last string
	stable := 0
	return d.waitFor(5*time.Minute, func() bool {
		now, _ := region(d.screenshot(), win)
		if now == last {
			stable++
		} else {
			stable = 0
		}
		last = now
		return stable >= n
	})
}

// region is the chain view's part of the window (the centre), as a
// fingerprint of its pixels and a count of distinct colours.
func region(img image.Image, win image.Rectangle) (string, int) {
	r := image.Rect(win.Min.X+win.Dx()*30/100, win.Min.Y+win.Dy()*8/100, win.Min.X+win.Dx()*78/100, win.Min.Y+win.Dy()*70/100)
	var b strings.Builder
	colours := map[uint32]bool{}
	for y := r.Min.Y; y < r.Max.Y; y += 2 {
		for x := r.Min.X; x < r.Max.X; x += 2 {
			cr, cg, cb, _ := img.At(x, y).RGBA()
			c := cr>>8<<16 | cg>>8<<8 | cb>>8
			colours[c] = true
			fmt.Fprintf(&b, "%06x", c)
		}
	}
	return b.String(), len(colours)
}

var (
	buildOnce sync.Once
	builtBin  string
	buildErr  error
)

// buildBinary builds ddpmstudio once for the real-window tests.
func buildBinary(t *testing.T) string {
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "ddpmstudio-e2e")
		if err != nil {
			buildErr = err
			return
		}
		builtBin = filepath.Join(dir, "ddpmstudio")
		build := exec.Command("go", "build", "-o", builtBin, "../..")
		build.Stderr = os.Stderr
		buildErr = build.Run()
	})
	if buildErr != nil {
		t.Fatalf("building: %v", buildErr)
	}
	return builtBin
}

// TestUnreachableDisplay: a DISPLAY that names no X server gives exit
// status 1 and a line that says so, not GLFW's panic and a stack trace.
func TestUnreachableDisplay(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin)
	cmd.Env = append(os.Environ(), "DISPLAY=:987", "WAYLAND_DISPLAY=", "HOME="+dir, "XDG_CONFIG_HOME="+filepath.Join(dir, "config"))
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("exit %v with an unreachable display, want status 1; output:\n%s", err, out)
	}
	msg := string(out)
	if !strings.Contains(msg, "cannot open a window") || !strings.Contains(msg, "ddpmstudio sample") || strings.Contains(msg, "goroutine ") {
		t.Errorf("output:\n%s", msg)
	}
}

// TestRealWindow drives the real binary under Xvfb: it starts, Ctrl+Enter
// generates, the picture settles to something that is not blank, ← scrubs
// back through the chain, and the process stays alive throughout.
func TestRealWindow(t *testing.T) {
	needTools(t)
	dir := t.TempDir()
	d := startXvfb(t)
	app, win, _ := startApp(t, d, dir, "")
	alive := func() bool { return app.Process.Signal(syscall.Signal(0)) == nil }
	// Fingerprint the empty view.
	before, _ := region(d.screenshot(), win)

	// Keyboard focus follows the pointer (there is no window manager).
	cx, cy := win.Min.X+win.Dx()/2, win.Min.Y+win.Dy()/2
	if err := d.run("xdotool", "mousemove", fmt.Sprint(cx), fmt.Sprint(cy)); err != nil {
		t.Fatal(err)
	}
	if err := d.run("xdotool", "key", "ctrl+Return"); err != nil {
		t.Fatal(err)
	}
	// Wait until the picture changes, then until it stops changing.
	if !d.waitFor(3*time.Minute, func() bool {
		now, _ := region(d.screenshot(), win)
		return now != before
	}) {
		t.Fatal("Ctrl+Enter changed nothing in the view")
	}
	if !d.settled(win, 6) {
		t.Fatal("the picture never settled")
	}
	final, colours := region(d.screenshot(), win)
	if colours < 16 || final == before {
		t.Fatalf("the settled view is blank or unchanged (%d colours)", colours)
	}
	if !alive() {
		t.Fatal("the application exited")
	}
	if err := d.run("xdotool", "key", "Left", "Left", "Left", "Left", "Left"); err != nil {
		t.Fatal(err)
	}
	if !d.waitFor(30*time.Second, func() bool {
		now, _ := region(d.screenshot(), win)
		return now != final
	}) {
		t.Fatal("← did not scrub back to an earlier step")
	}
	if !alive() {
		t.Fatal("the application exited")
	}
	if p := os.Getenv("DDPM_E2E_SCREENSHOT"); p != "" {
		f, err := os.Create(p)
		if err == nil {
			png.Encode(f, d.screenshot())
			f.Close()
		}
	}
	// Keys still queued when SIGTERM comes once left Fyne's shutdown
	// waiting on itself (the process outlived its window); the cleanup
	// holds the application to exiting within 20 s.
	keys := []string{"xdotool", "key", "--delay", "0"}
	for i := 0; i < 30; i++ {
		keys = append(keys, "Right", "Left")
	}
	if err := d.run(keys...); err != nil {
		t.Fatal(err)
	}
}

// saveWith presses key, accepts the save dialog's suggested name with
// Return and waits for the one file matching glob in dir.
func (d *display) saveWith(t *testing.T, dir, key, glob string) string {
	t.Helper()
	d.run("xdotool", "key", key)
	d.waitFor(3*time.Second, func() bool { return false }) // the save dialog opens with the name filled in
	d.run("xdotool", "key", "Return")
	var saved string
	if !d.waitFor(30*time.Second, func() bool {
		m, _ := filepath.Glob(filepath.Join(dir, glob))
		if len(m) == 1 {
			saved = m[0]
		}
		return saved != ""
	}) {
		t.Fatalf("%s and Return saved no %s in the home folder", key, glob)
	}
	return saved
}

// startApp starts the binary on the display with a fresh home (and the
// preferences given) and waits for its window.
func startApp(t *testing.T, d *display, dir string, prefs string, args ...string) (*exec.Cmd, image.Rectangle, *bytes.Buffer) {
	t.Helper()
	cfg := filepath.Join(dir, "config")
	if prefs != "" {
		pd := filepath.Join(cfg, "fyne", "io.github.ddpmstudio.ddpmstudio")
		if err := os.MkdirAll(pd, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(pd, "preferences.json"), []byte(prefs), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var app *exec.Cmd
	var logs bytes.Buffer
	var exited chan struct{}
	// Seen twice in CI: the display answered xdotool, then the application
	// exited at once with "X11: Failed to open display". A start that dies
	// that way is retried (twice, a second apart) and said in the log; any
	// other early exit fails the test straight away.
	for attempt := 1; ; attempt++ {
		app = exec.Command(buildBinary(t), args...)
		app.Dir = dir
		app.Env = append(d.env, "HOME="+dir, "XDG_CONFIG_HOME="+cfg)
		logs.Reset()
		app.Stdout, app.Stderr = &logs, &logs
		if err := app.Start(); err != nil {
			t.Fatal(err)
		}
		exited = make(chan struct{})
		go func(app *exec.Cmd, exited chan struct{}) { app.Wait(); close(exited) }(app, exited)
		select {
		case <-exited:
		case <-time.After(3 * time.Second):
		}
		select {
		case <-exited:
			if strings.Contains(logs.String(), "Failed to open display") && attempt < 3 {
				t.Logf("start %d could not open display %s; starting again:\n%s", attempt, d.name, logs.String())
				time.Sleep(time.Second)
				continue
			}
			t.Fatalf("the application exited before its window appeared:\n%s", logs.String())
		default:
		}
		break
	}
	t.Cleanup(func() {
		app.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(20 * time.Second):
			t.Error("the application did not exit within 20 s of SIGTERM")
			app.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("application output:\n%s", logs.String())
		}
	})
	var win image.Rectangle
	if !d.waitFor(2*time.Minute, func() bool {
		out, err := d.output("xdotool", "search", "--name", "DDPM Studio")
		if err != nil || strings.TrimSpace(out) == "" {
			return false
		}
		geo, err := d.output("xdotool", "getwindowgeometry", "--shell", strings.Fields(out)[0])
		if err != nil {
			return false
		}
		var x, y, w, h int
		for _, l := range strings.Fields(geo) {
			fmt.Sscanf(l, "X=%d", &x)
			fmt.Sscanf(l, "Y=%d", &y)
			fmt.Sscanf(l, "WIDTH=%d", &w)
			fmt.Sscanf(l, "HEIGHT=%d", &h)
		}
		win = image.Rect(x, y, x+w, y+h)
		return w > 300 && h > 300
	}) {
		// Seen intermittently with an empty log: have the Go runtime
		// print every goroutine's stack into the log the cleanup shows.
		app.Process.Signal(syscall.SIGQUIT)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
		}
		t.Fatal("no DDPM Studio window appeared")
	}
	d.waitFor(3*time.Second, func() bool { return false }) // let it draw
	return app, win, &logs
}

// reddish counts mask-overlay pixels in the window's centre.
func reddish(img image.Image, win image.Rectangle) int {
	n := 0
	for y := win.Min.Y + win.Dy()/10; y < win.Min.Y+win.Dy()*8/10; y++ {
		for x := win.Min.X + win.Dx()*25/100; x < win.Min.X+win.Dx()*75/100; x++ {
			r, g, b, _ := img.At(x, y).RGBA()
			if r>>8 > 150 && g>>8 < 110 && b>>8 < 110 {
				n++
			}
		}
	}
	return n
}

// TestRealWindowInpaint: open a picture, paint across it with the mouse,
// inpaint with RePaint (Ctrl+I), save with Ctrl+S, and check the saved PNG:
// the painted part changed, the rest kept every pixel, and the command line
// reproduces it byte for byte from its recipe.
func TestRealWindowInpaint(t *testing.T) {
	needTools(t)
	dir := t.TempDir()
	pic := image.NewGray(image.Rect(0, 0, 28, 28))
	for y := 0; y < 28; y++ {
		for x := 0; x < 28; x++ {
			if d := (x-14)*(x-14) + (y-14)*(y-14); d > 30 && d < 80 {
				pic.Pix[y*28+x] = 240
			}
		}
	}
	var pb bytes.Buffer
	png.Encode(&pb, pic)
	if err := os.WriteFile(filepath.Join(dir, "pic.png"), pb.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	d := startXvfb(t)
	_, win, _ := startApp(t, d, dir, `{"sampler":"DDIM","steps":"20","count":"1","seed":"7","seed_locked":true}`, "pic.png")
	before := d.screenshot()
	if reddish(before, win) > 0 {
		t.Fatal("mask pixels before any painting")
	}
	// A stroke across the upper part of the picture.
	y := win.Min.Y + win.Dy()*36/100
	x0, x1 := win.Min.X+win.Dx()*40/100, win.Min.X+win.Dx()*62/100
	if err := d.run("xdotool", "mousemove", fmt.Sprint(x0), fmt.Sprint(y), "mousedown", "1"); err != nil {
		t.Fatal(err)
	}
	for x := x0; x <= x1; x += 25 {
		d.run("xdotool", "mousemove", fmt.Sprint(x), fmt.Sprint(y))
	}
	d.run("xdotool", "mouseup", "1")
	if !d.waitFor(10*time.Second, func() bool { return reddish(d.screenshot(), win) > 200 }) {
		t.Fatal("the drag painted no mask")
	}
	d.run("xdotool", "key", "ctrl+i")
	// Wait for the run: the picture changes, then settles.
	if !d.settled(win, 8) {
		t.Fatal("the inpainting never settled")
	}
	saved := d.saveWith(t, dir, "ctrl+s", "ddpm-seed*.png")
	d.waitFor(time.Second, func() bool { return false })
	b, err := os.ReadFile(saved)
	if err != nil {
		t.Fatal(err)
	}
	out, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	maskText := pngText(t, b)["ddpm-mask"]
	if maskText == "" {
		t.Fatal("the saved PNG carries no mask")
	}
	mask := decodeMask(t, maskText)
	kept, changed, painted := 0, 0, 0
	for yy := 0; yy < 28; yy++ {
		for xx := 0; xx < 28; xx++ {
			r, _, _, _ := out.At(xx, yy).RGBA()
			same := uint8(r>>8) == pic.Pix[yy*28+xx]
			if mask.GrayAt(xx, yy).Y >= 128 {
				painted++
				if !same {
					changed++
				}
			} else {
				kept++
				if !same {
					t.Fatalf("kept pixel (%d,%d) changed", xx, yy)
				}
			}
		}
	}
	if painted == 0 || changed == 0 || kept == 0 {
		t.Fatalf("painted %d (changed %d), kept %d", painted, changed, kept)
	}
	// The command line reproduces the window's PNG from its recipe.
	re := filepath.Join(dir, "re.png")
	cli := exec.Command(buildBinary(t), "sample", "--from", saved, "--image", filepath.Join(dir, "pic.png"), "--out", re, "--quiet")
	cli.Env = append(os.Environ(), "HOME="+dir)
	if msg, err := cli.CombinedOutput(); err != nil {
		t.Fatalf("reproducing: %v\n%s", err, msg)
	}
	rb, _ := os.ReadFile(re)
	if !bytes.Equal(b, rb) {
		t.Error("the command line did not reproduce the window's PNG byte for byte")
	}
}

func pngText(t *testing.T, b []byte) map[string]string {
	t.Helper()
	m, err := imageio.ReadPNGText(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func decodeMask(t *testing.T, s string) *image.Gray {
	t.Helper()
	img, err := studio.DecodeMask(s)
	if err != nil {
		t.Fatal(err)
	}
	g, ok := img.(*image.Gray)
	if !ok {
		t.Fatalf("mask is %T", img)
	}
	return g
}
