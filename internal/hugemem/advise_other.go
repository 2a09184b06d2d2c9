//go:build !linux

package hugemem

func adviseHuge(b []byte) {}

// release does nothing off Linux: the garbage collector frees the values
// when nothing else holds their memory.
func release(b []byte) {}
