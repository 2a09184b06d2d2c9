//go:build cgo

package studio

import (
	"github.com/ddpmstudio/ddpmstudio/render"
	"github.com/ddpmstudio/ddpmstudio/unet"
)

// openGL opens the OpenGL compute backend (package render, which needs
// cgo) and names its renderer.
func openGL() (unet.Backend, string, error) {
	g, err := render.Open()
	if err != nil {
		return nil, "", err
	}
	return g, g.Renderer, nil
}

// HasGL reports whether this build has the OpenGL backend.
const HasGL = true
