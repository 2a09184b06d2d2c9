package app

import (
	"image"
	"image/color"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/ddpmstudio/ddpmstudio/studio"
)

// plotCurves draws a schedule's ᾱ_t, β_t and log-SNR one above the other,
// w×h pixels, with the model's trained schedule as a dashed grey
// reference (nil: none). It only draws what studio computed.
func PlotCurves(cur, trained *studio.Curves, w, h int) image.Image {
	c := vgimg.NewWith(vgimg.UseWH(vg.Length(w)*vg.Inch/96, vg.Length(h)*vg.Inch/96), vgimg.UseDPI(96))
	dc := draw.New(c)
	pick := []struct {
		title string
		get   func(*studio.Curves) []float64
	}{
		{"ᾱ_t", func(c *studio.Curves) []float64 { return c.AlphaBar }},
		{"β_t", func(c *studio.Curves) []float64 { return c.Beta }},
		{"log SNR", func(c *studio.Curves) []float64 { return c.LogSNR }},
	}
	plots := make([][]*plot.Plot, len(pick))
	for i, p := range pick {
		pl := plot.New()
		pl.Y.Label.Text = p.title
		pl.Y.Label.TextStyle.Font.Size = vg.Points(8)
		pl.X.Tick.Label.Font.Size = vg.Points(7)
		pl.Y.Tick.Label.Font.Size = vg.Points(7)
		pl.BackgroundColor = color.White
		if i < len(pick)-1 {
			pl.X.Tick.Label.Color = color.Transparent
		} else {
			pl.X.Label.Text = "t"
			pl.X.Label.TextStyle.Font.Size = vg.Points(8)
		}
		if trained != nil {
			if l, err := plotter.NewLine(thin(p.get(trained))); err == nil {
				l.Color = color.Gray{150}
				l.Dashes = []vg.Length{vg.Points(3), vg.Points(2)}
				pl.Add(l)
			}
		}
		if cur != nil {
			if l, err := plotter.NewLine(thin(p.get(cur))); err == nil {
				l.Color = color.RGBA{R: 20, G: 90, B: 200, A: 255}
				l.Width = vg.Points(1.2)
				pl.Add(l)
			}
		}
		plots[i] = []*plot.Plot{pl}
	}
	tiles := draw.Tiles{Rows: len(pick), Cols: 1, PadY: vg.Points(2), PadTop: vg.Points(2), PadBottom: vg.Points(2), PadLeft: vg.Points(2), PadRight: vg.Points(6)}
	canvases := plot.Align(plots, tiles, dc)
	for i := range plots {
		plots[i][0].Draw(canvases[i][0])
	}
	return c.Image()
}

// thin keeps at most 400 points of a curve: the plot has no more pixels.
func thin(v []float64) plotter.XYs {
	step := max(1, len(v)/400)
	xy := make(plotter.XYs, 0, len(v)/step+1)
	for t := 0; t < len(v); t += step {
		xy = append(xy, plotter.XY{X: float64(t), Y: v[t]})
	}
	if last := len(v) - 1; last >= 0 && last%step != 0 {
		xy = append(xy, plotter.XY{X: float64(last), Y: v[last]})
	}
	return xy
}

// plotWorker renders schedule plots off the UI goroutine, newest request
// only (latest), and hands each to done on the UI goroutine.
type plotWorker struct {
	work latest
	done func(image.Image, *plotRequest) // called through do
	do   func(func())                    // runs on the UI goroutine
}

type plotRequest struct {
	cur, trained *studio.Curves
	w, h         int
	gen          int
}

func (p *plotWorker) request(r *plotRequest) {
	p.work.run(func() {
		img := PlotCurves(r.cur, r.trained, r.w, r.h)
		p.do(func() { p.done(img, r) })
	})
}
