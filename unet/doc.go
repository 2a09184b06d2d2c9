// Package unet is diffusers' UNet2DModel: its config.json, its safetensors
// weights, and its graph written once against a small Backend of kernels
// (package backend holds that contract; package cpu and package render
// implement it).
//
// # Overview
//
// The model is data: a Config and named parameter tensors (Weights), named
// exactly as diffusers names them. The backend is kernels: Backend holds
// convolution, GroupNorm, SiLU, linear, attention, upsampling, concatenation
// and the timestep embedding, and the graph calls nothing else, so the GPU
// backend of the render package drops in. The sampler is the loop: Model
// implements diffusion.Denoiser and knows nothing of schedules.
//
// The graph is one function, walk (graph.go), over an executor: the
// forward pass runs it on any backend (and, on a backend that computes
// nothing, counts FLOPs and activation bytes and checks capacity), and the
// training Tape runs it on the CPU backend, calling package cpu's forward
// kernels that keep their statistics and its backward kernels. Training is
// the one place this package names a concrete backend.
//
// Load reads a model folder in either diffusers layout, with its
// scheduler_config.json when present; New builds a randomly initialised model
// for benchmarks and training.
//
// # Conventions that matter
//
// The forward pass follows diffusers 0.31 exactly: float32 sinusoidal
// timestep embedding with flip_sin_to_cos and freq_shift; SiLU applied to the
// embedding inside every resnet; "default" versus "scale_shift" time
// conditioning; GroupNorm with norm_eps everywhere; attention heads of
// attention_head_dim channels (one head when null) scaled by head_dim^-0.5;
// mid-block attention without GroupNorm under scale_shift; downsample_padding
// 0 meaning one zero row and column at the bottom and right; skips popped
// newest first and concatenated after the current features.
package unet
