package cli

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"strconv"

	"github.com/ddpmstudio/ddpmstudio/assets"
	"github.com/ddpmstudio/ddpmstudio/diffusion"
	"github.com/ddpmstudio/ddpmstudio/studio"
	"github.com/ddpmstudio/ddpmstudio/unet"
)

// scheduleCSVHeader names the columns of `schedule --csv`.
const scheduleCSVHeader = "t,beta,alpha,alpha_bar,sqrt_alpha_bar,sqrt_one_minus_alpha_bar,posterior_variance,log_snr"

// runSchedule prints a β schedule: diffusers' default, a model's
// scheduler_config.json, or one given by flags (which also override a
// model's). With --csv every t = 0 … T−1 is a row of float32 values in the
// shortest form that parses back to the same bits.
func runSchedule(args []string, w io.Writer) error {
	fs := newFlags("schedule")
	model := fs.String("model", "", "take the schedule of this model folder's scheduler_config.json")
	kind := fs.String("schedule", "", "linear, scaled_linear, cosine (squaredcos_cap_v2) or sigmoid")
	timesteps := fs.Int("timesteps", 0, "number of training timesteps T")
	b0 := fs.Float64("beta-start", 0, "β_1 (ignored by cosine)")
	b1 := fs.Float64("beta-end", 0, "β_T (ignored by cosine)")
	csv := fs.Bool("csv", false, "print every timestep as CSV: "+scheduleCSVHeader)
	if err := parseFlags(fs, args, w); err != nil {
		return err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	cfg := diffusion.DefaultSchedulerConfig()
	if set["model"] {
		c, err := modelScheduler(*model)
		if err != nil {
			return err
		}
		cfg = c
	}
	if set["schedule"] {
		k, err := diffusion.ParseKind(*kind)
		if err != nil {
			return fmt.Errorf("--schedule: %w", err)
		}
		cfg.BetaSchedule = k
	}
	if set["timesteps"] {
		cfg.NumTrainTimesteps = *timesteps
	}
	if set["beta-start"] {
		cfg.BetaStart = *b0
	}
	if set["beta-end"] {
		cfg.BetaEnd = *b1
	}
	s, err := cfg.Schedule()
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(w)
	if *csv {
		writeScheduleCSV(bw, s)
		return bw.Flush()
	}
	fmt.Fprintf(bw, "%s schedule, T=%d, β from %g to %g\n", cfg.BetaSchedule, s.T(), cfg.BetaStart, cfg.BetaEnd)
	fmt.Fprintln(bw, "     t        β_t        ᾱ_t    log-SNR")
	T := s.T()
	for _, t := range []int{0, T/10 - 1, T/4 - 1, T/2 - 1, 3*T/4 - 1, T - 1} {
		if t < 0 {
			continue
		}
		fmt.Fprintf(bw, "%6d %10.6f %10.6f %10.3f\n", t, s.Beta(t), s.AlphaBar(t), s.LogSNR(t))
	}
	return bw.Flush()
}

func writeScheduleCSV(w io.Writer, s *diffusion.Schedule) {
	f := func(v float32) string { return strconv.FormatFloat(float64(v), 'g', -1, 32) }
	fmt.Fprintln(w, scheduleCSVHeader)
	for t := 0; t < s.T(); t++ {
		fmt.Fprintf(w, "%d,%s,%s,%s,%s,%s,%s,%s\n", t,
			f(s.Beta(t)), f(s.Alpha(t)), f(s.AlphaBar(t)), f(s.SqrtAlphaBar(t)), f(s.SqrtOneMinusAlphaBar(t)),
			f(s.PosteriorVariance(t)), f(float32(s.LogSNR(t))))
	}
}

// modelScheduler reads a model folder's scheduler config without loading
// its weights; a folder without one has diffusers' DDPM defaults.
func modelScheduler(dir string) (diffusion.SchedulerConfig, error) {
	if studio.IsEmbedded(dir) {
		fsys, ok := assets.DefaultModel()
		if !ok {
			return diffusion.SchedulerConfig{}, fmt.Errorf("this build has no embedded default model")
		}
		b, err := fs.ReadFile(fsys, "scheduler_config.json")
		if err != nil {
			return diffusion.DefaultSchedulerConfig(), nil
		}
		return diffusion.ParseSchedulerConfig(b)
	}
	f, err := unet.FindFolder(dir)
	if err != nil {
		return diffusion.SchedulerConfig{}, err
	}
	if f.Scheduler == "" {
		return diffusion.DefaultSchedulerConfig(), nil
	}
	return diffusion.LoadSchedulerConfig(f.Scheduler)
}
