package app

import (
	"bytes"
	"fmt"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"
	"github.com/go-text/typesetting/font"
)

// missingGlyphs lists the runes of s that the theme's text font has no
// glyph for: they would show as replacement boxes.
func missingGlyphs(t *testing.T, s string) []rune {
	t.Helper()
	face, err := font.ParseTTF(bytes.NewReader(theme.DefaultTheme().Font(fyne.TextStyle{}).Content()))
	if err != nil {
		t.Fatal(err)
	}
	var missing []rune
	for _, r := range s {
		if _, ok := face.NominalGlyph(r); !ok && r != ' ' && r != '\n' && r != '\t' {
			missing = append(missing, r)
		}
	}
	return missing
}

func TestMissingGlyphsCanFail(t *testing.T) {
	if m := missingGlyphs(t, "#2 ⑂ #1"); len(m) != 1 || m[0] != '⑂' {
		t.Errorf("missingGlyphs(⑂) = %q: the check cannot see a box", m)
	}
}

// texts calls f with every text the object draws, through widget renderers
// and containers, hidden ones included (a tab not shown yet, a warning).
func texts(o fyne.CanvasObject, f func(string)) {
	switch o := o.(type) {
	case *canvas.Text:
		f(o.Text)
	case *fyne.Container:
		for _, c := range o.Objects {
			texts(c, f)
		}
	case fyne.Widget:
		for _, c := range test.WidgetRenderer(o).Objects() {
			texts(c, f)
		}
	}
}

// TestEveryTextHasGlyphs: nothing the window draws — buttons, labels,
// read-outs, warnings, the hint, comparison titles, on every tab — falls
// back to replacement boxes (the font has no arrows, no minus sign, no ⚠).
func TestEveryTextHasGlyphs(t *testing.T) {
	s, w := newStudio(t, nil)
	check := func(when string) {
		seen := 0
		texts(w.Content(), func(txt string) {
			seen++
			if m := missingGlyphs(t, txt); len(m) > 0 {
				t.Errorf("%s: %q has no glyph for %q", when, txt, m)
			}
		})
		if seen < 30 {
			t.Fatalf("%s: walked only %d texts", when, seen)
		}
	}
	check("before a run")
	quick(s, 6, 2, 1)
	generate(t, s)
	s.SetCursor(2)
	s.waitIdle()
	s.schedule.kind.SetSelected("cosine") // shows the schedule warning
	check("after a run")
	s.sampler.kind.SetSelected("DDPM")
	s.sampler.steps.SetText("12")
	s.Compare()
	s.wait()
	s.SetCursor(3)
	s.waitIdle()
	for _, tab := range []int{0, 1, 2} {
		s.tabs.SelectIndex(tab)
		s.waitIdle()
		check(fmt.Sprintf("compare mode, tab %d", tab))
	}
}
