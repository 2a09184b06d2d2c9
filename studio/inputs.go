package studio

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"image"
	"image/draw"

	"github.com/ddpmstudio/ddpmstudio/diffusion"
	"github.com/ddpmstudio/ddpmstudio/imageio"
)

// Inputs are the pictures a recipe may need, in memory: the image to
// inpaint and the mask (white = regenerate, black = keep, thresholded at
// 50% grey).
type Inputs struct {
	Image image.Image
	Mask  image.Image
	// ImageFileHash and MaskFileHash are the SHA-256 of the files the
	// pictures came from, when they came from files: recipes written before
	// content hashes recorded those.
	ImageFileHash, MaskFileHash string
}

// ImageHash is the content hash recipes record for an inpainting image:
// SHA-256 over its size and 8-bit non-premultiplied RGBA pixels, so the
// same picture has the same hash whatever file format or encoder carried it.
func ImageHash(img image.Image) string {
	b := img.Bounds()
	n := image.NewNRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(n, n.Bounds(), img, b.Min, draw.Src)
	h := sha256.New()
	var hdr [8]byte
	binary.BigEndian.PutUint32(hdr[:4], uint32(b.Dx()))
	binary.BigEndian.PutUint32(hdr[4:], uint32(b.Dy()))
	h.Write([]byte("rgba8"))
	h.Write(hdr[:])
	h.Write(n.Pix)
	return hex.EncodeToString(h.Sum(nil))
}

// BinaryMask is a mask picture as inpainting uses it (imageio.MaskOf):
// 255 = regenerate, 0 = keep.
func BinaryMask(mask image.Image) *image.Gray { return imageio.MaskOf(mask).Gray() }

// MaskHash is the content hash recipes record for a mask: SHA-256 over its
// size and thresholded pixels (what the run uses, not how it was stored).
func MaskHash(mask image.Image) string {
	g := BinaryMask(mask)
	h := sha256.New()
	var hdr [8]byte
	binary.BigEndian.PutUint32(hdr[:4], uint32(g.Rect.Dx()))
	binary.BigEndian.PutUint32(hdr[4:], uint32(g.Rect.Dy()))
	h.Write([]byte("mask1"))
	h.Write(hdr[:])
	h.Write(g.Pix)
	return hex.EncodeToString(h.Sum(nil))
}

// MaskChunk is the PNG text key under which a picture carries its
// inpainting mask, so that the PNG alone reproduces the inpainting: the
// thresholded mask as a greyscale PNG, base64-encoded.
const MaskChunk = "ddpm-mask"

// EncodeMask is the MaskChunk text of a mask.
func EncodeMask(mask image.Image) (string, error) {
	var b bytes.Buffer
	if err := imageio.EncodePNG(&b, BinaryMask(mask), nil); err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(b.Bytes()), nil
}

// DecodeMask reads a MaskChunk text back (within the image size limits).
func DecodeMask(s string) (image.Image, error) {
	if len(s) > 4*imageio.MaxImageBytes/3+4 {
		return nil, fmt.Errorf("embedded mask: too large")
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("embedded mask: %w", err)
	}
	img, err := imageio.Decode(b)
	if err != nil {
		return nil, fmt.Errorf("embedded mask: %w", err)
	}
	return img, nil
}

// PrepareInpaint checks the recipe's inpainting inputs, fills in their
// content hashes (or, when the recipe already names hashes, verifies them,
// saying which input differs), and fits them to the model's size. Its
// notice says when they were resized.
func (s *Session) PrepareInpaint(r *Recipe, in Inputs) (*diffusion.Known, string, error) {
	if r.Inpaint == nil {
		return nil, "", nil
	}
	if in.Image == nil || in.Mask == nil {
		return nil, "", fmt.Errorf("inpainting needs an image and a mask")
	}
	ib, mb := in.Image.Bounds(), in.Mask.Bounds()
	if ib.Dx() != mb.Dx() || ib.Dy() != mb.Dy() {
		return nil, "", fmt.Errorf("the mask is %dx%d but the image is %dx%d: they must be the same size", mb.Dx(), mb.Dy(), ib.Dx(), ib.Dy())
	}
	imgHash, maskHash := ImageHash(in.Image), MaskHash(in.Mask)
	p := r.Inpaint
	if p.ImageHash != "" && p.ImageHash != imgHash && p.ImageHash != in.ImageFileHash {
		return nil, "", fmt.Errorf("the image (sha256 %.12s…) is not the one the recipe used (%.12s…)", imgHash, p.ImageHash)
	}
	if p.MaskHash != "" && p.MaskHash != maskHash && p.MaskHash != in.MaskFileHash {
		return nil, "", fmt.Errorf("the mask (sha256 %.12s…) is not the one the recipe used (%.12s…)", maskHash, p.MaskHash)
	}
	if p.ImageHash == "" {
		p.ImageHash = imgHash
	}
	if p.MaskHash == "" {
		p.MaskHash = maskHash
	}
	info := s.info
	fitted, resized := imageio.Fit(in.Image, info.Width, info.Height)
	notice := ""
	if resized {
		notice = fmt.Sprintf("image and mask resized from %dx%d to the model's %dx%d", ib.Dx(), ib.Dy(), info.Width, info.Height)
	}
	x, err := imageio.FromImage(fitted, info.Channels, info.Height, info.Width)
	if err != nil {
		return nil, "", err
	}
	return &diffusion.Known{Image: x, Mask: imageio.MaskOf(in.Mask).Resize(info.Width, info.Height).Floats(p.InvertMask)}, notice, nil
}
