package app

import (
	"context"
	"fmt"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"

	"github.com/ddpmstudio/ddpmstudio/hub"
	"github.com/ddpmstudio/ddpmstudio/studio"
)

// hubDialog is "Open from the Hub…": a repo id, the known pixel-space
// DDPMs (resolution, size, whether cached), and a progress bar with
// Cancel while a model downloads.
type hubDialog struct {
	entry    *widget.Entry
	list     *widget.List
	bar      *widget.ProgressBar
	status   *widget.Label
	open     *widget.Button
	cancel   context.CancelFunc
	dlg      dialog.Dialog
	progress hub.Progress // the last report (for tests)
}

func knownLabel(k studio.KnownModel) string {
	mark := ""
	if studio.Cached(k.Repo) {
		mark = " · in cache"
	}
	return fmt.Sprintf("%s · %d² · %.1f M · %d MB · %s%s", k.Repo, k.Resolution, k.ParamsM, k.DownloadMB, k.About, mark)
}

func (s *Window) openHubDialog() { s.newHubDialog().dlg.Show() }

func (s *Window) newHubDialog() *hubDialog {
	d := &hubDialog{entry: widget.NewEntry(), bar: widget.NewProgressBar(), status: widget.NewLabel("")}
	d.entry.SetPlaceHolder("owner/name or owner/name@revision")
	d.status.Wrapping = fyne.TextWrapWord
	d.list = widget.NewList(func() int { return len(studio.KnownModels) },
		func() fyne.CanvasObject { return widget.NewLabel("") },
		func(i widget.ListItemID, o fyne.CanvasObject) {
			o.(*widget.Label).SetText(knownLabel(studio.KnownModels[i]))
		})
	d.list.OnSelected = func(i widget.ListItemID) { d.entry.SetText(studio.KnownModels[i].Repo) }
	d.bar.Hide()
	var cancelBtn *widget.Button
	cancelBtn = widget.NewButton("Cancel", func() {
		if d.cancel != nil {
			d.cancel() // the download stops; what arrived is kept for the next try
			return
		}
		d.dlg.Hide()
	})
	d.open = widget.NewButton("Open", func() { s.hubOpen(d) })
	d.open.Importance = widget.HighImportance
	list := container.NewGridWrap(fyne.NewSize(640, 200), d.list)
	content := container.NewVBox(widget.NewLabel("A diffusers UNet2DModel on the Hugging Face Hub (fetched once into the Hugging Face cache):"),
		d.entry, list, d.bar, d.status, container.NewHBox(cancelBtn, d.open))
	d.dlg = dialog.NewCustomWithoutButtons("Open from the Hub", content, s.win)
	return d
}

// hubOpen opens the entry's model, showing the download.
func (s *Window) hubOpen(d *hubDialog) {
	id := d.entry.Text
	if _, _, ok := studio.ParseRepoID(id); !ok {
		d.status.SetText(fmt.Sprintf("%q is not a Hub model id (owner/name or owner/name@revision)", id))
		return
	}
	ctx, cancel := context.WithCancel(s.ctx)
	d.cancel = cancel
	d.open.Disable()
	d.bar.SetValue(0)
	d.bar.Show()
	d.status.SetText("opening " + id + "…")
	s.openModel(ctx, id, func(p hub.Progress) {
		d.progress = p
		if p.Total > 0 {
			d.bar.SetValue(float64(p.Done) / float64(p.Total))
		}
		d.status.SetText(fmt.Sprintf("downloading %s: %.1f of %.1f MB", p.File, float64(p.Done)/1e6, float64(p.Total)/1e6))
	}, func(err error) {
		cancel()
		d.cancel = nil
		d.open.Enable()
		if err != nil {
			d.status.SetText("not opened: " + err.Error())
			return
		}
		d.dlg.Hide()
	})
}
