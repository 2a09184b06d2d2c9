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
