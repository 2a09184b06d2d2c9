// Package safetensors reads and writes the safetensors tensor file format used by
// Hugging Face checkpoints and by this project's golden fixtures.
//
// # Format
//
// A file is an 8-byte little-endian header length N, then N bytes of JSON
// mapping tensor names to {"dtype", "shape", "data_offsets"}, with an optional
// "__metadata__" object of string pairs, then the raw little-endian data.
// Offsets are relative to the start of the data section.
//
// # Trust
//
// Files come from outside, so the reader believes nothing in the header: the
// header length must fit the file, every shape's element count must fit in an
// int without overflow and agree with its byte range, ranges must lie inside
// the data section and may neither overlap nor leave holes. Any violation is an
// error naming the tensor; the reader never panics (see the fuzz test).
//
// Tensors are converted to float32 on request from F32, F16, BF16 and F64, the
// dtypes diffusers checkpoints use.
package safetensors
