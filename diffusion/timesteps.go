package diffusion

import (
	"fmt"
	"math"
)

// SetTimesteps returns the N timesteps, in descending order, that diffusers
// 0.31's set_timesteps(N) picks from T training steps with the given spacing
// and steps_offset.
//
//   - leading:  (0, r, 2r, …, (N−1)r) reversed, r = T div N, plus offset
//   - trailing: round(T, T−T/N, …) − 1, counted down from T in real steps
//   - linspace: round(linspace(0, T−1, N)) reversed
func SetTimesteps(T, N int, spacing Spacing, offset int) ([]int, error) {
	if N < 1 {
		return nil, fmt.Errorf("timesteps: %d inference steps, need at least 1", N)
	}
	if N > T {
		return nil, fmt.Errorf("timesteps: %d inference steps exceed the %d training timesteps", N, T)
	}
	ts := make([]int, N)
	switch spacing {
	case Leading, "":
		r := T / N
		for i := range ts {
			ts[i] = (N-1-i)*r + offset
		}
	case Trailing:
		r := float64(T) / float64(N)
		// np.arange(T, 0, -r) then round half to even, minus one.
		for i := range ts {
			ts[i] = int(math.RoundToEven(float64(T)-float64(float64(i)*r))) - 1
		}
	case Linspace:
		step := float64(T-1) / float64(N-1)
		for i := range ts {
			var v float64
			if N == 1 {
				v = 0
			} else {
				v = float64(N-1-i) * step
			}
			ts[i] = int(math.RoundToEven(v))
		}
	default:
		return nil, fmt.Errorf("timesteps: unknown spacing %q", spacing)
	}
	for _, t := range ts {
		if t < 0 || t >= T {
			return nil, fmt.Errorf("timesteps: spacing %s with steps_offset %d gives timestep %d outside [0, %d)", spacing, offset, t, T)
		}
	}
	return ts, nil
}

// repaintTimesteps is RePaintScheduler.set_timesteps: a descending walk over N
// coarse steps that, at every jump_length-th step, climbs back up jump_length
// steps (jump_n_sample−1 times), in units of T div N.
func repaintTimesteps(T, N, jumpLength, jumpNSample int) ([]int, error) {
	if N < 1 {
		return nil, fmt.Errorf("repaint: %d inference steps, need at least 1", N)
	}
	if jumpLength < 1 || jumpNSample < 1 {
		return nil, fmt.Errorf("repaint: jump_length %d and jump_n_sample %d must be at least 1", jumpLength, jumpNSample)
	}
	if N > T {
		N = T
	}
	jumps := map[int]int{}
	for j := 0; j < N-jumpLength; j += jumpLength {
		jumps[j] = jumpNSample - 1
	}
	var ts []int
	for t := N; t >= 1; {
		t--
		ts = append(ts, t)
		if jumps[t] > 0 {
			jumps[t]--
			for range jumpLength {
				t++
				ts = append(ts, t)
			}
		}
	}
	r := T / N
	for i := range ts {
		ts[i] *= r
	}
	return ts, nil
}
