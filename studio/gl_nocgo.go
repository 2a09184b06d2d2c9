//go:build !cgo

package studio

import (
	"errors"

	"github.com/ddpmstudio/ddpmstudio/unet"
)

// openGL has no backend to open: the OpenGL backend (package render) calls
// the GL driver through cgo, and this build was made without it
// (CGO_ENABLED=0, a cross-compiled CLI). auto then takes the CPU.
func openGL() (unet.Backend, string, error) {
	return nil, "", errors.New("this build has no GL backend (built without cgo)")
}

// HasGL reports whether this build has the OpenGL backend.
const HasGL = false
