package app

import (
	"errors"
	"fmt"
	"io"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"

	"github.com/ddpmstudio/ddpmstudio/studio"
)

// comparePanel shows two chains on the same noise step by step: chain A
// (the first run) above chain B (its comparison), and |A − B| below, all
// at the same t. The timeline walks the chain with more events; the other
// shows its nearest step at or above that t (studio.AlignByT).
type comparePanel struct {
	a, b          *entry
	views         [3]*ChainView
	titles        [3]*widget.Label
	obj           fyne.CanvasObject
	shownA, shown int // event indices shown (for tests)
}

func newComparePanel() *comparePanel {
	p := &comparePanel{}
	rows := make([]fyne.CanvasObject, 3)
	for i := range p.views {
		p.views[i] = NewChainView()
		p.titles[i] = widget.NewLabel("")
		p.titles[i].Truncation = fyne.TextTruncateEllipsis
		rows[i] = container.NewBorder(p.titles[i], nil, nil, nil, p.views[i])
		v := p.views[i]
		v.OnFocus = func(n int) { // one focus for all three
			for _, o := range p.views {
				if o != v && o.Focus() != n {
					o.SetFocus(n)
				}
			}
		}
	}
	p.titles[2].SetText("|A - B|  (in display levels; black = equal)")
	p.obj = container.NewGridWithRows(3, rows...)
	return p
}

func (p *comparePanel) active() bool { return p.a != nil && p.b != nil }

// set compares a with b (nil, nil: off).
func (p *comparePanel) set(a, b *entry) {
	p.a, p.b = a, b
	if !p.active() {
		return
	}
	for _, v := range p.views {
		v.SetShape(a.run.Shape())
	}
	p.titles[0].SetText("A  " + recipeWords(a.run.Recipe()))
	p.titles[1].SetText("B  " + recipeWords(b.run.Recipe()))
}

func (p *comparePanel) setExtra(on bool) {
	for _, v := range p.views {
		v.SetExtra(on)
	}
}

// lead is the chain the timeline walks: the one with more events.
func (p *comparePanel) lead() *entry {
	if p.b.run.PlanLen() > p.a.run.PlanLen() {
		return p.b
	}
	return p.a
}

// leadIndex is the timeline position of B's event i (B is the live one).
func (p *comparePanel) leadIndex(i int) int {
	if p.lead() == p.b {
		return i
	}
	t := -1
	if i < p.b.run.PlanLen() {
		t = p.b.run.EventAt(i).T
	}
	return studio.AlignByT(p.a.run, t)
}

// indices are the events of A and B shown at timeline position i, each
// capped at what its chain has recorded.
func (p *comparePanel) indices(i int) (ia, ib int, t int) {
	lead := p.lead().run
	t = -1
	if i < lead.PlanLen() {
		t = lead.EventAt(i).T
	}
	at := func(r *studio.Run) int {
		j := studio.AlignByT(r, t)
		if j < r.PlanLen() && j >= r.Len() || j == r.PlanLen() && r.Final() == nil {
			j = max(0, r.Len()-1)
		}
		return j
	}
	return at(p.a.run), at(p.b.run), t
}

// showAt shows both chains at timeline position i and, when their frames
// are at hand, their difference.
func (p *comparePanel) showAt(s *Window, i int) {
	a, b := p.a, p.b
	ia, ib, t := p.indices(i)
	where := "final samples"
	if t >= 0 {
		where = fmt.Sprintf("t = %d", t)
	}
	s.timeline.SetReadout(fmt.Sprintf("%s · A step %d/%d · B step %d/%d · same x_T and noise stream (seed %d)",
		where, min(ia+1, a.run.PlanLen()), a.run.PlanLen(), min(ib+1, b.run.PlanLen()), b.run.PlanLen(), a.run.Recipe().Seed))
	// The two chains from their kept pictures, at once; their difference
	// needs the float frames, which a chain kept only at a stride may
	// recompute: off the UI goroutine.
	if sh, err := a.run.Shot(ia); err == nil {
		p.views[0].ShowShot(sh.X, sh.X0, sh.Eps, sh.Noise)
		p.shownA = ia
	}
	if sh, err := b.run.Shot(ib); err == nil {
		p.views[1].ShowShot(sh.X, sh.X0, sh.Eps, sh.Noise)
		p.shown = ib
	}
	s.bg.Add(1)
	go func() {
		defer s.bg.Done()
		fa, errA := a.run.Shown(s.ctx, ia)
		fb, errB := b.run.Shown(s.ctx, ib)
		var dx, d0 []float32
		if errA == nil && errB == nil {
			dx, _ = studio.DiffSample(fa.X, fb.X)
			if fa.X0 != nil && fb.X0 != nil {
				d0, _ = studio.DiffSample(fa.X0, fb.X0)
			}
		}
		s.do(func() {
			if p.a != a || p.b != b || s.timeline.Cursor() != i || dx == nil {
				return
			}
			p.views[2].ShowFrame(dx, d0, nil, nil)
		})
	}()
}

// Compare runs a second chain beside the current one, on the same x_T and
// noise stream, with the sampler and schedule the panels show now.
func (s *Window) Compare() {
	e := s.current
	if e == nil || !e.done || s.sess == nil {
		return
	}
	want, err := s.Recipe() // the seed is the first chain's: never rolled here
	if err == nil {
		want, err = studio.CompareRecipe(e.run.Recipe(), want)
	}
	if err != nil {
		s.showError(err)
		return
	}
	s.launch(launchSpec{recipe: want, inputs: e.inputs, partner: e})
}

// comparing reports whether the chain area shows a comparison.
func (s *Window) comparing() bool { return s.compare.active() }

// WriteCompareStrip writes the comparison as a PNG strip for the focused
// sample: the longer chain's x_t over the other's aligned x_t over their
// difference, one column per shown step, then the final samples.
func (s *Window) WriteCompareStrip(w io.Writer) error {
	if !s.compare.active() {
		return errors.New("no comparison to export: select a comparison in the runs list")
	}
	a, b := s.compare.a.run, s.compare.b.run
	lead, other := a, b
	if s.compare.lead() == s.compare.b {
		lead, other = b, a
	}
	n := max(0, s.compare.views[0].Focus())
	img, err := studio.CompareStrip(s.ctx, lead, other, n, max(1, lead.PlanLen()/20), studio.ChainScale(a.Shape()))
	if err != nil {
		return err
	}
	return studio.WritePNG(w, img, b.Recipe(), nil)
}
