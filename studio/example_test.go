package studio_test

import (
	"context"
	"fmt"

	"github.com/ddpmstudio/ddpmstudio/studio"
)

// The life of a run: open the embedded model, draw a digit with DDIM while
// watching each step, fork it from step 4 with another seed, and read back
// a frame of the parent.
func Example() {
	ctx := context.Background()
	sess, err := studio.Open(ctx, "", studio.OpenOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	info := sess.Info()
	fmt.Printf("%s: %d×%d, %d classes\n", info.Name, info.Height, info.Width, info.Classes-1)

	r := sess.DefaultRecipe(studio.DDIM)
	r.Steps, r.Seed = 10, 1
	seen := 0
	run, err := sess.Start(ctx, r, studio.StartOptions{OnEvent: func(e studio.Event) { seen++ }})
	if err != nil {
		fmt.Println(err)
		return
	}
	if _, err := run.Wait(); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("events seen:", seen, "recorded:", run.Len())

	seed := uint64(2)
	fork, err := sess.Fork(ctx, run, 4, studio.Changes{Seed: &seed}, studio.StartOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	if _, err := fork.Wait(); err != nil {
		fmt.Println(err)
		return
	}
	f, _ := fork.Frame(ctx, 2) // before the fork: the parent's frame
	fmt.Println("fork starts at", fork.StartIndex(), "and shares frame", f.Index, "at t =", f.Event.T)
	// Output:
	// embedded:default: 28×28, 10 classes
	// events seen: 10 recorded: 10
	// fork starts at 4 and shares frame 2 at t = 700
}

// How long a recipe will take, before it runs: the work is counted from
// its plan (here 4 samples in batches of 2, 25 DDIM steps each, guided: a
// pass of twice the batch), the speed probed on this machine; the seconds
// depend on the machine, the work does not.
func ExampleSession_Estimate() {
	ctx := context.Background()
	sess, err := studio.Open(ctx, "", studio.OpenOptions{Backend: studio.BackendCPU})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer sess.Close()
	if err := sess.ProbeSpeed(ctx); err != nil {
		fmt.Println(err)
		return
	}
	r := sess.DefaultRecipe(studio.DDIM)
	r.Steps, r.Count = 25, 4
	r.AnyClass, r.Guidance = true, 2 // each sample's digit drawn by the seed, guided
	e, err := sess.Estimate(r, 2)
	if err != nil {
		fmt.Println(err)
		return
	}
	perPass := sess.Info().FLOPs / 1e9
	fmt.Printf("%d passes, %.0f passes' worth of one sample, a rate from the %s\n", e.Passes, e.GFLOP/perPass, e.Basis)
	// Output: 50 passes, 200 passes' worth of one sample, a rate from the probe
}
