package unet

import (
	"errors"
	"fmt"
	"math"

	"github.com/ddpmstudio/ddpmstudio/unet/cpu"
)

// Training: the graph (walk) run by an executor that calls the CPU
// backend's forward kernels, keeps what each needs for its backward pass,
// and records the backward kernel; Backward replays them in reverse, turning
// the gradient of the output into gradients of every parameter. It runs on
// the CPU backend only (training is a CPU feature; the GPU backend serves
// sampling); every kernel, forward and backward, is package cpu's.

// ErrNotCPU is returned when training is asked of a model on another backend.
var ErrNotCPU = errors.New("training needs the CPU backend")

// node is an activation and, once the backward pass reaches it, its gradient.
type node struct {
	v     []float32
	g     []float32
	shape Shape
}

// bump is a bump allocator of float32 slices, reset every step, so a
// training step reuses the previous step's memory.
type bump struct {
	buf  []float32
	off  int
	need int
	// poison, set by tests, fills every unzeroed slice with NaN, so a
	// kernel that reads memory it was meant to overwrite shows.
	poison bool
}

func (b *bump) alloc(n int) []float32 {
	s := b.allocRaw(n)
	clear(s)
	return s
}

// allocRaw is alloc without zeroing, for buffers the caller overwrites.
func (b *bump) allocRaw(n int) []float32 {
	var s []float32
	if b.off+n > len(b.buf) {
		// Out of room: hand out fresh memory this step and grow the buffer
		// for the next one.
		b.need = max(b.need, b.off+n)
		s = make([]float32, n)
	} else {
		s = b.buf[b.off : b.off+n : b.off+n]
	}
	b.off += n
	if b.poison {
		for i := range s {
			s[i] = float32(math.NaN())
		}
	}
	return s
}

func (b *bump) reset() {
	if b.need > len(b.buf) {
		b.buf = make([]float32, b.need+b.need/8)
	}
	b.off, b.need = 0, 0
}

// Tape records one training forward pass.
type Tape struct {
	m        *Model
	cpu      *cpu.Backend
	mem      bump
	backward []func()
	out      *node
	grads    map[Tensor][]float32
}

// Grads are the accumulated parameter gradients, in Params() order.
func (tp *Tape) Grads() [][]float32 {
	out := make([][]float32, len(tp.m.params))
	for i, p := range tp.m.params {
		out[i] = tp.grads[p.Tensor]
	}
	return out
}

// NewTape prepares training of m, which must be on the CPU backend.
func (m *Model) NewTape() (*Tape, error) {
	c, ok := m.backend.(*cpu.Backend)
	if !ok {
		return nil, ErrNotCPU
	}
	tp := &Tape{m: m, cpu: c, grads: map[Tensor][]float32{}}
	m.training = true
	for _, p := range m.params {
		tp.grads[p.Tensor] = make([]float32, p.Tensor.Shape().Len())
	}
	return tp, nil
}

// ZeroGrad clears the accumulated gradients.
func (tp *Tape) ZeroGrad() {
	for _, g := range tp.grads {
		clear(g)
	}
}

// newNode allocates an activation; every operation overwrites all of it.
func (tp *Tape) newNode(s Shape) *node { return &node{v: tp.mem.allocRaw(s.Len()), shape: s} }

func (tp *Tape) grad(n *node) []float32 {
	if n.g == nil {
		n.g = tp.mem.alloc(len(n.v))
	}
	return n.g
}

func (tp *Tape) record(f func()) { tp.backward = append(tp.backward, f) }

// t is a node's value as a CPU tensor, g its gradient (allocated on first
// use) and pg a parameter's accumulated gradient, for the kernels.
func (tp *Tape) t(n *node) *cpu.Tensor { return cpu.NewTensor(n.shape, n.v) }
func (tp *Tape) g(n *node) *cpu.Tensor { return cpu.NewTensor(n.shape, tp.grad(n)) }

// gw is n's gradient for a kernel that overwrites a cpu.Fresh dx: on
// first use it is left unzeroed for the kernel to write whole (zeroing the
// gradients cost a seventh of a training step), after that it is added to.
func (tp *Tape) gw(n *node) *cpu.Tensor {
	if n.g == nil {
		n.g = tp.mem.allocRaw(len(n.v))
		return cpu.Fresh(n.shape, n.g)
	}
	return cpu.NewTensor(n.shape, n.g)
}
func (tp *Tape) pg(p Tensor) *cpu.Tensor { return cpu.NewTensor(p.Shape(), tp.grads[p]) }

// gradOf is y's gradient as a tensor, or nil when nothing downstream
// needed y (its backward step is then skipped).
func (tp *Tape) gradOf(y *node) *cpu.Tensor {
	if y.g == nil {
		return nil
	}
	return cpu.NewTensor(y.shape, y.g)
}

// Forward runs the training forward pass and returns the output; Backward
// must follow before the next Forward.
func (tp *Tape) Forward(x []float32, n, h, w int, t []float32, classes []int) ([]float32, error) {
	m := tp.m
	if err := m.checkInputs(x, n, h, w, t, classes); err != nil {
		return nil, err
	}
	tp.mem.reset()
	tp.backward = tp.backward[:0]
	out, err := walk[*node](m, (*tapeExec)(tp), x, n, h, w, t, classes)
	if err != nil {
		return nil, err
	}
	tp.out = out
	return out.v, nil
}

// Backward propagates dOut (the gradient of the loss with respect to the
// output of the last Forward) and adds the parameter gradients to Grads.
func (tp *Tape) Backward(dOut []float32) error {
	if tp.out == nil {
		return errors.New("backward without a forward pass")
	}
	if len(dOut) != len(tp.out.v) {
		return fmt.Errorf("gradient has %d values, the output %d", len(dOut), len(tp.out.v))
	}
	copy(tp.grad(tp.out), dOut)
	for i := len(tp.backward) - 1; i >= 0; i-- {
		tp.backward[i]()
	}
	tp.out = nil
	return nil
}

// tapeExec runs the graph for training: each operation runs its forward
// kernel now and records its backward kernel.
type tapeExec Tape

func (e *tapeExec) tape() *Tape { return (*Tape)(e) }

func (e *tapeExec) input(x []float32, s Shape) *node {
	in := e.tape().newNode(s)
	copy(in.v, x)
	if e.m.Config.CenterInputSample {
		for i := range in.v {
			in.v[i] = 2*in.v[i] - 1
		}
	}
	return in
}

func (e *tapeExec) timeProj(v []float32, width int) *node {
	tp := e.tape()
	y := tp.newNode(Shape{len(v), width, 1, 1})
	cfg := tp.m.Config
	tp.cpu.TimestepEmbedding(tp.t(y), v, cfg.FlipSinToCos, float32(cfg.FreqShift))
	return y
}

func (e *tapeExec) classRows(classes []int) *node {
	tp := e.tape()
	m := tp.m
	d := m.timeEmbedDim
	y := tp.newNode(Shape{len(classes), d, 1, 1})
	table := m.classTensor.(*cpu.Tensor).Data // current: training updates it
	for i, c := range classes {
		copy(y.v[i*d:(i+1)*d], table[c*d:(c+1)*d])
	}
	classes = append([]int(nil), classes...)
	tp.record(func() {
		if g := tp.gradOf(y); g != nil {
			tp.cpu.EmbeddingBackward(tp.pg(m.classTensor), g, classes)
		}
	})
	return y
}

func (e *tapeExec) conv(c conv, x *node) *node {
	tp := e.tape()
	s := x.shape
	ho := (s[2]+c.pad.Top+c.pad.Bottom-c.k)/c.stride + 1
	wo := (s[3]+c.pad.Left+c.pad.Right-c.k)/c.stride + 1
	y := tp.newNode(Shape{s[0], c.co, ho, wo})
	tp.cpu.Conv2D(tp.t(y), tp.t(x), c.w, c.b, c.stride, c.pad)
	tp.record(func() {
		if g := tp.gradOf(y); g != nil {
			tp.cpu.Conv2DBackward(tp.gw(x), tp.pg(c.w), tp.pg(c.b), g, tp.t(x), c.w, c.stride, c.pad)
		}
	})
	return y
}

func (e *tapeExec) linear(l linear, x *node) *node {
	tp := e.tape()
	y := tp.newNode(Shape{x.shape[0], l.out, 1, 1})
	tp.cpu.Linear(tp.t(y), tp.t(x), l.w, l.b)
	tp.record(func() {
		if g := tp.gradOf(y); g != nil {
			tp.cpu.LinearBackward(tp.g(x), tp.pg(l.w), tp.pg(l.b), g, tp.t(x), l.w)
		}
	})
	return y
}

func (e *tapeExec) silu(x *node, _ bool) *node {
	tp := e.tape()
	y := tp.newNode(x.shape)
	tp.cpu.SiLU(tp.t(y), tp.t(x))
	tp.record(func() {
		if g := tp.gradOf(y); g != nil {
			tp.cpu.SiLUBackward(tp.gw(x), g, tp.t(x), tp.t(y))
		}
	})
	return y
}

func (e *tapeExec) addDiv(a, b *node, div float32) *node {
	tp := e.tape()
	y := tp.newNode(a.shape)
	tp.cpu.AddDiv(tp.t(y), tp.t(a), tp.t(b), div)
	tp.record(func() {
		if g := tp.gradOf(y); g != nil {
			tp.cpu.AddDivBackward(tp.gw(a), tp.gw(b), g, div)
		}
	})
	return y
}

// norm keeps the statistics for the backward pass. With silu it is two
// nodes, the affine output and its SiLU, and one backward step for both
// (the affine output has no other use).
func (e *tapeExec) norm(gn groupNorm, x *node, withSiLU, _ bool) *node {
	tp := e.tape()
	n := x.shape[0]
	pre := tp.newNode(x.shape)
	mean := make([]float32, n*gn.groups)
	rstd := make([]float32, n*gn.groups)
	tp.cpu.GroupNormStats(tp.t(pre), tp.t(x), gn.g, gn.b, gn.groups, gn.eps, mean, rstd)
	if !withSiLU {
		tp.record(func() {
			if g := tp.gradOf(pre); g != nil {
				tp.cpu.GroupNormBackward(tp.gw(x), tp.pg(gn.g), tp.pg(gn.b), g, tp.t(x), gn.g, gn.groups, mean, rstd)
			}
		})
		return pre
	}
	y := tp.newNode(x.shape)
	tp.cpu.SiLU(tp.t(y), tp.t(pre))
	tp.record(func() {
		if g := tp.gradOf(y); g != nil {
			tp.cpu.GroupNormSiLUBackward(tp.gw(x), tp.pg(gn.g), tp.pg(gn.b), g, tp.t(x), tp.t(pre), tp.t(y), gn.g, gn.groups, mean, rstd)
		}
	})
	return y
}

func (e *tapeExec) addChannels(x, v *node, _ bool) *node {
	tp := e.tape()
	y := tp.newNode(x.shape)
	tp.cpu.AddChannels(tp.t(y), tp.t(x), tp.t(v))
	tp.record(func() {
		if g := tp.gradOf(y); g != nil {
			tp.cpu.AddChannelsBackward(tp.gw(x), tp.g(v), g)
		}
	})
	return y
}

func (e *tapeExec) scaleShift(x, v *node, _ bool) *node {
	tp := e.tape()
	y := tp.newNode(x.shape)
	tp.cpu.ScaleShift(tp.t(y), tp.t(x), tp.t(v))
	tp.record(func() {
		if g := tp.gradOf(y); g != nil {
			tp.cpu.ScaleShiftBackward(tp.gw(x), tp.g(v), g, tp.t(x), tp.t(v))
		}
	})
	return y
}

func (e *tapeExec) concat(a, b *node) *node {
	tp := e.tape()
	as, bs := a.shape, b.shape
	y := tp.newNode(Shape{as[0], as[1] + bs[1], as[2], as[3]})
	tp.cpu.Concat(tp.t(y), tp.t(a), tp.t(b))
	tp.record(func() {
		if g := tp.gradOf(y); g != nil {
			tp.cpu.ConcatBackward(tp.gw(a), tp.gw(b), g)
		}
	})
	return y
}

func (e *tapeExec) upsample(x *node) *node {
	tp := e.tape()
	s := x.shape
	y := tp.newNode(Shape{s[0], s[1], 2 * s[2], 2 * s[3]})
	tp.cpu.Upsample2x(tp.t(y), tp.t(x))
	tp.record(func() {
		if g := tp.gradOf(y); g != nil {
			tp.cpu.Upsample2xBackward(tp.gw(x), g)
		}
	})
	return y
}

func (e *tapeExec) attention(q, k, v *node, heads int, scale float32) *node {
	tp := e.tape()
	s := q.shape
	t := s[2] * s[3]
	// The softmax probabilities, [n][heads][t][t], for the backward pass.
	probs := tp.mem.allocRaw(s[0] * heads * t * t)
	y := tp.newNode(s)
	tp.cpu.AttentionProbs(tp.t(y), tp.t(q), tp.t(k), tp.t(v), heads, scale, probs)
	tp.record(func() {
		if g := tp.gradOf(y); g != nil {
			// Overwriting is safe only when the three are distinct (dv is
			// written first, dq before dk).
			dq, dk, dv := tp.g, tp.g, tp.g
			if q != k && k != v && q != v {
				dq, dk, dv = tp.gw, tp.gw, tp.gw
			}
			tp.cpu.AttentionBackward(dq(q), dk(k), dv(v), g, tp.t(q), tp.t(k), tp.t(v), heads, scale, probs)
		}
	})
	return y
}

func (e *tapeExec) emit(string, *node) {}
func (e *tapeExec) release(*node)      {} // the backward pass reads every value
func (e *tapeExec) observing() bool    { return false }
func (e *tapeExec) checkpoint() error  { return nil }
