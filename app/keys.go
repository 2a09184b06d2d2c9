package app

import (
	"math"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/driver/desktop"
)

// installKeys binds the keyboard: Ctrl+Enter generate, Esc cancel, Space
// play/pause, Left/Right step, Home/End, Ctrl+S save, Ctrl+O open, Ctrl+I
// inpaint, Ctrl+B compare, Ctrl+Shift+S save the chain, [ ] brush size, Ctrl+Z/Y undo/redo, F1 help.
func (s *Window) installKeys() {
	c := s.win.Canvas()
	ctrl := func(k fyne.KeyName, f func()) {
		c.AddShortcut(&desktop.CustomShortcut{KeyName: k, Modifier: fyne.KeyModifierControl}, func(fyne.Shortcut) { f() })
	}
	ctrl(fyne.KeyReturn, s.Generate)
	ctrl(fyne.KeyEnter, s.Generate)
	ctrl(fyne.KeyS, s.saveDialog)
	ctrl(fyne.KeyO, s.openDialog)
	ctrl(fyne.KeyI, s.Inpaint)
	ctrl(fyne.KeyB, s.Compare) // chain B beside the selected one
	c.AddShortcut(&desktop.CustomShortcut{KeyName: fyne.KeyS, Modifier: fyne.KeyModifierControl | fyne.KeyModifierShift},
		func(fyne.Shortcut) { s.saveChainDialog() })
	c.SetOnTypedKey(s.TypedKey)
	c.SetOnTypedRune(func(r rune) {
		switch r {
		case '[':
			s.inpaint.brush.SetValue(s.inpaint.brush.Value - 0.5)
		case ']':
			s.inpaint.brush.SetValue(s.inpaint.brush.Value + 0.5)
		}
	})
	// Ctrl+Z and Ctrl+Y reach us as Fyne's undo/redo shortcuts.
	c.AddShortcut(&fyne.ShortcutUndo{}, func(fyne.Shortcut) { s.inpaint.painter.Undo() })
	c.AddShortcut(&fyne.ShortcutRedo{}, func(fyne.Shortcut) { s.inpaint.painter.Redo() })
	c.AddShortcut(&desktop.CustomShortcut{KeyName: fyne.KeyZ, Modifier: fyne.KeyModifierControl | fyne.KeyModifierShift}, func(fyne.Shortcut) { s.inpaint.painter.Redo() })
}

// TypedKey handles the keys that are not shortcuts.
func (s *Window) TypedKey(ev *fyne.KeyEvent) {
	switch ev.Name {
	case fyne.KeyEscape:
		s.Cancel()
	case fyne.KeySpace:
		s.TogglePlay()
	case fyne.KeyLeft:
		s.Step(-1)
	case fyne.KeyRight:
		s.Step(1)
	case fyne.KeyHome:
		s.SetCursor(0)
	case fyne.KeyEnd:
		s.SetCursor(math.MaxInt)
	case fyne.KeyF1:
		s.ShowHelp()
	}
}

// ShowHelp lists the keys.
func (s *Window) ShowHelp() {
	dialog.ShowInformation("Keys", strings.Join([]string{
		"Ctrl+Enter   generate",
		"Esc          cancel (keeps the chain so far)",
		"Space        play / pause the timeline",
		"Left / Right one step back / forward",
		"Home / End   first step / the final sample",
		"Ctrl+S       save the picture as PNG with its recipe",
		"Ctrl+O       open a PNG: restore its settings and draw it again",
		"Ctrl+Shift+S save the whole chain (every x_t, x̂₀, ε̂) as safetensors",
		"Ctrl+I       inpaint the painted picture (Inpaint tab)",
		"Ctrl+B       compare: the panels' sampler and schedule on the same noise",
		"[ / ]        brush smaller / larger; Ctrl+Z / Ctrl+Y undo / redo",
		"F1           this list",
		"",
		"Click a sample to focus it; click again for the grid.",
		"Drag the timeline back and press \"Fork from here\" to continue",
		"from that step with the seed, sampler or class you set.",
		"Compare (Ctrl+B) runs the panels' sampler and schedule on the same",
		"noise beside the selected chain; one timeline scrubs both.",
	}, "\n"), s.win)
}
