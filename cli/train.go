package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"github.com/ddpmstudio/ddpmstudio/internal/atomicfile"
	"io"
	"os"
	"path/filepath"

	"github.com/ddpmstudio/ddpmstudio/train"
	"github.com/ddpmstudio/ddpmstudio/unet"
)

func runTrain(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o := train.DefaultOptions()
	fs := newFlags("train")
	data := fs.String("data", "mnist", "mnist, or a folder of PNG/JPEG images (sub-folders = classes)")
	config := fs.String("config", "", "UNet2DModel config.json to train (required unless --resume)")
	out := fs.String("out", "", "output folder: checkpoints, loss.csv, loss.png, samples.png")
	resume := fs.Bool("resume", false, "continue the run whose training_state.safetensors is in --out, with its stored options")
	override := fs.Bool("override", false, "with --resume: let the training flags given here replace the stored options")
	fs.IntVar(&o.Steps, "steps", o.Steps, "total optimizer steps")
	fs.IntVar(&o.Batch, "batch", o.Batch, "images per step")
	fs.Float64Var(&o.LR, "lr", o.LR, "peak learning rate (AdamW, warm-up then cosine decay)")
	fs.IntVar(&o.Warmup, "warmup", o.Warmup, "warm-up steps")
	fs.Float64Var(&o.EMA, "ema", o.EMA, "EMA decay of the exported weights")
	fs.Uint64Var(&o.Seed, "seed", o.Seed, "seed of initialisation and data order")
	fs.IntVar(&o.CheckpointEvery, "checkpoint-every", o.CheckpointEvery, "steps between checkpoints")
	fs.IntVar(&o.SampleEvery, "sample-every", o.SampleEvery, "steps between sample grids (default: at checkpoints)")
	fs.Float64Var(&o.LabelDropout, "label-dropout", o.LabelDropout, "probability of the null class (classifier-free guidance)")
	fs.BoolVar(&o.HFlip, "hflip", o.HFlip, "random horizontal flips (not for digits)")
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	if *out == "" {
		return errors.New("train: --out DIR is required")
	}
	if *resume {
		var err error
		if o, err = resumeOptions(fs, *out, o, *override); err != nil {
			return err
		}
	}
	if err := o.Validate(); err != nil {
		return fmt.Errorf("train: %w", err)
	}
	cfgPath := *config
	if cfgPath == "" {
		if !*resume {
			return errors.New("train: --config CONFIG.json is required for a new run")
		}
		cfgPath = filepath.Join(*out, "config.json")
	}
	cfg, err := unet.LoadConfig(cfgPath)
	if err != nil {
		return err
	}
	var ds *train.Dataset
	if *data == "mnist" {
		dir, err := train.FindMNIST()
		if err != nil {
			return err
		}
		if ds, err = train.LoadMNIST(dir, false); err != nil {
			return err
		}
	} else {
		if ds, err = train.LoadFolder(*data, cfg.InChannels, cfg.SampleSize[0], cfg.SampleSize[1]); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	atomicfile.CleanStale(*out)
	o.Log = stderr
	var t *train.Trainer
	if *resume {
		t, err = train.Resume(cfg, ds, *out, o)
	} else {
		if _, statErr := os.Stat(filepath.Join(*out, "training_state.safetensors")); statErr == nil {
			return fmt.Errorf("train: %s already holds a run; pass --resume to continue it or choose another --out", *out)
		}
		t, err = train.New(cfg, ds, *out, o)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "training %d parameters on %d images (%d classes) from step %d to %d, batch %d\n",
		t.Model.ParamCount(), ds.Len(), len(ds.Classes), t.Step, o.Steps, o.Batch)
	if err := t.Run(ctx); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s (step %d)\n", *out, t.Step)
	return nil
}

// trainingFlags are the flags stored in a run's state, with how to read
// each from stored options.
var trainingFlags = map[string]func(train.StoredOptions) any{
	"steps": func(s train.StoredOptions) any { return s.Steps }, "batch": func(s train.StoredOptions) any { return s.Batch },
	"lr": func(s train.StoredOptions) any { return s.LR }, "warmup": func(s train.StoredOptions) any { return s.Warmup },
	"ema": func(s train.StoredOptions) any { return s.EMA }, "seed": func(s train.StoredOptions) any { return s.Seed },
	"checkpoint-every": func(s train.StoredOptions) any { return s.CheckpointEvery },
	"sample-every":     func(s train.StoredOptions) any { return s.SampleEvery },
	"label-dropout":    func(s train.StoredOptions) any { return s.LabelDropout },
	"hflip":            func(s train.StoredOptions) any { return s.HFlip },
}

// resumeOptions restores a run's stored options. A training flag given on
// the command line that differs from the stored value is an error, unless
// override is set, in which case the flag wins.
func resumeOptions(fs *flag.FlagSet, out string, flags train.Options, override bool) (train.Options, error) {
	meta, err := train.ReadStateMeta(out)
	if err != nil {
		return flags, fmt.Errorf("train --resume: %w", err)
	}
	if !meta.HasOptions {
		return flags, nil // a state file from before options were stored
	}
	stored := meta.Options
	given := storedOf(flags)
	var firstErr error
	fs.Visit(func(f *flag.Flag) {
		get, ok := trainingFlags[f.Name]
		if !ok || firstErr != nil {
			return
		}
		if g, s := get(given), get(stored); g != s && !override {
			firstErr = fmt.Errorf("train --resume: --%s %v differs from the run's stored %v; resuming uses the stored options (add --override to change them)", f.Name, g, s)
		}
	})
	if firstErr != nil {
		return flags, firstErr
	}
	o := stored.Apply(flags)
	if override {
		fs.Visit(func(f *flag.Flag) {
			if _, ok := trainingFlags[f.Name]; ok {
				o = overrideOne(o, flags, f.Name)
			}
		})
	}
	return o, nil
}

func storedOf(o train.Options) train.StoredOptions {
	return train.StoredOptions{Steps: o.Steps, Batch: o.Batch, Warmup: o.Warmup, CheckpointEvery: o.CheckpointEvery, SampleEvery: o.SampleEvery,
		LR: o.LR, EMA: o.EMA, ClipNorm: o.ClipNorm, LabelDropout: o.LabelDropout, HFlip: o.HFlip, Seed: o.Seed}
}

// overrideOne copies the named flag's value from flags into o.
func overrideOne(o, flags train.Options, name string) train.Options {
	switch name {
	case "steps":
		o.Steps = flags.Steps
	case "batch":
		o.Batch = flags.Batch
	case "lr":
		o.LR = flags.LR
	case "warmup":
		o.Warmup = flags.Warmup
	case "ema":
		o.EMA = flags.EMA
	case "seed":
		o.Seed = flags.Seed
	case "checkpoint-every":
		o.CheckpointEvery = flags.CheckpointEvery
	case "sample-every":
		o.SampleEvery = flags.SampleEvery
	case "label-dropout":
		o.LabelDropout = flags.LabelDropout
	case "hflip":
		o.HFlip = flags.HFlip
	}
	return o
}
