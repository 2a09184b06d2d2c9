//go:build !linux

package cpu

// releasePages is a no-op off Linux: the garbage collector frees the values
// when nothing else holds their memory.
func releasePages(v []float32) {}
