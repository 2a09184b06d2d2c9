// Command ddpmstudio is DDPM Studio: interactive sampling from denoising
// diffusion probabilistic models. With no arguments it opens the studio
// window; with a subcommand it is the command line (see package cli).
package main

import (
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"

	"github.com/ddpmstudio/ddpmstudio/cli"
	"github.com/ddpmstudio/ddpmstudio/studio"
)

func main() {
	// A 256² model's weights, kernels and activations are ~1.3 GB that stay
	// live for the whole session, and every step leaves a few MB of
	// garbage: at Go's default (GOGC=100) the heap may grow by another
	// 1.3 GB before a collection. Collecting at +25% keeps a long chain
	// within its memory budget; the live heap is mostly float buffers the
	// collector does not scan, so the extra collections cost little.
	debug.SetGCPercent(25)
	if len(os.Args) == 1 {
		os.Exit(window(os.Stderr, "", ""))
	}
	// "ddpmstudio picture.png", "ddpmstudio model-folder" or "ddpmstudio
	// owner/name": the window, opening that picture or model (as desktop
	// programs do for "Open with").
	if len(os.Args) == 2 {
		if isPicture(os.Args[1]) {
			os.Exit(window(os.Stderr, os.Args[1], ""))
		}
		if m, ok := modelArg(os.Args[1]); ok {
			os.Exit(window(os.Stderr, "", m))
		}
	}
	os.Exit(cli.Main(os.Args[1:], os.Stdout, os.Stderr))
}

// modelArg reports whether arg names a model: an existing folder (made
// absolute, since the window remembers it) or a Hub repo id owner/name[@rev]
// that is not a path here. Subcommands have no slash, so none is taken.
func modelArg(arg string) (string, bool) {
	st, err := os.Stat(arg)
	if err == nil && st.IsDir() {
		if abs, err := filepath.Abs(arg); err == nil {
			return abs, true
		}
		return arg, true
	}
	if _, _, ok := studio.ParseRepoID(arg); ok && err != nil {
		return arg, true
	}
	return "", false
}

// isPicture reports whether arg names an existing PNG or JPEG file.
func isPicture(arg string) bool {
	switch strings.ToLower(filepath.Ext(arg)) {
	case ".png", ".jpg", ".jpeg":
		st, err := os.Stat(arg)
		return err == nil && st.Mode().IsRegular()
	}
	return false
}
