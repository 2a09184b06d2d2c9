package train

import (
	"bufio"
	"context"
	"fmt"
	"image"
	"image/color"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"github.com/ddpmstudio/ddpmstudio/diffusion"
	"github.com/ddpmstudio/ddpmstudio/imageio"
	"github.com/ddpmstudio/ddpmstudio/internal/atomicfile"
)

// writeLog rewrites loss.csv and loss.png beside the checkpoint.
func (t *Trainer) writeLog() error {
	err := atomicfile.Write(filepath.Join(t.Out, "loss.csv"), func(w io.Writer) error {
		bw := bufio.NewWriter(w)
		fmt.Fprintln(bw, "step,loss,lr")
		for _, r := range t.history {
			fmt.Fprintf(bw, "%d,%.6g,%.6g\n", r.Step, r.Loss, r.LR)
		}
		return bw.Flush()
	})
	if err != nil || len(t.history) < 2 {
		return err
	}
	return t.plotLoss(filepath.Join(t.Out, "loss.png"))
}

// readLog reads loss.csv up to and including step.
func readLog(path string, upTo int) ([]Record, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []Record
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		parts := strings.Split(sc.Text(), ",")
		if len(parts) != 3 {
			continue
		}
		step, err1 := strconv.Atoi(parts[0])
		loss, err2 := strconv.ParseFloat(parts[1], 64)
		lr, err3 := strconv.ParseFloat(parts[2], 64)
		if err1 != nil || err2 != nil || err3 != nil || step > upTo {
			continue
		}
		out = append(out, Record{step, loss, lr})
	}
	return out, sc.Err()
}

// plotLoss draws the loss per step and its running mean over 100 steps.
func (t *Trainer) plotLoss(path string) error {
	p := plot.New()
	p.Title.Text = "DDPM training loss (ε-prediction MSE)"
	p.X.Label.Text = "step"
	p.Y.Label.Text = "loss"
	raw := make(plotter.XYs, len(t.history))
	smooth := make(plotter.XYs, len(t.history))
	var sum float64
	for i, r := range t.history {
		raw[i] = plotter.XY{X: float64(r.Step), Y: r.Loss}
		sum += r.Loss
		if i >= 100 {
			sum -= t.history[i-100].Loss
		}
		smooth[i] = plotter.XY{X: float64(r.Step), Y: sum / float64(min(i+1, 100))}
	}
	l1, err := plotter.NewLine(raw)
	if err != nil {
		return err
	}
	l1.Color = color.RGBA{180, 180, 220, 255}
	l2, err := plotter.NewLine(smooth)
	if err != nil {
		return err
	}
	l2.Color = color.RGBA{20, 40, 160, 255}
	l2.Width = vg.Points(1.5)
	p.Add(l1, l2)
	p.Legend.Add("per step", l1)
	p.Legend.Add("mean of 100", l2)
	p.Legend.Top = true
	hi := 0.0
	for _, s := range smooth[min(len(smooth)-1, 10):] {
		hi = max(hi, s.Y)
	}
	p.Y.Min, p.Y.Max = 0, hi*1.3
	wt, err := p.WriterTo(7*vg.Inch, 4*vg.Inch, "png")
	if err != nil {
		return err
	}
	return atomicfile.Write(path, func(w io.Writer) error { _, err := wt.WriteTo(w); return err })
}

// SampleGrid draws, with the EMA weights, one row per class (6 samples each;
// a single row for unconditional models) by 25-step DDIM with guidance 2:
// a quick look at progress, not an evaluation.
func (t *Trainer) SampleGrid(ctx context.Context, path string) error {
	ema, err := t.EMAModel()
	if err != nil {
		return err
	}
	d := t.Data
	rows := max(1, len(d.Classes))
	if t.null < 0 {
		rows = 1
	}
	const cols = 6
	var model diffusion.Denoiser = ema
	var classes []int
	if t.null >= 0 {
		model = &diffusion.Guided{Model: ema, Null: t.null, Scale: 2}
		for r := 0; r < rows; r++ {
			for c := 0; c < cols; c++ {
				classes = append(classes, r)
			}
		}
	}
	// ε re-derived from the clipped x̂0, as the studio and the CLI sample:
	// diffusers' default pairing breaks strokes under guidance, which made
	// these grids look worse than the model is.
	s, err := diffusion.NewDDIM(SchedulerConfig(), 25, 0, true)
	if err != nil {
		return err
	}
	chain, err := diffusion.Sample(ctx, diffusion.Params{Model: model, Sampler: s, Shape: diffusion.Shape{N: rows * cols, C: d.C, H: d.H, W: d.W}, Seed: 1234, Classes: classes})
	if err != nil {
		return err
	}
	per := d.C * d.H * d.W
	imgs := make([]image.Image, rows*cols)
	for i := range imgs {
		if imgs[i], err = imageio.ToImage(chain.Final[i*per:(i+1)*per], d.C, d.H, d.W); err != nil {
			return err
		}
	}
	grid := imageio.Scale(imageio.Grid(imgs, cols, 2), 2)
	return atomicfile.Write(path, func(w io.Writer) error { return imageio.EncodePNG(w, grid, nil) })
}
