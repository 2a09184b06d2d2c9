package unet

import (
	"fmt"

	"github.com/ddpmstudio/ddpmstudio/unet/backend"
)

// The backend contract lives in package backend, which a backend author
// imports without the graph; these aliases keep the model's API readable.
type (
	Shape   = backend.Shape
	Tensor  = backend.Tensor
	Padding = backend.Padding
	Backend = backend.Backend
	Caps    = backend.Caps
	Adopter = backend.Adopter
)

// CheckCaps refuses a config whose largest tensor, at batch n on h×w, does
// not fit the backend: checked before loading, so that the caller can
// choose another backend.
func CheckCaps(cfg Config, b Backend, n, h, w int) error {
	caps := b.Caps()
	if caps.MaxTensorBytes <= 0 {
		return nil
	}
	m, err := dryBuild(cfg)
	if err != nil {
		return err
	}
	var largest int64
	for _, p := range m.params {
		largest = max(largest, 4*int64(p.Elements()))
	}
	nb := m.backend.(*nullBackend)
	nb.largest = 0
	m.dry = true
	classes := []int(nil)
	if cfg.HasClasses() {
		classes = make([]int, n)
	}
	if _, err := m.forward(nil, n, h, w, make([]float32, n), classes); err != nil {
		return err
	}
	largest = max(largest, nb.largest)
	if largest > caps.MaxTensorBytes {
		return fmt.Errorf("backend %s holds tensors of at most %d MiB; this model at batch %d needs one of %d MiB",
			b.Name(), caps.MaxTensorBytes>>20, n, largest>>20)
	}
	return nil
}
