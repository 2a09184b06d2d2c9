package studio

import (
	"os"
	"path/filepath"
)

// Version is the program version written into every recipe.
const Version = "0.1.0"

// EmbeddedModel names the embedded default model in recipes and settings. A
// model folder is recorded by its path, and a folder whose path happens to
// spell this name is recorded as "./" + name (see ModelName), so the two can
// never be confused.
const EmbeddedModel = "embedded:default"

// legacyEmbeddedModel is how recipes written before 0.1.1 named the embedded
// model; it is read as EmbeddedModel unless a folder of that name exists.
const legacyEmbeddedModel = "default"

// ModelName is the name a recipe records for the model loaded from dir
// ("" = the embedded model).
func ModelName(dir string) string {
	if IsEmbedded(dir) {
		return EmbeddedModel
	}
	c := RecordedPath(dir)
	if c == EmbeddedModel || c == legacyEmbeddedModel {
		return "./" + c
	}
	return c
}

// RecordedPath is how a recipe records a path: relative paths as given
// (cleaned), absolute ones by their base name, so that no user or folder
// name leaks into a shared PNG.
func RecordedPath(p string) string {
	if p == "" {
		return p
	}
	if filepath.IsAbs(p) {
		return filepath.Base(p)
	}
	return filepath.Clean(p)
}

// IsEmbedded reports whether a recipe's model name means the embedded model.
func IsEmbedded(name string) bool {
	if name == "" || name == EmbeddedModel {
		return true
	}
	if name == legacyEmbeddedModel {
		st, err := os.Stat(name)
		return err != nil || !st.IsDir()
	}
	return false
}
