// Package determinism holds the test of the program's promise that a
// recipe gives the same bytes on every computer (docs/determinism.md): a
// table of recipes — the embedded model and a small model built in the
// test; DDPM and DDIM, guidance, inpainting, batch 1 and 4, training
// steps — whose outputs are hashed and held to the hashes checked into
// testdata/determinism. `make test` runs the table on every CPU path this
// machine has (DDPM_CPU) and on the arm64 build under qemu-aarch64.
//
// It has no code of its own: the test is the package.
package determinism
