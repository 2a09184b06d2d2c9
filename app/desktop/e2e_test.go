package desktop_test

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
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

// startXvfb starts a virtual screen on a free display number.
func startXvfb(t *testing.T) *display {
	t.Helper()
	for n := 91; n < 120; n++ {
		if _, err := os.Stat(fmt.Sprintf("/tmp/.X11-unix/X%d", n)); err == nil {
			continue
		}
		if _, err := os.Stat(fmt.Sprintf("/tmp/.X%d-lock", n)); err == nil {
			continue
		}
		name := fmt.Sprintf(":%d", n)
		cmd := exec.Command("Xvfb", name, "-screen", "0", "1280x900x24", "-nolisten", "tcp")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		d := &display{t: t, name: name, env: append(os.Environ(), "DISPLAY="+name)}
		if d.waitFor(30*time.Second, func() bool { return d.run("xdotool", "getmouselocation") == nil }) {
			return d
		}
		t.Fatalf("Xvfb on %s did not come up", name)
	}
	t.Fatal("no free X display number")
	return nil
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

// TestRealWindow drives the real binary under Xvfb: it starts, Ctrl+Enter
// generates, the picture settles to something that is not blank, ← scrubs
// back through the chain, and the process stays alive throughout.
func TestRealWindow(t *testing.T) {
	needTools(t)
	dir := t.TempDir()
	bin := filepath.Join(dir, "ddpmstudio")
	build := exec.Command("go", "build", "-o", bin, "../..")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		t.Fatalf("building: %v", err)
	}
	d := startXvfb(t)
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	app := exec.CommandContext(ctx, bin)
	app.Env = append(d.env, "HOME="+dir, "XDG_CONFIG_HOME="+filepath.Join(dir, "config"))
	var logs bytes.Buffer
	app.Stdout, app.Stderr = &logs, &logs
	if err := app.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		app.Process.Signal(syscall.SIGTERM)
		app.Wait()
		if t.Failed() {
			t.Logf("application output:\n%s", logs.String())
		}
	}()
	alive := func() bool { return app.Process.Signal(syscall.Signal(0)) == nil && app.ProcessState == nil }

	var win image.Rectangle
	if !d.waitFor(2*time.Minute, func() bool {
		out, err := d.output("xdotool", "search", "--name", "DDPM Studio")
		if err != nil || strings.TrimSpace(out) == "" {
			return false
		}
		id := strings.Fields(out)[0]
		geo, err := d.output("xdotool", "getwindowgeometry", "--shell", id)
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
		t.Fatal("no DDPM Studio window appeared")
	}
	// Let the first frame render, then fingerprint the empty view.
	d.waitFor(3*time.Second, func() bool { return false })
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
	var last string
	if !d.waitFor(3*time.Minute, func() bool {
		now, _ := region(d.screenshot(), win)
		return now != before
	}) {
		t.Fatal("Ctrl+Enter changed nothing in the view")
	}
	stable := 0
	if !d.waitFor(5*time.Minute, func() bool {
		now, _ := region(d.screenshot(), win)
		if now == last {
			stable++
		} else {
			stable = 0
		}
		last = now
		return stable >= 6 // 1.5 s without a change
	}) {
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
}
