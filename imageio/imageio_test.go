package imageio

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestTo8BitMatchesDiffusers(t *testing.T) {
	cases := []struct {
		v    float32
		want uint8
	}{
		{-1, 0}, {1, 255}, {-3, 0}, {7, 255}, {0, 128}, // 127.5 rounds half to even: 128
		{float32(math.NaN()), 0}, {float32(math.Inf(-1)), 0},
	}
	for _, c := range cases {
		if got := To8Bit(c.v); got != c.want {
			t.Errorf("To8Bit(%v) = %d, want %d", c.v, got, c.want)
		}
	}
	// Every 8-bit value survives FromImage then To8Bit.
	img := image.NewGray(image.Rect(0, 0, 256, 1))
	for i := range img.Pix {
		img.Pix[i] = uint8(i)
	}
	x, err := FromImage(img, 1, 1, 256)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range x {
		if To8Bit(v) != uint8(i) {
			t.Fatalf("pixel %d comes back as %d", i, To8Bit(v))
		}
	}
}

func TestPNGTextRoundTrip(t *testing.T) {
	img := image.NewNRGBA(image.Rect(0, 0, 3, 2))
	for i := range img.Pix {
		img.Pix[i] = uint8(37 * i)
	}
	var buf bytes.Buffer
	text := map[string]string{"parameters": `{"seed": 42, "note": "ᾱ"}`, "Software": "DDPM Studio"}
	if err := EncodePNG(&buf, img, text); err != nil {
		t.Fatal(err)
	}
	dec, err := png.Decode(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatalf("standard decoder rejects our PNG: %v", err)
	}
	for y := 0; y < 2; y++ {
		for x := 0; x < 3; x++ {
			if color.NRGBAModel.Convert(dec.At(x, y)) != img.At(x, y) {
				t.Fatalf("pixel (%d,%d) changed", x, y)
			}
		}
	}
	got, err := ReadPNGText(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range text {
		if got[k] != v {
			t.Errorf("chunk %q = %q, want %q", k, got[k], v)
		}
	}
	var again bytes.Buffer
	EncodePNG(&again, img, text)
	if !bytes.Equal(buf.Bytes(), again.Bytes()) {
		t.Error("encoding is not deterministic")
	}
	if _, err := ReadPNGText(bytes.NewReader([]byte("GIF89a"))); err == nil {
		t.Error("accepted a non-PNG")
	}
	if _, err := ReadPNGText(bytes.NewReader(buf.Bytes()[:40])); err == nil {
		t.Error("accepted a truncated PNG")
	}
	if err := EncodePNG(&bytes.Buffer{}, img, map[string]string{"": "x"}); err == nil {
		t.Error("accepted an empty keyword")
	}
}

func TestMaskThreshold(t *testing.T) {
	img := image.NewGray(image.Rect(0, 0, 4, 1))
	img.Pix = []uint8{0, 127, 128, 255}
	m := MaskOf(img)
	if got := m.Floats(false); got[0] != 0 || got[1] != 0 || got[2] != 1 || got[3] != 1 {
		t.Errorf("mask %v", got)
	}
	if got := m.Floats(true); got[0] != 1 || got[3] != 0 {
		t.Errorf("inverted mask %v", got)
	}
	if m.Count() != 2 {
		t.Errorf("count %d, want 2", m.Count())
	}
	if g := m.Gray(); g.Pix[1] != 0 || g.Pix[2] != 255 {
		t.Errorf("gray %v", g.Pix)
	}
}

// TestMaskResize: nearest neighbour, the one rule — every output pixel is
// the source pixel its position maps to, so a mask stays binary and an
// enlargement by k repeats each pixel k times.
func TestMaskResize(t *testing.T) {
	m := &Mask{W: 3, H: 2, Pix: []uint8{1, 0, 1, 0, 1, 0}}
	cases := []struct {
		w, h int
		want []uint8
	}{
		{3, 2, []uint8{1, 0, 1, 0, 1, 0}},
		{6, 2, []uint8{1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0}},
		{2, 1, []uint8{1, 0}},
		{1, 4, []uint8{1, 1, 0, 0}},
		{0, 0, []uint8{}},
	}
	for _, c := range cases {
		got := m.Resize(c.w, c.h)
		if got.W != c.w || got.H != c.h || !bytes.Equal(got.Pix, c.want) {
			t.Errorf("resize to %dx%d: %v, want %v", c.w, c.h, got.Pix, c.want)
		}
	}
}

func TestToImageRGB(t *testing.T) {
	x := []float32{-1, 1, 0, 0, 1, -1} // R plane, G plane, B plane of a 2×1 image
	img, err := ToImage(x, 3, 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	if got := img.At(0, 0).(color.NRGBA); got != (color.NRGBA{0, 128, 255, 255}) {
		t.Errorf("pixel 0 = %v", got)
	}
	if _, err := ToImage(x, 2, 1, 3); err == nil {
		t.Error("2 channels accepted")
	}
}

func FuzzReadPNGText(f *testing.F) {
	var buf bytes.Buffer
	EncodePNG(&buf, image.NewGray(image.Rect(0, 0, 2, 2)), map[string]string{"parameters": `{"seed":1}`})
	f.Add(buf.Bytes(), "parameters", `{"seed":1}`)
	f.Add([]byte("\x89PNG\r\n\x1a\n"), "k", "")
	f.Add([]byte{}, "Comment", "a\x00b")
	f.Fuzz(func(t *testing.T, b []byte, key, value string) {
		// Arbitrary bytes: an error or a map, never a panic.
		text, err := ReadPNGText(bytes.NewReader(b))
		if err == nil && text == nil {
			t.Fatal("nil map without an error")
		}
		// Round trip: whatever EncodePNG accepts reads back exactly, and the
		// pixels are untouched.
		img := image.NewGray(image.Rect(0, 0, 3, 2))
		for i := range img.Pix {
			img.Pix[i] = byte(len(value) + 7*i)
		}
		var out bytes.Buffer
		if err := EncodePNG(&out, img, map[string]string{key: value}); err != nil {
			return
		}
		got, err := ReadPNGText(bytes.NewReader(out.Bytes()))
		if err != nil {
			t.Fatalf("reading back: %v", err)
		}
		if len(got) != 1 || got[key] != value {
			t.Fatalf("wrote {%q: %q}, read %q", key, value, got)
		}
		back, err := png.Decode(bytes.NewReader(out.Bytes()))
		if err != nil {
			t.Fatal(err)
		}
		if g, ok := back.(*image.Gray); !ok || !bytes.Equal(g.Pix, img.Pix) {
			t.Fatal("pixels changed by the text chunk")
		}
	})
}

// hugePNG is a valid PNG header claiming w×h pixels, with no pixel data.
func hugePNG(w, h uint32) []byte {
	var buf bytes.Buffer
	buf.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 0 // 8-bit greyscale
	writeChunk(&buf, "IHDR", ihdr)
	writeChunk(&buf, "IEND", nil)
	return buf.Bytes()
}

func TestDecodeRefusesHugeHeaders(t *testing.T) {
	b := hugePNG(200000, 200000)
	if len(b) > 100 {
		t.Fatalf("test PNG is %d bytes", len(b))
	}
	_, err := Decode(b)
	if err == nil || !strings.Contains(err.Error(), "200000×200000") {
		t.Errorf("huge PNG: %v", err)
	}
	path := filepath.Join(t.TempDir(), "huge.png")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(path); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("Load: %v, want an error naming the path", err)
	}
	if _, err := Load("/dev/zero"); err == nil || !strings.Contains(err.Error(), "device") {
		t.Errorf("/dev/zero: %v", err)
	}
}

// FuzzDecode: arbitrary bytes decode to an image within the limits or give
// an error; never a panic or an allocation the header alone asked for.
func FuzzDecode(f *testing.F) {
	var buf bytes.Buffer
	EncodePNG(&buf, image.NewGray(image.Rect(0, 0, 3, 2)), nil)
	f.Add(buf.Bytes())
	f.Add(hugePNG(200000, 200000))
	f.Add(hugePNG(8192, 8193))
	f.Fuzz(func(t *testing.T, b []byte) {
		img, err := Decode(b)
		if err != nil {
			return
		}
		if s := img.Bounds().Size(); s.X < 1 || s.Y < 1 || s.X > MaxImageSide || s.Y > MaxImageSide {
			t.Fatalf("decoded a %v image", s)
		}
	})
}

func TestPaintSampleMatchesToImage(t *testing.T) {
	for _, c := range []int{1, 3} {
		x := make([]float32, c*5*7)
		for i := range x {
			x[i] = float32(i%17)/8 - 1
		}
		want, err := ToImage(x, c, 5, 7)
		if err != nil {
			t.Fatal(err)
		}
		dst := image.NewRGBA(image.Rect(0, 0, 10, 9))
		PaintSample(dst, 2, 3, x, c, 5, 7)
		for y := 0; y < 5; y++ {
			for i := 0; i < 7; i++ {
				r1, g1, b1, _ := want.At(i, y).RGBA()
				r2, g2, b2, a2 := dst.At(2+i, 3+y).RGBA()
				if r1 != r2 || g1 != g2 || b1 != b2 || a2 != 0xffff {
					t.Fatalf("C=%d pixel (%d,%d) differs", c, i, y)
				}
			}
		}
		if dst.Pix[0] != 0 || dst.Pix[3] != 0 {
			t.Error("painted outside the sample's rectangle")
		}
	}
}

// BenchmarkShowFrame: the cost of turning a recorded frame (x_t and x̂_0)
// into displayed pixels, per frame, at the embedded model's size and at
// 256×256 RGB. The app's bar is ≤ 1 ms and ≤ 5 ms, allocation-free.
func BenchmarkShowFrame(b *testing.B) {
	for _, s := range []struct {
		name    string
		c, h, w int
	}{{"28x28x1", 1, 28, 28}, {"256x256x3", 3, 256, 256}} {
		b.Run(s.name, func(b *testing.B) {
			xt := make([]float32, s.c*s.h*s.w)
			x0 := make([]float32, len(xt))
			for i := range xt {
				xt[i], x0[i] = float32(i%13)/6-1, float32(i%7)/3-1
			}
			dst := image.NewRGBA(image.Rect(0, 0, 2*s.w+1, s.h))
			b.ReportAllocs()
			for b.Loop() {
				PaintSample(dst, 0, 0, xt, s.c, s.h, s.w)
				PaintSample(dst, s.w+1, 0, x0, s.c, s.h, s.w)
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/1000, "ms/frame")
		})
	}
}
