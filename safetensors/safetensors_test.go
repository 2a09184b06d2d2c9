package safetensors

import (
	"bytes"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func encode(t *testing.T, tensors []Tensor, meta map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := Write(&buf, tensors, meta); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func withHeader(header string, data []byte) []byte {
	b := make([]byte, 8, 8+len(header)+len(data))
	binary.LittleEndian.PutUint64(b, uint64(len(header)))
	b = append(b, header...)
	return append(b, data...)
}

func TestRoundTrip(t *testing.T) {
	vals := []float32{1, -2.5, 3.25, 0, float32(math.Inf(1)), 6e-5}
	b := encode(t, []Tensor{
		FromFloat32("b.weight", []int{2, 3}, vals),
		FromInt64("a.steps", []int{2}, []int64{-1, 999}),
		FromFloat32AsHalf("c.half", []int{6}, vals),
	}, map[string]string{"format": "pt"})
	if off := 8 + binary.LittleEndian.Uint64(b); off%8 != 0 {
		t.Errorf("data starts at %d, not a multiple of 8", off)
	}
	f, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(f.Names, ","); got != "a.steps,b.weight,c.half" {
		t.Errorf("names %s", got)
	}
	if f.Metadata["format"] != "pt" {
		t.Errorf("metadata %v", f.Metadata)
	}
	got, shape, err := f.Float32("b.weight")
	if err != nil || len(shape) != 2 || shape[0] != 2 || shape[1] != 3 {
		t.Fatalf("shape %v err %v", shape, err)
	}
	for i := range vals {
		if got[i] != vals[i] {
			t.Errorf("b.weight[%d] = %v, want %v", i, got[i], vals[i])
		}
	}
	half, _, err := f.Float32("c.half")
	if err != nil {
		t.Fatal(err)
	}
	for i := range vals {
		if d := math.Abs(float64(half[i] - vals[i])); d > 1e-3*math.Abs(float64(vals[i]))+1e-7 && !math.IsInf(float64(vals[i]), 0) {
			t.Errorf("c.half[%d] = %v, want about %v", i, half[i], vals[i])
		}
	}
	ints, _, err := f.Int64("a.steps")
	if err != nil || ints[0] != -1 || ints[1] != 999 {
		t.Errorf("a.steps = %v, %v", ints, err)
	}
	if _, _, err := f.Float32("missing"); err == nil {
		t.Error("no error for a missing tensor")
	}
	if _, _, err := f.Float32("a.steps"); err == nil {
		t.Error("no error reading an I64 tensor as float")
	}
}

func TestHalfConversionExhaustive(t *testing.T) {
	// Every finite half must survive half -> float32 -> half unchanged.
	for h := 0; h < 1<<16; h++ {
		f := HalfToFloat32(uint16(h))
		if math.IsNaN(float64(f)) {
			continue
		}
		if back := Float32ToHalf(f); back != uint16(h) {
			t.Fatalf("half %#04x -> %v -> %#04x", h, f, back)
		}
	}
	cases := []struct {
		in   float32
		want uint16
	}{
		{1, 0x3c00}, {-2, 0xc000}, {65504, 0x7bff}, {65520, 0x7c00}, {1e-8, 0}, {5.960464477539063e-08, 1},
		{1 + 1.0/2048, 0x3c00}, // halfway: ties to even
	}
	for _, c := range cases {
		if got := Float32ToHalf(c.in); got != c.want {
			t.Errorf("Float32ToHalf(%v) = %#04x, want %#04x", c.in, got, c.want)
		}
	}
	if got := HalfToFloat32(0x3555); math.Abs(float64(got)-0.333251953125) > 0 {
		t.Errorf("HalfToFloat32(0x3555) = %v", got)
	}
}

func TestBF16(t *testing.T) {
	data := []byte{0x80, 0x3f, 0x40, 0xc0} // 1.0, -3.0
	f, err := Parse(withHeader(`{"w":{"dtype":"BF16","shape":[2],"data_offsets":[0,4]}}`, data))
	if err != nil {
		t.Fatal(err)
	}
	v, _, err := f.Float32("w")
	if err != nil || v[0] != 1 || v[1] != -3 {
		t.Errorf("bf16 = %v, %v", v, err)
	}
}

func TestRejectsLies(t *testing.T) {
	eight := make([]byte, 8)
	cases := []struct {
		name, want string
		file       []byte
	}{
		{"short", "shorter than", []byte{1, 2, 3}},
		{"length past end", "past the end", func() []byte { b := withHeader(`{}`, nil); b[0] = 200; return b }()},
		{"huge length", "exceeds", func() []byte { b := withHeader(`{}`, nil); b[7] = 0x7f; return b }()},
		{"not json", "not a JSON object", withHeader(`{"a":`, nil)},
		{"null", "null", withHeader(`null`, nil)},
		{"unknown dtype", "unknown dtype", withHeader(`{"w":{"dtype":"Q8","shape":[2],"data_offsets":[0,8]}}`, eight)},
		{"offsets out of range", "outside", withHeader(`{"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}`, eight)},
		{"reversed offsets", "outside", withHeader(`{"w":{"dtype":"F32","shape":[1],"data_offsets":[8,4]}}`, eight)},
		{"size mismatch", "needs 4 bytes", withHeader(`{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,8]}}`, eight)},
		{"overflowing shape", "more elements", withHeader(`{"w":{"dtype":"F32","shape":[4294967296,4294967296,4294967296],"data_offsets":[0,8]}}`, eight)},
		{"negative dim", "negative", withHeader(`{"w":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}`, eight)},
		{"overlap", "overlap", withHeader(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, eight)},
		{"hole", "hole", withHeader(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, eight)},
		{"trailing bytes", "cover only", withHeader(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, eight)},
		{"bad offsets count", "2", withHeader(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0]}}`, eight)},
		{"bad metadata", "__metadata__", withHeader(`{"__metadata__":{"a":1}}`, nil)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse(c.file)
			if err == nil {
				t.Fatalf("accepted")
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q does not mention %q", err, c.want)
			}
		})
	}
}

func TestReadFileNamesPath(t *testing.T) {
	p := filepath.Join(t.TempDir(), "bad.safetensors")
	if err := os.WriteFile(p, []byte("xx"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := ReadFile(p)
	if err == nil || !strings.Contains(err.Error(), "bad.safetensors") {
		t.Errorf("error %v does not name the file", err)
	}
}

func FuzzParse(f *testing.F) {
	var buf bytes.Buffer
	_ = Write(&buf, []Tensor{FromFloat32("w", []int{2, 2}, []float32{1, 2, 3, 4}), FromInt64("t", []int{1}, []int64{7})}, map[string]string{"k": "v"})
	f.Add(buf.Bytes())
	f.Add(withHeader(`{"w":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}}`, []byte{0, 60, 0, 188}))
	f.Fuzz(func(t *testing.T, b []byte) {
		file, err := Parse(b)
		if err != nil {
			return
		}
		for _, name := range file.Names {
			in := file.Tensors[name]
			if in.End-in.Begin != int64(in.Elements()*in.DType.Size()) {
				t.Fatalf("accepted inconsistent tensor %+v", in)
			}
			_, _, _ = file.Float32(name)
			_, _, _ = file.Int64(name)
		}
	})
}
