package studio

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"

	"github.com/ddpmstudio/ddpmstudio/diffusion"
	"github.com/ddpmstudio/ddpmstudio/safetensors"
)

// MaxTrajectoryBytes bounds a trajectory file: every state of a chain is
// held in memory while it is written.
const MaxTrajectoryBytes = 4 << 30

// WriteTrajectory writes the whole chain of a finished run's first batch
// (N samples) as a safetensors file a notebook reads with numpy:
//
//	x          float32 [steps+1, N, C, H, W]  x at each event's start, then the final sample
//	x0_pred    float32 [steps, N, C, H, W]    the predicted x̂₀ of each event
//	eps        float32 [steps, N, C', H, W]   the model's output (ε̂, or what it predicts)
//	timesteps  int64   [steps+1]              each event's t, then −1 for the final sample
//	next       int64   [steps]                the t each event arrives at
//
// with the recipe (Encode's JSON) in the metadata under "recipe". A
// re-noising event (RePaint's jumps back) has no x̂₀ or model output: NaN
// there. The run must have been started with StartOptions.WithEps. Frames
// the run did not keep are recomputed (bit-identical), so this can take a
// while on a long chain; ctx cancels it.
func WriteTrajectory(ctx context.Context, w io.Writer, run *Run) error {
	steps := run.Len()
	if steps == 0 {
		return errors.New("trajectory: the run recorded no steps")
	}
	final := run.Final()
	shape := run.Shape()
	per := shape.C * shape.H * shape.W
	n := shape.N
	if len(final) < n*per {
		return errors.New("trajectory: the run has not finished")
	}
	// x and x̂₀ have C channels a sample, the model's output OutChannels.
	outC := run.s.info.OutChannels
	bytes := (int64(2*steps+1)*int64(n*per) + int64(steps)*int64(n*outC*shape.H*shape.W)) * 4
	if bytes > MaxTrajectoryBytes {
		return fmt.Errorf("trajectory: %d steps of %d×%d×%d×%d floats would take %.1f GiB (at most %d GiB): export fewer steps or samples",
			steps, n, shape.C, shape.H, shape.W, float64(bytes)/(1<<30), MaxTrajectoryBytes>>30)
	}
	x := make([]float32, 0, (steps+1)*n*per)
	x0 := make([]float32, 0, steps*n*per)
	eps := make([]float32, 0, steps*n*outC*shape.H*shape.W)
	ts := make([]int64, 0, steps+1)
	next := make([]int64, 0, steps)
	for i := 0; i < steps; i++ {
		f, err := run.Frame(ctx, i)
		if err != nil {
			return fmt.Errorf("trajectory: step %d: %w", i, err)
		}
		if f.Event.Kind == diffusion.Denoise && f.Eps == nil {
			return errors.New("trajectory: the run was started without the model outputs (StartOptions.WithEps)")
		}
		if f.Eps != nil && len(f.Eps) < n*outC*shape.H*shape.W {
			return fmt.Errorf("trajectory: step %d: the model output holds %d values, not %d×%d×%d×%d", i, len(f.Eps), n, outC, shape.H, shape.W)
		}
		x = append(x, f.X[:n*per]...)
		x0 = appendOrNaN(x0, f.X0, n*per)
		eps = appendOrNaN(eps, f.Eps, n*outC*shape.H*shape.W)
		ts = append(ts, int64(f.Event.T))
		next = append(next, int64(f.Event.Next))
	}
	x = append(x, final[:n*per]...)
	ts = append(ts, -1)
	tensors := []safetensors.Tensor{
		safetensors.FromFloat32("x", []int{steps + 1, n, shape.C, shape.H, shape.W}, x),
		safetensors.FromFloat32("x0_pred", []int{steps, n, shape.C, shape.H, shape.W}, x0),
		safetensors.FromFloat32("eps", []int{steps, n, outC, shape.H, shape.W}, eps),
		safetensors.FromInt64("timesteps", []int{steps + 1}, ts),
		safetensors.FromInt64("next", []int{steps}, next),
	}
	return safetensors.Write(w, tensors, map[string]string{"recipe": run.Recipe().Encode(), "format": "ddpmstudio trajectory 1"})
}

// appendOrNaN appends the first n values of v, or n NaNs where v is nil.
func appendOrNaN(dst, v []float32, n int) []float32 {
	if v != nil {
		return append(dst, v[:n]...)
	}
	nan := float32(math.NaN())
	for range n {
		dst = append(dst, nan)
	}
	return dst
}
