// Package torchbin reads PyTorch checkpoints (torch.save of a state dict,
// the zip format of PyTorch ≥ 1.6: <name>/data.pkl and <name>/data/N)
// without running anything they say.
//
// A pickle is a program for a stack machine that may call any Python
// function it names; a state dict needs only an ordered dictionary,
// tensors rebuilt from storages, and the storage types. So the pickle is
// first scanned opcode by opcode (every length it claims must lie within
// the bytes that follow, so nothing is allocated on its word), then
// unpickled by github.com/nlpodyssey/gopickle — a maintained pickle VM
// that itself calls no Python — with an allow-list of globals: anything
// else (os.system, builtins.eval, …) is refused with its name. Storage
// sizes are checked against the archive's entries, tensor shapes and
// strides against their storage (contiguous, in range) before any tensor
// data is copied.
package torchbin
