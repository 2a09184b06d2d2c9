// Package hugemem gives the kernel advice about the pages of large float
// buffers. Before their first touch it asks for transparent huge pages:
// where THP is in "madvise" mode (the Debian default), Go's heap gets 4
// KiB pages, and filling a 455 MB checkpoint buffer or a model's 570 MB of
// packed kernels costs a page fault every 4 KiB: on the two-core machines
// this project is measured on, a third of loading a 256² model and most of
// its first step. With the advice, a 2 MiB page faults in at once. Once
// values are dead (a kernel kept only in its packed form), Release gives
// their pages back at once. It is advice: where the kernel refuses, or on
// other systems, nothing changes but the time and the memory resident.
package hugemem
