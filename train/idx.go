package train

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/ddpmstudio/ddpmstudio/internal/safeio"
)

// Limits of an idx file (MNIST's format) read from outside.
const (
	maxIDXFileBytes = 256 << 20 // compressed
	maxIDXDataBytes = 1 << 30   // decompressed payload
	maxIDXDim       = 1 << 24
)

// IDX is a decoded idx file of unsigned bytes: its dimensions and data.
type IDX struct {
	Dims []int
	Data []byte
}

// ReadIDX reads a gzip-compressed (or plain) idx file of unsigned bytes.
// The header's dimensions are checked against the limits and against the
// data actually present: a header claiming 2³¹−1 images in a small file is
// an error, never an allocation of what it claims.
func ReadIDX(ctx context.Context, path string) (*IDX, error) {
	raw, err := safeio.ReadFile(ctx, path, maxIDXFileBytes)
	if err != nil {
		return nil, err
	}
	x, err := ParseIDX(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return x, nil
}

// ParseIDX decodes idx bytes (gzip-compressed or not).
func ParseIDX(raw []byte) (*IDX, error) {
	var r io.Reader = bytes.NewReader(raw)
	if len(raw) >= 2 && raw[0] == 0x1f && raw[1] == 0x8b {
		gz, err := gzip.NewReader(r)
		if err != nil {
			return nil, fmt.Errorf("idx: %w", err)
		}
		r = gz
	}
	br := bufio.NewReader(r)
	var magic [4]byte
	if _, err := io.ReadFull(br, magic[:]); err != nil {
		return nil, fmt.Errorf("idx: truncated header: %w", err)
	}
	if magic[0] != 0 || magic[1] != 0 {
		return nil, errors.New("idx: bad magic number")
	}
	if magic[2] != 0x08 {
		return nil, fmt.Errorf("idx: element type %#x, want unsigned bytes (0x08)", magic[2])
	}
	nd := int(magic[3])
	if nd < 1 || nd > 4 {
		return nil, fmt.Errorf("idx: %d dimensions, want 1 to 4", nd)
	}
	dims := make([]int, nd)
	total := int64(1)
	for i := range dims {
		var d uint32
		if err := binary.Read(br, binary.BigEndian, &d); err != nil {
			return nil, fmt.Errorf("idx: truncated header: %w", err)
		}
		if d == 0 || d > maxIDXDim {
			return nil, fmt.Errorf("idx: dimension %d is %d, want 1…%d", i, d, maxIDXDim)
		}
		dims[i] = int(d)
		total *= int64(d)
		if total > maxIDXDataBytes {
			return nil, fmt.Errorf("idx: the header claims more than %d bytes of data", maxIDXDataBytes)
		}
	}
	// Read what is there, growing as it arrives, then compare with the claim.
	var buf bytes.Buffer
	n, err := io.Copy(&buf, io.LimitReader(br, total+1))
	if err != nil {
		return nil, fmt.Errorf("idx: %w", err)
	}
	if n != total {
		return nil, fmt.Errorf("idx: the header claims %v = %d bytes of data, the file holds %d", dims, total, n)
	}
	return &IDX{Dims: dims, Data: buf.Bytes()}, nil
}
