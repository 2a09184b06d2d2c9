package app

import (
	"context"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"

	"github.com/ddpmstudio/ddpmstudio/studio"
)

// BenchmarkPlotRedraw is one schedule-plot render at 400×250 (the app's
// bar: ≤ 15 ms, off the UI goroutine).
func BenchmarkPlotRedraw(b *testing.B) {
	sess, err := studio.Open(context.Background(), "", studio.OpenOptions{})
	if err != nil {
		b.Fatal(err)
	}
	cur, err := sess.Curves(studio.Schedule{Kind: "scaled_linear", BetaStart: 1e-4, BetaEnd: 0.03, T: 1000})
	if err != nil {
		b.Fatal(err)
	}
	trained, _ := sess.Curves(sess.Info().Trained)
	b.ReportAllocs()
	for b.Loop() {
		PlotCurves(cur, trained, 400, 250)
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/1000, "ms/plot")
}

// BenchmarkLiveView measures sampling with the window's live view on
// against the same recipe with no view (what the CLI does), side by side:
// the steps/s ratio is the figure to watch (the app's bar: ≥ 0.9).
func BenchmarkLiveView(b *testing.B) {
	a := test.NewTempApp(b)
	w := a.NewWindow("bench")
	s := New(a, w, Options{queueUI: true})
	defer w.Close()
	r := s.sess.DefaultRecipe(studio.DDPM)
	r.Steps, r.Seed, r.Count = 100, 1, 4
	var cliRate, viewRate float64
	b.Run("cli", func(b *testing.B) {
		for b.Loop() {
			t0 := time.Now()
			run, err := s.sess.Start(context.Background(), r, studio.StartOptions{Batch: r.Count})
			if err != nil {
				b.Fatal(err)
			}
			if _, err := run.Wait(); err != nil {
				b.Fatal(err)
			}
			cliRate = float64(r.Steps) / time.Since(t0).Seconds()
		}
		b.ReportMetric(cliRate, "steps/s")
	})
	b.Run("window", func(b *testing.B) {
		for b.Loop() {
			t0 := time.Now()
			if err := s.startRecipe(r); err != nil {
				b.Fatal(err)
			}
			if err := s.wait(); err != nil {
				b.Fatal(err)
			}
			viewRate = float64(r.Steps) / time.Since(t0).Seconds()
		}
		b.ReportMetric(viewRate, "steps/s")
	})
	if cliRate > 0 && viewRate > 0 {
		b.Logf("window/CLI steps/s: %.3f", viewRate/cliRate)
	}
}
