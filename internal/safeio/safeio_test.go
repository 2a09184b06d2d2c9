package safeio

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestReadFile(t *testing.T) {
	dir := t.TempDir()
	small := filepath.Join(dir, "small")
	if err := os.WriteFile(small, []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if b, err := ReadFile(ctx, small, 5); err != nil || string(b) != "hello" {
		t.Errorf("small file: %q, %v", b, err)
	}
	for _, c := range []struct {
		path  string
		limit int64
		is    error
		want  string
	}{
		{small, 4, ErrTooLarge, "5 bytes, the limit is 4"},
		{fifo, 100, ErrNotRegular, "a FIFO"},
		{"/dev/zero", 100, ErrNotRegular, "a device"},
		{dir, 100, ErrNotRegular, "a folder"},
	} {
		_, err := ReadFile(ctx, c.path, c.limit)
		if !errors.Is(err, c.is) || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), c.path) {
			t.Errorf("%s: %v, want %v mentioning %q and the path", c.path, err, c.is, c.want)
		}
	}
	if _, err := ReadFile(ctx, filepath.Join(dir, "absent"), 10); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("absent file: %v", err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := ReadFile(cancelled, small, 10); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled read: %v", err)
	}
}

func TestReader(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	r := Reader(ctx, bytes.NewReader(make([]byte, 100)), "x", 50)
	if _, err := io.ReadAll(r); !errors.Is(err, ErrTooLarge) {
		t.Errorf("over the limit: %v", err)
	}
	r = Reader(ctx, bytes.NewReader(make([]byte, 10)), "x", 50)
	if b, err := io.ReadAll(r); err != nil || len(b) != 10 {
		t.Errorf("under the limit: %d bytes, %v", len(b), err)
	}
	cancel()
	r = Reader(ctx, bytes.NewReader(make([]byte, 10)), "x", 50)
	if _, err := io.ReadAll(r); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}

// TestReadFileHashed: the bytes are ReadFile's and the hash is theirs, for
// files smaller than a read and spanning several; refusals stay refusals.
func TestReadFileHashed(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []int{0, 1, 3*chunk + 5} {
		p := filepath.Join(dir, fmt.Sprint(n))
		want := make([]byte, n)
		for i := range want {
			want[i] = byte(i * 7)
		}
		if err := os.WriteFile(p, want, 0o644); err != nil {
			t.Fatal(err)
		}
		h := sha256.New()
		got, err := ReadFileHashed(context.Background(), p, int64(n)+1, h)
		if err != nil {
			t.Fatal(err)
		}
		if sum := sha256.Sum256(want); !bytes.Equal(got, want) || !bytes.Equal(h.Sum(nil), sum[:]) {
			t.Errorf("%d bytes: the bytes or their hash differ", n)
		}
	}
	if _, err := ReadFileHashed(context.Background(), dir, 1<<20, sha256.New()); !errors.Is(err, ErrNotRegular) {
		t.Errorf("a folder: %v", err)
	}
}
