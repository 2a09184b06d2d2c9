package app

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"

	"github.com/ddpmstudio/ddpmstudio/diffusion"
	"github.com/ddpmstudio/ddpmstudio/imageio"
	"github.com/ddpmstudio/ddpmstudio/studio"
)

// digit is a 28×28 test picture: a bright ring on black.
func digit() *image.Gray {
	img := image.NewGray(image.Rect(0, 0, 28, 28))
	for y := 0; y < 28; y++ {
		for x := 0; x < 28; x++ {
			dx, dy := x-14, y-14
			if d := dx*dx + dy*dy; d > 30 && d < 80 {
				img.Pix[y*28+x] = 240
			}
		}
	}
	return img
}

// paintTopHalf paints the top half of the painter with a stroke per row.
func paintTopHalf(s *Window) {
	p := s.inpaint.painter
	p.Resize(fyne.NewSize(280, 280))
	p.Radius = 0.5
	for y := 0; y < 14; y++ {
		p.MouseDown(&desktop.MouseEvent{PointEvent: fyne.PointEvent{Position: fyne.NewPos(5, float32(y*10+5))}})
		p.Dragged(&fyne.DragEvent{PointEvent: fyne.PointEvent{Position: fyne.NewPos(275, float32(y*10+5))}})
		p.DragEnd()
	}
}

func TestInpaintingKeepsTheKnownPixels(t *testing.T) {
	for _, method := range []string{"RePaint", "replace"} {
		t.Run(method, func(t *testing.T) {
			s, _ := newStudio(t, nil)
			quick(s, 10, 4, 1)
			s.SetInputPicture(digit(), "digit.png", nil)
			paintTopHalf(s)
			if got := s.inpaint.painter.Painted(); got != 14*28 {
				t.Fatalf("painted %d pixels, want the top half (%d)", got, 14*28)
			}
			s.inpaint.method.SetSelected(method)
			s.inpaint.jumpLength.SetText("3")
			s.inpaint.jumpSample.SetText("2")
			s.Inpaint()
			if err := s.wait(); err != nil {
				t.Fatal(err)
			}
			var b bytes.Buffer
			if err := s.WritePNG(&b); err != nil {
				t.Fatal(err)
			}
			out, err := png.Decode(bytes.NewReader(b.Bytes()))
			if err != nil {
				t.Fatal(err)
			}
			want := digit()
			changed := 0
			for y := 0; y < 28; y++ {
				for x := 0; x < 28; x++ {
					got := out.(*image.Gray).GrayAt(x, y).Y
					if y >= 14 && got != want.GrayAt(x, y).Y {
						t.Fatalf("kept pixel (%d,%d) = %d, the picture has %d", x, y, got, want.GrayAt(x, y).Y)
					}
					if y < 14 && got != want.GrayAt(x, y).Y {
						changed++
					}
				}
			}
			if changed < 50 {
				t.Errorf("only %d regenerated pixels changed", changed)
			}
			rec, mask, err := studio.ReadPNG(b.Bytes())
			if err != nil || mask == nil || rec.Inpaint == nil || rec.Inpaint.ImageHash != studio.ImageHash(digit()) {
				t.Fatalf("recipe %+v, mask %v, %v", rec.Inpaint, mask != nil, err)
			}
			if method == "RePaint" {
				// The timeline is the sampler's plan: t goes down and back up.
				sc, _, _ := studio.ApplySchedule(s.sess.Scheduler(), rec.Schedule)
				rp, err := diffusion.NewRePaint(sc, rec.Steps, 3, 2, rec.Eta, diffusion.Known{Image: make([]float32, 784), Mask: make([]float32, 784)})
				if err != nil {
					t.Fatal(err)
				}
				plan, want := s.currentRun().Plan(), rp.Plan()
				if len(plan) != len(want) {
					t.Fatalf("timeline of %d events, the sampler plans %d", len(plan), len(want))
				}
				ups := 0
				for i := range plan {
					if plan[i] != want[i] {
						t.Fatalf("event %d: %v, the sampler plans %v", i, plan[i], want[i])
					}
					if plan[i].Kind == diffusion.Renoise {
						ups++
					}
				}
				if ups == 0 || !s.timeline.strip.Visible() {
					t.Errorf("%d re-noising events; t plot hidden %v", ups, !s.timeline.strip.Visible())
				}
				// A re-noising event predicts nothing: the x̂₀ panel keeps
				// the last prediction instead of going blank.
				for i := range plan {
					if plan[i].Kind != diffusion.Renoise {
						continue
					}
					s.SetCursor(i)
					s.waitIdle()
					last, err := s.currentRun().Frame(context.Background(), i-1)
					if err != nil {
						t.Fatal(err)
					}
					if !bytes.Equal(s.view.Picture(PanelX0).Pix, paintedIn(s, PanelX0, last.X0).Pix) {
						t.Errorf("re-noising event %d: x̂₀ is not the prediction of event %d", i, i-1)
					}
					break
				}
			}
		})
	}
}

func TestNoiseViewShowsTheForwardProcess(t *testing.T) {
	s, _ := newStudio(t, nil)
	s.sampler.seed.SetText("21")
	s.SetInputPicture(digit(), "digit.png", nil)
	x0, err := imageio.FromImage(digit(), 1, 28, 28)
	if err != nil {
		t.Fatal(err)
	}
	eps := make([]float32, 784)
	diffusion.StreamNoise{Seed: 21, K: 0, Shape: diffusion.Shape{N: 1, C: 1, H: 28, W: 28}}.Draw(0, eps)
	sched, _ := s.sess.Scheduler().Schedule()
	for _, tt := range []int{0, 300, 999} {
		s.noiseT(tt)
		xt := make([]float32, 784)
		if err := diffusion.QSample(sched, tt, x0, eps, xt); err != nil {
			t.Fatal(err)
		}
		want := image.NewRGBA(image.Rect(0, 0, 28, 28))
		imageio.PaintSample(want, 0, 0, xt, 1, 28, 28)
		if !bytes.Equal(s.noisePicture().Pix, want.Pix) {
			t.Errorf("t=%d: the Noise view is not q(x_t | x_0)", tt)
		}
	}
}

func TestDenoiseAtStrengthOneIsTheUnconditionalRun(t *testing.T) {
	s, _ := newStudio(t, nil)
	quick(s, 8, 13, 1)
	s.sampler.eta.SetValue(1)
	s.sampler.class.SetSelected(noClass)
	plain := generate(t, s)
	s.sampler.class.SetSelected("4") // a picture is redrawn without the panel's class

	s.SetInputPicture(digit(), "digit.png", nil)
	s.noiseT(999)
	s.DenoiseFromHere()
	if err := s.wait(); err != nil {
		t.Fatal(err)
	}
	img2img := s.currentRun()
	if img2img == plain || img2img.Recipe().Init == nil || img2img.Recipe().Init.Strength != 1 {
		t.Fatalf("denoise recipe %+v", img2img.Recipe().Init)
	}
	if r := img2img.Recipe(); r.Class != nil || r.AnyClass || r.Guidance != 0 {
		t.Errorf("image-to-image of a plain picture used class %v (any %v, guidance %v): want unconditional", r.Class, r.AnyClass, r.Guidance)
	}
	if !bytes.Equal(f32bytes(plain.Final()), f32bytes(img2img.Final())) {
		t.Error("strength 1 differs from the unconditional run with the same seed")
	}
	// From half-way: the run starts part-way and the timeline with it.
	s.noiseT(500)
	s.DenoiseFromHere()
	if err := s.wait(); err != nil {
		t.Fatal(err)
	}
	half := s.currentRun()
	if half.StartIndex() == 0 || half.Plan()[half.StartIndex()].T > 500 || s.timeline.slider.Min != float64(half.StartIndex()) {
		t.Errorf("half-way run starts at %d (t=%d), timeline from %v", half.StartIndex(), half.Plan()[half.StartIndex()].T, s.timeline.slider.Min)
	}
	f, err := half.Frame(context.Background(), half.StartIndex())
	if err != nil {
		t.Fatal(err)
	}
	want, _, _ := s.sess.Noised(digit(), 13, half.Plan()[half.StartIndex()].T, half.Recipe().Schedule)
	if !bytes.Equal(f32bytes(f.X), f32bytes(want)) {
		t.Error("the run did not start from q(x_t | x_0)")
	}
}
