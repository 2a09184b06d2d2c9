// Package diffusion is the mathematics of denoising diffusion probabilistic
// models (Ho, Jain & Abbeel 2020) and their samplers, numerically matching
// Hugging Face diffusers 0.31.
//
// # Overview
//
//   - Schedule: β_t and ᾱ_t for the linear, scaled_linear, squaredcos_cap_v2
//     (cosine) and sigmoid schedules or an explicit list, with the derived
//     α_t, √ᾱ_t, √(1−ᾱ_t), β̃_t and log-SNR.
//   - SchedulerConfig: diffusers' scheduler_config.json, strictly parsed.
//   - QSample and PredictX0: the forward process and its inversion.
//   - SetTimesteps: set_timesteps(N) with leading, trailing and linspace spacing.
//   - Samplers (one interface, Sampler): DDPM ancestral sampling, DDIM with η,
//     RePaint inpainting, and Replace, the replacement method of inpainting.
//   - Noise: a counter-based stream (Philox4x32-10 + Box–Muller) so that the
//     noise of any step is a pure function of (seed, step, draw, sample,
//     element); see FillNormal.
//   - Sample: the loop. It calls a Denoiser, records a Chain of frames for
//     scrubbing, reports progress and stops on context cancellation.
//
// # Conventions
//
// Timesteps are zero-based as in diffusers (t = 0 … T−1, ᾱ_{−1} = 1). Images
// are float32 NCHW batches in [−1, 1]. Inpainting masks are 1 where the image
// is regenerated and 0 where it is kept.
//
// The package imports nothing else of this module but internal/detmath, a
// leaf like math whose exp, log and cos give the same bits on every CPU:
// the U-Net reaches it only through the Denoiser interface.
package diffusion
