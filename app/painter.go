package app

import (
	"image"
	"image/draw"
	"math"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/widget"

	"github.com/ddpmstudio/ddpmstudio/imageio"
)

// MaxUndo is how many mask edits Undo can take back.
const MaxUndo = 100

// MaskPainter shows a picture with a translucent mask over it and paints
// the mask with a round brush: white (painted) = regenerate, black = keep.
// A stroke paints its press point and every pixel within the brush radius
// of the segment between two pointer events, so a fast stroke has no gaps;
// the right button (or the eraser) erases. Pointer positions map to image
// pixels through the Contain fit, in Fyne units, so window size, aspect
// ratio and canvas scale do not matter. Every edit can be undone.
type MaskPainter struct {
	widget.BaseWidget

	w, h    int
	picture *image.RGBA // the picture, at mask resolution
	mask    []uint8     // 1 = regenerate
	shown   *image.RGBA // picture with the mask overlaid
	img     *canvas.Image

	Radius float64 // brush radius in image pixels
	Erase  bool

	undo, redo [][]uint8
	stroking   bool
	erasing    bool
	rightDown  bool
	last       [2]float64
	OnChanged  func()
}

// NewMaskPainter makes a painter with an empty w×h picture.
func NewMaskPainter(w, h int) *MaskPainter {
	p := &MaskPainter{Radius: 1.5}
	p.img = canvas.NewImageFromImage(image.NewRGBA(image.Rect(0, 0, 1, 1)))
	p.img.ScaleMode = canvas.ImageScalePixels
	p.img.FillMode = canvas.ImageFillContain
	p.img.SetMinSize(fyne.NewSize(200, 200))
	p.SetPicture(image.NewGray(image.Rect(0, 0, w, h)))
	p.ExtendBaseWidget(p)
	return p
}

// SetPicture shows a picture (its size becomes the mask's) and clears the
// mask and the undo history.
func (p *MaskPainter) SetPicture(img image.Image) {
	b := img.Bounds()
	p.w, p.h = b.Dx(), b.Dy()
	p.picture = image.NewRGBA(image.Rect(0, 0, p.w, p.h))
	draw.Draw(p.picture, p.picture.Bounds(), img, b.Min, draw.Src)
	p.shown = image.NewRGBA(p.picture.Bounds())
	p.mask = make([]uint8, p.w*p.h)
	p.undo, p.redo = nil, nil
	p.img.Image = p.shown
	p.redraw()
}

// Picture is the picture being painted over.
func (p *MaskPainter) Picture() image.Image { return p.picture }

// Mask is the mask as a picture: 255 = regenerate, 0 = keep.
func (p *MaskPainter) Mask() *image.Gray { return p.binary().Gray() }

func (p *MaskPainter) binary() *imageio.Mask { return &imageio.Mask{W: p.w, H: p.h, Pix: p.mask} }

// SetMask replaces the mask with a picture's, through imageio's one
// threshold and resize rule (as --mask and a recipe's mask); undoable.
func (p *MaskPainter) SetMask(img image.Image) {
	p.push()
	p.mask = imageio.MaskOf(img).Resize(p.w, p.h).Pix
	p.changed()
}

// Painted is the number of mask pixels set.
func (p *MaskPainter) Painted() int { return p.binary().Count() }

func (p *MaskPainter) push() {
	p.undo = append(p.undo, append([]uint8(nil), p.mask...))
	if len(p.undo) > MaxUndo {
		p.undo = p.undo[1:]
	}
	p.redo = nil
}

// Undo takes back the last edit.
func (p *MaskPainter) Undo() { p.step(&p.undo, &p.redo) }

// Redo repeats an edit Undo took back.
func (p *MaskPainter) Redo() { p.step(&p.redo, &p.undo) }

// step moves the current mask onto to and restores the newest mask of from;
// Undo and Redo are the same move in opposite directions.
func (p *MaskPainter) step(from, to *[][]uint8) {
	if len(*from) == 0 {
		return
	}
	*to = append(*to, p.mask)
	p.mask = (*from)[len(*from)-1]
	*from = (*from)[:len(*from)-1]
	p.changed()
}

// Fill marks everything for regeneration.
func (p *MaskPainter) Fill() { p.setAll(func(uint8) uint8 { return 1 }) }

// Clear keeps everything.
func (p *MaskPainter) Clear() { p.setAll(func(uint8) uint8 { return 0 }) }

// Invert swaps regenerate and keep.
func (p *MaskPainter) Invert() { p.setAll(func(m uint8) uint8 { return 1 - m }) }

func (p *MaskPainter) setAll(f func(uint8) uint8) {
	p.push()
	for i, m := range p.mask {
		p.mask[i] = f(m)
	}
	p.changed()
}

func (p *MaskPainter) changed() {
	p.redraw()
	if p.OnChanged != nil {
		p.OnChanged()
	}
}

// redraw composes the picture and a translucent red mask.
func (p *MaskPainter) redraw() {
	for i, m := range p.mask {
		o := 4 * i
		r, g, b := p.picture.Pix[o], p.picture.Pix[o+1], p.picture.Pix[o+2]
		if m == 1 {
			r = uint8((int(r) + 2*230) / 3)
			g = uint8(int(g) / 3)
			b = uint8(int(b) / 3)
		}
		p.shown.Pix[o], p.shown.Pix[o+1], p.shown.Pix[o+2], p.shown.Pix[o+3] = r, g, b, 255
	}
	p.img.Refresh()
}

// toPixel maps a widget-local position to continuous image coordinates.
func (p *MaskPainter) toPixel(pos fyne.Position) (float64, float64) {
	size := p.Size()
	s := math.Min(float64(size.Width)/float64(p.w), float64(size.Height)/float64(p.h))
	offX := (float64(size.Width) - s*float64(p.w)) / 2
	offY := (float64(size.Height) - s*float64(p.h)) / 2
	return (float64(pos.X) - offX) / s, (float64(pos.Y) - offY) / s
}

// paintSegment sets (or erases) every pixel whose centre lies within the
// brush radius of the segment from a to b.
func (p *MaskPainter) paintSegment(a, b [2]float64, erase bool) {
	r := math.Max(p.Radius, 0.5)
	x0 := int(math.Floor(math.Min(a[0], b[0]) - r))
	x1 := int(math.Ceil(math.Max(a[0], b[0]) + r))
	y0 := int(math.Floor(math.Min(a[1], b[1]) - r))
	y1 := int(math.Ceil(math.Max(a[1], b[1]) + r))
	v := uint8(1)
	if erase {
		v = 0
	}
	for y := max(0, y0); y <= min(p.h-1, y1); y++ {
		for x := max(0, x0); x <= min(p.w-1, x1); x++ {
			if segmentDist(float64(x)+0.5, float64(y)+0.5, a, b) <= r {
				p.mask[y*p.w+x] = v
			}
		}
	}
}

// segmentDist is the distance from (px, py) to the segment a–b.
func segmentDist(px, py float64, a, b [2]float64) float64 {
	dx, dy := b[0]-a[0], b[1]-a[1]
	t := 0.0
	if l := dx*dx + dy*dy; l > 0 {
		t = math.Max(0, math.Min(1, ((px-a[0])*dx+(py-a[1])*dy)/l))
	}
	ex, ey := a[0]+t*dx-px, a[1]+t*dy-py
	return math.Hypot(ex, ey)
}

func (p *MaskPainter) begin(pos fyne.Position, erase bool) {
	p.push()
	p.stroking, p.erasing = true, erase
	x, y := p.toPixel(pos)
	p.last = [2]float64{x, y}
	p.paintSegment(p.last, p.last, erase)
	p.changed()
}

func (p *MaskPainter) extend(pos fyne.Position) {
	if !p.stroking {
		return
	}
	x, y := p.toPixel(pos)
	next := [2]float64{x, y}
	p.paintSegment(p.last, next, p.erasing)
	p.last = next
	p.changed()
}

// MouseDown starts a stroke and paints the press point (the right button
// erases).
func (p *MaskPainter) MouseDown(ev *desktop.MouseEvent) {
	p.rightDown = ev.Button == desktop.MouseButtonSecondary
	p.begin(ev.Position, p.Erase || p.rightDown)
}

// MouseUp ends the stroke.
func (p *MaskPainter) MouseUp(*desktop.MouseEvent) { p.stroking, p.rightDown = false, false }

// Dragged continues a left-button stroke.
func (p *MaskPainter) Dragged(ev *fyne.DragEvent) { p.extend(ev.Position) }

// DragEnd ends the stroke.
func (p *MaskPainter) DragEnd() { p.stroking = false }

// MouseIn implements desktop.Hoverable.
func (p *MaskPainter) MouseIn(*desktop.MouseEvent) {}

// MouseMoved continues a right-button stroke: a right-button drag sends no
// Dragged events, only moves.
func (p *MaskPainter) MouseMoved(ev *desktop.MouseEvent) {
	if p.stroking && p.rightDown {
		p.extend(ev.Position)
	}
}

// MouseOut implements desktop.Hoverable.
func (p *MaskPainter) MouseOut() {}

// CreateRenderer implements fyne.Widget.
func (p *MaskPainter) CreateRenderer() fyne.WidgetRenderer { return widget.NewSimpleRenderer(p.img) }
