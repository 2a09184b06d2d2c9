package imageio

import (
	"image"
	"image/color"
)

// Mask is a binary inpainting mask, one byte per pixel: 1 = regenerate,
// 0 = keep. It is the one place where a picture becomes a mask, for the
// painter, for mask PNGs and for --mask alike: one threshold (MaskOf) and
// one resize rule (Resize), so the same file gives the same mask wherever
// it is opened.
type Mask struct {
	W, H int
	Pix  []uint8 // row-major, W·H values of 0 or 1
}

// NewMask is an empty (keep everything) w×h mask.
func NewMask(w, h int) *Mask { return &Mask{W: w, H: h, Pix: make([]uint8, w*h)} }

// MaskOf thresholds a picture's luma at 50% grey: a pixel at or above 128
// (of 255) is 1.
func MaskOf(img image.Image) *Mask {
	b := img.Bounds()
	m := NewMask(b.Dx(), b.Dy())
	for y := 0; y < m.H; y++ {
		for x := 0; x < m.W; x++ {
			if color.GrayModel.Convert(img.At(b.Min.X+x, b.Min.Y+y)).(color.Gray).Y >= 128 {
				m.Pix[y*m.W+x] = 1
			}
		}
	}
	return m
}

// Resize is the mask at w×h by nearest neighbour: pixel (x, y) takes
// source pixel (⌊x·W/w⌋, ⌊y·H/h⌋). A mask stays binary (a smooth filter
// followed by a threshold would move its edges by the filter's taste).
func (m *Mask) Resize(w, h int) *Mask {
	if w == m.W && h == m.H {
		return &Mask{W: w, H: h, Pix: append([]uint8(nil), m.Pix...)}
	}
	out := NewMask(w, h)
	if m.W == 0 || m.H == 0 {
		return out
	}
	for y := 0; y < h; y++ {
		sy := y * m.H / h
		for x := 0; x < w; x++ {
			out.Pix[y*w+x] = m.Pix[sy*m.W+x*m.W/w]
		}
	}
	return out
}

// Gray is the mask as a picture: 255 = regenerate, 0 = keep.
func (m *Mask) Gray() *image.Gray {
	g := image.NewGray(image.Rect(0, 0, m.W, m.H))
	for i, v := range m.Pix {
		g.Pix[i] = 255 * v
	}
	return g
}

// Floats is the mask as the samplers take it (1 = regenerate), or its
// complement when invert is set.
func (m *Mask) Floats(invert bool) []float32 {
	out := make([]float32, len(m.Pix))
	for i, v := range m.Pix {
		if (v == 1) != invert {
			out[i] = 1
		}
	}
	return out
}

// Count is the number of pixels to regenerate.
func (m *Mask) Count() int {
	n := 0
	for _, v := range m.Pix {
		n += int(v)
	}
	return n
}
