//go:build !(linux || darwin || freebsd || netbsd || openbsd)

package cpu

// releasePages is a no-op here: the garbage collector frees the values
// when nothing else holds their memory.
func releasePages(v []float32) {}
