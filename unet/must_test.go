package unet

import (
	"testing"

	"github.com/ddpmstudio/ddpmstudio/safetensors"
)

// must checks the error of a call that returns one value:
// must(m.NewTape())(t). Tests and benchmarks never drop an error.
func must[T any](v T, err error) func(testing.TB) T {
	return func(tb testing.TB) T {
		tb.Helper()
		if err != nil {
			tb.Fatal(err)
		}
		return v
	}
}

func f32(tb testing.TB, f *safetensors.File, name string) ([]float32, []int) {
	tb.Helper()
	v, shape, err := f.Float32(name)
	if err != nil {
		tb.Fatal(err)
	}
	return v, shape
}

func i64(tb testing.TB, f *safetensors.File, name string) ([]int64, []int) {
	tb.Helper()
	v, shape, err := f.Int64(name)
	if err != nil {
		tb.Fatal(err)
	}
	return v, shape
}

func f64(tb testing.TB, f *safetensors.File, name string) ([]float64, []int) {
	tb.Helper()
	v, shape, err := f.Float64(name)
	if err != nil {
		tb.Fatal(err)
	}
	return v, shape
}
