package app

import (
	"errors"
	"fmt"
	"image"
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
	name                   string                // how recipes name the picture
	source                 *studio.PictureSource // the run that drew it, if one did
	brush                  *widget.Slider
	brushLabel             *widget.Label
	eraser                 *widget.Check
	method                 *widget.RadioGroup
	jumpLength, jumpSample *widget.Entry
	notice                 *widget.Label
	obj                    fyne.CanvasObject
}

func newInpaintPanel(s *Window) *inpaintPanel {
	p := &inpaintPanel{painter: NewMaskPainter(28, 28)}
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
	p.obj = container.NewBorder(container.NewVBox(container.NewHScroll(files), container.NewHScroll(brush), container.NewHScroll(run)), p.notice, nil, nil, p.painter)
	return p
}

// recipeName is how a recipe names the picture.
func (p *inpaintPanel) recipeName() string {
	if p.name == "" {
		return "picture.png"
	}
	return p.name
}

// noisePanel is the Noise tab: the forward process q(x_t | x₀) of the
// Inpaint tab's picture beside the model's one-step prediction x̂₀(x_t, t),
// and "Denoise from here".
type noisePanel struct {
	view    *ChainView
	t       *widget.Slider
	readout *widget.Label
	obj     fyne.CanvasObject
	predict latest
	gen     int
}

func newNoisePanel(s *Window) *noisePanel {
	n := &noisePanel{view: NewChainView(), predict: latest{bg: &s.bg}}
	n.t = widget.NewSlider(0, 999)
	n.t.Step = 1
	n.t.OnChanged = func(float64) { s.showNoised() }
	n.readout = widget.NewLabel("the picture of the Inpaint tab, noised by q(x_t | x₀) with the seed's noise")
	n.readout.Wrapping = fyne.TextWrapWord
	n.obj = container.NewBorder(nil, container.NewVBox(
		container.NewBorder(nil, nil, widget.NewLabel("t"), widget.NewButtonWithIcon("Denoise from here", theme.MediaPlayIcon(), s.DenoiseFromHere), n.t),
		n.readout), nil, nil, n.view)
	return n
}

// resetInputs gives the painter and the noise view the model's size.
func (s *Window) resetInputs() {
	s.inpaint.painter.SetPicture(image.NewGray(image.Rect(0, 0, s.info.Width, s.info.Height)))
	s.inpaint.name, s.inpaint.source = "", nil
	s.noise.view.SetShape(s.sessShape())
	s.noise.t.Max = float64(max(1, s.info.Trained.T-1))
	s.noise.t.Refresh()
}

func (s *Window) sessShape() diffusion.Shape {
	sh := s.sess.Shape()
	sh.N = 1
	return sh
}

// SetInputPicture puts a picture in the Inpaint and Noise tabs, resized to
// the model's size (the notice says so); source is the run that drew it.
func (s *Window) SetInputPicture(img image.Image, name string, source *studio.PictureSource) {
	b := img.Bounds()
	fitted, resized := imageio.Fit(img, s.info.Width, s.info.Height)
	s.inpaint.painter.SetPicture(fitted)
	s.inpaint.name, s.inpaint.source = studio.RecordedPath(name), source
	if resized {
		s.inpaint.notice.SetText(fmt.Sprintf("%s resized from %dx%d to the model's %dx%d.", name, b.Dx(), b.Dy(), s.info.Width, s.info.Height))
	} else {
		s.inpaint.notice.SetText(name + " loaded: paint over what to regenerate.")
	}
	s.showNoised()
}

// UseCurrentResult takes the focused (or first) sample of the current run
// as the picture to inpaint or noise.
func (s *Window) UseCurrentResult() {
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
	r := e.run.Recipe()
	s.SetInputPicture(img, fmt.Sprintf("result-seed%d-%d.png", r.Seed, n), &studio.PictureSource{Recipe: r, Sample: n})
}

func (s *Window) openImageDialog() {
	s.openAs([]string{".png", ".jpg", ".jpeg"}, func(b []byte, name string) error {
		img, err := imageio.Decode(b)
		if err == nil {
			s.SetInputPicture(img, name, nil)
		}
		return err
	})
}

func (s *Window) openMaskDialog() {
	s.openAs([]string{".png"}, func(b []byte, _ string) error {
		img, err := imageio.Decode(b)
		if err == nil {
			s.inpaint.painter.SetMask(img)
		}
		return err
	})
}

// forPicture applies studio's class policy for a run that redraws the
// Inpaint tab's picture to r, with the phrase that says which class is used.
func (s *Window) forPicture(r studio.Recipe) (studio.Recipe, string) {
	return s.sess.ForPicture(r, s.inpaint.source)
}

// Inpaint runs RePaint or replacement on the painted picture.
func (s *Window) Inpaint() {
	p := s.inpaint
	if p.painter.Painted() == 0 {
		s.showError(errors.New("paint over the part to regenerate first"))
		return
	}
	r, ok := s.nextRecipe()
	if !ok {
		return
	}
	r, why := s.forPicture(r)
	method, jl, jn := studio.Replace, 0, 0
	if p.method.Selected == "RePaint" {
		var err1, err2 error
		jl, err1 = strconv.Atoi(strings.TrimSpace(p.jumpLength.Text))
		jn, err2 = strconv.Atoi(strings.TrimSpace(p.jumpSample.Text))
		if err := errors.Join(err1, err2); err != nil {
			s.showError(fmt.Errorf("jump length and resample count must be whole numbers: %w", err))
			return
		}
		method = studio.RePaint
	}
	r = studio.InpaintRecipe(r, method, p.recipeName(), jl, jn)
	s.tabs.SelectIndex(0)
	if s.launch(launchSpec{recipe: r, inputs: studio.Inputs{Image: p.painter.Picture(), Mask: p.painter.Mask()}, source: p.source}) == nil && why != "" {
		s.progressLabel.SetText("inpainting, " + why)
	}
}

// showNoised shows q(x_t | x₀) of the picture at the slider's t, then the
// model's x̂₀(x_t, t) once computed (newest request only).
func (s *Window) showNoised() {
	if s.sess == nil {
		return
	}
	r, err := s.Recipe()
	if err != nil {
		return // a bad setting shows nothing here; Generate says why
	}
	r, why := s.forPicture(r)
	T := r.Schedule.T
	if s.noise.t.Max != float64(T-1) {
		s.noise.t.Max = float64(max(1, T-1))
		s.noise.t.Refresh()
	}
	t := min(int(s.noise.t.Value), T-1)
	xt, ro, err := s.sess.Noised(s.inpaint.painter.Picture(), r.Seed, t, r.Schedule)
	if err != nil {
		s.noise.readout.SetText("cannot noise the picture: " + err.Error())
		return
	}
	s.noise.view.ShowFrame(xt, nil, nil, nil)
	text := fmt.Sprintf("t = %d · ᾱ_t = %.4f · σ_t = %.4f · SNR = %.3g · strength %.3f", t, ro.AlphaBar, ro.Sigma, ro.SNR, studio.StrengthAt(t, T))
	if why != "" {
		text += " · x̂₀ " + why
	}
	s.noise.readout.SetText(text)
	s.noise.gen++
	gen, sess := s.noise.gen, s.sess
	s.noise.predict.run(func() {
		x0, err := sess.PredictX0(s.ctx, xt, t, r)
		s.do(func() {
			if gen != s.noise.gen || sess != s.sess {
				return // the slider moved on
			}
			if err != nil {
				s.noise.readout.SetText(text + " · no prediction: " + err.Error())
				return
			}
			s.noise.view.ShowFrame(xt, x0, nil, nil)
		})
	})
}

// noiseT sets the Noise tab's timestep.
func (s *Window) noiseT(t int) { s.noise.t.SetValue(float64(t)) }

// noisePicture is what the Noise tab shows now (x_t, or x̂₀ with PanelX0).
func (s *Window) noisePicture() *image.RGBA { return s.noise.view.Picture(PanelXT) }

// DenoiseFromHere runs the reverse chain from the Noise tab's x_t
// (image-to-image from that timestep), with the class policy of pictures.
func (s *Window) DenoiseFromHere() {
	r, err := s.Recipe() // the seed is the one the Noise tab shows: never rolled here
	if err != nil {
		s.showError(err)
		return
	}
	r, why := s.forPicture(r)
	r = studio.InitRecipe(r, s.inpaint.recipeName(), int(s.noise.t.Value))
	s.tabs.SelectIndex(0)
	if s.launch(launchSpec{recipe: r, inputs: studio.Inputs{Image: s.inpaint.painter.Picture()}, source: s.inpaint.source}) == nil && why != "" {
		s.progressLabel.SetText("image-to-image, " + why)
	}
}
