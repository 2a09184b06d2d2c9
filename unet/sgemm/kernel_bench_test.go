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
