// Package atomicfile writes files so that readers, and interrupted runs,
// never see a partial one: the content goes to a temporary file in the same
// folder, is synced, and is renamed over the target.
//
// Temporary files are named "." + base + ".tmp" + digits. A process killed
// mid-write (SIGKILL, power loss) leaves one behind; CleanStale, which the
// commands run on their output folders at start, removes them.
package atomicfile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Write writes path with write's output, atomically, mode 0644. Errors name
// path, never the temporary file.
func Write(path string, write func(io.Writer) error) error {
	dir, base := filepath.Dir(path), filepath.Base(path)
	f, err := os.CreateTemp(dir, "."+base+".tmp*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, unwrapPath(err))
	}
	tmp := f.Name()
	defer os.Remove(tmp) // a no-op once renamed
	fail := func(err error) error {
		f.Close()
		return fmt.Errorf("writing %s: %w", path, unwrapPath(err))
	}
	if err := write(f); err != nil {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if err := f.Chmod(0o644); err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, unwrapPath(err))
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("writing %s: %w", path, unwrapPath(err))
	}
	return nil
}

// unwrapPath drops an *fs.PathError's path (the temporary file's) and keeps
// its cause, so that the message names only the user's path.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		return le.Err
	}
	return err
}

// isTemp reports whether name follows our temporary naming pattern.
func isTemp(name string) bool {
	if !strings.HasPrefix(name, ".") {
		return false
	}
	i := strings.LastIndex(name, ".tmp")
	if i < 1 || i+4 == len(name) {
		return false
	}
	for _, c := range name[i+4:] {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// CleanStale removes the temporary files of our naming pattern in dir:
// leftovers of writes that a killed process never finished. Commands call
// it on their output folders before they start writing.
func CleanStale(dir string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if e.Type().IsRegular() && isTemp(e.Name()) {
			os.Remove(filepath.Join(dir, e.Name()))
		}
	}
}
