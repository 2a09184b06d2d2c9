// Package backend is the contract between the U-Net graph and the code that
// runs its kernels: tensor shapes, the Backend interface with its aliasing,
// threading, lifecycle and error rules (all written on Backend, in one
// place), and the host computation of the timestep embedding that every
// backend must reproduce.
//
// It imports nothing of ours but internal/detmath (a leaf like math, for
// the embedding's exp, sin and cos), so a backend — package cpu beside it,
// package render's OpenGL backend — is written against this package alone,
// and the graph in package unet calls nothing a backend does not export.
package backend
