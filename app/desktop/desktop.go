// Package desktop opens DDPM Studio's real window. It is the only package
// that imports Fyne's app driver (GLFW, cgo), so the widgets of package app
// test without it.
package desktop

import (
	"fmt"
	"github.com/ddpmstudio/ddpmstudio/internal/simd"
	"io"
	"os"
	"os/signal"
	"runtime"
	"sync"
	"syscall"
	"time"

	"fyne.io/fyne/v2"
	fyneapp "fyne.io/fyne/v2/app"

	ddpmapp "github.com/ddpmstudio/ddpmstudio/app"
	"github.com/ddpmstudio/ddpmstudio/assets"
	"github.com/ddpmstudio/ddpmstudio/studio"
)

// AppID is the application's identifier (FyneApp.toml's ID): preferences
// are stored under it.
const AppID = "io.github.ddpmstudio.ddpmstudio"

// HasDisplay reports whether a window can be opened here, and why not.
func HasDisplay() (bool, string) {
	if runtime.GOOS != "linux" && runtime.GOOS != "freebsd" {
		return true, ""
	}
	if os.Getenv("DISPLAY") == "" && os.Getenv("WAYLAND_DISPLAY") == "" {
		return false, "no display (neither DISPLAY nor WAYLAND_DISPLAY is set)"
	}
	return true, ""
}

// Main opens the window on model (a folder or Hub repo id; "" = the last
// model used, the embedded one the first time) and runs until it is
// closed; picture, when not empty, is a PNG or JPEG to open (a recipe PNG
// is drawn again, another picture goes to the Inpaint tab). Without a
// display it prints one line and returns 1.
func Main(stderr io.Writer, picture, model string) int {
	if err := simd.Err(); err != nil { // DDPM_CPU names a path this CPU lacks
		fmt.Fprintln(stderr, "ddpmstudio:", err)
		return 2
	}
	if ok, why := HasDisplay(); !ok {
		fmt.Fprintf(stderr, "ddpmstudio: %s; the studio window needs one — on this machine use `ddpmstudio sample` (see `ddpmstudio help`)\n", why)
		return 1
	}
	// The metadata FyneApp.toml gives a packaged build, for `go build` too.
	fyneapp.SetMetadata(fyne.AppMetadata{ID: AppID, Name: "DDPM Studio", Version: studio.Version, Build: 1,
		Icon: fyne.NewStaticResource("icon.png", assets.Icon()), Release: true})
	a := fyneapp.NewWithID(AppID)
	a.SetIcon(fyne.NewStaticResource("icon.png", assets.Icon()))
	w, err := newWindow(a)
	if err != nil {
		fmt.Fprintf(stderr, "ddpmstudio: cannot open a window on display %q (%v); the command line needs none: `ddpmstudio sample` (see `ddpmstudio help`)\n", os.Getenv("DISPLAY"), err)
		return 1
	}
	w.Resize(fyne.NewSize(1280, 820))
	s := ddpmapp.New(a, w, ddpmapp.Options{Model: model})
	if picture != "" {
		s.OpenFile(picture)
	}
	// Fyne 2.7's shutdown can deadlock: an input event still queued when
	// the driver stops waits for the main loop that has just ended, and
	// the main loop waits for the event queue (seen here on SIGTERM right
	// after key presses; the window was gone, the process stayed). Once
	// shutdown has begun — the window closed, or SIGINT/SIGTERM, which
	// Fyne turns into Quit — the process exits by itself if Fyne has not
	// returned within shutdownGrace. Closing the window saves the settings
	// first (Studio.Close), well within it.
	var once sync.Once
	watchdog := func() {
		once.Do(func() {
			go func() {
				time.Sleep(shutdownGrace)
				fmt.Fprintf(stderr, "ddpmstudio: the window system did not finish shutting down in %v; exiting\n", shutdownGrace)
				os.Exit(0)
			}()
		})
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		<-sig
		watchdog()
	}()
	w.SetCloseIntercept(func() {
		watchdog()
		s.Close()
		w.Close()
	})
	w.ShowAndRun()
	return 0
}

// shutdownGrace bounds how long a closing window may take to end the
// process.
const shutdownGrace = 5 * time.Second

// newWindow creates the studio's window. Given a DISPLAY it cannot open,
// Fyne's GLFW driver logs the cause and then panics on the first window
// (seen in CI: "X11: Failed to open display :0", then "The GLFW library
// is not initialized"); that panic comes back as an error here, so the
// user gets a line instead of a stack trace.
func newWindow(a fyne.App) (w fyne.Window, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("the window system did not start: %v", r)
		}
	}()
	return a.NewWindow("DDPM Studio"), nil
}
