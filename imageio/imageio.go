// Package imageio converts between the models' float32 tensors and images,
// and writes the files the program exports: PNGs that carry their recipe in a
// tEXt chunk, sample grids, chain strips and animated GIFs.
//
// Tensors are one sample in CHW order with values in [−1, 1]; pixels map as
// diffusers' DDPMPipeline maps them: (x/2 + 0.5) clamped to [0, 1], ×255,
// rounded half to even (numpy's round).
package imageio

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"github.com/ddpmstudio/ddpmstudio/internal/safeio"
	"hash/crc32"
	"image"
	"image/color"
	"image/color/palette"
	"image/draw"
	"image/gif"
	_ "image/jpeg" // decode JPEG inputs
	"image/png"
	"io"
	"math"
	"strings"

	"github.com/disintegration/imaging"
)

// ToImage turns one sample (C = 1 grey or C = 3 RGB) into an image.
func ToImage(x []float32, c, h, w int) (image.Image, error) {
	if len(x) != c*h*w {
		return nil, fmt.Errorf("imageio: %d values for a %d×%d×%d sample", len(x), c, h, w)
	}
	hw := h * w
	switch c {
	case 1:
		img := image.NewGray(image.Rect(0, 0, w, h))
		for i := 0; i < hw; i++ {
			img.Pix[(i/w)*img.Stride+i%w] = To8Bit(x[i])
		}
		return img, nil
	case 3:
		img := image.NewNRGBA(image.Rect(0, 0, w, h))
		for i := 0; i < hw; i++ {
			o := (i/w)*img.Stride + 4*(i%w)
			img.Pix[o], img.Pix[o+1], img.Pix[o+2], img.Pix[o+3] = To8Bit(x[i]), To8Bit(x[hw+i]), To8Bit(x[2*hw+i]), 255
		}
		return img, nil
	}
	return nil, fmt.Errorf("imageio: %d channels cannot be shown as an image (want 1 or 3)", c)
}

// To8Bit maps a model value in [−1, 1] to a pixel as DDPMPipeline does.
func To8Bit(v float32) uint8 {
	p := float32(v/2) + 0.5
	if !(p > 0) { // also maps NaN to 0
		p = 0
	}
	if p > 1 {
		p = 1
	}
	return uint8(math.RoundToEven(float64(p * 255)))
}

// Limits on pictures read from outside, checked from the file's header
// before any pixel is decoded.
const (
	MaxImageSide  = 8192
	MaxImageBytes = 256 << 20
)

// Load decodes a PNG or JPEG file.
func Load(path string) (image.Image, error) {
	img, _, err := LoadContext(context.Background(), path)
	return img, err
}

// LoadContext reads a regular file of at most MaxImageBytes (cancellable)
// and decodes it as PNG or JPEG within the size limits. It also returns the
// file's bytes, so that a caller hashes exactly what it decoded.
func LoadContext(ctx context.Context, path string) (image.Image, []byte, error) {
	b, err := safeio.ReadFile(ctx, path, MaxImageBytes)
	if err != nil {
		return nil, nil, err
	}
	img, err := Decode(b)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	return img, b, nil
}

// Decode decodes a PNG or JPEG after reading its header: pictures wider or
// taller than MaxImageSide are refused before their pixels are allocated.
func Decode(b []byte) (image.Image, error) {
	cfg, format, err := image.DecodeConfig(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("not a readable PNG or JPEG: %w", err)
	}
	if cfg.Width < 1 || cfg.Height < 1 || cfg.Width > MaxImageSide || cfg.Height > MaxImageSide {
		return nil, fmt.Errorf("the %s header claims %d×%d pixels; the limit is %d×%d", format, cfg.Width, cfg.Height, MaxImageSide, MaxImageSide)
	}
	img, _, err := image.Decode(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("not a readable PNG or JPEG: %w", err)
	}
	return img, nil
}

// Fit resizes img to w×h (Lanczos) when it has another size, and reports
// whether it did.
func Fit(img image.Image, w, h int) (image.Image, bool) {
	if b := img.Bounds(); b.Dx() == w && b.Dy() == h {
		return img, false
	}
	return imaging.Resize(img, w, h, imaging.Lanczos), true
}

// FromImage converts an image of exactly w×h pixels to a C×H×W sample in
// [−1, 1]: grey (luma) for C = 1, RGB for C = 3.
func FromImage(img image.Image, c, h, w int) ([]float32, error) {
	b := img.Bounds()
	if b.Dx() != w || b.Dy() != h {
		return nil, fmt.Errorf("imageio: image is %d×%d, want %d×%d", b.Dx(), b.Dy(), w, h)
	}
	if c != 1 && c != 3 {
		return nil, fmt.Errorf("imageio: cannot make a %d-channel sample from an image", c)
	}
	out := make([]float32, c*h*w)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			px := img.At(b.Min.X+x, b.Min.Y+y)
			if c == 1 {
				g := color.GrayModel.Convert(px).(color.Gray)
				out[y*w+x] = float32(g.Y)/127.5 - 1
				continue
			}
			n := color.NRGBAModel.Convert(px).(color.NRGBA)
			out[y*w+x] = float32(n.R)/127.5 - 1
			out[h*w+y*w+x] = float32(n.G)/127.5 - 1
			out[2*h*w+y*w+x] = float32(n.B)/127.5 - 1
		}
	}
	return out, nil
}

// Grid tiles equally sized images in rows of cols, with a gap of pad pixels.
func Grid(imgs []image.Image, cols, pad int) image.Image {
	if len(imgs) == 0 {
		return image.NewNRGBA(image.Rect(0, 0, 1, 1))
	}
	cols = max(1, min(cols, len(imgs)))
	rows := (len(imgs) + cols - 1) / cols
	w, h := imgs[0].Bounds().Dx(), imgs[0].Bounds().Dy()
	out := image.NewNRGBA(image.Rect(0, 0, cols*w+(cols-1)*pad, rows*h+(rows-1)*pad))
	draw.Draw(out, out.Bounds(), image.White, image.Point{}, draw.Src)
	for i, img := range imgs {
		r, c := i/cols, i%cols
		at := image.Pt(c*(w+pad), r*(h+pad))
		draw.Draw(out, image.Rectangle{at, at.Add(image.Pt(w, h))}, img, img.Bounds().Min, draw.Src)
	}
	return out
}

// Scale enlarges img by an integer factor with nearest-neighbour sampling,
// so small model outputs stay crisp.
func Scale(img image.Image, factor int) image.Image {
	if factor <= 1 {
		return img
	}
	b := img.Bounds()
	return imaging.Resize(img, b.Dx()*factor, b.Dy()*factor, imaging.NearestNeighbor)
}

// WriteGIF writes an animated GIF of the frames (delay in 1/100 s), holding
// the last frame longer.
func WriteGIF(w io.Writer, frames []image.Image, delay int) error {
	if len(frames) == 0 {
		return errors.New("imageio: no frames for the GIF")
	}
	anim := &gif.GIF{}
	grey := make(color.Palette, 256)
	for i := range grey {
		grey[i] = color.Gray{uint8(i)}
	}
	for i, f := range frames {
		pal := color.Palette(palette.Plan9)
		if isGrey(f) {
			pal = grey
		}
		p := image.NewPaletted(f.Bounds(), pal)
		if isGrey(f) {
			draw.Draw(p, f.Bounds(), f, f.Bounds().Min, draw.Src)
		} else {
			draw.FloydSteinberg.Draw(p, f.Bounds(), f, f.Bounds().Min)
		}
		anim.Image = append(anim.Image, p)
		d := delay
		if i == len(frames)-1 {
			d = 4 * delay
		}
		anim.Delay = append(anim.Delay, d)
	}
	return gif.EncodeAll(w, anim)
}

func isGrey(img image.Image) bool {
	_, ok := img.(*image.Gray)
	if ok {
		return true
	}
	n, ok := img.(*image.NRGBA)
	if !ok {
		return false
	}
	for i := 0; i < len(n.Pix); i += 4 {
		if n.Pix[i] != n.Pix[i+1] || n.Pix[i] != n.Pix[i+2] {
			return false
		}
	}
	return true
}

// EncodePNG writes img as PNG with the given tEXt chunks (Latin-1 keywords
// of 1–79 characters). Go's encoder is deterministic, so the same pixels and
// text give the same bytes.
func EncodePNG(w io.Writer, img image.Image, text map[string]string) error {
	var buf bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestCompression}
	if err := enc.Encode(&buf, img); err != nil {
		return err
	}
	b := buf.Bytes()
	// The signature (8 bytes) is followed by IHDR: 4 length + 4 type + 13 data + 4 CRC.
	const afterIHDR = 8 + 4 + 4 + 13 + 4
	if _, err := w.Write(b[:afterIHDR]); err != nil {
		return err
	}
	for _, k := range sortedKeys(text) {
		if len(k) == 0 || len(k) > 79 || strings.IndexByte(k, 0) >= 0 {
			return fmt.Errorf("imageio: tEXt keyword %q must have 1 to 79 characters and no NUL", k)
		}
		data := append(append([]byte(k), 0), text[k]...)
		if err := writeChunk(w, "tEXt", data); err != nil {
			return err
		}
	}
	_, err := w.Write(b[afterIHDR:])
	return err
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	for i := 1; i < len(keys); i++ {
		for j := i; j > 0 && keys[j] < keys[j-1]; j-- {
			keys[j], keys[j-1] = keys[j-1], keys[j]
		}
	}
	return keys
}

func writeChunk(w io.Writer, typ string, data []byte) error {
	var hdr [8]byte
	binary.BigEndian.PutUint32(hdr[:4], uint32(len(data)))
	copy(hdr[4:], typ)
	crc := crc32.NewIEEE()
	crc.Write(hdr[4:])
	crc.Write(data)
	var sum [4]byte
	binary.BigEndian.PutUint32(sum[:], crc.Sum32())
	for _, p := range [][]byte{hdr[:], data, sum[:]} {
		if _, err := w.Write(p); err != nil {
			return err
		}
	}
	return nil
}

// ReadPNGText returns the tEXt chunks of a PNG file.
func ReadPNGText(r io.Reader) (map[string]string, error) {
	b, err := io.ReadAll(io.LimitReader(r, MaxImageBytes+1))
	if err == nil && len(b) > MaxImageBytes {
		err = fmt.Errorf("PNG larger than %d bytes", MaxImageBytes)
	}
	if err != nil {
		return nil, err
	}
	if len(b) < 8 || string(b[:8]) != "\x89PNG\r\n\x1a\n" {
		return nil, errors.New("not a PNG file")
	}
	out := map[string]string{}
	ended := false
	for p := 8; p+8 <= len(b) && !ended; {
		n := int(binary.BigEndian.Uint32(b[p:]))
		typ := string(b[p+4 : p+8])
		if n < 0 || p+12+n > len(b) {
			return nil, errors.New("truncated PNG chunk")
		}
		data := b[p+8 : p+8+n]
		if typ == "tEXt" {
			if i := bytes.IndexByte(data, 0); i > 0 {
				out[string(data[:i])] = string(data[i+1:])
			}
		}
		ended = typ == "IEND"
		p += 12 + n
	}
	if !ended {
		return nil, errors.New("truncated PNG (no IEND chunk)")
	}
	return out, nil
}

// Quantize writes To8Bit of every value of x into dst (grown to len(x)) and
// returns it: the bytes a view paints for x, which a run keeps for every
// step so that its timeline never recomputes a picture.
func Quantize(dst []uint8, x []float32) []uint8 {
	if cap(dst) < len(x) {
		dst = make([]uint8, len(x))
	}
	dst = dst[:len(x)]
	for i, v := range x {
		dst[i] = To8Bit(v)
	}
	return dst
}

// PaintSample writes one sample (C = 1 grey or C = 3 RGB, values in
// [−1, 1]) into dst with its top-left corner at (x0, y0), as opaque pixels
// mapped as DDPMPipeline maps them. It allocates nothing: the live view
// calls it for every frame it shows. Channels other than 1 and 3 show the
// first channel as grey.
func PaintSample(dst *image.RGBA, x0, y0 int, x []float32, c, h, w int) {
	paintPlanes(dst, x0, y0, x, c, h, w, To8Bit)
}

// PaintSample8 is PaintSample for values already quantized (Quantize).
func PaintSample8(dst *image.RGBA, x0, y0 int, x []uint8, c, h, w int) {
	paintPlanes(dst, x0, y0, x, c, h, w, func(v uint8) uint8 { return v })
}

func paintPlanes[T float32 | uint8](dst *image.RGBA, x0, y0 int, x []T, c, h, w int, to8 func(T) uint8) {
	hw := h * w
	for y := 0; y < h; y++ {
		row := dst.Pix[(y0+y)*dst.Stride+4*x0:]
		for i := 0; i < w; i++ {
			p := y*w + i
			var r, g, b uint8
			if c == 3 {
				r, g, b = to8(x[p]), to8(x[hw+p]), to8(x[2*hw+p])
			} else {
				r = to8(x[p])
				g, b = r, r
			}
			o := 4 * i
			row[o], row[o+1], row[o+2], row[o+3] = r, g, b, 255
		}
	}
}
