package app

import (
	"fmt"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/ddpmstudio/ddpmstudio/studio"
)

const embeddedChoice = "embedded default model"

// modelPanel is the Model card: what is open, and ways to open another —
// a diffusers folder, the embedded model, the recently used ones (its
// preference key "recent_models").
type modelPanel struct {
	label    *widget.Label
	recent   *widget.Select
	obj      fyne.CanvasObject
	prefs    fyne.Preferences
	applying bool
}

// newModelPanel builds the card; open opens a folder ("" = embedded),
// browse asks for one, fromHub for a Hub model.
func newModelPanel(prefs fyne.Preferences, open func(dir string), browse, fromHub func()) *modelPanel {
	p := &modelPanel{prefs: prefs}
	p.label = widget.NewLabel("")
	p.label.Wrapping = fyne.TextWrapWord
	p.recent = widget.NewSelect(nil, func(dir string) {
		if p.applying || dir == "" {
			return
		}
		if dir == embeddedChoice {
			dir = ""
		}
		open(dir)
	})
	p.recent.PlaceHolder = "recent models"
	p.obj = widget.NewCard("Model", "", container.NewVBox(p.label,
		widget.NewButtonWithIcon("Open diffusers folder…", theme.FolderOpenIcon(), browse),
		widget.NewButtonWithIcon("Open from the Hub…", theme.DownloadIcon(), fromHub),
		widget.NewButton("Embedded default model", func() { open("") }),
		p.recent))
	return p
}

// modelTitle is how the window names a model.
func modelTitle(info studio.ModelInfo) string {
	if info.Name == studio.EmbeddedModel {
		return "embedded default model (MNIST digits)"
	}
	return info.Name
}

// modelSummary is one line of what a model is: size, picture, classes.
func modelSummary(info studio.ModelInfo) string {
	s := fmt.Sprintf("%.2f M parameters · %d×%d×%d · %s T=%d", float64(info.Params)/1e6,
		info.Channels, info.Height, info.Width, info.Trained.Kind, info.Trained.T)
	if info.Conditional && info.Classes > 0 {
		n := info.Classes
		if info.NullClass >= 0 {
			n--
		}
		s += fmt.Sprintf(" · %d classes", n)
	}
	return s
}

// setModel shows the open model and remembers dir among the recent ones.
func (p *modelPanel) setModel(info studio.ModelInfo, dir string) {
	p.label.SetText(modelTitle(info) + "\n" + modelSummary(info))
	p.prefs.SetString("model", dir)
	if dir != "" {
		list := []string{dir}
		for _, d := range p.prefs.StringList("recent_models") {
			if d != dir && len(list) < 8 {
				list = append(list, d)
			}
		}
		p.prefs.SetStringList("recent_models", list)
	}
	p.applying = true
	p.recent.Options = append([]string{embeddedChoice}, p.prefs.StringList("recent_models")...)
	p.recent.ClearSelected()
	p.applying = false
}
