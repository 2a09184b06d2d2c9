// Command ddpmstudio is DDPM Studio: interactive sampling from denoising
// diffusion probabilistic models. With no arguments it opens the studio
// window; with a subcommand it is the command line (see package cli).
package main

import (
	"os"

	"github.com/ddpmstudio/ddpmstudio/app/desktop"
	"github.com/ddpmstudio/ddpmstudio/cli"
)

func main() {
	if len(os.Args) == 1 {
		os.Exit(desktop.Main(os.Stderr))
	}
	os.Exit(cli.Main(os.Args[1:], os.Stdout, os.Stderr))
}
