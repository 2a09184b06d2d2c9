package sgemm

import "testing"

// BenchmarkKernel times each micro-kernel alone on L1-resident panels: the
// ceiling the blocked product can reach.
func BenchmarkKernel(b *testing.B) {
	for _, kern := range Kernels() {
		b.Run(kern.Name, func(b *testing.B) {
			const k = 256
			a := make([]float32, kern.MR*k)
			bb := make([]float32, kern.NR*k)
			c := make([]float32, kern.MR*kern.NR)
			for i := range a {
				a[i] = 1e-3
			}
			for i := range bb {
				bb[i] = 1e-3
			}
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
		a := make([]float32, kern.MR*k)
		bb := make([]float32, kern.NR*k)
		c := make([]float32, kern.MR*kern.NR)
		for i := range a {
			a[i] = 1e-3
		}
		for i := range bb {
			bb[i] = 1e-3
		}
		for pb.Next() {
			kern.run(k, a, bb, c, kern.NR)
		}
	})
	b.ReportMetric(2*float64(kern.MR*kern.NR*k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}
