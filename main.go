// Command ddpmstudio is DDPM Studio: interactive sampling from denoising
// diffusion probabilistic models. With no arguments it opens the studio
// window; with a subcommand it is the command line (see package cli).
package main

import (
	"os"
	"path/filepath"
	"strings"

	"github.com/ddpmstudio/ddpmstudio/cli"
)

func main() {
	if len(os.Args) == 1 {
		os.Exit(window(os.Stderr, ""))
	}
	// "ddpmstudio picture.png": the window, opening that picture.
	if len(os.Args) == 2 && isPicture(os.Args[1]) {
		os.Exit(window(os.Stderr, os.Args[1]))
	}
	os.Exit(cli.Main(os.Args[1:], os.Stdout, os.Stderr))
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
