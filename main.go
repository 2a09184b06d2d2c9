// Command ddpmstudio is DDPM Studio: interactive sampling from denoising
// diffusion probabilistic models. The GUI and the command-line sampler arrive
// in later milestones; for now it describes itself and its default settings.
package main

import (
	"fmt"
	"io"
	"os"

	"github.com/ddpmstudio/ddpmstudio/diffusion"
)

const version = "0.1.0"

func usage(w io.Writer) {
	fmt.Fprintf(w, `DDPM Studio %s — sampling from denoising diffusion probabilistic models

Usage:
  ddpmstudio version    print the version
  ddpmstudio schedule   print the default β schedule's ᾱ_t at a few timesteps

The graphical studio and the "sample" command are not built yet.
`, version)
}

func main() {
	if len(os.Args) < 2 {
		usage(os.Stdout)
		return
	}
	switch os.Args[1] {
	case "version":
		fmt.Println(version)
	case "schedule":
		cfg := diffusion.DefaultSchedulerConfig()
		s, err := cfg.Schedule()
		if err != nil {
			fmt.Fprintln(os.Stderr, "ddpmstudio:", err)
			os.Exit(1)
		}
		fmt.Printf("%s schedule, T=%d, β from %g to %g\n", cfg.BetaSchedule, s.T(), cfg.BetaStart, cfg.BetaEnd)
		fmt.Println("     t        β_t        ᾱ_t    log-SNR")
		for _, t := range []int{0, 99, 249, 499, 749, 999} {
			fmt.Printf("%6d %10.6f %10.6f %10.3f\n", t, s.Beta(t), s.AlphaBar(t), s.LogSNR(t))
		}
	case "help", "-h", "--help":
		usage(os.Stdout)
	default:
		fmt.Fprintf(os.Stderr, "ddpmstudio: unknown command %q\n\n", os.Args[1])
		usage(os.Stderr)
		os.Exit(2)
	}
}
