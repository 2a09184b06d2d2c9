package cpu

import (
	"gonum.org/v1/gonum/blas"

	"github.com/ddpmstudio/ddpmstudio/internal/par"
	"github.com/ddpmstudio/ddpmstudio/unet/backend"
	"github.com/ddpmstudio/ddpmstudio/unet/sgemm"
	"github.com/ddpmstudio/ddpmstudio/unet/vec"
)

// The backward kernels of training. Each adds the gradients of its kernel's
// inputs to the tensors it is given (which start at zero, or hold the
// gradients of other uses of the same input), from dy, the gradient of the
// kernel's output. A dx made by Fresh (garbage, not zeros) is overwritten
// by the kernels whose comment says so. Training is a CPU feature: the
// graph's training tape in package unet calls these and the forward kernels
// that keep what the backward pass needs (GroupNormStats, AttentionProbs),
// nothing else.

// gradSlots is the number of partial sums of a convolution's weight and
// bias gradients: samples s, s+gradSlots, … go to partial s, summed in
// sample order, and the partials are added in slot order. The number is
// fixed — not the core count — so that the gradients, and so training, are
// the same bits on any machine.
const gradSlots = 4

// Conv2DBackward adds the gradients of Conv2D(y, x, w, _, stride, pad):
// dw += dy·colᵀ, db += Σ dy, dx += the adjoint of the convolution. The
// samples are split among gradSlots partial sums computed in parallel. A
// Fresh dx is overwritten.
func (c *Backend) Conv2DBackward(dx, dw, db, dy, x, w backend.Tensor, stride int, pad backend.Padding) {
	xs, ws, ys := x.Shape(), w.Shape(), dy.Shape()
	n, ci, h, wd := xs[0], xs[1], xs[2], xs[3]
	co, kh, kw := ws[0], ws[2], ws[3]
	ho, wo := ys[2], ys[3]
	k, p := ci*kh*kw, ho*wo
	impl := c.blas
	serial := impl
	fast, isSgemm := impl.(sgemm.Implementation)
	if isSgemm {
		serial = fast.WithWorkers(1)
	}
	wdat, dW, dB, dyd, xd, dxd := data(w), data(dw), data(db), data(dy), data(x), data(dx)
	direct := kh == 1 && kw == 1 && stride == 1 && pad == (backend.Padding{})
	over := isFresh(dx)
	dxBeta := float32(1)
	if over {
		dxBeta = 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	// A stride-1 convolution's input gradient is itself a convolution: of dY
	// with the kernel flipped and its in/out channels swapped, padded by
	// k−1−pad. That runs through gridConv (or winogradConv) and skips col2im.
	transposed := !direct && stride == 1 && isSgemm && ho == h && wo == wd && kh == kw
	slots := min(gradSlots, n)
	need := slots * (len(dW) + len(dB))
	if !direct {
		need += slots * 2 * k * p
	}
	// The weight gradient of a stride-1 convolution is Winograd's where the
	// forward is (winogradWeightGrad), else it gathers its image columns
	// straight from a padded copy of the input (gridWeightGrad), with no col
	// matrix. The choice is the layer's shape alone, never the CPU: the two
	// sum in different orders, and every path must give the same bits
	// (DotNT's Go code, slower, takes the vector code's steps).
	winoW := transposed && winogradFits(kh, ci, co, h, wd, pad)
	gridW := transposed && !winoW
	hp, wp := h+pad.Top+pad.Bottom, wd+pad.Left+pad.Right
	gridLen := ci*hp*wp + kh + co*ho*wp
	switch {
	case winoW:
		need = slots * (len(dW) + len(dB)) // the slots' buffers are c.winoGrads
		for q := range c.winoGrads[:slots] {
			c.winoGrads[q].du = grow(c.winoGrads[q].du, 16*co*ci)
			clear(c.winoGrads[q].du)
		}
	case gridW:
		need = slots*(len(dW)+len(dB)) + slots*gridLen
	}
	if len(c.trainCol) < need {
		c.trainCol = make([]float32, need)
	}
	scratch := c.trainCol[:need]
	parts := scratch[:slots*(len(dW)+len(dB))]
	clear(parts)
	par.For(slots, c.workers, func(q int) {
		pw := parts[q*(len(dW)+len(dB)) : q*(len(dW)+len(dB))+len(dW)]
		pb := parts[q*(len(dW)+len(dB))+len(dW) : (q+1)*(len(dW)+len(dB))]
		var col, dcol, grid []float32
		switch {
		case winoW:
		case gridW:
			grid = scratch[len(parts)+q*gridLen : len(parts)+(q+1)*gridLen]
		case !direct:
			cols := scratch[len(parts)+q*2*k*p:]
			col, dcol = cols[:k*p], cols[k*p:2*k*p]
		}
		for smp := q; smp < n; smp += slots {
			dys := dyd[smp*co*p : (smp+1)*co*p]
			for o := 0; o < co; o++ {
				pb[o] += float32(vec.Sum(dys[o*p : (o+1)*p]))
			}
			xin := xd[smp*ci*h*wd : (smp+1)*ci*h*wd]
			dxs := dxd[smp*ci*h*wd : (smp+1)*ci*h*wd]
			if direct {
				serial.Sgemm(blas.NoTrans, blas.Trans, co, k, p, 1, dys, p, xin, p, 1, pw, k)
				serial.Sgemm(blas.Trans, blas.NoTrans, k, p, co, 1, wdat, k, dys, p, dxBeta, dxs, p)
				continue
			}
			if winoW {
				continue // after the loop, for the slot's samples at once
			}
			if gridW {
				gridWeightGrad(serial.(sgemm.Implementation), pw, dys, co, xin, ci, h, wd, kh, pad, grid, &c.dyPacked[q])
				continue // dx after the loop, for all samples at once
			}
			im2col(c, col, xin, ci, h, wd, kh, kw, stride, pad, ho, wo)
			serial.Sgemm(blas.NoTrans, blas.Trans, co, k, p, 1, dys, p, col, p, 1, pw, k)
			serial.Sgemm(blas.Trans, blas.NoTrans, k, p, co, 1, wdat, k, dys, p, 0, dcol, p)
			if over {
				clear(dxs)
			}
			col2im(dxs, dcol, ci, h, wd, kh, kw, stride, pad, ho, wo)
		}
		if winoW {
			var smps []int
			for smp := q; smp < n; smp += slots {
				smps = append(smps, smp)
			}
			winogradWeightGrad(&c.winoGrads[q], dyd, co, xd, ci, h, wd, smps)
		}
	})
	if winoW {
		addWinogradKernelGrad(dW, c.winoGrads[:slots], co, ci)
	}
	for q := 0; q < slots; q++ {
		part := parts[q*(len(dW)+len(dB)):]
		for i := range dW {
			dW[i] += part[i]
		}
		for i := range dB {
			dB[i] += part[len(dW)+i]
		}
	}
	if transposed {
		flipPad := backend.Padding{Top: kh - 1 - pad.Top, Left: kw - 1 - pad.Left, Bottom: kh - 1 - pad.Bottom, Right: kw - 1 - pad.Right}
		var zeros []float32 // the product starts from zero, not from dx
		if over {
			zeros = make([]float32, ci)
		}
		if winogradFits(kh, co, ci, ho, wo, flipPad) {
			u := c.winogradWeights(w.(*Tensor), true, fast)
			c.winogradConv(fast, u, dxd, ci, dyd, n, co, ho, wo, zeros)
			return
		}
		flipped := c.flippedWeights(w.(*Tensor), ci, co, kh, fast)
		c.gridConv(fast, flipped, dxd, ci, dyd, n, co, ho, wo, kh, flipPad, zeros)
	}
}

// gridWeightGrad adds to dw (co × ci·k·k) the weight gradient of a
// stride-1 k×k convolution of one sample x (ci × h×w, padded by pad) whose
// output gradient is dy (co × ho×wo): dw += dY·colᵀ, with colᵀ gathered
// straight from a zero-bordered copy of x and no col matrix. On the padded
// grid of width wp the image value under tap t at grid pixel j is
// padded[off(t) + j], so a B panel (16 taps × a block of pixels) is sixteen
// contiguous runs interleaved (vec.Rows.GatherT16, a register transpose),
// and dY goes in grid layout with zeros in the k−1 extra columns per row.
// scratch holds the padded input and dY's grid, pa dY packed.
func gridWeightGrad(impl sgemm.Implementation, dw, dy []float32, co int, x []float32, ci, h, w, k int, pad backend.Padding, scratch []float32, pa *sgemm.PackedA) {
	hp, wp := h+pad.Top+pad.Bottom, w+pad.Left+pad.Right
	ho, wo := hp-k+1, wp-k+1
	plane, n := hp*wp, ho*wp
	padded, dyg := scratch[:ci*plane+k], scratch[ci*plane+k:ci*plane+k+co*n]
	padPlanes(padded, x, ci, h, w, hp, wp, pad)
	for o := 0; o < co; o++ {
		toGrid(dyg[o*n:(o+1)*n], dy[o*ho*wo:(o+1)*ho*wo], ho, wo, wp)
	}
	kk := k * k
	// dY is packed once here, not once per block of columns as GemmB
	// would (two or three times when ci·k² passes the column block).
	impl.PackAInto(pa, co, n, dyg, n)
	impl.GemmPacked(pa, ci*kk, func(dst []float32, p0, kcur, j0, ncur, nr int) {
		var offs [16]int
		for q := 0; q*nr < ncur; q++ {
			panel := dst[q*nr*kcur : (q+1)*nr*kcur]
			cols := min(nr, ncur-q*nr)
			if nr == 16 && cols == 16 {
				for tt := range offs {
					tap := j0 + q*nr + tt
					ch, r := tap/kk, tap%kk
					offs[tt] = ch*plane + (r/k)*wp + r%k
				}
				vec.NewRows(offs[:]).GatherT16(panel, padded, p0, kcur)
				continue
			}
			for tt := 0; tt < nr; tt++ {
				if tt >= cols {
					for pp := 0; pp < kcur; pp++ {
						panel[pp*nr+tt] = 0
					}
					continue
				}
				tap := j0 + q*nr + tt
				ch, r := tap/kk, tap%kk
				off := ch*plane + (r/k)*wp + r%k + p0
				for pp, v := range padded[off : off+kcur] {
					panel[pp*nr+tt] = v
				}
			}
		}
	}, dw, ci*kk)
}

// flippedWeights packs W'[i][o][ky][kx] = W[o][i][k−1−ky][k−1−kx], the
// kernel of the transposed convolution, once per weight update. The caller
// holds c.mu.
func (c *Backend) flippedWeights(w *Tensor, ci, co, k int, impl sgemm.Implementation) *sgemm.PackedA {
	if e, ok := c.flipped[w]; ok && e.version == w.version {
		return e.a
	}
	kk := k * k
	f := make([]float32, ci*co*kk)
	for o := 0; o < co; o++ {
		for i := 0; i < ci; i++ {
			src := w.Data[(o*ci+i)*kk : (o*ci+i+1)*kk]
			dst := f[(i*co+o)*kk : (i*co+o+1)*kk]
			for t := range src {
				dst[kk-1-t] = src[t]
			}
		}
	}
	pa := impl.PackA(ci, co*kk, f, co*kk)
	if c.flipped == nil {
		c.flipped = map[*Tensor]packedWeights{}
	}
	c.flipped[w] = packedWeights{version: w.version, a: pa}
	return pa
}

// col2im adds the columns back onto the image: the adjoint of im2col.
func col2im(dx, col []float32, ci, h, w, kh, kw, stride int, pad backend.Padding, ho, wo int) {
	p := ho * wo
	for ch := 0; ch < ci; ch++ {
		plane := dx[ch*h*w : (ch+1)*h*w]
		for ky := 0; ky < kh; ky++ {
			for kx := 0; kx < kw; kx++ {
				row := col[((ch*kh+ky)*kw+kx)*p:][:p]
				for oy := 0; oy < ho; oy++ {
					iy := oy*stride + ky - pad.Top
					if iy < 0 || iy >= h {
						continue
					}
					dst := plane[iy*w : (iy+1)*w]
					src := row[oy*wo : (oy+1)*wo]
					for ox, v := range src {
						if ix := ox*stride + kx - pad.Left; ix >= 0 && ix < w {
							dst[ix] += v
						}
					}
				}
			}
		}
	}
}

// LinearBackward adds the gradients of Linear(y, x, w, _).
func (c *Backend) LinearBackward(dx, dw, db, dy, x, w backend.Tensor) {
	n, in := x.Shape()[0], x.Shape()[1]
	out := w.Shape()[0]
	g := data(dy)
	c.blas.Sgemm(blas.Trans, blas.NoTrans, out, in, n, 1, g, out, data(x), in, 1, data(dw), in)
	c.blas.Sgemm(blas.NoTrans, blas.NoTrans, n, in, out, 1, g, out, data(w), in, 1, data(dx), in)
	dB := data(db)
	for i := 0; i < n; i++ {
		for o, v := range g[i*out : (i+1)*out] {
			dB[o] += v
		}
	}
}

// SiLUBackward adds dy·SiLU′(x) to dx, given y = SiLU(x) from the forward
// pass: with s = σ(x) = y/x, SiLU′(x) = s·(1 + x·(1 − s)) = s + y·(1 − s).
// Reading s back from y costs a division where recomputing σ cost an
// exponential (this loop was a ninth of a training step). A Fresh dx is
// overwritten.
func (c *Backend) SiLUBackward(dx, dy, x, y backend.Tensor) {
	dxd, g, xd, yd := data(dx), data(dy), data(x), data(y)
	over := isFresh(dx)
	c.parallel(len(xd), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			d := float32(g[i] * vec.SiLUPrime(xd[i], yd[i]))
			if !over {
				d += dxd[i]
			}
			dxd[i] = d
		}
	})
}

// AddDivBackward adds dy/div to da and to db; a Fresh one is overwritten.
func (c *Backend) AddDivBackward(da, db, dy backend.Tensor, div float32) {
	addTo(data(da), data(dy), div, isFresh(da))
	addTo(data(db), data(dy), div, isFresh(db))
}

// addTo adds g/div to dst's values, or writes them when over.
func addTo(dst, g []float32, div float32, over bool) {
	d := dst[:len(g)]
	switch {
	case over && div == 1:
		copy(d, g)
	case over:
		for i, v := range g {
			d[i] = v / div
		}
	default:
		for i, v := range g {
			d[i] += v / div
		}
	}
}

// EmbeddingBackward adds each row of dy [N, D] to the row of its class in
// dtable [classes, D]: the gradient of a table lookup.
func (c *Backend) EmbeddingBackward(dtable, dy backend.Tensor, classes []int) {
	g, t := data(dy), data(dtable)
	d := dy.Shape()[1]
	for i, cl := range classes {
		row := t[cl*d : (cl+1)*d]
		for j, v := range g[i*d : (i+1)*d] {
			row[j] += v
		}
	}
}

// GroupNormBackward adds the gradients of GroupNormStats(y, x, gamma, _,
// groups, _, mean, rstd) given its statistics. A Fresh dx is overwritten.
func (c *Backend) GroupNormBackward(dx, dgamma, dbeta, dy, x, gamma backend.Tensor, groups int, mean, rstd []float32) {
	c.groupNormBackward(dx, dgamma, dbeta, dy, x, nil, nil, gamma, groups, mean, rstd)
}

// GroupNormSiLUBackward is SiLUBackward(dpre, dy, pre, y) followed by
// GroupNormBackward(dx, …, dpre, x, …) for pre = GroupNormStats(x) and
// y = SiLU(pre), but dpre is made one (sample, group) at a time in a
// small buffer that stays in cache instead of a whole tensor written out
// and read back. A Fresh dx is overwritten.
func (c *Backend) GroupNormSiLUBackward(dx, dgamma, dbeta, dy, x, pre, y, gamma backend.Tensor, groups int, mean, rstd []float32) {
	c.groupNormBackward(dx, dgamma, dbeta, dy, x, pre, y, gamma, groups, mean, rstd)
}

// groupNormBackward is both of the above: with pre and y nil, dy is the
// GroupNorm's own output gradient.
func (c *Backend) groupNormBackward(dx, dgamma, dbeta, dy, x, pre, y, gamma backend.Tensor, groups int, mean, rstd []float32) {
	s := x.Shape()
	n, ch, hw := s[0], s[1], s[2]*s[3]
	cg := ch / groups
	xd, g, dxd, gd := data(x), data(dy), data(dx), data(gamma)
	var pd, yd []float32
	if pre != nil {
		pd, yd = data(pre), data(y)
	}
	// Per-(sample, channel) partial sums of dγ and dβ, reduced afterwards
	// in sample order so that groups can run in parallel.
	pg := make([]float64, 2*n*ch)
	over := isFresh(dx)
	c.parallel(n*groups, func(lo, hi int) {
		var dpre []float32
		if pd != nil {
			dpre = make([]float32, cg*hw)
		}
		for ng := lo; ng < hi; ng++ {
			base, end := ng*cg*hw, (ng+1)*cg*hw
			var p, yv []float32
			if pd != nil {
				p, yv = pd[base:end], yd[base:end]
			}
			gnBackwardGroup(ng, groups, cg, ch, hw, xd[base:end], g[base:end], p, yv, dpre, dxd[base:end], gd, mean[ng], rstd[ng], pg, over)
		}
	})
	c.sumGroupNormParams(dgamma, dbeta, pg, n, ch)
}

// sumGroupNormParams adds the per-(sample, channel) partial sums of dγ and
// dβ in pg to dgamma and dbeta, in sample order.
func (c *Backend) sumGroupNormParams(dgamma, dbeta backend.Tensor, pg []float64, n, ch int) {
	dG, dB := data(dgamma), data(dbeta)
	for smp := 0; smp < n; smp++ {
		for cc := 0; cc < ch; cc++ {
			dG[cc] += float32(pg[2*(smp*ch+cc)])
			dB[cc] += float32(pg[2*(smp*ch+cc)+1])
		}
	}
}

// gnBackwardGroup is the GroupNorm backward pass of one (sample, group),
// whose values x and output gradient dy are given alone (cg·hw each).
// With x̂ = (x − μ)·r and dx̂ = dy·γ,
//
//	dx = r·(dx̂ − mean(dx̂) − x̂·mean(dx̂·x̂)) = (r·γ)·dy + (−r·mean(dx̂·x̂))·x̂ − r·mean(dx̂),
//
// and per channel mean(dx̂) and mean(dx̂·x̂) are γ times Σ dy and Σ dy·x̂, which
// are also dβ and dγ: one pass of sums, one affine pass. With pre non-nil
// (a SiLU followed the GroupNorm, y = SiLU(pre)), dy is the SiLU's output
// gradient and the GroupNorm's is made into dpre channel by channel. It
// adds dγ and dβ to pg[2·(sample·C + c)] and the next entry, and adds dx
// to dx's values or, with over, writes it.
func gnBackwardGroup(ng, groups, cg, ch, hw int, x, dy, pre, y, dpre, dx, gd []float32, mu, r float32, pg []float64, over bool) {
	smp, g := ng/groups, ng%groups
	var sumD, sumDX float64
	for cc := 0; cc < cg; cc++ {
		chn, lo, hi := g*cg+cc, cc*hw, (cc+1)*hw
		var p, yv, d []float32
		if pre != nil {
			p, yv, d = pre[lo:hi], y[lo:hi], dpre[lo:hi]
		}
		sb, sg := vec.GroupNormGradSums(d, dy[lo:hi], p, yv, x[lo:hi], mu, r)
		pg[2*(smp*ch+chn)] += sg
		pg[2*(smp*ch+chn)+1] += sb
		sumD += float64(float64(gd[chn]) * sb)
		sumDX += float64(float64(gd[chn]) * sg)
	}
	cnt := float64(cg * hw)
	mD, mDX := float32(sumD/cnt), float32(sumDX/cnt)
	src := dy
	if pre != nil {
		src = dpre
	}
	for cc := 0; cc < cg; cc++ {
		chn, lo, hi := g*cg+cc, cc*hw, (cc+1)*hw
		vec.GroupNormGradApply(dx[lo:hi], src[lo:hi], x[lo:hi], mu, r, r*gd[chn], -r*mDX, -r*mD, !over)
	}
}

// AddChannelsBackward adds the gradients of AddChannels(y, x, v). A Fresh
// dx is overwritten.
func (c *Backend) AddChannelsBackward(dx, dv, dy backend.Tensor) {
	s := dy.Shape()
	hw := s[2] * s[3]
	g, dvd := data(dy), data(dv)
	for nc := range dvd {
		var sum float32
		for _, v := range g[nc*hw : (nc+1)*hw] {
			sum += v
		}
		dvd[nc] += sum
	}
	addTo(data(dx), g, 1, isFresh(dx))
}

// ScaleShiftBackward adds the gradients of ScaleShift(y, x, v). A Fresh dx
// is overwritten.
func (c *Backend) ScaleShiftBackward(dx, dv, dy, x, v backend.Tensor) {
	s := x.Shape()
	ch, hw := s[1], s[2]*s[3]
	g, dxd, dvd, xd, vd := data(dy), data(dx), data(dv), data(x), data(v)
	if isFresh(dx) {
		clear(dxd)
	}
	for nc := 0; nc < s[0]*ch; nc++ {
		smp, cc := nc/ch, nc%ch
		scale := 1 + vd[smp*2*ch+cc]
		var ds, dsh float32
		for i := nc * hw; i < (nc+1)*hw; i++ {
			dxd[i] += float32(g[i] * scale)
			ds += float32(g[i] * xd[i])
			dsh += g[i]
		}
		dvd[smp*2*ch+cc] += ds
		dvd[smp*2*ch+ch+cc] += dsh
	}
}

// ConcatBackward splits dy between da and db; a Fresh one is overwritten.
func (c *Backend) ConcatBackward(da, db, dy backend.Tensor) {
	as, bs := da.Shape(), db.Shape()
	la, lb := as[1]*as[2]*as[3], bs[1]*bs[2]*bs[3]
	g, dad, dbd := data(dy), data(da), data(db)
	overA, overB := isFresh(da), isFresh(db)
	for s := 0; s < as[0]; s++ {
		addTo(dad[s*la:(s+1)*la], g[s*(la+lb):s*(la+lb)+la], 1, overA)
		addTo(dbd[s*lb:(s+1)*lb], g[s*(la+lb)+la:(s+1)*(la+lb)], 1, overB)
	}
}

// Upsample2xBackward sums each 2×2 block of dy onto its source pixel. A
// Fresh dx is overwritten.
func (c *Backend) Upsample2xBackward(dx, dy backend.Tensor) {
	s := dx.Shape()
	h, w := s[2], s[3]
	g, dxd := data(dy), data(dx)
	if isFresh(dx) {
		clear(dxd)
	}
	for nc := 0; nc < s[0]*s[1]; nc++ {
		for yy := 0; yy < 2*h; yy++ {
			for xx := 0; xx < 2*w; xx++ {
				dxd[nc*h*w+(yy/2)*w+xx/2] += g[(nc*2*h+yy)*2*w+xx]
			}
		}
	}
}

// AttentionBackward adds the gradients of AttentionProbs(o, q, k, v, heads,
// scale, probs) to dq, dk and dv, from do; a Fresh one is overwritten.
func (c *Backend) AttentionBackward(dq, dk, dv, do, q, k, v backend.Tensor, heads int, scale float32, probs []float32) {
	s := q.Shape()
	n, ch, t := s[0], s[1], s[2]*s[3]
	d := ch / heads
	impl := c.blas
	dqd, dkd, dvd, dod := data(dq), data(dk), data(dv), data(do)
	qd, kd, vd := data(q), data(k), data(v)
	dp := make([]float32, t*t)
	beta := func(t backend.Tensor) float32 {
		if isFresh(t) {
			return 0
		}
		return 1
	}
	bq, bk, bv := beta(dq), beta(dk), beta(dv)
	for smp := 0; smp < n; smp++ {
		for h := 0; h < heads; h++ {
			off := (smp*ch + h*d) * t
			pr := probs[(smp*heads+h)*t*t : (smp*heads+h+1)*t*t]
			g := dod[off : off+d*t]
			// dV = dO·P; dP = dOᵀ·V
			impl.Sgemm(blas.NoTrans, blas.NoTrans, d, t, t, 1, g, t, pr, t, bv, dvd[off:off+d*t], t)
			impl.Sgemm(blas.Trans, blas.NoTrans, t, t, d, 1, g, t, vd[off:off+d*t], t, 0, dp, t)
			// dS = P ⊙ (dP − rowsum(dP ⊙ P))
			for i := 0; i < t; i++ {
				row, prow := dp[i*t:(i+1)*t], pr[i*t:(i+1)*t]
				var dot float32
				for j := range row {
					dot += float32(row[j] * prow[j])
				}
				for j := range row {
					row[j] = prow[j] * (row[j] - dot)
				}
			}
			// dQ = scale·K·dSᵀ; dK = scale·Q·dS
			impl.Sgemm(blas.NoTrans, blas.Trans, d, t, t, scale, kd[off:off+d*t], t, dp, t, bq, dqd[off:off+d*t], t)
			impl.Sgemm(blas.NoTrans, blas.NoTrans, d, t, t, scale, qd[off:off+d*t], t, dp, t, bk, dkd[off:off+d*t], t)
		}
	}
}
