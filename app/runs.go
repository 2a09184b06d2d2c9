package app

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/widget"

	"github.com/ddpmstudio/ddpmstudio/studio"
)

// entry is one run in the history.
type entry struct {
	run     *studio.Run
	inputs  studio.Inputs // an inpainting's picture and mask, an image-to-image's picture
	source  *studio.PictureSource
	label   string
	parent  *entry // a fork's parent
	partner *entry // a comparison's first chain
	curves  *studio.Curves
	started time.Time
	done    bool
	err     error
}

// runsPanel is the history of runs as a tree: forks and comparisons under
// the run they came from, each labelled by what it is or what it changed.
type runsPanel struct {
	tree     *widget.Tree
	entries  []*entry
	OnSelect func(e *entry)
	quiet    bool // selecting from code: no OnSelect
}

func newRunsPanel() *runsPanel {
	p := &runsPanel{}
	p.tree = widget.NewTree(p.children, p.isBranch,
		func(bool) fyne.CanvasObject { return newHoverLabel() },
		func(id widget.TreeNodeID, _ bool, o fyne.CanvasObject) {
			if e := p.byID(id); e != nil {
				o.(*hoverLabel).SetText(e.label)
			}
		})
	p.tree.OnSelected = func(id widget.TreeNodeID) {
		if e := p.byID(id); e != nil && !p.quiet && p.OnSelect != nil {
			p.OnSelect(e)
		}
	}
	return p
}

func (p *runsPanel) id(e *entry) widget.TreeNodeID {
	for i, x := range p.entries {
		if x == e {
			return strconv.Itoa(i)
		}
	}
	return ""
}

func (p *runsPanel) byID(id widget.TreeNodeID) *entry {
	i, err := strconv.Atoi(id)
	if err != nil || i < 0 || i >= len(p.entries) {
		return nil
	}
	return p.entries[i]
}

// under is the entry a run is listed under: its fork parent or the chain
// it is compared with.
func under(e *entry) *entry {
	if e.parent != nil {
		return e.parent
	}
	return e.partner
}

func (p *runsPanel) children(id widget.TreeNodeID) []widget.TreeNodeID {
	var up *entry
	if id != "" {
		if up = p.byID(id); up == nil {
			return nil
		}
	}
	var ids []widget.TreeNodeID
	for i, e := range p.entries {
		if under(e) == up {
			ids = append(ids, strconv.Itoa(i))
		}
	}
	return ids
}

func (p *runsPanel) isBranch(id widget.TreeNodeID) bool {
	return id == "" || len(p.children(id)) > 0
}

// add lists a new run, opens its branch and selects it (quietly).
func (p *runsPanel) add(e *entry) {
	e.label = p.labelFor(e)
	p.entries = append(p.entries, e)
	p.tree.Refresh()
	for u := under(e); u != nil; u = under(u) {
		p.tree.OpenBranch(p.id(u))
	}
	p.show(e)
}

// show selects e without calling OnSelect.
func (p *runsPanel) show(e *entry) {
	p.quiet = true
	p.tree.Select(p.id(e))
	p.tree.ScrollTo(p.id(e))
	p.quiet = false
}

func (p *runsPanel) refresh() { p.tree.Refresh() }

// labelFor names an entry by what it is, or what it changed.
func (p *runsPanel) labelFor(e *entry) string {
	r := e.run.Recipe()
	n := len(p.entries) + 1
	index := func(x *entry) int {
		i, _ := strconv.Atoi(p.id(x))
		return i + 1
	}
	if e.partner != nil {
		return fmt.Sprintf("#%d compare with #%d: %s", n, index(e.partner), recipeWords(r))
	}
	if e.parent == nil || r.Fork == nil {
		return fmt.Sprintf("#%d %s · seed %d", n, recipeWords(r), r.Seed)
	}
	par := *r.Fork.Parent
	var ch []string
	if r.Seed != par.Seed {
		ch = append(ch, fmt.Sprintf("seed %d", r.Seed))
	}
	if r.Sampler != par.Sampler || r.Steps != e.run.PlanLen()-r.Fork.At {
		ch = append(ch, fmt.Sprintf("%s %d", strings.ToUpper(r.Sampler), r.Steps))
	}
	if r.Eta != par.Eta {
		ch = append(ch, fmt.Sprintf("η %.2g", r.Eta))
	}
	if (r.Class == nil) != (par.Class == nil) || (r.Class != nil && *r.Class != *par.Class) || r.AnyClass != par.AnyClass {
		ch = append(ch, classWords(r))
	}
	if r.Guidance != par.Guidance {
		ch = append(ch, fmt.Sprintf("guidance %.2g", r.Guidance))
	}
	if len(ch) == 0 {
		ch = append(ch, "unchanged")
	}
	return fmt.Sprintf("#%d fork of #%d at t=%d: %s", n, index(e.parent), e.run.EventAt(r.Fork.At).T, strings.Join(ch, ", "))
}

// recipeWords is a recipe in a few words: sampler, steps, what differs.
func recipeWords(r studio.Recipe) string {
	w := fmt.Sprintf("%s %d", strings.ToUpper(r.Sampler), r.Steps)
	if r.Eta != 0 {
		w += fmt.Sprintf(" η %.2g", r.Eta)
	}
	if r.Schedule.Kind != "" {
		if k, ok := studio.KindOf(r.Schedule.Kind); ok && k.Kind != "linear" {
			w += " · " + k.Label
		}
	}
	if r.Class != nil || r.AnyClass {
		w += " · " + classWords(r)
		if r.Guidance != 1 {
			w += fmt.Sprintf(" ×%.2g", r.Guidance)
		}
	}
	if r.Inpaint != nil {
		w += " · inpaint"
	}
	if r.Init != nil {
		w += fmt.Sprintf(" · from a picture at %.2f", r.Init.Strength)
	}
	return w
}

func classWords(r studio.Recipe) string {
	switch {
	case r.AnyClass:
		return "any class"
	case r.Class == nil:
		return "no class"
	}
	return fmt.Sprintf("class %d", *r.Class)
}

// hoverLabel is a label cut to its width whose full text shows in a
// pop-up while the pointer rests on it, when it does not fit.
type hoverLabel struct {
	widget.BaseWidget
	label *widget.Label
	pop   *widget.PopUp
}

func newHoverLabel() *hoverLabel {
	h := &hoverLabel{label: widget.NewLabel("")}
	h.label.Truncation = fyne.TextTruncateEllipsis
	h.ExtendBaseWidget(h)
	return h
}

func (h *hoverLabel) SetText(s string) { h.label.SetText(s) }

// Truncated reports whether the text is cut.
func (h *hoverLabel) Truncated() bool {
	full := widget.NewLabel(h.label.Text)
	return full.MinSize().Width > h.Size().Width
}

func (h *hoverLabel) CreateRenderer() fyne.WidgetRenderer { return widget.NewSimpleRenderer(h.label) }

// MouseIn shows the full text below the label when it is cut.
func (h *hoverLabel) MouseIn(*desktop.MouseEvent) {
	c := fyne.CurrentApp().Driver().CanvasForObject(h)
	if c == nil || !h.Truncated() {
		return
	}
	h.pop = widget.NewPopUp(widget.NewLabel(h.label.Text), c)
	pos := fyne.CurrentApp().Driver().AbsolutePositionForObject(h)
	h.pop.ShowAtPosition(pos.Add(fyne.NewPos(0, h.Size().Height)))
}

func (h *hoverLabel) MouseMoved(*desktop.MouseEvent) {}

func (h *hoverLabel) MouseOut() {
	if h.pop != nil {
		h.pop.Hide()
		h.pop = nil
	}
}
