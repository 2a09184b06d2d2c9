package torchbin

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"math"
	"strings"
	"testing"

	"github.com/ddpmstudio/ddpmstudio/safetensors"
)

// pk builds pickles by hand, opcode by opcode (protocol 2), as torch.save
// writes a state dict — and as a hostile file would not.
type pk struct{ b []byte }

func (p *pk) op(b ...byte) *pk { p.b = append(p.b, b...); return p }
func (p *pk) str(s string) *pk {
	p.op('X')
	p.b = binary.LittleEndian.AppendUint32(p.b, uint32(len(s)))
	p.b = append(p.b, s...)
	return p
}
func (p *pk) global(mod, name string) *pk { return p.op('c').op([]byte(mod + "\n" + name + "\n")...) }
func (p *pk) int(n int) *pk {
	p.op('J')
	p.b = binary.LittleEndian.AppendUint32(p.b, uint32(int32(n)))
	return p
}
func (p *pk) tuple(ns ...int) *pk {
	p.op('(')
	for _, n := range ns {
		p.int(n)
	}
	return p.op('t')
}

// tensorOp pushes _rebuild_tensor_v2(storage key of numel elements, offset, size, stride).
func (p *pk) tensorOp(storageType, key string, numel, offset int, size, stride []int) *pk {
	p.global("torch._utils", "_rebuild_tensor_v2").op('(')
	p.op('(').str("storage").global("torch", storageType).str(key).str("cpu").int(numel).op('t', 'Q')
	p.int(offset).tuple(size...).tuple(stride...).op(0x89)
	p.global("collections", "OrderedDict").op(')', 'R')
	return p.op('t', 'R')
}

func stateDict(entries func(p *pk)) []byte {
	p := &pk{}
	p.op(0x80, 2).global("collections", "OrderedDict").op(')', 'R', '(')
	entries(p)
	return p.op('u', '.').b
}

// archive zips a pickle and storages as torch.save lays them out.
func archive(t testing.TB, pkl []byte, storages map[string][]byte) []byte {
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	put := func(name string, data []byte) {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Store})
		if err != nil {
			t.Fatal(err)
		}
		w.Write(data)
	}
	put("archive/data.pkl", pkl)
	put("archive/byteorder", []byte("little"))
	for k, v := range storages {
		put("archive/data/"+k, v)
	}
	put("archive/version", []byte("3\n"))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func f32(v ...float32) []byte {
	var b []byte
	for _, x := range v {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(x))
	}
	return b
}

// twoTensors is a state dict of a 2×2 weight and a 2-element bias that
// share one storage (the bias from offset 4), as views do.
func twoTensors(t testing.TB) []byte {
	pkl := stateDict(func(p *pk) {
		p.str("conv.weight").tensorOp("FloatStorage", "0", 6, 0, []int{2, 2}, []int{2, 1})
		p.str("conv.bias").tensorOp("FloatStorage", "0", 6, 4, []int{2}, []int{1})
	})
	return archive(t, pkl, map[string][]byte{"0": f32(1, 2, 3, 4, 5, 6)})
}

func TestReadsAStateDict(t *testing.T) {
	ts, err := Read(twoTensors(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(ts) != 2 || ts[0].Name != "conv.bias" || ts[1].Name != "conv.weight" {
		t.Fatalf("tensors %v", ts)
	}
	if !bytes.Equal(ts[0].Data, f32(5, 6)) || !bytes.Equal(ts[1].Data, f32(1, 2, 3, 4)) || ts[1].DType != safetensors.F32 ||
		len(ts[1].Shape) != 2 || ts[1].Shape[0] != 2 {
		t.Errorf("read %+v", ts)
	}
}

// TestHostileCheckpoints: each gets one error line naming its problem.
func TestHostileCheckpoints(t *testing.T) {
	bomb := func() []byte {
		var b bytes.Buffer
		zw := zip.NewWriter(&b)
		w, _ := zw.Create("archive/data.pkl") // deflated: 65 MiB of zeros in ~65 KB
		w.Write(make([]byte, MaxPickleBytes+1<<20))
		zw.Close()
		return b.Bytes()
	}
	huge := (&pk{}).op(0x80, 2, 0x8e)
	huge.b = binary.LittleEndian.AppendUint64(huge.b, 1<<60)
	nest := &pk{}
	nest.op(0x80, 2)
	for range 100000 {
		nest.op('(')
	}
	nest.op('.')
	cases := []struct {
		name string
		file []byte
		want string
	}{
		{"os.system", archive(t, (&pk{}).op(0x80, 2).global("os", "system").str("echo pwned").op(0x85, 'R', '.').b, nil), "os.system"},
		{"builtins.eval by STACK_GLOBAL", archive(t, (&pk{}).op(0x80, 4).str("builtins").str("eval").op(0x93).str("1").op(0x85, 'R', '.').b, nil), "builtins.eval"},
		{"storage larger than the file", archive(t, stateDict(func(p *pk) {
			p.str("w").tensorOp("FloatStorage", "0", 1<<28, 0, []int{4}, []int{1})
		}), map[string][]byte{"0": f32(1, 2, 3, 4)}), "need 1073741824 bytes"},
		{"shape past its storage", archive(t, stateDict(func(p *pk) {
			p.str("w").tensorOp("FloatStorage", "0", 4, 0, []int{3, 3}, []int{3, 1})
		}), map[string][]byte{"0": f32(1, 2, 3, 4)}), "overrun"},
		{"strided view", archive(t, stateDict(func(p *pk) {
			p.str("w").tensorOp("FloatStorage", "0", 4, 0, []int{2, 2}, []int{1, 2})
		}), map[string][]byte{"0": f32(1, 2, 3, 4)}), "not contiguous"},
		{"missing storage", archive(t, stateDict(func(p *pk) {
			p.str("w").tensorOp("FloatStorage", "7", 4, 0, []int{4}, []int{1})
		}), nil), "no entry archive/data/7"},
		{"integer storage type unknown", archive(t, stateDict(func(p *pk) {
			p.str("w").tensorOp("ByteStorage", "0", 4, 0, []int{4}, []int{1})
		}), map[string][]byte{"0": {1, 2, 3, 4}}), "torch.ByteStorage"},
		{"BINBYTES8 of 2^60 bytes", archive(t, huge.op('.').b, nil), "claims 1152921504606846976 bytes"},
		{"deep nesting, no dict", archive(t, nest.b, nil), "data.pkl"},
		{"zip bomb", bomb(), "more than"},
		{"legacy pickle", []byte{0x80, 2, 'N', '.'}, "legacy"},
		{"not a zip", []byte("hello"), "not a PyTorch zip"},
		{"/dev/zero-like", make([]byte, 4096), "not a PyTorch zip"},
	}
	for _, c := range cases {
		_, err := Read(c.file)
		if err == nil {
			t.Errorf("%s: accepted", c.name)
			continue
		}
		if !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: %q, want one line with %q", c.name, err, c.want)
		}
	}
}

func FuzzRead(f *testing.F) {
	f.Add(twoTensors(f))
	f.Add(stateDict(func(p *pk) {}))
	f.Fuzz(func(t *testing.T, b []byte) {
		ts, err := Read(b)
		if err != nil {
			return
		}
		for _, x := range ts {
			n := x.DType.Size()
			for _, d := range x.Shape {
				n *= d
			}
			if n != len(x.Data) {
				t.Fatalf("tensor %s: %d bytes for shape %v of %s", x.Name, len(x.Data), x.Shape, x.DType)
			}
		}
	})
}
