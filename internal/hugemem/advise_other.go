//go:build !linux

package hugemem

func adviseHuge(b []byte) {}
