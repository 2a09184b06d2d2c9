package backend

import (
	"fmt"

	"github.com/ddpmstudio/ddpmstudio/internal/detmath"
)

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
// GPU backend drops in by implementing this interface. This comment is the
// whole contract a backend author must respect.
//
// Shapes. Every kernel writes a destination tensor that the caller allocated
// with the right shape; kernels may assume their arguments were checked by
// the graph and need not validate shapes on the hot path, but must not read
// or write outside the tensors.
//
// Aliasing. The element-wise kernels — SiLU, AddChannels, ScaleShift,
// AddDiv — and GroupNorm must work in place: dst may be the same tensor as
// x (or as a or b for AddDiv), and the result must be as if all inputs were
// read before any output was written. A backend that uses dst as scratch
// must not do so for these. Conv2D, Linear, Concat, Upsample2x, Attention
// and TimestepEmbedding are never called with dst aliasing an input.
// backendtest checks both.
//
// Threading and synchronisation. A backend is used from one goroutine at a
// time (the model's caller serialises forward passes). Kernels may run
// asynchronously and in order; Download is the barrier: when it returns,
// every earlier kernel has finished and dst holds the result.
//
// Lifecycle and errors. Alloc may defer failure: a tensor that cannot be
// made (a GL buffer above GL_MAX_SHADER_STORAGE_BLOCK_SIZE, out of memory)
// or a kernel that cannot run (a shader that did not compile) records a
// sticky error that Err returns, and later calls on that backend may do
// nothing. The graph checks Err after every Download. Free releases a
// tensor (using it afterwards is an error); Close releases everything,
// after which the backend must not be used. Caps says, before a model is
// loaded, what the backend can hold, so that the choice of backend (and the
// fallback to the CPU) happens before any weight is uploaded.
//
// Arithmetic. A CPU backend gives the same bits on every machine: each
// kernel combines numbers in the one canonical order written down in
// docs/determinism.md (GEMM by fused multiply-adds over k ascending in
// blocks of 256, sums in eight float64 lanes and one combining tree, one
// exponential, no fusion the order does not name), whatever its SIMD width.
// A GPU backend cannot promise bits across drivers: it must agree with the
// CPU within the tolerance backendtest states, and gives the same 8-bit
// pictures in the common case.
type Backend interface {
	Name() string
	// Alloc returns a tensor of the shape; its contents are unspecified.
	Alloc(s Shape) Tensor
	Upload(dst Tensor, src []float32)
	Download(dst []float32, src Tensor)
	Free(t Tensor)
	Close() error
	// Err is the first error the backend met, or nil (sticky).
	Err() error
	Caps() Caps

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

// Adopter is a backend that can take host memory as a tensor's storage
// without copying it (the CPU backend). A load hands it the checkpoint's
// own buffer, so the weights are not held twice nor every page touched
// twice. Adopt's caller gives v up: the tensor owns it from then on, and
// len(v) == s.Len().
type Adopter interface {
	Adopt(s Shape, v []float32) Tensor
}

// Caps describes what a backend can hold.
type Caps struct {
	// MaxTensorBytes is the largest single tensor (0: no limit but memory).
	MaxTensorBytes int64
	// Hardware is false for software renderers and the CPU.
	Hardware bool
}

// SinusoidalEmbedding writes diffusers' get_timestep_embedding of t (one
// row of dim values per timestep) to out, op for op in float32: the host
// computation every backend's TimestepEmbedding must reproduce (the CPU
// backend runs it; a GPU backend may run it on the host and upload).
func SinusoidalEmbedding(out []float32, dim int, t []float32, flip bool, shift float32) {
	half := dim / 2
	// −ln 10000 rounded to float32, as torch's math.log(10000) is; the
	// exponential, sine and cosine are detmath's, the same bits on every
	// CPU (math's are assembly on some and fused differently on others).
	negLog := float32(-9.210340371976184)
	div := float32(half) - shift
	for n, tv := range t {
		row := out[n*dim : (n+1)*dim]
		for i := 0; i < half; i++ {
			freq := float32(detmath.Exp(float64(negLog * float32(i) / div)))
			arg := float64(tv * freq)
			s, co := float32(detmath.Sin(arg)), float32(detmath.Cos(arg))
			if flip {
				row[i], row[half+i] = co, s
			} else {
				row[i], row[half+i] = s, co
			}
		}
		for i := 2 * half; i < dim; i++ {
			row[i] = 0 // odd widths are zero-padded
		}
	}
}
