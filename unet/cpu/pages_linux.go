package cpu

import (
	"os"
	"syscall"
	"unsafe"
)

// releasePages tells the system that the whole pages inside v will not be
// read again, so they stop counting as resident now rather than when the
// garbage collector frees v (which it cannot do while v is a slice of a
// larger live buffer, such as an adopted checkpoint). Pages v shares with
// other memory are left alone. v must never be read afterwards: the pages
// read back as zeros.
func releasePages(v []float32) {
	if len(v) == 0 {
		return
	}
	b := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(v))), 4*len(v))
	page := uintptr(os.Getpagesize())
	start := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	first := (start + page - 1) &^ (page - 1)      // the first page inside v
	end := (start + uintptr(len(b))) &^ (page - 1) // the end of the last
	if first < end {
		_ = syscall.Madvise(b[first-start:end-start], syscall.MADV_DONTNEED) // advice: failure only costs memory
	}
}
