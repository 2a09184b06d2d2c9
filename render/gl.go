// Package render is the U-Net's OpenGL compute backend: every kernel of
// unet.Backend as a GLSL compute shader (package shaders), run by one
// goroutine locked to its OS thread that owns a headless OpenGL 4.3 core
// context made through EGL's surfaceless platform — no window, no X server.
// libEGL is loaded at run time, so a machine without it still starts and
// runs on the CPU; Open says why it cannot give a context.
//
// The shaders are plain (one invocation per output element, shared-memory
// reductions for GroupNorm): correct on any conforming driver, including
// Mesa's software llvmpipe, on which CI runs them. The convolution, where
// the time goes, is by default a shared-memory tiled implicit GEMM; the
// plain one stays as the reference. See docs/gl-backend.md.
package render

import (
	"fmt"
	"io/fs"
	"runtime"
	"strings"
	"sync"

	"github.com/go-gl/gl/v4.3-core/gl"

	"github.com/ddpmstudio/ddpmstudio/shaders"
	"github.com/ddpmstudio/ddpmstudio/unet"
	"github.com/ddpmstudio/ddpmstudio/unet/backend"
)

// GL is the OpenGL compute backend. Its methods may be called from any one
// goroutine at a time (the unet contract); the GL calls themselves run on
// the backend's own locked thread.
type GL struct {
	calls    chan func()
	done     chan struct{}
	egl      *egl
	progs    map[string]*program
	scratch  uint32 // attention scores
	scratchN int
	stats    uint32 // GroupNorm statistics
	statsN   int
	part     uint32 // split-K convolution partial sums
	partN    int
	err      error // sticky; written on the GL thread, read through do
	caps     unet.Caps
	Renderer string // GL_RENDERER, e.g. "llvmpipe (LLVM 15.0.6, 256 bits)"
	Version  string
	// Conv is the convolution variant in use: ConvTiled or ConvPlain.
	Conv   string
	opts   Options
	closed bool
	mu     sync.Mutex
}

type program struct {
	id       uint32
	uniforms map[string]int32
}

// Tensor is a GL shader storage buffer.
type Tensor struct {
	shape unet.Shape
	buf   uint32
}

// Shape implements unet.Tensor.
func (t *Tensor) Shape() unet.Shape { return t.shape }

// The convolution variants.
const (
	// ConvPlain is one invocation per output element, reading its inputs
	// straight from the buffers: the simple reference.
	ConvPlain = "plain"
	// ConvTiled is an implicit GEMM over 64×64 tiles staged in shared
	// memory, 4×4 outputs per invocation: each loaded value is reused 64
	// times.
	ConvTiled = "tiled"
)

// Options choose among the shader variants; the zero value takes the
// fastest measured (tiled).
type Options struct {
	Conv string // "", ConvPlain or ConvTiled
}

// Open makes the context, compiles every shader and returns the backend, or
// an error saying why the GL backend is not available here.
func Open() (*GL, error) { return OpenWith(Options{}) }

// OpenWith is Open with chosen shader variants (for tests and benchmarks
// that compare them on one renderer).
func OpenWith(opts Options) (*GL, error) {
	switch opts.Conv {
	case "", ConvPlain, ConvTiled:
	default:
		return nil, fmt.Errorf("gl backend: unknown convolution variant %q (plain or tiled)", opts.Conv)
	}
	g := &GL{calls: make(chan func(), 256), done: make(chan struct{}), progs: map[string]*program{}, opts: opts}
	ready := make(chan error, 1)
	go g.loop(ready)
	if err := <-ready; err != nil {
		return nil, err
	}
	return g, nil
}

// loop is the GL thread: it owns the context and runs every call.
func (g *GL) loop(ready chan<- error) {
	runtime.LockOSThread()
	defer close(g.done)
	e, err := loadEGL()
	if err == nil {
		err = e.open()
	}
	if err == nil {
		g.egl = e
		err = g.init()
	}
	if err != nil {
		if e != nil {
			e.close()
		}
		ready <- fmt.Errorf("gl backend: %w", err)
		return
	}
	ready <- nil
	for f := range g.calls {
		f()
	}
	g.release()
	g.egl.close()
}

func (g *GL) init() error {
	if err := gl.InitWithProcAddrFunc(g.egl.procAddress); err != nil {
		return fmt.Errorf("loading OpenGL functions: %w", err)
	}
	var major, minor int32
	gl.GetIntegerv(gl.MAJOR_VERSION, &major)
	gl.GetIntegerv(gl.MINOR_VERSION, &minor)
	if major < 4 || (major == 4 && minor < 3) {
		return fmt.Errorf("OpenGL %d.%d, compute shaders need 4.3", major, minor)
	}
	g.Renderer = gl.GoStr(gl.GetString(gl.RENDERER))
	g.Version = gl.GoStr(gl.GetString(gl.VERSION))
	var maxBlock int64
	gl.GetInteger64v(gl.MAX_SHADER_STORAGE_BLOCK_SIZE, &maxBlock)
	soft := strings.Contains(strings.ToLower(g.Renderer), "llvmpipe") || strings.Contains(strings.ToLower(g.Renderer), "softpipe")
	g.caps = unet.Caps{MaxTensorBytes: maxBlock, Hardware: !soft}
	// The tiled convolution was written for GPUs but measured 2.8× faster
	// than the plain one on llvmpipe too (docs/gl-backend.md), so it is the
	// default on every renderer; the plain one stays as the reference.
	g.Conv = g.opts.Conv
	if g.Conv == "" {
		g.Conv = ConvTiled
	}
	files, err := fs.Glob(shaders.FS, "*.comp")
	if err != nil {
		return err
	}
	for _, f := range files {
		src, err := fs.ReadFile(shaders.FS, f)
		if err != nil {
			return err
		}
		p, err := compile(f, string(src))
		if err != nil {
			return err
		}
		g.progs[strings.TrimSuffix(f, ".comp")] = p
	}
	return nil
}

func compile(name, src string) (*program, error) {
	sh := gl.CreateShader(gl.COMPUTE_SHADER)
	csrc, free := gl.Strs(src + "\x00")
	gl.ShaderSource(sh, 1, csrc, nil)
	free()
	gl.CompileShader(sh)
	var ok int32
	gl.GetShaderiv(sh, gl.COMPILE_STATUS, &ok)
	if ok == 0 {
		return nil, fmt.Errorf("shader %s does not compile: %s", name, shaderLog(sh, false))
	}
	p := gl.CreateProgram()
	gl.AttachShader(p, sh)
	gl.LinkProgram(p)
	gl.DeleteShader(sh)
	gl.GetProgramiv(p, gl.LINK_STATUS, &ok)
	if ok == 0 {
		return nil, fmt.Errorf("shader %s does not link: %s", name, shaderLog(p, true))
	}
	return &program{id: p, uniforms: map[string]int32{}}, nil
}

func shaderLog(id uint32, prog bool) string {
	var n int32
	if prog {
		gl.GetProgramiv(id, gl.INFO_LOG_LENGTH, &n)
	} else {
		gl.GetShaderiv(id, gl.INFO_LOG_LENGTH, &n)
	}
	buf := make([]byte, n+1)
	if prog {
		gl.GetProgramInfoLog(id, n, nil, &buf[0])
	} else {
		gl.GetShaderInfoLog(id, n, nil, &buf[0])
	}
	return strings.TrimSpace(strings.TrimRight(string(buf), "\x00"))
}

// post queues f for the GL thread and returns at once: the kernels, which
// return nothing, run in order behind the caller (the backend contract
// lets them run asynchronously; Download is the barrier), so the graph's
// Go code overlaps the driver's work instead of waiting on each dispatch.
// f must capture nothing the caller changes afterwards.
// It reports whether f was queued (not after Close).
func (g *GL) post(f func()) bool {
	g.mu.Lock()
	closed := g.closed
	g.mu.Unlock()
	if !closed {
		g.calls <- f
	}
	return !closed
}

// do runs f on the GL thread and waits for it.
func (g *GL) do(f func()) {
	wait := make(chan struct{})
	if g.post(func() { f(); close(wait) }) {
		<-wait
	}
}

func (g *GL) fail(err error) {
	if g.err == nil {
		g.err = err
	}
}

// Name implements unet.Backend.
func (g *GL) Name() string { return "gl" }

// Caps implements unet.Backend.
func (g *GL) Caps() unet.Caps { return g.caps }

// Err implements unet.Backend.
func (g *GL) Err() error {
	var err error
	g.do(func() {
		if e := gl.GetError(); e != gl.NO_ERROR {
			g.fail(fmt.Errorf("OpenGL error %#x", e))
		}
		err = g.err
	})
	return err
}

// Alloc implements unet.Backend.
func (g *GL) Alloc(s unet.Shape) unet.Tensor {
	t := &Tensor{shape: s}
	bytes := 4 * int64(max(1, s.Len()))
	g.do(func() {
		if g.caps.MaxTensorBytes > 0 && bytes > g.caps.MaxTensorBytes {
			g.fail(fmt.Errorf("a %v tensor of %d bytes exceeds GL_MAX_SHADER_STORAGE_BLOCK_SIZE (%d)", s, bytes, g.caps.MaxTensorBytes))
			return
		}
		gl.GenBuffers(1, &t.buf)
		gl.BindBuffer(gl.SHADER_STORAGE_BUFFER, t.buf)
		gl.BufferData(gl.SHADER_STORAGE_BUFFER, int(bytes), nil, gl.DYNAMIC_COPY)
	})
	return t
}

// Free implements unet.Backend.
func (g *GL) Free(t unet.Tensor) {
	gt := t.(*Tensor)
	g.do(func() {
		if gt.buf != 0 {
			gl.DeleteBuffers(1, &gt.buf)
			gt.buf = 0
		}
	})
}

// Upload implements unet.Backend.
func (g *GL) Upload(dst unet.Tensor, src []float32) {
	t := dst.(*Tensor)
	if len(src) == 0 {
		return
	}
	g.do(func() {
		gl.BindBuffer(gl.SHADER_STORAGE_BUFFER, t.buf)
		gl.BufferSubData(gl.SHADER_STORAGE_BUFFER, 0, 4*len(src), gl.Ptr(src))
	})
}

// Download implements unet.Backend: it waits for every earlier kernel.
func (g *GL) Download(dst []float32, src unet.Tensor) {
	t := src.(*Tensor)
	if len(dst) == 0 {
		return
	}
	g.do(func() {
		gl.MemoryBarrier(gl.BUFFER_UPDATE_BARRIER_BIT | gl.SHADER_STORAGE_BARRIER_BIT)
		gl.BindBuffer(gl.SHADER_STORAGE_BUFFER, t.buf)
		gl.GetBufferSubData(gl.SHADER_STORAGE_BUFFER, 0, 4*len(dst), gl.Ptr(dst))
	})
}

// Close implements unet.Backend: it frees everything and ends the context.
func (g *GL) Close() error {
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return nil
	}
	g.closed = true
	g.mu.Unlock()
	close(g.calls)
	<-g.done
	return nil
}

func (g *GL) release() {
	for _, p := range g.progs {
		gl.DeleteProgram(p.id)
	}
	for _, b := range []*uint32{&g.scratch, &g.stats, &g.part} {
		if *b != 0 {
			gl.DeleteBuffers(1, b)
		}
	}
}

// run binds buffers to 0, 1, … and dispatches prog over total invocations
// (work groups of size local), setting the uniforms given.
func (g *GL) run(name string, total int, local int, uniforms map[string]any, bufs ...uint32) {
	if total == 0 || !g.use(name, total, uniforms, bufs) {
		return
	}
	groups := (total + local - 1) / local
	if local == 256 { // one work group per item (GroupNorm statistics)
		groups = total
	}
	gx := min(groups, 65535)
	gy := (groups + gx - 1) / gx
	gl.DispatchCompute(uint32(gx), uint32(gy), 1)
	gl.MemoryBarrier(gl.SHADER_STORAGE_BARRIER_BIT)
}

// runGrid dispatches prog over a grid of work groups the shader indexes
// itself (the tiled variants).
func (g *GL) runGrid(name string, grid [3]int, uniforms map[string]any, bufs ...uint32) {
	if grid[0]*grid[1]*grid[2] == 0 || !g.use(name, 0, uniforms, bufs) {
		return
	}
	if grid[0] > 65535 || grid[1] > 65535 || grid[2] > 65535 {
		g.fail(fmt.Errorf("%s: a grid of %v work groups exceeds 65535 in one dimension", name, grid))
		return
	}
	gl.DispatchCompute(uint32(grid[0]), uint32(grid[1]), uint32(grid[2]))
	gl.MemoryBarrier(gl.SHADER_STORAGE_BARRIER_BIT)
}

// use makes prog current with its buffers and uniforms; false if it is
// missing (a sticky error is recorded).
func (g *GL) use(name string, total int, uniforms map[string]any, bufs []uint32) bool {
	p := g.progs[name]
	if p == nil {
		g.fail(fmt.Errorf("no shader %s", name))
		return false
	}
	gl.UseProgram(p.id)
	for i, b := range bufs {
		gl.BindBufferBase(gl.SHADER_STORAGE_BUFFER, uint32(i), b)
	}
	u := func(n string) int32 {
		loc, ok := p.uniforms[n]
		if !ok {
			loc = gl.GetUniformLocation(p.id, gl.Str(n+"\x00"))
			p.uniforms[n] = loc
		}
		return loc
	}
	if total > 0 {
		gl.Uniform1ui(u("total"), uint32(total))
	}
	for n, v := range uniforms {
		switch v := v.(type) {
		case int:
			gl.Uniform1i(u(n), int32(v))
		case float32:
			gl.Uniform1f(u(n), v)
		case [2]int:
			gl.Uniform2i(u(n), int32(v[0]), int32(v[1]))
		case [3]int:
			gl.Uniform3i(u(n), int32(v[0]), int32(v[1]), int32(v[2]))
		case unet.Shape:
			gl.Uniform4i(u(n), int32(v[0]), int32(v[1]), int32(v[2]), int32(v[3]))
		}
	}
	return true
}

func buf(t unet.Tensor) uint32 { return t.(*Tensor).buf }

// Conv2D implements unet.Backend.
func (g *GL) Conv2D(dst, x, w, bias unet.Tensor, stride int, pad unet.Padding) {
	ds := dst.Shape()
	u := map[string]any{"xs": x.Shape(), "ds": ds, "k": w.Shape()[2], "stride": stride, "pad": [2]int{pad.Top, pad.Left}}
	g.post(func() {
		if g.Conv == ConvTiled {
			tiles := [2]int{(ds[2]*ds[3] + 63) / 64, (ds[1] + 63) / 64}
			kdim := x.Shape()[1] * w.Shape()[2] * w.Shape()[3]
			ksplit, kper := splitK(tiles[0]*tiles[1]*ds[0], kdim)
			u["ksplit"], u["kper"] = ksplit, kper
			if ksplit == 1 {
				g.runGrid("conv2d_tiled", [3]int{tiles[0], tiles[1], ds[0]}, u, buf(dst), buf(x), buf(w), buf(bias))
				return
			}
			g.ensure(&g.part, &g.partN, ksplit*ds.Len())
			g.runGrid("conv2d_tiled", [3]int{tiles[0], tiles[1], ds[0] * ksplit}, u, g.part, buf(x), buf(w), buf(bias))
			g.run("conv_reduce", ds.Len(), 64, map[string]any{"ksplit": ksplit, "co": ds[1], "hw": ds[2] * ds[3]}, buf(dst), g.part, buf(bias))
			return
		}
		g.run("conv2d", ds.Len(), 64, u, buf(dst), buf(x), buf(w), buf(bias))
	})
}

// splitTarget is the number of work groups below which a tiled
// convolution splits its sum over k: two per multiprocessor of a large GPU
// (an H100 or H200 has 132).
const splitTarget = 264

// splitK chooses how many parts a tiled convolution of groups work groups
// splits its k = Ci·kh·kw sums into, and the k per part (a multiple of the
// 16-deep slice): enough parts for splitTarget groups, none shorter than
// 64, so that each still loops over several slices.
func splitK(groups, kdim int) (ksplit, kper int) {
	ksplit = 1
	if groups < splitTarget {
		ksplit = min((splitTarget+groups-1)/groups, kdim/64)
	}
	ksplit = max(1, ksplit)
	kper = ((kdim+ksplit-1)/ksplit + 15) / 16 * 16
	return (kdim + kper - 1) / kper, kper
}

// Linear implements unet.Backend.
func (g *GL) Linear(dst, x, w, bias unet.Tensor) {
	g.post(func() {
		g.run("linear", dst.Shape().Len(), 64, map[string]any{"nin": x.Shape()[1], "nout": dst.Shape()[1]},
			buf(dst), buf(x), buf(w), buf(bias))
	})
}

// GroupNorm implements unet.Backend: statistics per group, then the affine
// map (in place when dst is x).
func (g *GL) GroupNorm(dst, x, gamma, beta unet.Tensor, groups int, eps float32, silu bool) {
	s := x.Shape()
	hw := s[2] * s[3]
	g.post(func() {
		g.ensure(&g.stats, &g.statsN, 2*s[0]*groups)
		g.run("gn_stats", s[0]*groups, 256, map[string]any{"cpg": s[1] / groups, "hw": hw, "eps": eps}, g.stats, buf(x))
		sl := 0
		if silu {
			sl = 1
		}
		g.run("gn_apply", s.Len(), 64, map[string]any{"c": s[1], "groups": groups, "hw": hw, "silu": sl},
			buf(dst), buf(x), buf(gamma), buf(beta), g.stats)
	})
}

// ensure grows a scratch buffer to n floats.
func (g *GL) ensure(b *uint32, have *int, n int) {
	if *have >= n {
		return
	}
	if *b != 0 {
		gl.DeleteBuffers(1, b)
	}
	gl.GenBuffers(1, b)
	gl.BindBuffer(gl.SHADER_STORAGE_BUFFER, *b)
	gl.BufferData(gl.SHADER_STORAGE_BUFFER, 4*n, nil, gl.DYNAMIC_COPY)
	*have = n
}

func (g *GL) eltwise(op int, dst, a, b unet.Tensor, div float32) {
	s := dst.Shape()
	bb := buf(a)
	if b != nil {
		bb = buf(b)
	}
	g.post(func() {
		g.run("eltwise", s.Len(), 64, map[string]any{"op": op, "c": s[1], "hw": s[2] * s[3], "div": div}, buf(dst), buf(a), bb)
	})
}

// SiLU implements unet.Backend.
func (g *GL) SiLU(dst, x unet.Tensor) { g.eltwise(0, dst, x, nil, 1) }

// AddChannels implements unet.Backend.
func (g *GL) AddChannels(dst, x, v unet.Tensor) { g.eltwise(1, dst, x, v, 1) }

// ScaleShift implements unet.Backend.
func (g *GL) ScaleShift(dst, x, v unet.Tensor) { g.eltwise(2, dst, x, v, 1) }

// AddDiv implements unet.Backend.
func (g *GL) AddDiv(dst, a, b unet.Tensor, div float32) { g.eltwise(3, dst, a, b, div) }

// Concat implements unet.Backend.
func (g *GL) Concat(dst, a, b unet.Tensor) {
	s := dst.Shape()
	g.post(func() {
		g.run("concat", s.Len(), 64, map[string]any{"ca": a.Shape()[1], "cb": b.Shape()[1], "hw": s[2] * s[3]}, buf(dst), buf(a), buf(b))
	})
}

// Upsample2x implements unet.Backend.
func (g *GL) Upsample2x(dst, x unet.Tensor) {
	s := x.Shape()
	g.post(func() {
		g.run("upsample", dst.Shape().Len(), 64, map[string]any{"h": s[2], "w": s[3]}, buf(dst), buf(x))
	})
}

// Attention implements unet.Backend: scores into a scratch buffer, softmax
// per row, then the weighted sum of values.
func (g *GL) Attention(dst, q, k, v unet.Tensor, heads int, scale float32) {
	s := q.Shape()
	t := s[2] * s[3]
	d := s[1] / heads
	g.post(func() {
		g.ensure(&g.scratch, &g.scratchN, s[0]*heads*t*t)
		u := map[string]any{"heads": heads, "d": d, "t": t, "scale": scale}
		// The plain variant keeps the reference shaders, one invocation per
		// output. Otherwise, per (sample, head) z, scores(i, j) =
		// scale·Σ_c q[z·d·t + c·t + i]·k[z·d·t + c·t + j] and out(c, i) =
		// Σ_j v[z·d·t + c·t + j]·p[z·t·t + i·t + j] are tiled products.
		plain, batch := g.Conv == ConvPlain, s[0]*heads
		if plain {
			g.run("attn_scores", s[0]*heads*t*t, 64, u, g.scratch, buf(q), buf(k))
		} else {
			g.runGrid("bmm_tiled", [3]int{(t + 63) / 64, (t + 63) / 64, batch}, map[string]any{
				"mnk": [3]int{t, t, d}, "sa": [2]int{1, t}, "sb": [2]int{t, 1}, "sc": [2]int{t, 1},
				"bstr": [3]int{d * t, d * t, t * t}, "alpha": scale}, g.scratch, buf(q), buf(k))
		}
		g.run("attn_softmax", s[0]*heads*t, 64, map[string]any{"t": t}, g.scratch)
		if plain {
			g.run("attn_out", s.Len(), 64, map[string]any{"heads": heads, "d": d, "t": t}, buf(dst), g.scratch, buf(v))
		} else {
			g.runGrid("bmm_tiled", [3]int{(t + 63) / 64, (d + 63) / 64, batch}, map[string]any{
				"mnk": [3]int{d, t, t}, "sa": [2]int{t, 1}, "sb": [2]int{1, t}, "sc": [2]int{t, 1},
				"bstr": [3]int{d * t, t * t, d * t}, "alpha": float32(1)}, buf(dst), buf(v), g.scratch)
		}
	})
}

// TimestepEmbedding implements unet.Backend. The embedding is N×D numbers,
// computed on the host exactly as the CPU backend computes it (float32
// arguments, as diffusers does) and uploaded: a shader's sin of an argument
// near 1000 would differ at the fourth digit.
func (g *GL) TimestepEmbedding(dst unet.Tensor, t []float32, flipSinToCos bool, freqShift float32) {
	out := make([]float32, dst.Shape().Len())
	backend.SinusoidalEmbedding(out, dst.Shape()[1], t, flipSinToCos, freqShift)
	g.Upload(dst, out)
}

var _ unet.Backend = (*GL)(nil)
