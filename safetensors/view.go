package safetensors

import "unsafe"

// littleEndian reports whether this machine stores a uint32's low byte
// first, as safetensors files do (amd64 and arm64 both do).
var littleEndian = func() bool {
	x := uint32(1)
	return *(*byte)(unsafe.Pointer(&x)) == 1
}()

// Float32View returns an F32 tensor's values without copying them: a
// []float32 over t.Data itself, which the caller must then treat as the
// values' only home (writing one changes the other). It reports false,
// and the caller copies with Float32, when the tensor is not F32, when its
// bytes are not four-byte aligned in memory, or on a big-endian machine.
// A 455 MB checkpoint loads without a second 455 MB and without touching
// every page twice.
func (t Tensor) Float32View() ([]float32, bool) {
	if t.DType != F32 || !littleEndian {
		return nil, false
	}
	n := 1
	for _, d := range t.Shape {
		n *= d
	}
	if len(t.Data) != 4*n {
		return nil, false // Float32 names the mismatch
	}
	if n == 0 {
		return []float32{}, true
	}
	p := unsafe.Pointer(unsafe.SliceData(t.Data))
	if uintptr(p)%4 != 0 {
		return nil, false
	}
	return unsafe.Slice((*float32)(p), n), true
}
