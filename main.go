// Command ddpmstudio is DDPM Studio: interactive sampling from denoising
// diffusion probabilistic models. With arguments it is the command-line
// sampler (see package cli); the graphical studio arrives in a later
// milestone.
package main

import (
	"os"

	"github.com/ddpmstudio/ddpmstudio/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], os.Stdout, os.Stderr))
}
