package hugemem

import "unsafe"

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
	start := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	first := (start + huge - 1) &^ (huge - 1)
	end := (start + uintptr(len(b))) &^ (huge - 1)
	if first < end {
		adviseHuge(b[first-start : end-start])
	}
}

// Floats returns make([]float32, n), advised when large.
func Floats(n int) []float32 {
	v := make([]float32, n)
	if 4*n >= Threshold {
		Advise(unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(v))), 4*n))
	}
	return v
}
