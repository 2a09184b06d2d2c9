// Package safeio reads files that come from outside the program — model
// folders, images, masks, recipes, data sets — without trusting them: only
// regular files are opened (a device such as /dev/zero, a FIFO that never
// delivers, or a folder is refused before any read), every read is bounded,
// and long reads stop when their context is cancelled.
package safeio

import (
	"context"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"

	"github.com/ddpmstudio/ddpmstudio/internal/hugemem"
)

// ErrTooLarge is wrapped when a file exceeds the limit its reader allows.
var ErrTooLarge = errors.New("file too large")

// ErrNotRegular is wrapped when a path names something other than a regular file.
var ErrNotRegular = errors.New("not a regular file")

// chunk is how much is read between two looks at the context.
const chunk = 4 << 20

// Open opens path for reading after checking, before and after opening,
// that it is a regular file. Checking first keeps a FIFO from blocking the
// open itself; checking the opened file closes the race with a swap.
func Open(path string) (*os.File, int64, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, 0, err
	}
	if err := regular(path, st); err != nil {
		return nil, 0, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	st, err = f.Stat()
	if err == nil {
		err = regular(path, st)
	}
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	return f, st.Size(), nil
}

func regular(path string, st fs.FileInfo) error {
	if st.Mode().IsRegular() {
		return nil
	}
	what := "a special file"
	switch m := st.Mode(); {
	case m.IsDir():
		what = "a folder"
	case m&fs.ModeNamedPipe != 0:
		what = "a FIFO"
	case m&fs.ModeDevice != 0:
		what = "a device"
	case m&fs.ModeSocket != 0:
		what = "a socket"
	}
	return fmt.Errorf("%s: %w (it is %s)", path, ErrNotRegular, what)
}

// CheckRegular reports whether path is a regular file, without reading it.
func CheckRegular(path string) error {
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	return regular(path, st)
}

// ReadFile reads a whole regular file of at most limit bytes. The size is
// checked before anything is allocated, and again while reading (a file
// that grows is cut off at limit+1 bytes and refused).
func ReadFile(ctx context.Context, path string, limit int64) ([]byte, error) {
	return readFile(ctx, path, limit, nil)
}

// ReadFileHashed is ReadFile that also writes the bytes to h (a SHA-256,
// say) as they arrive, on another goroutine: a 455 MB checkpoint is read
// and hashed in the time of the slower of the two, not of both.
func ReadFileHashed(ctx context.Context, path string, limit int64, h hash.Hash) ([]byte, error) {
	chunks := make(chan []byte, 16)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for c := range chunks {
			h.Write(c)
		}
	}()
	b, err := readFile(ctx, path, limit, func(c []byte) { chunks <- c })
	close(chunks)
	<-done
	return b, err
}

// readFile reads path, handing each piece read to got (when not nil).
// The pieces stay valid: a buffer that has to grow is copied, not reused.
func readFile(ctx context.Context, path string, limit int64, got func([]byte)) ([]byte, error) {
	f, size, err := Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if size > limit {
		return nil, fmt.Errorf("%s: %w: %d bytes, the limit is %d", path, ErrTooLarge, size, limit)
	}
	buf := make([]byte, 0, size+1)
	hugemem.Advise(buf[:cap(buf)]) // a checkpoint: 2 MiB page faults, not 4 KiB ones
	r := io.LimitReader(f, limit+1)
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):min(cap(buf), len(buf)+chunk)])
		if got != nil && n > 0 {
			got(buf[len(buf) : len(buf)+n])
		}
		buf = buf[:len(buf)+n]
		if int64(len(buf)) > limit {
			return nil, fmt.Errorf("%s: %w: more than %d bytes", path, ErrTooLarge, limit)
		}
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", path, err)
		}
	}
}

// Reader wraps r so that reads stop with ctx's error once ctx is done, and
// at most limit bytes are delivered before ErrTooLarge.
func Reader(ctx context.Context, r io.Reader, name string, limit int64) io.Reader {
	return &ctxReader{ctx: ctx, r: r, name: name, left: limit, limit: limit}
}

type ctxReader struct {
	ctx         context.Context
	r           io.Reader
	name        string
	left, limit int64
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	if c.left <= 0 {
		return 0, fmt.Errorf("%s: %w: more than %d bytes", c.name, ErrTooLarge, c.limit)
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	if len(p) > chunk {
		p = p[:chunk]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	return n, err
}
