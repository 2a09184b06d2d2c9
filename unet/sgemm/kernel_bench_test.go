package sgemm

import "testing"

// kernelPanels are L1-resident A and B panels of depth k and a C tile for
// kern, filled with small values.
func kernelPanels(kern Kernel, k int) (a, b, c []float32) {
	a = make([]float32, kern.MR*k)
	b = make([]float32, kern.NR*k)
	c = make([]float32, kern.MR*kern.NR)
	for i := range a {
		a[i] = 1e-3
	}
	for i := range b {
		b[i] = 1e-3
	}
	return a, b, c
}

// BenchmarkKernel times each micro-kernel alone on L1-resident panels: the
// ceiling the blocked product can reach.
func BenchmarkKernel(b *testing.B) {
	for _, kern := range AllKernels() {
		b.Run(kern.Name, func(b *testing.B) {
			const k = 256
			a, bb, c := kernelPanels(kern, k)
			for i := 0; i < b.N; i++ {
				kern.run(k, a, bb, c, kern.NR)
			}
			b.ReportMetric(2*float64(kern.MR*kern.NR*k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

// BenchmarkKernelParallel runs the micro-kernel on every core at once, each
// on its own panels: with -cpu 1,2 it says how far a second thread can add
// FMA throughput on this machine (two vCPUs that share one core's FMA units
// would show about the one-thread figure).
func BenchmarkKernelParallel(b *testing.B) {
	kern := Kernels()[0]
	const k = 256
	b.RunParallel(func(pb *testing.PB) {
		a, bb, c := kernelPanels(kern, k)
		for pb.Next() {
			kern.run(k, a, bb, c, kern.NR)
		}
	})
	b.ReportMetric(2*float64(kern.MR*kern.NR*k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}
