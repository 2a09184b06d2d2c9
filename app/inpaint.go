package app

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"io"
	"strconv"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/ddpmstudio/ddpmstudio/diffusion"
	"github.com/ddpmstudio/ddpmstudio/imageio"
	"github.com/ddpmstudio/ddpmstudio/studio"
)

// inpaintPanel is the Inpaint tab: a picture with a painted mask and the
// settings of RePaint or replacement inpainting.
type inpaintPanel struct {
	painter                *MaskPainter
	name                   string // how recipes name the picture
	brush                  *widget.Slider
	brushLabel             *widget.Label
	eraser                 *widget.Check
	method                 *widget.RadioGroup
	jumpLength, jumpSample *widget.Entry
	notice                 *widget.Label
}

// noisePanel is the Noise tab: the forward process q(x_t | x_0) of a
// picture, and "Denoise from here".
type noisePanel struct {
	view    *ChainView
	t       *widget.Slider
	readout *widget.Label
}

func (s *Studio) buildInpaint() fyne.CanvasObject {
	p := &inpaintPanel{painter: NewMaskPainter(s.info.Width, s.info.Height)}
	s.inpaint = p
	p.brushLabel = widget.NewLabel("brush 1.5 px")
	p.brush = widget.NewSlider(0.5, 8)
	p.brush.Step = 0.5
	p.brush.SetValue(1.5)
	p.brush.OnChanged = func(v float64) {
		p.painter.Radius = v
		p.brushLabel.SetText(fmt.Sprintf("brush %.1f px", v))
	}
	p.eraser = widget.NewCheck("eraser", func(on bool) { p.painter.Erase = on })
	p.method = widget.NewRadioGroup([]string{"RePaint", "replace"}, nil)
	p.method.Horizontal, p.method.Required = true, true
	p.method.SetSelected("RePaint")
	p.jumpLength, p.jumpSample = widget.NewEntry(), widget.NewEntry()
	p.jumpLength.SetText("10")
	p.jumpSample.SetText("3")
	p.notice = widget.NewLabel("Open a picture (or use the current result), paint over what to regenerate, press Inpaint.")
	p.notice.Wrapping = fyne.TextWrapWord
	files := container.NewHBox(
		widget.NewButtonWithIcon("Open image…", theme.FolderOpenIcon(), s.openImageDialog),
		widget.NewButton("Use current result", s.UseCurrentResult),
		widget.NewButton("Open mask…", s.openMaskDialog),
		widget.NewButton("Save mask…", func() {
			s.saveAs("mask.png", func(w io.Writer) error { return imageio.EncodePNG(w, p.painter.Mask(), nil) })
		}))
	brush := container.NewHBox(p.brushLabel, container.NewGridWrap(fyne.NewSize(120, 36), p.brush), p.eraser,
		widget.NewButton("Fill", p.painter.Fill), widget.NewButton("Invert", p.painter.Invert),
		widget.NewButton("Clear", p.painter.Clear),
		widget.NewButtonWithIcon("", theme.ContentUndoIcon(), p.painter.Undo),
		widget.NewButtonWithIcon("", theme.ContentRedoIcon(), p.painter.Redo))
	run := container.NewHBox(p.method, widget.NewLabel("jump length"), container.NewGridWrap(fyne.NewSize(56, 36), p.jumpLength),
		widget.NewLabel("resample"), container.NewGridWrap(fyne.NewSize(56, 36), p.jumpSample),
		widget.NewButtonWithIcon("Inpaint (Ctrl+I)", theme.MediaPlayIcon(), s.Inpaint))
	return container.NewBorder(container.NewVBox(container.NewHScroll(files), container.NewHScroll(brush), container.NewHScroll(run)), p.notice, nil, nil, p.painter)
}

func (s *Studio) buildNoise() fyne.CanvasObject {
	n := &noisePanel{view: NewChainView()}
	s.noise = n
	n.view.SetShape(s.sessShape())
	n.t = widget.NewSlider(0, 999)
	n.t.Step = 1
	n.t.OnChanged = func(float64) { s.showNoised() }
	n.readout = widget.NewLabel("the picture of the Inpaint tab, noised by q(x_t | x₀) with the seed's noise")
	return container.NewBorder(nil, container.NewVBox(
		container.NewBorder(nil, nil, widget.NewLabel("t"), widget.NewButtonWithIcon("Denoise from here", theme.MediaPlayIcon(), s.DenoiseFromHere), n.t),
		n.readout), nil, nil, n.view)
}

func (s *Studio) sessShape() diffusion.Shape {
	if s.sess == nil {
		return diffusion.Shape{N: 1, C: 1, H: 28, W: 28}
	}
	return s.sess.Shape()
}

// resetInputs gives the painter and the noise view the model's size.
func (s *Studio) resetInputs() {
	if s.inpaint == nil {
		return
	}
	s.inpaint.painter.SetPicture(image.NewGray(image.Rect(0, 0, s.info.Width, s.info.Height)))
	s.inpaint.name = ""
	s.noise.view.SetShape(s.sess.Shape())
	s.noise.t.Max = float64(max(1, s.info.Trained.T-1))
	s.noise.t.Refresh()
}

// SetInputPicture puts a picture in the Inpaint and Noise tabs, resized to
// the model's size (the notice says so).
func (s *Studio) SetInputPicture(img image.Image, name string) {
	b := img.Bounds()
	fitted, resized := imageio.Fit(img, s.info.Width, s.info.Height)
	s.inpaint.painter.SetPicture(fitted)
	s.inpaint.name = studio.RecordedPath(name)
	if resized {
		s.inpaint.notice.SetText(fmt.Sprintf("%s resized from %dx%d to the model's %dx%d.", name, b.Dx(), b.Dy(), s.info.Width, s.info.Height))
	} else {
		s.inpaint.notice.SetText(name + " loaded: paint over what to regenerate.")
	}
	s.showNoised()
}

// UseCurrentResult takes the focused (or first) sample of the current run
// as the picture to inpaint or noise.
func (s *Studio) UseCurrentResult() {
	e := s.current
	if e == nil || e.run.Final() == nil {
		s.showError(errors.New("generate a picture first"))
		return
	}
	shape := e.run.Shape()
	n := max(0, s.view.Focus())
	per := shape.SampleLen()
	one := shape
	one.N = 1
	img, err := studio.Picture(e.run.Final()[n*per:(n+1)*per], one)
	if err != nil {
		s.showError(err)
		return
	}
	s.SetInputPicture(img, fmt.Sprintf("result-seed%d-%d.png", e.run.Recipe().Seed, n))
}

func (s *Studio) openImageDialog() {
	s.openAs([]string{".png", ".jpg", ".jpeg"}, func(b []byte, name string) error {
		img, err := imageio.Decode(b)
		if err == nil {
			s.SetInputPicture(img, name)
		}
		return err
	})
}

func (s *Studio) openMaskDialog() {
	s.openAs([]string{".png"}, func(b []byte, _ string) error {
		img, err := imageio.Decode(b)
		if err == nil {
			s.inpaint.painter.SetMask(img)
		}
		return err
	})
}

// Inpaint runs RePaint or replacement on the painted picture.
func (s *Studio) Inpaint() {
	p := s.inpaint
	if p.painter.Painted() == 0 {
		s.showError(errors.New("paint over the part to regenerate first"))
		return
	}
	r, ok := s.nextRecipe()
	if !ok {
		return
	}
	name := p.name
	if name == "" {
		name = "picture.png"
	}
	in := &studio.Inpaint{Method: studio.Replace, Image: name, Mask: "painted"}
	if p.method.Selected == "RePaint" {
		jl, err1 := strconv.Atoi(strings.TrimSpace(p.jumpLength.Text))
		jn, err2 := strconv.Atoi(strings.TrimSpace(p.jumpSample.Text))
		if err := errors.Join(err1, err2); err != nil {
			s.showError(fmt.Errorf("jump length and resample count must be whole numbers: %w", err))
			return
		}
		in.Method, in.JumpLength, in.JumpNSample = studio.RePaint, jl, jn
		r.Sampler = studio.RePaint
		r.Steps = min(r.Steps, 100) // RePaint multiplies the steps by its jumps
	}
	r.Inpaint = in
	s.tabs.SelectIndex(0)
	s.startRunWith(r, studio.Inputs{Image: p.painter.Picture(), Mask: p.painter.Mask()})
}

// showNoised shows q(x_t | x_0) of the picture at the slider's t.
func (s *Studio) showNoised() {
	if s.noise == nil || s.sess == nil {
		return
	}
	seed, _ := strconv.ParseUint(strings.TrimSpace(s.seedEntry.Text), 10, 64)
	sch, err := s.scheduleFromPanel()
	if err != nil {
		return
	}
	if s.noise.t.Max != float64(sch.T-1) {
		s.noise.t.Max = float64(max(1, sch.T-1))
		s.noise.t.Refresh()
	}
	t := min(int(s.noise.t.Value), sch.T-1)
	xt, ro, err := s.sess.Noised(s.inpaint.painter.Picture(), seed, t, sch)
	if err != nil {
		s.noise.readout.SetText("⚠ " + err.Error())
		return
	}
	s.noise.view.ShowFrame(xt, nil, nil, nil)
	s.noise.readout.SetText(fmt.Sprintf("t = %d · ᾱ_t = %.4f · σ_t = %.4f · SNR = %.3g · strength t/T = %.3f", t, ro.AlphaBar, ro.Sigma, ro.SNR, float64(t)/float64(max(1, sch.T-1))))
}

// NoiseT sets the Noise tab's timestep.
func (s *Studio) NoiseT(t int) { s.noise.t.SetValue(float64(t)) }

// NoisePicture is what the Noise tab shows now.
func (s *Studio) NoisePicture() *image.RGBA { return s.noise.view.Picture(PanelXT) }

// DenoiseFromHere runs the reverse chain from the Noise tab's x_t
// (image-to-image with strength t/T).
func (s *Studio) DenoiseFromHere() {
	r, err := s.Recipe() // the seed is the one the Noise tab shows: never rolled here
	if err != nil {
		s.showError(err)
		return
	}
	T := r.Schedule.T
	strength := float64(int(s.noise.t.Value)) / float64(max(1, T-1))
	if strength <= 0 {
		strength = 1.0 / float64(T)
	}
	name := s.inpaint.name
	if name == "" {
		name = "picture.png"
	}
	r.Init = &studio.Init{Image: name, Strength: strength}
	s.tabs.SelectIndex(0)
	s.startRunWith(r, studio.Inputs{Image: s.inpaint.painter.Picture()})
}

// drawTPlot draws t over the plan's events: re-noising steps in orange, the
// cursor as a vertical bar. RePaint's time travel shows as a saw tooth.
func drawTPlot(dst *image.RGBA, plan eventList, T, cursor int) {
	w, h := dst.Bounds().Dx(), dst.Bounds().Dy()
	clearTo(dst, color.RGBA{30, 30, 30, 255})
	n := plan.PlanLen()
	if n == 0 || T <= 0 {
		return
	}
	for i := range n {
		e := plan.EventAt(i)
		x := i * (w - 1) / max(1, n-1)
		y := (h - 2) - e.T*(h-3)/max(1, T-1)
		c := color.RGBA{90, 160, 255, 255}
		if e.Kind == diffusion.Renoise {
			c = color.RGBA{255, 150, 40, 255}
		}
		for dy := -1; dy <= 1; dy++ {
			if yy := y + dy; yy >= 0 && yy < h {
				dst.SetRGBA(x, yy, c)
			}
		}
	}
	if cursor >= 0 && cursor < n {
		x := cursor * (w - 1) / max(1, n-1)
		for y := 0; y < h; y++ {
			dst.SetRGBA(x, y, color.RGBA{255, 255, 255, 255})
		}
	}
}

// eventList is a run's plan read in place (studio.Run's PlanLen and
// EventAt): the t plot redraws on every frame and should copy nothing.
type eventList interface {
	PlanLen() int
	EventAt(i int) diffusion.Event
}
