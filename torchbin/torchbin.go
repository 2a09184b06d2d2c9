package torchbin

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"path"
	"sort"
	"strings"

	"github.com/nlpodyssey/gopickle/pickle"
	"github.com/nlpodyssey/gopickle/types"

	"github.com/ddpmstudio/ddpmstudio/safetensors"
)

// MaxPickleBytes bounds data.pkl: a state dict's pickle holds names and
// shapes only (a few hundred kilobytes for the largest diffusers U-Nets).
const MaxPickleBytes = 64 << 20

// storageTypes are the storage globals allowed, by the dtype they hold.
var storageTypes = map[string]safetensors.DType{
	"FloatStorage": safetensors.F32, "HalfStorage": safetensors.F16, "BFloat16Storage": safetensors.BF16,
	"DoubleStorage": safetensors.F64, "LongStorage": safetensors.I64,
}

type storageType struct{ dtype safetensors.DType }

// storage is a persistent id resolved against the archive.
type storage struct {
	dtype safetensors.DType
	key   string
	numel int
}

// tensor is _rebuild_tensor_v2's result: a view of a storage.
type tensor struct {
	st     *storage
	offset int
	shape  []int
}

// rebuildTensor stands for torch._utils._rebuild_tensor_v2(storage,
// storage_offset, size, stride, requires_grad, backward_hooks[, metadata]).
type rebuildTensor struct{}

func (rebuildTensor) Call(args ...interface{}) (interface{}, error) {
	if len(args) < 4 {
		return nil, fmt.Errorf("_rebuild_tensor_v2 with %d arguments", len(args))
	}
	st, ok := args[0].(*storage)
	if !ok {
		return nil, errors.New("_rebuild_tensor_v2: the first argument is not a storage")
	}
	offset, err := asInt(args[1])
	if err != nil {
		return nil, fmt.Errorf("_rebuild_tensor_v2 offset: %w", err)
	}
	shape, err := ints(args[2])
	if err != nil {
		return nil, fmt.Errorf("_rebuild_tensor_v2 size: %w", err)
	}
	stride, err := ints(args[3])
	if err != nil {
		return nil, fmt.Errorf("_rebuild_tensor_v2 stride: %w", err)
	}
	if len(stride) != len(shape) {
		return nil, fmt.Errorf("_rebuild_tensor_v2: size %v with stride %v", shape, stride)
	}
	n := 1
	for i := len(shape) - 1; i >= 0; i-- {
		if shape[i] < 0 {
			return nil, fmt.Errorf("_rebuild_tensor_v2: negative size %v", shape)
		}
		if shape[i] > 1 && stride[i] != n {
			return nil, fmt.Errorf("_rebuild_tensor_v2: size %v with stride %v is not contiguous", shape, stride)
		}
		if shape[i] > 0 && n > math.MaxInt32/shape[i] {
			return nil, fmt.Errorf("_rebuild_tensor_v2: size %v is too large", shape)
		}
		n *= shape[i]
	}
	if offset < 0 || offset > st.numel || n > st.numel-offset {
		return nil, fmt.Errorf("_rebuild_tensor_v2: %d elements from %d overrun a storage of %d", n, offset, st.numel)
	}
	return &tensor{st: st, offset: offset, shape: shape}, nil
}

// rebuildParameter stands for torch._utils._rebuild_parameter(data,
// requires_grad, backward_hooks): the tensor itself.
type rebuildParameter struct{}

func (rebuildParameter) Call(args ...interface{}) (interface{}, error) {
	if len(args) < 1 {
		return nil, errors.New("_rebuild_parameter without data")
	}
	return args[0], nil
}

func asInt(v interface{}) (int, error) {
	switch v := v.(type) {
	case int:
		return v, nil
	case int64:
		if v >= math.MinInt32 && v <= math.MaxInt64 {
			return int(v), nil
		}
	case *big.Int:
		if v.IsInt64() && v.Int64() <= math.MaxInt32*int64(1<<16) && v.Int64() >= 0 {
			return int(v.Int64()), nil
		}
		return 0, fmt.Errorf("integer %v out of range", v)
	case bool:
		if v {
			return 1, nil
		}
		return 0, nil
	}
	return 0, fmt.Errorf("%T is not an integer", v)
}

func ints(v interface{}) ([]int, error) {
	t, ok := v.(*types.Tuple)
	if !ok {
		return nil, fmt.Errorf("%T is not a tuple", v)
	}
	out := make([]int, t.Len())
	for i := range out {
		n, err := asInt(t.Get(i))
		if err != nil {
			return nil, err
		}
		out[i] = n
	}
	return out, nil
}

// Read reads a torch.save zip archive of a state dict: its tensors by name
// (in name order), with their little-endian bytes and dtype. Tensors that
// were views of one storage share its bytes: treat Data as read-only.
func Read(b []byte) ([]safetensors.Tensor, error) {
	if len(b) > 1 && b[0] == 0x80 {
		return nil, errors.New("a legacy (PyTorch < 1.6) torch.save pickle: not read; re-save it with a newer PyTorch or as safetensors")
	}
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		return nil, fmt.Errorf("not a PyTorch zip checkpoint: %w", err)
	}
	files := map[string]*zip.File{}
	var pkl *zip.File
	for _, f := range zr.File {
		files[f.Name] = f
		if path.Base(f.Name) == "data.pkl" && strings.Count(f.Name, "/") == 1 {
			if pkl != nil {
				return nil, errors.New("two data.pkl entries in the archive")
			}
			pkl = f
		}
	}
	if pkl == nil {
		return nil, errors.New("no <name>/data.pkl in the archive: not a torch.save checkpoint")
	}
	root := path.Dir(pkl.Name)
	if bo, ok := files[root+"/byteorder"]; ok {
		order, err := readEntry(bo, 16)
		if err != nil {
			return nil, err
		}
		if s := strings.TrimSpace(string(order)); s != "little" {
			return nil, fmt.Errorf("byte order %q: only little-endian checkpoints are read", s)
		}
	}
	p, err := readEntry(pkl, MaxPickleBytes)
	if err != nil {
		return nil, err
	}
	if err := scan(p); err != nil {
		return nil, fmt.Errorf("%s: %w", pkl.Name, err)
	}
	storages := map[string]*storage{}
	u := pickle.NewUnpickler(bytes.NewReader(p))
	u.FindClass = findClass
	u.PersistentLoad = func(pid interface{}) (interface{}, error) {
		t, ok := pid.(*types.Tuple)
		if !ok || t.Len() != 5 || t.Get(0) != "storage" {
			return nil, fmt.Errorf("persistent id %v is not a storage", pid)
		}
		typ, ok1 := t.Get(1).(*storageType)
		key, ok2 := t.Get(2).(string)
		numel, err := asInt(t.Get(4))
		if !ok1 || !ok2 || err != nil || numel < 0 {
			return nil, fmt.Errorf("malformed storage id %v", pid)
		}
		if st, ok := storages[key]; ok {
			if st.dtype != typ.dtype || st.numel != numel {
				return nil, fmt.Errorf("storage %s named twice with different types or sizes", key)
			}
			return st, nil
		}
		f, ok := files[root+"/data/"+key]
		if !ok {
			return nil, fmt.Errorf("storage %s: no entry %s/data/%s in the archive", key, root, key)
		}
		if want := uint64(numel) * uint64(typ.dtype.Size()); f.UncompressedSize64 != want {
			return nil, fmt.Errorf("storage %s: %d elements of %s need %d bytes, the archive holds %d", key, numel, typ.dtype, want, f.UncompressedSize64)
		}
		st := &storage{dtype: typ.dtype, key: key, numel: numel}
		storages[key] = st
		return st, nil
	}
	obj, err := load(&u)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", pkl.Name, err)
	}
	dict, ok := obj.(*types.OrderedDict)
	if !ok {
		return nil, fmt.Errorf("%s holds a %T, not a state dict", pkl.Name, obj)
	}
	data := map[string][]byte{}
	var out []safetensors.Tensor
	for el := dict.List.Front(); el != nil; el = el.Next() {
		e := el.Value.(*types.OrderedDictEntry)
		name, ok := e.Key.(string)
		if !ok {
			return nil, fmt.Errorf("state dict key %v is not a string", e.Key)
		}
		t, ok := e.Value.(*tensor)
		if !ok {
			return nil, fmt.Errorf("state dict entry %q is a %T, not a tensor", name, e.Value)
		}
		raw, ok := data[t.st.key]
		if !ok {
			if raw, err = readEntry(files[root+"/data/"+t.st.key], int64(t.st.numel*t.st.dtype.Size())); err != nil {
				return nil, err
			}
			data[t.st.key] = raw
		}
		n := 1
		for _, d := range t.shape {
			n *= d
		}
		es := t.st.dtype.Size()
		out = append(out, safetensors.Tensor{Name: name, DType: t.st.dtype, Shape: t.shape,
			Data: raw[t.offset*es : (t.offset+n)*es : (t.offset+n)*es]}) // views share their storage: read-only, no copy
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// findClass is the allow-list of globals a state dict needs.
func findClass(module, name string) (interface{}, error) {
	switch module + "." + name {
	case "torch._utils._rebuild_tensor_v2":
		return rebuildTensor{}, nil
	case "torch._utils._rebuild_parameter":
		return rebuildParameter{}, nil
	}
	if module == "torch" {
		if dt, ok := storageTypes[name]; ok {
			return &storageType{dt}, nil
		}
	}
	return nil, fmt.Errorf("the pickle names %s.%s, which a state dict does not need: refused (loading it could run code)", module, name)
}

// readEntry reads a zip entry of at most limit bytes: its declared size is
// checked first, and the read stops one byte past the limit, so a lying
// header or a zip bomb cannot make it allocate more.
func readEntry(f *zip.File, limit int64) ([]byte, error) {
	if f.UncompressedSize64 > uint64(limit) {
		return nil, fmt.Errorf("%s: %d bytes, more than the %d allowed", f.Name, f.UncompressedSize64, limit)
	}
	rc, err := f.Open()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.Name, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, limit+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.Name, err)
	}
	if int64(len(b)) > limit || uint64(len(b)) != f.UncompressedSize64 {
		return nil, fmt.Errorf("%s: holds %d bytes, its header says %d", f.Name, len(b), f.UncompressedSize64)
	}
	return b, nil
}

// load runs the unpickler, turning a panic inside it (gopickle trusts more
// of its input than a hostile file deserves: an unhashable dict key, a
// stack underflow it does not check) into an error.
func load(u *pickle.Unpickler) (obj interface{}, err error) {
	defer func() {
		if r := recover(); r != nil {
			obj, err = nil, fmt.Errorf("malformed pickle: %v", r)
		}
	}()
	return u.Load()
}
