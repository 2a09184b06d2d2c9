package hugemem

import (
	"os"
	"unsafe"
)

// huge is the huge-page size the advice aims at (x86-64 and arm64 with 4
// KiB base pages).
const huge = 2 << 20

// Threshold is the size from which Floats advises: below it a buffer
// holds at most one whole huge page.
const Threshold = 2 * huge

// Advise marks the whole huge pages inside b for transparent huge pages.
// Call it before b is first written: pages already faulted in stay small.
func Advise(b []byte) {
	if len(b) < Threshold {
		return
	}
	if in := inside(b, huge); len(in) > 0 {
		adviseHuge(in)
	}
}

// Floats returns make([]float32, n), advised when large.
func Floats(n int) []float32 {
	v := make([]float32, n)
	if 4*n >= Threshold {
		Advise(bytesOf(v))
	}
	return v
}

// Release tells the system that the whole pages inside v will not be read
// again, so they stop counting as resident now rather than when the
// garbage collector frees v (which it cannot do while v is a slice of a
// larger live buffer, such as an adopted checkpoint). Pages v shares with
// other memory are left alone. v must never be read afterwards: on Linux
// its pages read back as zeros; elsewhere nothing happens, and the
// collector frees the values when nothing else holds their memory.
func Release(v []float32) {
	if in := inside(bytesOf(v), uintptr(os.Getpagesize())); len(in) > 0 {
		release(in)
	}
}

// inside is the part of b made of whole blocks of align bytes (a power of
// two) at addresses that are multiples of it; empty when there is none.
func inside(b []byte, align uintptr) []byte {
	if len(b) == 0 {
		return nil
	}
	start := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	first := (start + align - 1) &^ (align - 1)     // the first block inside b
	end := (start + uintptr(len(b))) &^ (align - 1) // the end of the last
	if first >= end {
		return nil
	}
	return b[first-start : end-start]
}

// bytesOf is v's memory as bytes.
func bytesOf(v []float32) []byte {
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(v))), 4*len(v))
}
