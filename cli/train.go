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
	stopAt := fs.Int("stop-at", 0, "end at this step with a checkpoint, keeping the run's schedule (of --steps): the model the run has there")
	override := fs.Bool("override", false, "with --resume: let the training flags given here replace the stored options")
	bindTrainingFlags(fs, &o)
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
	o.Log, o.StopAt = stderr, *stopAt
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
	stop := ""
	if o.StopAt > 0 && o.StopAt < o.Steps {
		stop = fmt.Sprintf(" (stopping at %d)", o.StopAt)
	}
	fmt.Fprintf(stderr, "training %d parameters on %d images (%d classes) from step %d to %d%s, batch %d\n",
		t.Model.ParamCount(), ds.Len(), len(ds.Classes), t.Step, o.Steps, stop, o.Batch)
	if err := t.Run(ctx); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s (step %d)\n", *out, t.Step)
	return nil
}

// bindTrainingFlags defines the flags that a run stores in its state on
// o's fields. Resuming binds them a second time on the stored options, so
// the two can be compared and overridden by name.
func bindTrainingFlags(fs *flag.FlagSet, o *train.Options) {
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
	o := meta.Options.Apply(flags)
	storedFS := flag.NewFlagSet("stored", flag.ContinueOnError)
	bindTrainingFlags(storedFS, &o)
	var firstErr error
	fs.Visit(func(f *flag.Flag) {
		st := storedFS.Lookup(f.Name)
		if st == nil || firstErr != nil {
			return // not a training flag
		}
		given, stored := f.Value.String(), st.Value.String()
		switch {
		case given == stored:
		case override:
			firstErr = storedFS.Set(f.Name, given)
		default:
			firstErr = fmt.Errorf("train --resume: --%s %s differs from the run's stored %s; resuming uses the stored options (add --override to change them)", f.Name, given, stored)
		}
	})
	return o, firstErr
}
