package safetensors

import (
	"encoding/binary"
	"math"
	"testing"
)

// TestFloat32ViewIsFloat32: where a view is possible it holds exactly
// Float32's values and shares the bytes; where it is not (a misaligned
// start, another dtype, a length that lies) it says so and the copy is
// the way.
func TestFloat32ViewIsFloat32(t *testing.T) {
	vals := []float32{1, -2.5, float32(math.Inf(1)), 3e-41, 0}
	buf := make([]byte, 4*len(vals)+1)
	for _, off := range []int{0, 1} {
		raw := buf[off : off+4*len(vals)]
		for i, v := range vals {
			binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
		}
		tn := Tensor{Name: "w", DType: F32, Shape: []int{5}, Data: raw}
		want, err := tn.Float32()
		if err != nil {
			t.Fatal(err)
		}
		got, ok := tn.Float32View()
		if off == 1 {
			if ok {
				t.Fatalf("a view over misaligned bytes was given")
			}
			continue
		}
		if !ok {
			t.Fatalf("no view of aligned F32 bytes")
		}
		for i := range want {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
				t.Fatalf("value %d: view %v, copy %v", i, got[i], want[i])
			}
		}
		got[0] = 7 // the view is the bytes
		if binary.LittleEndian.Uint32(raw) != math.Float32bits(7) {
			t.Fatalf("the view does not share the tensor's bytes")
		}
	}
	for _, tn := range []Tensor{
		{Name: "h", DType: F16, Shape: []int{2}, Data: make([]byte, 4)},
		{Name: "short", DType: F32, Shape: []int{3}, Data: make([]byte, 8)},
	} {
		if _, ok := tn.Float32View(); ok {
			t.Errorf("%s: a view was given", tn.Name)
		}
	}
}
