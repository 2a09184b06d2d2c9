package cli

import (
	"context"
	"errors"
	"fmt"
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
	resume := fs.Bool("resume", false, "continue the run whose training_state.safetensors is in --out")
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
