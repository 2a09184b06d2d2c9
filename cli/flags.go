package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
)

// usages is the synopsis each subcommand's -h prints above its flags.
var usages = map[string]string{
	"sample":    "ddpmstudio sample [flags]   draw samples (or inpaint) and write PNGs carrying their recipe",
	"info":      "ddpmstudio info [--model DIR]   describe a model folder",
	"train":     "ddpmstudio train --data mnist|DIR --out RUN [flags]   train a U-Net (or --resume --out RUN)",
	"evaluate":  "ddpmstudio evaluate --samples DIR [flags]   class agreement and feature FID of MNIST-like samples",
	"export":    "ddpmstudio export --model DIR --out DIR [--half]   rewrite a model folder",
	"download":  "ddpmstudio download owner/name[@REV] [--variant fp16] [--quiet]   fetch a Hub model into the Hugging Face cache; prints its folder",
	"classgrid": "ddpmstudio classgrid [flags]   one row of samples per class of a class-conditional model",
	"schedule":  "ddpmstudio schedule [--model DIR | --schedule K --timesteps T --beta-start B --beta-end E] [--csv]",
}

// newFlags makes a subcommand's flag set. Parse errors are returned, not
// printed (the CLI prints one line); -h prints the usage to w.
func newFlags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

// parseFlags parses args; on -h it writes the usage and the flags to w and
// returns flag.ErrHelp (exit status 0), on a bad flag an error naming the
// subcommand.
func parseFlags(fs *flag.FlagSet, args []string, w io.Writer) error {
	err := fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(w, "usage:", usages[fs.Name()])
		fs.SetOutput(w)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
		return err
	}
	if err != nil {
		return fmt.Errorf("%s: %w", fs.Name(), err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%s: unexpected argument %q", fs.Name(), fs.Arg(0))
	}
	return nil
}
