package unet

import "fmt"

// Shape is a tensor shape of up to four dimensions, NCHW for activations and
// [out, in, kh, kw] for convolution weights; unused trailing dimensions are 1.
type Shape [4]int

// Len is the number of elements.
func (s Shape) Len() int { return s[0] * s[1] * s[2] * s[3] }

func (s Shape) String() string { return fmt.Sprintf("[%d,%d,%d,%d]", s[0], s[1], s[2], s[3]) }

// Tensor is a buffer owned by a Backend. Only the backend that made it may
// read or write it.
type Tensor interface {
	Shape() Shape
}

// Padding is the zero padding of a convolution's input, per side.
type Padding struct{ Top, Left, Bottom, Right int }

// Backend holds the kernels of the U-Net: the graph calls nothing else, so a
// GPU backend drops in by implementing this interface. Every kernel writes a
// destination tensor that the caller allocated with the right shape; kernels
// may assume their arguments were checked by the graph and need not validate
// shapes on the hot path, but must not read or write outside the tensors.
type Backend interface {
	Name() string
	// Alloc returns a tensor of the shape; its contents are unspecified.
	Alloc(s Shape) Tensor
	Upload(dst Tensor, src []float32)
	Download(dst []float32, src Tensor)

	// Conv2D: dst[n,o,y,x] = bias[o] + Σ w[o,i,ky,kx]·xpad[n,i,y·s+ky,x·s+kx].
	Conv2D(dst, x, w, bias Tensor, stride int, pad Padding)
	// Linear: dst[n,o] = bias[o] + Σ_i w[o,i]·x[n,i], on [N,In,1,1] tensors.
	Linear(dst, x, w, bias Tensor)
	// GroupNorm normalises each (sample, group) to zero mean and unit
	// variance, then applies the per-channel affine map and, if silu is set,
	// SiLU.
	GroupNorm(dst, x, gamma, beta Tensor, groups int, eps float32, silu bool)
	// SiLU: dst = x·σ(x).
	SiLU(dst, x Tensor)
	// AddChannels: dst[n,c,y,x] = x[n,c,y,x] + v[n,c] for v of shape [N,C,1,1].
	AddChannels(dst, x, v Tensor)
	// ScaleShift: dst[n,c,y,x] = x[n,c,y,x]·(1 + v[n,c]) + v[n,C+c], v of shape [N,2C,1,1].
	ScaleShift(dst, x, v Tensor)
	// AddDiv: dst = (a + b) / div (a residual connection and its rescaling).
	AddDiv(dst, a, b Tensor, div float32)
	// Concat joins a and b along the channel axis.
	Concat(dst, a, b Tensor)
	// Upsample2x is nearest-neighbour upsampling by two.
	Upsample2x(dst, x Tensor)
	// Attention computes, per sample and per head of width d = C/heads over
	// the H·W tokens, softmax(qᵀk·scale)·vᵀ with q, k, v and dst laid out
	// [N, C, H, W] (channel-major tokens).
	Attention(dst, q, k, v Tensor, heads int, scale float32)
	// TimestepEmbedding writes the sinusoidal embedding of t (one per sample)
	// to dst [N, D, 1, 1], as diffusers' get_timestep_embedding in float32.
	TimestepEmbedding(dst Tensor, t []float32, flipSinToCos bool, freqShift float32)
}
