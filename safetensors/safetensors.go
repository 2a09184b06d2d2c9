package safetensors

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
)

// DType names an element type as the header spells it.
type DType string

// The element types this package understands.
const (
	F64  DType = "F64"
	F32  DType = "F32"
	F16  DType = "F16"
	BF16 DType = "BF16"
	I64  DType = "I64"
	I32  DType = "I32"
	I16  DType = "I16"
	I8   DType = "I8"
	U8   DType = "U8"
	Bool DType = "BOOL"
)

// Size is the width of one element in bytes, or 0 for an unknown dtype.
func (d DType) Size() int {
	switch d {
	case F64, I64:
		return 8
	case F32, I32:
		return 4
	case F16, BF16, I16:
		return 2
	case I8, U8, Bool:
		return 1
	}
	return 0
}

// MaxHeaderBytes bounds the JSON header. The format's reference reader uses
// 100 MB; a header larger than that is not a checkpoint but an attack.
const MaxHeaderBytes = 100 << 20

// Info describes one tensor of a file.
type Info struct {
	Name  string
	DType DType
	Shape []int
	// Begin and End are byte offsets into the data section.
	Begin, End int64
}

// Elements is the number of elements of the tensor.
func (in Info) Elements() int {
	n := 1
	for _, d := range in.Shape {
		n *= d
	}
	return n
}

// File is a parsed safetensors file held in memory.
type File struct {
	// Names lists the tensors in ascending name order.
	Names    []string
	Tensors  map[string]Info
	Metadata map[string]string
	data     []byte
}

// ErrNotFound is wrapped by lookups of a tensor the file does not hold.
var ErrNotFound = errors.New("tensor not in file")

// ReadFile reads and validates a whole file.
func ReadFile(path string) (*File, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	f, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return f, nil
}

type rawEntry struct {
	DType       DType   `json:"dtype"`
	Shape       []int64 `json:"shape"`
	DataOffsets []int64 `json:"data_offsets"`
}

// Parse validates b as a safetensors file. The returned File aliases b.
func Parse(b []byte) (*File, error) {
	if len(b) < 8 {
		return nil, fmt.Errorf("safetensors: file is %d bytes, shorter than the 8-byte header length", len(b))
	}
	n := binary.LittleEndian.Uint64(b[:8])
	if n > MaxHeaderBytes {
		return nil, fmt.Errorf("safetensors: header length %d exceeds the %d-byte limit", n, MaxHeaderBytes)
	}
	if n > uint64(len(b)-8) {
		return nil, fmt.Errorf("safetensors: header length %d runs past the end of the %d-byte file", n, len(b))
	}
	header := b[8 : 8+n]
	data := b[8+n:]

	var raw map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(header))
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("safetensors: header is not a JSON object: %w", err)
	}
	if raw == nil {
		return nil, errors.New("safetensors: header is JSON null, not an object")
	}
	f := &File{Tensors: make(map[string]Info, len(raw)), data: data}
	for name, msg := range raw {
		if name == "__metadata__" {
			if err := json.Unmarshal(msg, &f.Metadata); err != nil {
				return nil, fmt.Errorf("safetensors: __metadata__ is not an object of strings: %w", err)
			}
			continue
		}
		var e rawEntry
		if err := json.Unmarshal(msg, &e); err != nil {
			return nil, fmt.Errorf("safetensors: tensor %q: malformed entry: %w", name, err)
		}
		info, err := validate(name, e, int64(len(data)))
		if err != nil {
			return nil, err
		}
		f.Tensors[name] = info
		f.Names = append(f.Names, name)
	}
	sort.Strings(f.Names)
	if err := checkLayout(f, int64(len(data))); err != nil {
		return nil, err
	}
	return f, nil
}

func validate(name string, e rawEntry, dataLen int64) (Info, error) {
	size := e.DType.Size()
	if size == 0 {
		return Info{}, fmt.Errorf("safetensors: tensor %q: unknown dtype %q", name, e.DType)
	}
	if len(e.DataOffsets) != 2 {
		return Info{}, fmt.Errorf("safetensors: tensor %q: data_offsets has %d entries, want 2", name, len(e.DataOffsets))
	}
	begin, end := e.DataOffsets[0], e.DataOffsets[1]
	if begin < 0 || end < begin || end > dataLen {
		return Info{}, fmt.Errorf("safetensors: tensor %q: data_offsets [%d, %d] outside the %d-byte data section", name, begin, end, dataLen)
	}
	// Stop as soon as the count could no longer fit the data section, so a
	// lying shape such as [2^40, 2^40] can never overflow the product.
	count := int64(1)
	shape := make([]int, len(e.Shape))
	for i, d := range e.Shape {
		if d < 0 {
			return Info{}, fmt.Errorf("safetensors: tensor %q: negative dimension %d in shape %v", name, d, e.Shape)
		}
		if d != 0 && count > dataLen/d {
			return Info{}, fmt.Errorf("safetensors: tensor %q: shape %v has more elements than the %d-byte data section can hold", name, e.Shape, dataLen)
		}
		count *= d
		shape[i] = int(d)
	}
	if count*int64(size) != end-begin {
		return Info{}, fmt.Errorf("safetensors: tensor %q: shape %v of %s needs %d bytes but data_offsets [%d, %d] span %d",
			name, e.Shape, e.DType, count*int64(size), begin, end, end-begin)
	}
	return Info{Name: name, DType: e.DType, Shape: shape, Begin: begin, End: end}, nil
}

// checkLayout rejects overlapping ranges and holes, as the format's reference
// reader does: every byte of the data section belongs to exactly one tensor.
func checkLayout(f *File, dataLen int64) error {
	infos := make([]Info, 0, len(f.Tensors))
	for _, in := range f.Tensors {
		infos = append(infos, in)
	}
	sort.Slice(infos, func(i, j int) bool {
		if infos[i].Begin != infos[j].Begin {
			return infos[i].Begin < infos[j].Begin
		}
		return infos[i].End < infos[j].End
	})
	pos := int64(0)
	for _, in := range infos {
		if in.Begin < pos {
			return fmt.Errorf("safetensors: tensor %q: bytes [%d, %d] overlap another tensor", in.Name, in.Begin, in.End)
		}
		if in.Begin > pos {
			return fmt.Errorf("safetensors: tensor %q starts at byte %d, leaving a hole after byte %d", in.Name, in.Begin, pos)
		}
		pos = in.End
	}
	if pos != dataLen {
		return fmt.Errorf("safetensors: data section is %d bytes but tensors cover only %d", dataLen, pos)
	}
	return nil
}

// Has reports whether the file holds a tensor of that name.
func (f *File) Has(name string) bool {
	_, ok := f.Tensors[name]
	return ok
}

// Raw returns the tensor's bytes, aliasing the file.
func (f *File) Raw(name string) (Info, []byte, error) {
	in, ok := f.Tensors[name]
	if !ok {
		return Info{}, nil, fmt.Errorf("%q: %w", name, ErrNotFound)
	}
	return in, f.data[in.Begin:in.End], nil
}

// Float32 returns a copy of a floating-point tensor converted to float32, and its shape.
func (f *File) Float32(name string) ([]float32, []int, error) {
	in, b, err := f.Raw(name)
	if err != nil {
		return nil, nil, err
	}
	v, err := Tensor{Name: name, DType: in.DType, Shape: in.Shape, Data: b}.Float32()
	return v, in.Shape, err
}

// Float32 converts a floating-point tensor's little-endian bytes to
// float32 (F16, BF16 and F64 rounded as a file's are): the one conversion
// for tensors read from a file and tensors made elsewhere (a PyTorch
// checkpoint's).
func (t Tensor) Float32() ([]float32, error) {
	n := 1
	for _, d := range t.Shape {
		n *= d
	}
	if sz := t.DType.Size(); sz != 0 && len(t.Data) != n*sz {
		return nil, fmt.Errorf("tensor %q: %d bytes for shape %v of %s", t.Name, len(t.Data), t.Shape, t.DType)
	}
	b := t.Data
	out := make([]float32, n)
	switch t.DType {
	case F32:
		for i := range out {
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
		}
	case F64:
		for i := range out {
			out[i] = float32(math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:])))
		}
	case F16:
		for i := range out {
			out[i] = HalfToFloat32(binary.LittleEndian.Uint16(b[2*i:]))
		}
	case BF16:
		for i := range out {
			out[i] = math.Float32frombits(uint32(binary.LittleEndian.Uint16(b[2*i:])) << 16)
		}
	default:
		return nil, fmt.Errorf("tensor %q: dtype %s is not a floating-point type", t.Name, t.DType)
	}
	return out, nil
}

// Float64 returns a copy of a floating-point tensor as float64 (F64 exactly, others widened).
func (f *File) Float64(name string) ([]float64, []int, error) {
	in, b, err := f.Raw(name)
	if err != nil {
		return nil, nil, err
	}
	if in.DType == F64 {
		out := make([]float64, in.Elements())
		for i := range out {
			out[i] = math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:]))
		}
		return out, in.Shape, nil
	}
	v, shape, err := f.Float32(name)
	if err != nil {
		return nil, nil, err
	}
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out, shape, nil
}

// Int64 returns a copy of an integer tensor widened to int64.
func (f *File) Int64(name string) ([]int64, []int, error) {
	in, b, err := f.Raw(name)
	if err != nil {
		return nil, nil, err
	}
	out := make([]int64, in.Elements())
	switch in.DType {
	case I64:
		for i := range out {
			out[i] = int64(binary.LittleEndian.Uint64(b[8*i:]))
		}
	case I32:
		for i := range out {
			out[i] = int64(int32(binary.LittleEndian.Uint32(b[4*i:])))
		}
	default:
		return nil, nil, fmt.Errorf("tensor %q: dtype %s is not I64 or I32", name, in.DType)
	}
	return out, in.Shape, nil
}

// HalfToFloat32 converts an IEEE 754 binary16 value.
func HalfToFloat32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	frac := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f: // Inf or NaN
		return math.Float32frombits(sign | 0xff<<23 | frac<<13)
	case exp != 0:
		return math.Float32frombits(sign | (exp+112)<<23 | frac<<13)
	case frac == 0:
		return math.Float32frombits(sign)
	}
	// Subnormal half: value = frac * 2^-24, exactly representable in float32.
	v := float32(frac) * (1.0 / (1 << 24))
	if sign != 0 {
		v = -v
	}
	return v
}

// Float32ToHalf converts to IEEE 754 binary16 with round-to-nearest-even.
func Float32ToHalf(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int32(b>>23) & 0xff
	frac := b & 0x7fffff
	if exp == 0xff { // Inf or NaN
		if frac != 0 {
			return sign | 0x7e00
		}
		return sign | 0x7c00
	}
	e := exp - 127 + 15
	if e >= 0x1f {
		return sign | 0x7c00
	}
	if e <= 0 {
		if e < -10 {
			return sign
		}
		m := frac | 0x800000
		shift := uint32(14 - e)
		half := m >> shift
		rem := m & (1<<shift - 1)
		mid := uint32(1) << (shift - 1)
		if rem > mid || (rem == mid && half&1 == 1) {
			half++
		}
		return sign | uint16(half)
	}
	half := uint32(e)<<10 | frac>>13
	rem := frac & 0x1fff
	if rem > 0x1000 || (rem == 0x1000 && half&1 == 1) {
		half++ // may carry into the exponent, which is still correct rounding
	}
	return sign | uint16(half)
}

// Tensor is one entry to write.
type Tensor struct {
	Name  string
	DType DType
	Shape []int
	// Data holds the little-endian bytes; use the From* helpers to fill it.
	Data []byte
}

// FromFloat32 makes an F32 tensor.
func FromFloat32(name string, shape []int, v []float32) Tensor {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return Tensor{Name: name, DType: F32, Shape: shape, Data: b}
}

// FromFloat32AsHalf makes an F16 tensor from float32 values.
func FromFloat32AsHalf(name string, shape []int, v []float32) Tensor {
	b := make([]byte, 2*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint16(b[2*i:], Float32ToHalf(x))
	}
	return Tensor{Name: name, DType: F16, Shape: shape, Data: b}
}

// FromInt64 makes an I64 tensor.
func FromInt64(name string, shape []int, v []int64) Tensor {
	b := make([]byte, 8*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint64(b[8*i:], uint64(x))
	}
	return Tensor{Name: name, DType: I64, Shape: shape, Data: b}
}

// Write writes tensors in name order, contiguously, with the header padded
// to a multiple of 8 as the format recommends.
func Write(w io.Writer, tensors []Tensor, metadata map[string]string) error {
	sorted := append([]Tensor(nil), tensors...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Name < sorted[j].Name })
	header := make(map[string]any, len(sorted)+1)
	if len(metadata) > 0 {
		header["__metadata__"] = metadata
	}
	off := int64(0)
	for i, t := range sorted {
		if i > 0 && sorted[i-1].Name == t.Name {
			return fmt.Errorf("safetensors: tensor %q written twice", t.Name)
		}
		n := 1
		for _, d := range t.Shape {
			n *= d
		}
		if n*t.DType.Size() != len(t.Data) {
			return fmt.Errorf("safetensors: tensor %q: shape %v of %s needs %d bytes, have %d", t.Name, t.Shape, t.DType, n*t.DType.Size(), len(t.Data))
		}
		shape := t.Shape
		if shape == nil {
			shape = []int{}
		}
		header[t.Name] = map[string]any{"dtype": t.DType, "shape": shape, "data_offsets": []int64{off, off + int64(len(t.Data))}}
		off += int64(len(t.Data))
	}
	h, err := json.Marshal(header)
	if err != nil {
		return err
	}
	for len(h)%8 != 0 {
		h = append(h, ' ')
	}
	var lenBuf [8]byte
	binary.LittleEndian.PutUint64(lenBuf[:], uint64(len(h)))
	if _, err := w.Write(lenBuf[:]); err != nil {
		return err
	}
	if _, err := w.Write(h); err != nil {
		return err
	}
	for _, t := range sorted {
		if _, err := w.Write(t.Data); err != nil {
			return err
		}
	}
	return nil
}
