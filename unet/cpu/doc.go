// Package cpu is the U-Net's CPU backend: convolutions as packed SGEMM
// (package sgemm) straight from the image — the 3×3 ones, forward and
// backward, as Winograd F(2×2,3×3) where the layer's shape suits it
// (winograd.go) — or im2col through any blas.Float32; GroupNorm with SiLU
// and the other element-wise kernels as
// vector loops (package vec) split across cores; attention as two products
// around a softmax.
//
// It is written against package backend alone, as any backend is, which
// proves that interface sufficient: the graph in package unet never reaches
// into it. It also holds training's kernels — the forward kernels that keep
// what the backward pass needs (GroupNormStats, AttentionProbs) and the
// backward kernels — which unet's training tape calls; training is a CPU
// feature.
package cpu
