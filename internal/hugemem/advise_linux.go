package hugemem

import "syscall"

// madvHugepage is MADV_HUGEPAGE (linux/mman.h), which package syscall
// does not name.
const madvHugepage = 14

func adviseHuge(b []byte) {
	_ = syscall.Madvise(b, madvHugepage) // advice: a refusal only costs time
}

func release(b []byte) {
	_ = syscall.Madvise(b, syscall.MADV_DONTNEED) // advice: a refusal only costs memory
}
