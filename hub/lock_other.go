//go:build !unix

package hub

import (
	"context"
	"os"
)

// lockFile creates the lock file; without flock (Windows) two processes
// are not kept apart, and the .incomplete rename stays atomic.
func lockFile(ctx context.Context, p string) (func(), error) {
	f, err := os.OpenFile(p, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	return func() { f.Close() }, nil
}
