package unet

import (
	"math"
	"testing"

	"github.com/ddpmstudio/ddpmstudio/unet/cpu"
)

// TestFromWeightsCopies: the caller's Weights stay the caller's. Only a
// load's private buffer is adopted by the CPU backend; a model built with
// FromWeights and then changed (a training step) leaves w as it was.
func TestFromWeightsCopies(t *testing.T) {
	src, err := New(tinyConfig(), 3, cpu.New())
	if err != nil {
		t.Fatal(err)
	}
	w := &Weights{Source: "test", Tensors: map[string]WeightTensor{}}
	for _, p := range src.Params() {
		v := make([]float32, product(p.Dims))
		src.Backend().Download(v, p.Tensor)
		w.Tensors[p.Name] = WeightTensor{Dims: p.Dims, Data: v}
	}
	m, err := FromWeights(tinyConfig(), w, cpu.New())
	if err != nil {
		t.Fatal(err)
	}
	p := m.Params()[0]
	before := math.Float32bits(w.Tensors[p.Name].Data[0])
	v := make([]float32, len(w.Tensors[p.Name].Data))
	for i := range v {
		v[i] = 42
	}
	m.Backend().Upload(p.Tensor, v)
	if got := math.Float32bits(w.Tensors[p.Name].Data[0]); got != before {
		t.Fatalf("uploading to the model changed the caller's weights %q", p.Name)
	}
}
