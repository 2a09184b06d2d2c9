package app

import (
	"bytes"
	"fmt"
	"image"
	"image/png"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/test"
)

// maskString draws a mask as rows of '#' (regenerate) and '.' (keep).
func maskString(p *MaskPainter) string {
	var b strings.Builder
	for y := 0; y < p.h; y++ {
		for x := 0; x < p.w; x++ {
			if p.mask[y*p.w+x] == 1 {
				b.WriteByte('#')
			} else {
				b.WriteByte('.')
			}
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// painterIn places an 8×8 painter in a window of the given size and scale.
func painterIn(t *testing.T, w, h float32, scale float32) *MaskPainter {
	t.Helper()
	test.NewTempApp(t)
	p := NewMaskPainter(8, 8)
	win := test.NewTempWindow(t, p)
	win.SetPadded(false)
	if c, ok := win.Canvas().(interface{ SetScale(float32) }); ok {
		c.SetScale(scale)
	}
	win.Resize(fyne.NewSize(w, h))
	p.Resize(fyne.NewSize(w, h))
	return p
}

// at is the widget position of the centre of image pixel (x, y) for a
// painter of size w×h showing 8×8 pixels (Contain fit).
func at(w, h float32, x, y float64) fyne.Position {
	s := min(w, h) / 8
	offX, offY := (w-s*8)/2, (h-s*8)/2
	return fyne.NewPos(offX+s*float32(x+0.5), offY+s*float32(y+0.5))
}

func TestStrokesPaintExactlyTheirPixels(t *testing.T) {
	// Expected masks, worked out by hand from the rule (a pixel is painted
	// when its centre lies within the radius of the segment between the
	// pixel centres (1.5, 1.5) and (6.5, 4.5)): a press, then a fast stroke
	// delivered as a single Dragged event, at radius 0.5 and 1.
	want05 := "........\n.#......\n..##....\n....##..\n......#.\n........\n........\n........\n"
	want1 := ".#......\n###.....\n.####...\n...####.\n.....###\n......#.\n........\n........\n"
	for _, c := range []struct {
		name  string
		w, h  float32
		scale float32
	}{{"square", 80, 80, 1}, {"scale 2", 80, 80, 2}, {"wide window", 160, 60, 1}, {"tall window", 50, 130, 2}} {
		t.Run(c.name, func(t *testing.T) {
			for _, r := range []struct {
				radius float64
				want   string
			}{{0.5, want05}, {1, want1}} {
				p := painterIn(t, c.w, c.h, c.scale)
				p.Radius = r.radius
				p.MouseDown(&desktop.MouseEvent{PointEvent: fyne.PointEvent{Position: at(c.w, c.h, 1, 1)}, Button: desktop.MouseButtonPrimary})
				if p.mask[1*8+1] != 1 {
					t.Fatalf("radius %v: the press point is not painted", r.radius)
				}
				p.Dragged(&fyne.DragEvent{PointEvent: fyne.PointEvent{Position: at(c.w, c.h, 6, 4)}})
				p.DragEnd()
				if got := maskString(p); got != r.want {
					t.Errorf("radius %v:\n%s\nwant\n%s", r.radius, got, r.want)
				}
			}
		})
	}
}

func TestEraserFillInvertClearUndoRedo(t *testing.T) {
	const w, h = 80, 80
	p := painterIn(t, w, h, 1)
	p.Radius = 0.5
	stroke := func(button desktop.MouseButton, from, to [2]float64) {
		p.MouseDown(&desktop.MouseEvent{PointEvent: fyne.PointEvent{Position: at(w, h, from[0], from[1])}, Button: button})
		if button == desktop.MouseButtonSecondary {
			p.MouseMoved(&desktop.MouseEvent{PointEvent: fyne.PointEvent{Position: at(w, h, to[0], to[1])}})
		} else {
			p.Dragged(&fyne.DragEvent{PointEvent: fyne.PointEvent{Position: at(w, h, to[0], to[1])}})
		}
		p.MouseUp(&desktop.MouseEvent{})
	}
	var history []string
	record := func() { history = append(history, maskString(p)) }
	record()
	p.Fill()
	record()
	if p.Painted() != 64 {
		t.Fatalf("fill painted %d", p.Painted())
	}
	stroke(desktop.MouseButtonSecondary, [2]float64{0, 3}, [2]float64{7, 3}) // right button erases a row
	record()
	if got := maskString(p); strings.Split(got, "\n")[3] != "........" || p.Painted() != 56 {
		t.Fatalf("right-button erase:\n%s", got)
	}
	p.Erase = true
	stroke(desktop.MouseButtonPrimary, [2]float64{2, 0}, [2]float64{2, 7}) // the eraser erases a column
	p.Erase = false
	record()
	if p.Painted() != 49 {
		t.Fatalf("eraser: %d painted", p.Painted())
	}
	p.Invert()
	record()
	if p.Painted() != 15 {
		t.Fatalf("invert: %d painted", p.Painted())
	}
	p.Clear()
	record()
	// Undo walks back through every state exactly, redo forward again.
	for i := len(history) - 2; i >= 0; i-- {
		p.Undo()
		if got := maskString(p); got != history[i] {
			t.Fatalf("undo to state %d:\n%s\nwant\n%s", i, got, history[i])
		}
	}
	for i := 1; i < len(history); i++ {
		p.Redo()
		if got := maskString(p); got != history[i] {
			t.Fatalf("redo to state %d", i)
		}
	}
	// At least 50 levels.
	p.Clear()
	for i := 0; i < 60; i++ {
		stroke(desktop.MouseButtonPrimary, [2]float64{float64(i % 8), float64(i / 8 % 8)}, [2]float64{float64(i % 8), float64(i / 8 % 8)})
	}
	for i := 0; i < 60; i++ {
		p.Undo()
	}
	if p.Painted() != 0 {
		t.Errorf("60 undos left %d pixels", p.Painted())
	}
}

func TestMaskSavedAndReloadedIsIdentical(t *testing.T) {
	p := painterIn(t, 80, 80, 1)
	p.Radius = 1.2
	p.MouseDown(&desktop.MouseEvent{PointEvent: fyne.PointEvent{Position: at(80, 80, 2, 5)}})
	p.Dragged(&fyne.DragEvent{PointEvent: fyne.PointEvent{Position: at(80, 80, 7, 0)}})
	p.DragEnd()
	before := maskString(p)
	var b bytes.Buffer
	if err := png.Encode(&b, p.Mask()); err != nil {
		t.Fatal(err)
	}
	p.Clear()
	img, err := png.Decode(&b)
	if err != nil {
		t.Fatal(err)
	}
	p.SetMask(img)
	if got := maskString(p); got != before {
		t.Errorf("reloaded mask:\n%s\nwant\n%s", got, before)
	}
	if fmt.Sprint(p.Mask().Bounds()) != fmt.Sprint(image.Rect(0, 0, 8, 8)) {
		t.Errorf("mask bounds %v", p.Mask().Bounds())
	}
}
