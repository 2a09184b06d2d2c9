package unet_test

import (
	"context"
	"fmt"
	"os"

	"github.com/ddpmstudio/ddpmstudio/diffusion"
	"github.com/ddpmstudio/ddpmstudio/unet"
	"github.com/ddpmstudio/ddpmstudio/unet/cpu"
)

func ExampleLoad() {
	// Make a small model folder, as diffusers' save_pretrained would.
	cfg := unet.DefaultConfig()
	cfg.SampleSize = [2]int{16, 16}
	cfg.InChannels, cfg.OutChannels = 1, 1
	cfg.BlockOutChannels = []int{16, 32}
	cfg.DownBlockTypes = []string{unet.DownBlock, unet.AttnDownBlock}
	cfg.UpBlockTypes = []string{unet.AttnUpBlock, unet.UpBlock}
	cfg.LayersPerBlock, cfg.NormNumGroups = 1, 8
	m, err := unet.New(cfg, 1, cpu.New())
	if err != nil {
		panic(err)
	}
	dir, err := os.MkdirTemp("", "model")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	sched := diffusion.DefaultSchedulerConfig()
	if err := m.Save(dir, false, &sched); err != nil {
		panic(err)
	}

	// Load it back and sample four DDIM steps with it.
	l, err := unet.Load(dir, cpu.New())
	if err != nil {
		panic(err)
	}
	fmt.Println(l.Model.ParamCount(), "parameters; scheduler:", l.Scheduler.ClassName, l.Scheduler.BetaSchedule)
	s, err := diffusion.NewDDIM(l.Scheduler, 4, 0, false)
	if err != nil {
		panic(err)
	}
	chain, err := diffusion.Sample(context.Background(), diffusion.Params{
		Model: l.Model, Sampler: s, Shape: diffusion.Shape{N: 1, C: 1, H: 16, W: 16}, Seed: 1,
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(len(chain.Final), "pixels")
	// Output:
	// 176849 parameters; scheduler: DDPMScheduler linear
	// 256 pixels
}
