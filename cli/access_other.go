//go:build !unix

package cli

import "os"

// canWrite reports whether this process may create files in dir, by
// creating one (no access(2) here).
func canWrite(dir string) bool {
	f, err := os.CreateTemp(dir, ".ddpmstudio-probe-*")
	if err != nil {
		return false
	}
	f.Close()
	os.Remove(f.Name())
	return true
}
