//go:build !amd64

package sgemm

// Kernels lists the kernels this CPU can run: only the portable one here.
func Kernels() []Kernel { return []Kernel{Portable} }
