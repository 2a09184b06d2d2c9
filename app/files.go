package app

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"io"
	"path/filepath"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/storage"

	"github.com/ddpmstudio/ddpmstudio/imageio"
	"github.com/ddpmstudio/ddpmstudio/internal/safeio"
	"github.com/ddpmstudio/ddpmstudio/studio"
)

// WritePNG writes the current run's samples (a grid when there are several)
// as PNG with the recipe: the bytes `ddpmstudio sample` writes for it.
func (s *Window) WritePNG(w io.Writer) error {
	e := s.current
	if e == nil || !e.done || e.err != nil {
		return errors.New("no finished picture to save")
	}
	res, err := e.run.Wait()
	if err != nil {
		return err
	}
	pics, err := studio.SamplePictures(res)
	if err != nil {
		return err
	}
	var mask image.Image
	if e.run.Recipe().Inpaint != nil {
		mask = e.inputs.Mask // carried in the PNG: the PNG alone reproduces it
	}
	return studio.WritePNG(w, studio.GridOf(pics), e.run.Recipe(), mask)
}

// WriteChain writes the current run's chain for the focused sample (or the
// first): "gif" animated, "strip" a PNG.
func (s *Window) WriteChain(w io.Writer, kind string) error {
	e := s.current
	if e == nil {
		return errors.New("no chain to export")
	}
	if s.compare.active() && kind == "strip" {
		return s.WriteCompareStrip(w)
	}
	n := max(0, s.view.Focus())
	pairs, err := studio.ChainPairs(s.ctx, e.run, n, max(1, e.run.PlanLen()/40))
	if err != nil {
		return err
	}
	scale := studio.ChainScale(e.run.Shape())
	if kind == "gif" {
		return studio.WriteChainGIF(w, pairs, scale)
	}
	return studio.WritePNG(w, studio.ChainStrip(pairs, max(1, scale/2)), e.run.Recipe(), nil)
}

// WriteTrajectory writes the current run's every x_t, x̂₀ and ε̂ as a
// safetensors file with the recipe (what `sample --trajectory` writes).
func (s *Window) WriteTrajectory(w io.Writer) error {
	e := s.current
	if e == nil || !e.done {
		return errors.New("no finished chain to save (wait for it, or cancel it)")
	}
	return studio.WriteTrajectory(s.ctx, w, e.run)
}

func (s *Window) saveDialog() {
	if s.current == nil || !s.current.done {
		s.showError(errors.New("generate a picture first (or wait for it to finish)"))
		return
	}
	s.saveAs(fmt.Sprintf("ddpm-seed%d.png", s.current.run.Recipe().Seed), s.WritePNG)
}

func (s *Window) exportDialog(kind string) {
	if s.current == nil {
		s.showError(errors.New("generate a chain first"))
		return
	}
	name := "chain.png"
	switch {
	case kind == "gif":
		name = "chain.gif"
	case s.compare.active():
		name = "compare.png"
	}
	s.saveAs(name, func(w io.Writer) error { return s.WriteChain(w, kind) })
}

// saveChainDialog saves the whole trajectory for a notebook.
func (s *Window) saveChainDialog() {
	if s.current == nil || !s.current.done {
		s.showError(errors.New("generate a chain first (or wait for it to finish)"))
		return
	}
	s.saveAs(fmt.Sprintf("chain-seed%d.safetensors", s.current.run.Recipe().Seed), s.WriteTrajectory)
}

// saveAs asks for a file and writes it. The bytes are made in memory first
// (off the UI goroutine, with a note in the progress line), so a failure
// leaves no half-written file behind.
func (s *Window) saveAs(name string, write func(io.Writer) error) {
	d := dialog.NewFileSave(func(wc fyne.URIWriteCloser, err error) {
		if err != nil || wc == nil {
			if err != nil {
				s.showError(err)
			}
			return
		}
		s.progressLabel.SetText("writing " + wc.URI().Name() + "…")
		s.bg.Add(1)
		go func() {
			defer s.bg.Done()
			defer wc.Close()
			var b bytes.Buffer
			err := write(&b)
			if err == nil {
				_, err = wc.Write(b.Bytes())
			}
			s.do(func() {
				if err != nil {
					s.progressLabel.SetText("")
					s.showError(fmt.Errorf("%s: %w", wc.URI().Name(), err))
					return
				}
				s.progressLabel.SetText(fmt.Sprintf("wrote %s (%.1f MB)", wc.URI().Name(), float64(b.Len())/(1<<20)))
			})
		}()
	}, s.win)
	d.SetFileName(name)
	d.SetFilter(storage.NewExtensionFileFilter([]string{filepath.Ext(name)}))
	d.Show()
}

func (s *Window) openDialog() {
	s.openAs([]string{".png"}, func(b []byte, _ string) error { return s.OpenRecipe(b) })
}

// openAs asks for a file of one of the extensions and hands its bytes
// (within the image size limit) to use; an error is a dialog naming it.
func (s *Window) openAs(exts []string, use func(b []byte, name string) error) {
	d := dialog.NewFileOpen(func(rc fyne.URIReadCloser, err error) {
		if err != nil || rc == nil {
			if err != nil {
				s.showError(err)
			}
			return
		}
		defer rc.Close()
		b, err := io.ReadAll(io.LimitReader(rc, imageio.MaxImageBytes+1))
		if err == nil && len(b) > imageio.MaxImageBytes {
			err = fmt.Errorf("larger than %d bytes", imageio.MaxImageBytes)
		}
		if err == nil {
			err = use(b, rc.URI().Name())
		}
		if err != nil {
			s.showError(fmt.Errorf("%s: %w", rc.URI().Name(), err))
		}
	}, s.win)
	d.SetFilter(storage.NewExtensionFileFilter(exts))
	d.Show()
}

// dropped opens the first picture dropped on the window: a recipe PNG is
// drawn again, another picture goes to the Inpaint tab.
func (s *Window) dropped(uris []fyne.URI) {
	for _, u := range uris {
		switch strings.ToLower(u.Extension()) {
		case ".png", ".jpg", ".jpeg":
		default:
			continue
		}
		rc, err := storage.Reader(u)
		if err != nil {
			s.showError(err)
			return
		}
		b, err := io.ReadAll(io.LimitReader(rc, imageio.MaxImageBytes+1))
		rc.Close()
		if err == nil {
			err = s.openBytes(b, u.Name())
		}
		if err != nil {
			s.showError(fmt.Errorf("%s: %w", u.Name(), err))
		}
		return
	}
}

// OpenRecipe restores every setting of a PNG's recipe and draws it again.
func (s *Window) OpenRecipe(b []byte) error {
	r, mask, err := studio.ReadPNG(b)
	if err != nil {
		return err
	}
	if r.ModelHash != s.info.Hash {
		return fmt.Errorf("this picture was drawn by model %s (sha256 %.12s…); open that model first", r.Model, r.ModelHash)
	}
	var in studio.Inputs
	if r.Inpaint != nil || r.Init != nil {
		// The picture is named by its hash: it must be the one in the
		// Inpaint tab (open it there first); the mask travels in the PNG.
		want := ""
		if r.Inpaint != nil {
			want = r.Inpaint.ImageHash
		} else {
			want = r.Init.ImageHash
		}
		pic := s.inpaint.painter.Picture()
		if studio.ImageHash(pic) != want {
			return fmt.Errorf("this recipe starts from the picture %q: open it in the Inpaint tab first, then open the PNG again", recipeImage(r))
		}
		in.Image = pic
		if mask != nil {
			in.Mask = mask
			s.inpaint.painter.SetMask(mask)
		}
	}
	if r.Fork == nil {
		s.SetRecipe(r)
	}
	return s.launch(launchSpec{recipe: r, inputs: in})
}

func recipeImage(r studio.Recipe) string {
	if r.Inpaint != nil {
		return r.Inpaint.Image
	}
	if r.Init != nil {
		return r.Init.Image
	}
	return ""
}

// OpenFile opens a picture file: a PNG carrying a recipe is drawn again
// with its settings; any other picture goes to the Inpaint tab.
func (s *Window) OpenFile(path string) {
	b, err := safeio.ReadFile(s.ctx, path, imageio.MaxImageBytes)
	if err == nil {
		err = s.openBytes(b, path)
	}
	if err != nil {
		s.showError(err)
	}
}

func (s *Window) openBytes(b []byte, name string) error {
	if len(b) > imageio.MaxImageBytes {
		return fmt.Errorf("larger than %d bytes", imageio.MaxImageBytes)
	}
	if _, _, err := studio.ReadPNG(b); err == nil {
		return s.OpenRecipe(b)
	}
	img, err := imageio.Decode(b)
	if err != nil {
		return err
	}
	s.SetInputPicture(img, name, nil)
	s.tabs.SelectIndex(1)
	return nil
}
