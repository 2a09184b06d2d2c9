package unet

import (
	"testing"

	"github.com/ddpmstudio/ddpmstudio/unet/cpu"
)

// embeddedModel builds the embedded default model's config (the file its
// training starts from) with random weights; bench/pytorch_mnist.py builds
// the same, 1,114,209 parameters.
func embeddedModel(b *testing.B) *Model {
	m := configModel(b, "../train/configs/mnist-default.json")
	params := 0
	for _, p := range m.Params() {
		params += p.Tensor.Shape().Len()
	}
	if params != 1114209 {
		b.Fatalf("%d parameters; the PyTorch yardstick has 1,114,209", params)
	}
	return m
}

func BenchmarkMNISTForward(b *testing.B) {
	m := embeddedModel(b)
	x := randomInput(28 * 28)
	must(m.Forward(x, 1, 28, 28, []float32{5}, []int{1}))(b) // warm the arena
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		must(m.Forward(x, 1, 28, 28, []float32{5}, []int{1}))(b)
	}
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N)*1e3, "ms/forward")
}

func BenchmarkMNISTTrainStep(b *testing.B) {
	m := embeddedModel(b)
	const n = 64
	x := randomInput(n * 28 * 28)
	ts, cl := make([]float32, n), make([]int, n)
	tp := must(m.NewTape())(b)
	// Two warm-up steps: the first sizes the tape's memory, the second
	// faults it in; training runs thousands of steps on that memory.
	for range 2 {
		out := must(tp.Forward(x, n, 28, 28, ts, cl))(b)
		if err := tp.Backward(out); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		out := must(tp.Forward(x, n, 28, 28, ts, cl))(b)
		if err := tp.Backward(out); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N)*1e3, "ms/step")
}

// configModel builds the model a config file describes, random weights,
// on the CPU backend.
func configModel(b *testing.B, path string) *Model {
	cfg, err := LoadConfig(path)
	if err != nil {
		b.Fatal(err)
	}
	m, err := New(cfg, 1, cpu.New())
	if err != nil {
		b.Fatal(err)
	}
	return m
}
