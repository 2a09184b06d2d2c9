//go:build !cgo

package main

import (
	"fmt"
	"io"
)

// window cannot open: the window (Fyne) needs cgo, and this build was made
// without it. Every command of the command line works.
func window(stderr io.Writer, _, _ string) int {
	fmt.Fprintln(stderr, "ddpmstudio: this build has no window (built without cgo); run a command, e.g. ddpmstudio sample --help")
	return 2
}
