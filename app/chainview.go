package app

import (
	"image"
	"image/color"
	"math"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/ddpmstudio/ddpmstudio/diffusion"
	"github.com/ddpmstudio/ddpmstudio/imageio"
)

// Panels of the chain view, left to right.
const (
	PanelXT    = iota // the noisy x_t
	PanelX0           // the predicted clean image x̂_0
	PanelEps          // the model output ε̂
	PanelNoise        // the noise the step drew
	numPanels
)

var panelTitles = [numPanels]string{"x_t  (noisy)", "x̂₀  (predicted)", "ε̂  (model output)", "noise drawn"}

// ChainView shows one step of a chain: x_t and the predicted x̂_0 side by
// side (ε̂ and the drawn noise on a toggle), each a grid of the batch's
// samples scaled up with crisp nearest-neighbour pixels. A tap on a sample
// focuses it; another tap returns to the grid.
//
// Pictures are painted into buffers the view keeps, so showing a frame
// allocates nothing once the shape is set.
type ChainView struct {
	widget.BaseWidget

	shape    diffusion.Shape
	focus    int // −1: the whole batch
	extra    bool
	bufs     [numPanels]*image.RGBA
	images   [numPanels]*canvas.Image
	titles   [numPanels]*canvas.Text
	last     [numPanels][]uint8 // what each panel shows, as 8-bit values (nil: blank)
	lastBuf  [numPanels][]uint8
	cols     int
	OnFocus  func(sample int) // −1 when back to the grid
	hasFrame bool
	hint     *widget.Label // shown until the first frame
}

// NewChainView makes an empty view.
func NewChainView() *ChainView {
	v := &ChainView{focus: -1, hint: widget.NewLabel("")}
	v.hint.Alignment = fyne.TextAlignCenter
	v.hint.Wrapping = fyne.TextWrapWord
	v.hint.Hide()
	for i := range v.images {
		v.bufs[i] = image.NewRGBA(image.Rect(0, 0, 1, 1))
		img := canvas.NewImageFromImage(v.bufs[i])
		img.ScaleMode = canvas.ImageScalePixels
		img.FillMode = canvas.ImageFillContain
		img.SetMinSize(fyne.NewSize(160, 160))
		v.images[i] = img
		v.titles[i] = canvas.NewText(panelTitles[i], theme.Color(theme.ColorNameForeground))
		v.titles[i].Alignment = fyne.TextAlignCenter
	}
	v.ExtendBaseWidget(v)
	return v
}

// SetShape prepares the view for batches of this shape (N samples).
func (v *ChainView) SetShape(s diffusion.Shape) {
	if s == v.shape {
		return
	}
	v.shape = s
	if v.focus >= s.N {
		v.focus = -1
	}
	v.resize()
}

// gridSize is the pixel size of a panel's picture.
func (v *ChainView) gridSize() (w, h int) {
	s := v.shape
	if v.focus >= 0 || s.N <= 1 {
		return max(1, s.W), max(1, s.H)
	}
	v.cols = int(math.Ceil(math.Sqrt(float64(s.N))))
	rows := (s.N + v.cols - 1) / v.cols
	return v.cols*s.W + (v.cols - 1), rows*s.H + (rows - 1)
}

func (v *ChainView) resize() {
	w, h := v.gridSize()
	for i := range v.bufs {
		if b := v.bufs[i].Bounds(); b.Dx() != w || b.Dy() != h {
			v.bufs[i] = image.NewRGBA(image.Rect(0, 0, w, h))
			// The gaps between samples are the theme's background.
			bg := theme.Color(theme.ColorNameBackground)
			r, g, bb, _ := bg.RGBA()
			for p := 0; p < len(v.bufs[i].Pix); p += 4 {
				v.bufs[i].Pix[p], v.bufs[i].Pix[p+1], v.bufs[i].Pix[p+2], v.bufs[i].Pix[p+3] = uint8(r>>8), uint8(g>>8), uint8(bb>>8), 255
			}
			v.images[i].Image = v.bufs[i]
		}
	}
	for i, x := range v.last {
		if x != nil {
			v.paint(i, x)
		}
	}
}

// SetExtra shows or hides the ε̂ and noise panels.
func (v *ChainView) SetExtra(on bool) {
	v.extra = on
	v.Refresh()
}

// Extra reports whether the ε̂ and noise panels are shown.
func (v *ChainView) Extra() bool { return v.extra }

// Focus is the focused sample, or −1 for the grid.
func (v *ChainView) Focus() int { return v.focus }

// SetFocus shows sample n alone (−1: the whole batch).
func (v *ChainView) SetFocus(n int) {
	if n >= v.shape.N {
		n = -1
	}
	v.focus = n
	v.resize()
	v.Refresh()
	if v.OnFocus != nil {
		v.OnFocus(n)
	}
}

// ShowFrame paints one frame; nil panels are left blank (a re-noising event has
// no x̂_0). The slices are read during the call only.
func (v *ChainView) ShowFrame(xt, x0, eps, noise []float32) {
	var q [numPanels][]uint8
	for i, x := range [numPanels][]float32{xt, x0, eps, noise} {
		if x != nil {
			v.lastBuf[i] = imageio.Quantize(v.lastBuf[i], x)
			q[i] = v.lastBuf[i]
		}
	}
	v.show(q)
}

// ShowShot paints pictures already quantized (studio.Shot): what scrubbing
// a timeline shows, with no arithmetic but the copy to the screen. The
// slices are kept, not copied: a Shot's pictures never change.
func (v *ChainView) ShowShot(xt, x0, eps, noise []uint8) {
	v.show([numPanels][]uint8{xt, x0, eps, noise})
}

func (v *ChainView) show(panels [numPanels][]uint8) {
	for i, x := range panels {
		v.last[i] = x
		v.paint(i, x)
	}
	if !v.hasFrame {
		v.hasFrame = true
		v.Refresh() // the hint gives way to the pictures
	}
	for _, img := range v.images {
		img.Refresh()
	}
}

// SetHint sets the text shown in place of the pictures until the first
// frame: what the model is and what to do.
func (v *ChainView) SetHint(text string) {
	v.hint.SetText(text)
	v.Refresh()
}

// Picture is what a panel shows now (for tests and screenshots).
func (v *ChainView) Picture(panel int) *image.RGBA { return v.bufs[panel] }

func (v *ChainView) paint(panel int, x []uint8) {
	dst := v.bufs[panel]
	s := v.shape
	per := s.C * s.H * s.W
	if x == nil || len(x) < s.N*per || per == 0 {
		clearTo(dst, color.RGBA{40, 40, 40, 255})
		return
	}
	if v.focus >= 0 {
		imageio.PaintSample8(dst, 0, 0, x[v.focus*per:(v.focus+1)*per], s.C, s.H, s.W)
		return
	}
	cols := max(1, v.cols)
	if s.N <= 1 {
		cols = 1
	}
	for n := 0; n < s.N; n++ {
		cx, cy := n%cols, n/cols
		imageio.PaintSample8(dst, cx*(s.W+1), cy*(s.H+1), x[n*per:(n+1)*per], s.C, s.H, s.W)
	}
}

func clearTo(img *image.RGBA, c color.RGBA) {
	for p := 0; p < len(img.Pix); p += 4 {
		img.Pix[p], img.Pix[p+1], img.Pix[p+2], img.Pix[p+3] = c.R, c.G, c.B, c.A
	}
}

// Tapped focuses the sample under the pointer, or returns to the grid.
func (v *ChainView) Tapped(ev *fyne.PointEvent) {
	if v.shape.N <= 1 {
		return
	}
	if v.focus >= 0 {
		v.SetFocus(-1)
		return
	}
	for i := 0; i < v.panelCount(); i++ {
		img := v.images[i]
		pos, size := img.Position(), img.Size()
		if ev.Position.X < pos.X || ev.Position.Y < pos.Y || ev.Position.X >= pos.X+size.Width || ev.Position.Y >= pos.Y+size.Height {
			continue
		}
		if n := v.sampleAt(ev.Position.Subtract(pos), size); n >= 0 {
			v.SetFocus(n)
		}
		return
	}
}

// sampleAt maps a position inside a panel (Contain-fitted) to a sample.
func (v *ChainView) sampleAt(p fyne.Position, size fyne.Size) int {
	gw, gh := v.gridSize()
	sc := math.Min(float64(size.Width)/float64(gw), float64(size.Height)/float64(gh))
	offX := (float64(size.Width) - sc*float64(gw)) / 2
	offY := (float64(size.Height) - sc*float64(gh)) / 2
	px := int(math.Floor((float64(p.X) - offX) / sc))
	py := int(math.Floor((float64(p.Y) - offY) / sc))
	if px < 0 || py < 0 || px >= gw || py >= gh {
		return -1
	}
	cx, cy := px/(v.shape.W+1), py/(v.shape.H+1)
	n := cy*max(1, v.cols) + cx
	if n >= v.shape.N {
		return -1
	}
	return n
}

func (v *ChainView) panelCount() int {
	if v.extra {
		return numPanels
	}
	return 2
}

// CreateRenderer implements fyne.Widget.
func (v *ChainView) CreateRenderer() fyne.WidgetRenderer {
	objs := make([]fyne.CanvasObject, 0, 2*numPanels+1)
	for i := range v.images {
		objs = append(objs, v.images[i], v.titles[i])
	}
	objs = append(objs, v.hint)
	return &chainRenderer{v: v, objects: objs}
}

type chainRenderer struct {
	v       *ChainView
	objects []fyne.CanvasObject
}

// Layout arranges the shown panels in the grid of columns that makes the
// pictures largest for this size and centres it: a wide pane gets a row,
// a tall one a column, and no space goes to bands above and below.
func (r *chainRenderer) Layout(size fyne.Size) {
	v := r.v
	waiting := !v.hasFrame && v.hint.Text != ""
	v.hint.Hidden = !waiting
	if waiting {
		v.hint.Move(fyne.NewPos(0, size.Height/3))
		v.hint.Resize(fyne.NewSize(size.Width, v.hint.MinSize().Height))
	}
	n := v.panelCount()
	textH := v.titles[0].MinSize().Height
	gap := theme.Padding()
	pw, ph := v.gridSize()
	best, cols := float32(-1), 1
	for c := 1; c <= n; c++ {
		rows := (n + c - 1) / c
		cw := (size.Width - gap*float32(c-1)) / float32(c)
		ch := (size.Height-gap*float32(rows-1))/float32(rows) - textH - gap
		if sc := min(cw/float32(pw), ch/float32(ph)); sc > best {
			best, cols = sc, c
		}
	}
	rows := (n + cols - 1) / cols
	best = max(best, 0)
	cw, ch := float32(pw)*best, float32(ph)*best
	bw := float32(cols)*cw + gap*float32(cols-1)
	bh := float32(rows)*(ch+textH+gap) + gap*float32(rows-1)
	x0, y0 := (size.Width-bw)/2, (size.Height-bh)/2
	for i := 0; i < numPanels; i++ {
		show := i < n && !waiting
		v.images[i].Hidden, v.titles[i].Hidden = !show, !show
		if !show {
			continue
		}
		x := x0 + float32(i%cols)*(cw+gap)
		y := y0 + float32(i/cols)*(ch+textH+2*gap)
		v.titles[i].Move(fyne.NewPos(x, y))
		v.titles[i].Resize(fyne.NewSize(cw, textH))
		v.images[i].Move(fyne.NewPos(x, y+textH+gap))
		v.images[i].Resize(fyne.NewSize(cw, ch))
	}
}

func (r *chainRenderer) MinSize() fyne.Size {
	n := float32(r.v.panelCount())
	return fyne.NewSize(n*120+(n-1)*theme.Padding(), 120+r.v.titles[0].MinSize().Height+theme.Padding())
}

func (r *chainRenderer) Refresh() {
	for i := range r.v.titles {
		r.v.titles[i].Color = theme.Color(theme.ColorNameForeground)
		r.v.titles[i].Refresh()
		r.v.images[i].Refresh()
	}
	r.v.hint.Refresh()
	r.Layout(r.v.Size())
}

func (r *chainRenderer) Objects() []fyne.CanvasObject { return r.objects }
func (r *chainRenderer) Destroy()                     {}
