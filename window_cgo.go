//go:build cgo

package main

import (
	"io"

	"github.com/ddpmstudio/ddpmstudio/app/desktop"
)

// window opens the studio window (Fyne, which needs cgo).
func window(stderr io.Writer, picture string) int { return desktop.Main(stderr, picture) }
