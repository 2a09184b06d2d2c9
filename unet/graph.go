package unet

import "strconv"

// The U-Net's graph is written once, here, as walk over an executor. Two
// executors run it: the forward pass on any Backend (model.go; on the null
// backend the same executor counts FLOPs and activation bytes and checks a
// backend's capacity without computing anything), and the training tape on
// the CPU (grad.go), which runs the same forward kernels and records their
// backward kernels. A change to the architecture is made in walk and
// reaches sampling, training and every count at once.

// executor runs one operation of the graph on values of type T (a backend
// tensor for the forward pass, a node with its gradient for training) and
// returns its result. reuse says that the input is not used again, so the
// result may overwrite it (an in-place kernel, which the Backend contract
// allows for element-wise operations); an executor may ignore it.
type executor[T any] interface {
	// input is the network's input batch x of shape s.
	input(x []float32, s Shape) T
	// timeProj is the sinusoidal embedding of v (timesteps, or class labels
	// for class_embed_type "timestep"), width wide.
	timeProj(v []float32, width int) T
	// classRows looks the class embedding table up.
	classRows(classes []int) T
	linear(l linear, x T) T
	conv(c conv, x T) T
	norm(g groupNorm, x T, silu, reuse bool) T
	silu(x T, reuse bool) T
	addChannels(x, v T, reuse bool) T
	scaleShift(x, v T, reuse bool) T
	addDiv(a, b T, div float32) T
	concat(a, b T) T
	upsample(x T) T
	attention(q, k, v T, heads int, scale float32) T
	// release says that x is dead: the graph reads it no more, so its
	// memory may hold a later value. The forward pass hands it back to the
	// arena (activations then cost the most that is alive at once, not the
	// sum of every value); the training tape keeps everything.
	release(x T)
	// emit reports a module's output under its diffusers name; observing
	// says whether anyone listens (the graph then splits conv_norm_out's
	// GroupNorm from its SiLU, as diffusers' module boundary does).
	emit(name string, x T)
	observing() bool
	// checkpoint is called between blocks: a non-nil error (cancellation)
	// stops the walk.
	checkpoint() error
}

// walk runs the graph of m on a checked batch of n samples of h×w at
// timesteps t with class labels classes (nil for unconditional models).
func walk[T any](m *Model, ex executor[T], x []float32, n, h, w int, t []float32, classes []int) (T, error) {
	cfg := m.Config
	in := ex.input(x, Shape{n, cfg.InChannels, h, w})

	// Time (and class) embedding; every resnet applies SiLU to it, so do it once.
	tproj := ex.timeProj(t, cfg.BlockOutChannels[0])
	ex.emit("time_proj", tproj)
	emb := mlp(ex, m.timeLin1, m.timeLin2, tproj)
	ex.emit("time_embedding", emb)
	if cfg.HasClasses() {
		var cls T
		if m.classLin1 != nil {
			lab := make([]float32, n)
			for i, c := range classes[:n] {
				lab[i] = float32(c)
			}
			cls = mlp(ex, *m.classLin1, *m.classLin2, ex.timeProj(lab, cfg.BlockOutChannels[0]))
		} else {
			cls = ex.classRows(classes)
		}
		ex.emit("class_embedding", cls)
		emb = ex.addDiv(emb, cls, 1)
	}
	embAct := ex.silu(emb, false)

	hcur := ex.conv(m.convIn, in)
	ex.release(in)
	ex.emit("conv_in", hcur)
	// Every down-path output is a skip, alive until its up-path resnet has
	// read it; values in between are released once read.
	skips := []T{hcur}
	var zero T
	for i, blk := range m.down {
		name := "down_blocks." + strconv.Itoa(i)
		for j, r := range blk.resnets {
			hcur = walkResnet(ex, r, hcur, embAct)
			ex.emit(name+".resnets."+strconv.Itoa(j), hcur)
			if at := blk.attns[j]; at != nil {
				a := walkAttention(ex, at, hcur)
				ex.release(hcur)
				hcur = a
				ex.emit(name+".attentions."+strconv.Itoa(j), hcur)
			}
			skips = append(skips, hcur)
		}
		if blk.resize != nil {
			hcur = ex.conv(*blk.resize, hcur)
			ex.emit(name+".downsamplers.0", hcur)
			skips = append(skips, hcur)
		}
		ex.emit(name, hcur)
		if err := ex.checkpoint(); err != nil {
			return zero, err
		}
	}
	isSkip := true // hcur is skips' last element until the mid block replaces it
	if m.mid != nil {
		h := walkResnet(ex, m.mid.res0, hcur, embAct)
		ex.emit("mid_block.resnets.0", h)
		if m.mid.attn != nil {
			a := walkAttention(ex, m.mid.attn, h)
			ex.release(h)
			h = a
			ex.emit("mid_block.attentions.0", h)
		}
		hcur = walkResnet(ex, m.mid.res1, h, embAct)
		ex.release(h)
		isSkip = false
		ex.emit("mid_block.resnets.1", hcur)
		ex.emit("mid_block", hcur)
		if err := ex.checkpoint(); err != nil {
			return zero, err
		}
	}
	for i, blk := range m.up {
		name := "up_blocks." + strconv.Itoa(i)
		for j, r := range blk.resnets {
			skip := skips[len(skips)-1]
			skips = skips[:len(skips)-1]
			cat := ex.concat(hcur, skip)
			if !isSkip { // without a mid block, hcur is this very skip
				ex.release(hcur)
			}
			isSkip = false
			ex.release(skip)
			hcur = walkResnet(ex, r, cat, embAct)
			ex.release(cat)
			ex.emit(name+".resnets."+strconv.Itoa(j), hcur)
			if at := blk.attns[j]; at != nil {
				a := walkAttention(ex, at, hcur)
				ex.release(hcur)
				hcur = a
				ex.emit(name+".attentions."+strconv.Itoa(j), hcur)
			}
		}
		if blk.resize != nil {
			u := ex.upsample(hcur)
			ex.release(hcur)
			hcur = ex.conv(*blk.resize, u)
			ex.release(u)
			ex.emit(name+".upsamplers.0", hcur)
		}
		ex.emit(name, hcur)
		if err := ex.checkpoint(); err != nil {
			return zero, err
		}
	}
	if ex.observing() {
		// diffusers' conv_norm_out is the GroupNorm alone; the SiLU follows.
		h := ex.norm(m.normOut, hcur, false, false)
		ex.release(hcur)
		ex.emit("conv_norm_out", h)
		hcur = ex.silu(h, true)
	} else {
		h := ex.norm(m.normOut, hcur, true, false)
		ex.release(hcur)
		hcur = h
	}
	out := ex.conv(m.convOut, hcur)
	ex.release(hcur)
	ex.emit("conv_out", out)
	return out, nil
}

func mlp[T any](ex executor[T], l1, l2 linear, x T) T {
	return ex.linear(l2, ex.silu(ex.linear(l1, x), false))
}

// walkResnet is diffusers' ResnetBlock2D: GroupNorm, SiLU, conv, the time
// embedding added per channel (or applied as scale and shift after the
// second GroupNorm), GroupNorm, SiLU, conv, and the residual (through a 1×1
// conv when the channel count changes) divided by output_scale_factor.
func walkResnet[T any](ex executor[T], r resnet, x, embAct T) T {
	n1 := ex.norm(r.norm1, x, true, false)
	h := ex.conv(r.conv1, n1)
	ex.release(n1)
	t := ex.linear(r.temb, embAct)
	if r.scaleShift {
		n2 := ex.norm(r.norm2, h, false, false)
		ex.release(h)
		h = ex.silu(ex.scaleShift(n2, t, true), true)
	} else {
		a := ex.addChannels(h, t, false)
		ex.release(h)
		h = ex.norm(r.norm2, a, true, true)
	}
	ex.release(t)
	h2 := ex.conv(r.conv2, h)
	ex.release(h)
	short := x
	if r.shortcut != nil {
		short = ex.conv(*r.shortcut, x)
	}
	out := ex.addDiv(short, h2, r.outScale)
	ex.release(h2)
	if r.shortcut != nil {
		ex.release(short)
	}
	return out
}

// walkAttention is diffusers' Attention over the H·W tokens with the
// residual added and divided by rescale_output_factor.
func walkAttention[T any](ex executor[T], at *attention, x T) T {
	hn := x
	if at.norm != nil {
		hn = ex.norm(*at.norm, x, false, false)
	}
	q, k, v := ex.conv(at.q, hn), ex.conv(at.k, hn), ex.conv(at.v, hn)
	if at.norm != nil {
		ex.release(hn)
	}
	a := ex.attention(q, k, v, at.heads, at.scale)
	ex.release(q)
	ex.release(k)
	ex.release(v)
	o := ex.conv(at.o, a)
	ex.release(a)
	out := ex.addDiv(o, x, at.rescale)
	ex.release(o)
	return out
}
