// Package unet is diffusers' UNet2DModel: its config.json, its safetensors
// weights, and its forward pass written once against a small Backend of
// kernels, with a CPU backend on gonum's blas32.
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
