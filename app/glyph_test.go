package app

import (
	"bytes"
	"testing"

	"fyne.io/fyne/v2"
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
		if _, ok := face.NominalGlyph(r); !ok && r != ' ' {
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
