//go:build cgo

package main

import (
	"io"

	"github.com/ddpmstudio/ddpmstudio/app/desktop"
)

// window opens the studio window (Fyne, which needs cgo) on a model
// ("" = the last one used) and a picture to open ("" = none).
func window(stderr io.Writer, picture, model string) int { return desktop.Main(stderr, picture, model) }
