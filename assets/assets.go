// Package assets embeds the files the program ships: its icon and the
// default model (assets/default/, a diffusers model folder trained by this
// project; see MODEL.md), so the program is useful with no download.
package assets

import (
	"embed"
	"io/fs"
)

// files embeds the whole folder: the default model may be absent while it
// is being trained, and a pattern naming it would then not compile.
//
//go:embed *
var files embed.FS

// Icon is the application icon (PNG).
func Icon() []byte {
	b, _ := files.ReadFile("icon.png")
	return b
}

// DefaultModel returns the embedded default model folder, or false when
// this build carries none.
func DefaultModel() (fs.FS, bool) {
	sub, err := fs.Sub(files, "default")
	if err != nil {
		return nil, false
	}
	if _, err := fs.Stat(sub, "config.json"); err != nil {
		return nil, false
	}
	return sub, true
}
