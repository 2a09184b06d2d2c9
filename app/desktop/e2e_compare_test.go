package desktop_test

import (
	"fmt"
	"image/png"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/ddpmstudio/ddpmstudio/safetensors"
	"github.com/ddpmstudio/ddpmstudio/studio"
)

// TestRealWindowCompare drives compare mode in the real binary: a DDPM 40
// chain, then the sampler panel set to DDIM 5 with the mouse and keyboard,
// Ctrl+B runs chain B beside it, ← scrubs both, and Ctrl+Shift+S saves
// chain B's trajectory — which must be DDIM 5 on the first chain's seed.
// The clicks are at the panel's places in the 1280×820 window (measured
// from a screenshot; the layout is Fyne's, fixed by the window size).
func TestRealWindowCompare(t *testing.T) {
	needTools(t)
	dir := t.TempDir()
	d := startXvfb(t)
	app, win, _ := startApp(t, d, dir, `{"sampler":"DDPM","steps":"40","count":"1","seed":"7","seed_locked":true}`)
	alive := func() bool { return app.Process.Signal(syscall.Signal(0)) == nil }
	at := func(fx, fy float64) (string, string) {
		return fmt.Sprint(win.Min.X + int(fx*float64(win.Dx()))), fmt.Sprint(win.Min.Y + int(fy*float64(win.Dy())))
	}
	click := func(fx, fy float64) {
		x, y := at(fx, fy)
		if err := d.run("xdotool", "mousemove", x, y, "click", "1"); err != nil {
			t.Fatal(err)
		}
		d.waitFor(300*time.Millisecond, func() bool { return false })
	}
	cx, cy := at(0.5, 0.75)
	if err := d.run("xdotool", "mousemove", cx, cy, "key", "ctrl+Return"); err != nil {
		t.Fatal(err)
	}
	if !d.settled(win, 6) {
		t.Fatal("the first chain never settled")
	}
	first, _ := region(d.screenshot(), win)
	click(107.0/1280, 116.0/820) // the DDIM radio
	click(180.0/1280, 155.0/820) // the steps entry
	d.run("xdotool", "key", "ctrl+a")
	d.run("xdotool", "type", "5")
	click(150.0/1280, 70.0/820) // the card's title: the entry lets go of the keyboard
	if err := d.run("xdotool", "mousemove", cx, cy, "key", "ctrl+b"); err != nil {
		t.Fatal(err)
	}
	if !d.waitFor(time.Minute, func() bool { now, _ := region(d.screenshot(), win); return now != first }) {
		t.Fatal("Ctrl+B changed nothing in the chain area")
	}
	if !d.settled(win, 6) {
		t.Fatal("the comparison never settled")
	}
	compared, colours := region(d.screenshot(), win)
	if colours < 16 {
		t.Fatalf("the comparison is blank (%d colours)", colours)
	}
	keys := []string{"xdotool", "key"}
	for i := 0; i < 29; i++ {
		keys = append(keys, "Left")
	}
	d.run(keys...)
	if !d.waitFor(30*time.Second, func() bool { now, _ := region(d.screenshot(), win); return now != compared }) {
		t.Fatal("← did not scrub the comparison")
	}
	d.settled(win, 4)
	if p := os.Getenv("DDPM_E2E_COMPARE_SCREENSHOT"); p != "" {
		if f, err := os.Create(p); err == nil {
			png.Encode(f, d.screenshot())
			f.Close()
		}
	}
	saved := d.saveWith(t, dir, "ctrl+shift+s", "chain-seed*.safetensors")
	var f *safetensors.File
	if !d.waitFor(10*time.Second, func() bool { // written off the UI goroutine
		var err error
		f, err = safetensors.ReadFile(saved)
		return err == nil
	}) {
		t.Fatal("the saved chain does not parse")
	}
	_, shape, err := f.Float32("x")
	if err != nil {
		t.Fatal(err)
	}
	r, err := studio.DecodeRecipe(f.Metadata["recipe"])
	if err != nil {
		t.Fatal(err)
	}
	if r.Sampler != studio.DDIM || r.Steps != 5 || r.Seed != 7 || shape[0] != 6 {
		t.Errorf("chain B: %s %d seed %d, x of shape %v; want DDIM 5 on seed 7 (6 states)", r.Sampler, r.Steps, r.Seed, shape)
	}
	if !alive() {
		t.Fatal("the application exited")
	}
}
