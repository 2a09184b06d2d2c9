// Package desktop opens DDPM Studio's real window. It is the only package
// that imports Fyne's app driver (GLFW, cgo), so the widgets of package app
// test without it.
package desktop

import (
	"fmt"
	"io"
	"os"
	"runtime"

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

// Main opens the window on the embedded model (or the last model used) and
// runs until it is closed; picture, when not empty, is a PNG or JPEG to
// open (a recipe PNG is drawn again, another picture goes to the Inpaint
// tab). Without a display it prints one line and returns 1.
func Main(stderr io.Writer, picture string) int {
	if ok, why := HasDisplay(); !ok {
		fmt.Fprintf(stderr, "ddpmstudio: %s; the studio window needs one — on this machine use `ddpmstudio sample` (see `ddpmstudio help`)\n", why)
		return 1
	}
	// The metadata FyneApp.toml gives a packaged build, for `go build` too.
	fyneapp.SetMetadata(fyne.AppMetadata{ID: AppID, Name: "DDPM Studio", Version: studio.Version, Build: 1,
		Icon: fyne.NewStaticResource("icon.png", assets.Icon()), Release: true})
	a := fyneapp.NewWithID(AppID)
	a.SetIcon(fyne.NewStaticResource("icon.png", assets.Icon()))
	w := a.NewWindow("DDPM Studio")
	w.Resize(fyne.NewSize(1280, 820))
	s := ddpmapp.New(a, w, ddpmapp.Options{})
	if picture != "" {
		s.OpenFile(picture)
	}
	w.SetCloseIntercept(func() {
		s.Close()
		w.Close()
	})
	w.ShowAndRun()
	return 0
}
