// Package hugemem asks the kernel for transparent huge pages on large
// buffers before their first touch. Where THP is in "madvise" mode (the
// Debian default), Go's heap gets 4 KiB pages, and filling a 455 MB
// checkpoint buffer or a model's 570 MB of packed kernels costs a page
// fault every 4 KiB: on the two-core machines this project is measured on,
// a third of loading a 256² model and most of its first step. With the
// advice, a 2 MiB page faults in at once. It is advice: where the kernel
// refuses, or on other systems, nothing changes but the time.
package hugemem
