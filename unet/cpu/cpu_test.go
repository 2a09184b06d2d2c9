package cpu_test

import (
	"testing"

	"gonum.org/v1/gonum/blas/gonum"

	"github.com/ddpmstudio/ddpmstudio/unet"
	"github.com/ddpmstudio/ddpmstudio/unet/backendtest"
	"github.com/ddpmstudio/ddpmstudio/unet/cpu"
	"github.com/ddpmstudio/ddpmstudio/unet/sgemm"
)

func TestCPUBackendConformance(t *testing.T) {
	for _, k := range sgemm.Kernels() {
		t.Run(k.Name, func(t *testing.T) { backendtest.Run(t, cpu.NewWithBLAS(sgemm.WithKernel(k))) })
	}
	t.Run("gonum", func(t *testing.T) { backendtest.Run(t, cpu.NewWithBLAS(gonum.Implementation{})) })
}

// TestGoldenForward runs every golden fixture on every product
// implementation of the CPU backend: each SGEMM kernel this CPU has (the
// packed-weight convolution path) and gonum's own (the im2col path).
func TestGoldenForward(t *testing.T) {
	for _, k := range sgemm.Kernels() {
		t.Run(k.Name, func(t *testing.T) {
			backendtest.RunGolden(t, func() unet.Backend { return cpu.NewWithBLAS(sgemm.WithKernel(k)) })
		})
	}
	t.Run("gonum", func(t *testing.T) {
		backendtest.RunGolden(t, func() unet.Backend { return cpu.NewWithBLAS(gonum.Implementation{}) })
	})
}
