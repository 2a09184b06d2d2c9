package cpu

import (
	"gonum.org/v1/gonum/blas"

	"github.com/ddpmstudio/ddpmstudio/internal/par"
	"github.com/ddpmstudio/ddpmstudio/unet/backend"
	"github.com/ddpmstudio/ddpmstudio/unet/sgemm"
	"github.com/ddpmstudio/ddpmstudio/unet/vec"
)

// Conv2D implements Backend. With the sgemm implementation the weights are
// packed once and the image is packed straight into the product's panels
// (no im2col matrix); any other blas.Float32 gets im2col + Sgemm.
func (c *Backend) Conv2D(dst, x, w, bias backend.Tensor, stride int, pad backend.Padding) {
	xs, ws, ds := x.Shape(), w.Shape(), dst.Shape()
	n, ci, h, wd := xs[0], xs[1], xs[2], xs[3]
	co, kh, kw := ws[0], ws[2], ws[3]
	ho, wo := ds[2], ds[3]
	k, p := ci*kh*kw, ho*wo
	xd, wdat, dd, bd := data(x), data(w), data(dst), data(bias)
	impl, fast := c.blas.(sgemm.Implementation)
	if fast && stride == 1 && winogradFits(kh, ci, co, h, wd, pad) && kw == kh {
		c.mu.Lock()
		defer c.mu.Unlock()
		u := c.winogradWeights(w.(*Tensor), false, impl)
		if u == nil {
			clear(dd)
			return
		}
		c.release(w.(*Tensor))
		c.winogradConv(impl, u, dd, co, xd, n, ci, h, wd, bd)
		return
	}
	if fast && stride == 1 && kh == kw {
		pa := c.packedA(w.(*Tensor), impl, co, k)
		if pa == nil {
			clear(dd)
			return
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		c.gridConv(impl, pa, dd, co, xd, n, ci, h, wd, kh, pad, bd)
		return
	}
	for s := 0; s < n; s++ {
		out := dd[s*co*p : (s+1)*co*p]
		for o := 0; o < co; o++ {
			fill(out[o*p:(o+1)*p], bd[o])
		}
	}
	if fast {
		pa := c.packedA(w.(*Tensor), impl, co, k)
		if pa == nil {
			clear(dd)
			return
		}
		for s := 0; s < n; s++ {
			xin := xd[s*ci*h*wd : (s+1)*ci*h*wd]
			impl.GemmPacked(pa, p, convPacker(xin, h, wd, kh, kw, stride, pad, wo), dd[s*co*p:(s+1)*co*p], p)
		}
		return
	}
	direct := kh == 1 && kw == 1 && stride == 1 && pad == (backend.Padding{}) && ho == h && wo == wd
	var col []float32
	if !direct {
		c.mu.Lock()
		defer c.mu.Unlock()
		col = c.scratchBuf(k * p)
	}
	for s := 0; s < n; s++ {
		xin := xd[s*ci*h*wd : (s+1)*ci*h*wd]
		b := xin
		if !direct {
			im2col(c, col, xin, ci, h, wd, kh, kw, stride, pad, ho, wo)
			b = col
		}
		c.blas.Sgemm(blas.NoTrans, blas.NoTrans, co, p, k, 1, wdat, k, b, p, 1, dd[s*co*p:(s+1)*co*p], p)
	}
}

// packedA returns the packed form of a weight tensor, repacking it when its
// contents changed since.
func (c *Backend) packedA(w *Tensor, impl sgemm.Implementation, m, k int) *sgemm.PackedA {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.packed == nil {
		c.packed = map[*Tensor]packedWeights{}
	}
	if e, ok := c.packed[w]; ok && e.version == w.version {
		return e.a
	}
	if w.released {
		c.failLocked(errReleased)
		return nil
	}
	pa := impl.PackA(m, k, w.Data, k)
	c.packed[w] = packedWeights{version: w.version, a: pa}
	c.release(w)
	return pa
}

// gridConv adds to out (n × co × ho×wo) the stride-1 convolution of x
// (n × ci × h×w) with the k×k kernel prepacked in pa, padded by pad — or,
// given a bias, sets out to bias + the convolution without reading it — one
// sample at a time through gridGemm. Work is split across cores by sample
// when the batch has a sample per core, else by output columns within each
// sample: either way every core packs its own panels and runs its own
// products with no barrier in between, and every output sums the same
// products in the same order whatever the split. The caller holds c.mu.
func (c *Backend) gridConv(impl sgemm.Implementation, pa *sgemm.PackedA, out []float32, co int, x []float32, n, ci, h, w, k int, pad backend.Padding, bias []float32) {
	hp, wp := h+pad.Top+pad.Bottom, w+pad.Left+pad.Right
	ho, wo := hp-k+1, wp-k+1
	if ho < 1 || wo < 1 {
		return
	}
	// The grid has MR−1 rows of slack past the last output channel: the
	// in-place product writes a partial block of rows whole (GemmIndirect).
	inLen, outLen := ci*hp*wp+k, (co+impl.Kernel().MR-1)*ho*wp
	serial := impl.WithWorkers(1)
	slots := c.sampleSlots(n)
	if len(c.grids) < slots {
		c.grids = append(c.grids, make([]gridScratch, slots-len(c.grids))...)
	}
	c.perSample(n, slots, func(q, s, chunks int) {
		g := &c.grids[q]
		g.grow(inLen, outLen)
		c.gridGemm(serial, pa, out[s*co*ho*wo:(s+1)*co*ho*wo], co, x[s*ci*h*w:(s+1)*ci*h*w], ci, h, w, k, pad, g, chunks, bias)
	})
}

// sampleSlots is how many cores take samples of a batch of n whole: one
// per core when there are enough samples, else one (which splits each
// sample's work across the cores instead).
func (c *Backend) sampleSlots(n int) int {
	if slots := min(c.workers, n); slots >= 2 {
		return slots
	}
	return 1
}

// perSample runs f(slot, sample, chunks) for every sample of a batch of
// n: with several slots, slot q takes samples q, q+slots, … on a core of
// its own (chunks 1); with one, the samples run in turn, each free to
// split its work into chunks across every core.
func (c *Backend) perSample(n, slots int, f func(q, s, chunks int)) {
	if slots > 1 {
		par.For(slots, slots, func(q int) {
			for s := q; s < n; s += slots {
				f(q, s, 1)
			}
		})
		return
	}
	for s := 0; s < n; s++ {
		f(0, s, c.workers)
	}
}

// gridScratch is one core's padded input and grid-shaped output.
type gridScratch struct {
	in, out []float32
	offs    []int // the taps' offsets in the padded grid
}

func (g *gridScratch) grow(in, out int) {
	g.in, g.out = grow(g.in, in), grow(g.out, out)
}

// gridGemm adds to out (co × ho×wo) the stride-1 convolution of one sample
// x (ci × h×w) with the k×k kernel prepacked in pa, padded by pad. It
// computes on the padded input's grid: with the input copied once into a
// zero-bordered buffer of width wp = w + left + right, output pixel
// (oy, ox) under tap (ky, kx) reads padded[(oy+ky)·wp + ox + kx], so row k
// of the implicit im2col matrix is one contiguous run of the padded plane,
// offset by the tap. Packing a panel is then one 64-byte copy per tap,
// where the general packer (convPacker) splits every panel into runs at
// row ends and padding. The price is k−1 extra output columns per row
// (computed and dropped) and copying out into and back from a grid-shaped
// buffer. Each output sums the same products in the same order as
// convPacker's path, so the result is bit-identical to it. The columns are
// split into chunks (panel-aligned) run in parallel, each a product of its
// own on impl, which must be serial.
func (c *Backend) gridGemm(impl sgemm.Implementation, pa *sgemm.PackedA, out []float32, co int, x []float32, ci, h, w, k int, pad backend.Padding, g *gridScratch, chunks int, bias []float32) {
	hp, wp := h+pad.Top+pad.Bottom, w+pad.Left+pad.Right
	ho, wo := hp-k+1, wp-k+1
	plane := hp * wp
	// The copies into and out of the grid are shared like the product:
	// left to one core, the other would wait through them.
	split := func(n int, f func(lo, hi int)) { splitRange(chunks, n, f) }
	// The last grid pixel's last tap reads k−1 values past the last plane.
	padded := x
	if pad != (backend.Padding{}) || k > 1 {
		padded = g.in
		clear(padded[ci*plane:])
		split(ci, func(lo, hi int) {
			padPlanes(padded[lo*plane:hi*plane], x[lo*h*w:hi*h*w], hi-lo, h, w, hp, wp, pad)
		})
	}
	n := ho * wp
	grid := g.out
	split(co, func(lo, hi int) {
		for o := lo; o < hi; o++ {
			if bias != nil {
				// The product adds onto the bias, as Conv2D's other paths do.
				fill(grid[o*n:(o+1)*n], bias[o])
				continue
			}
			toGrid(grid[o*n:(o+1)*n], out[o*ho*wo:(o+1)*ho*wo], ho, wo, wp)
		}
	})
	// Row p of B (input channel, ky, kx) is the run of the padded grid at
	// offs[p]: both products below read B through these offsets.
	kk := k * k
	if cap(g.offs) < ci*kk {
		g.offs = make([]int, ci*kk)
	}
	offs := g.offs[:ci*kk]
	for tap := range offs {
		ch, r := tap/kk, tap%kk
		offs[tap] = ch*plane + (r/k)*wp + r%k
	}
	product := func(j0, cols int) {
		impl.GemmIndirect(pa, cols, padded[j0:], offs, grid[j0:], n)
	}
	if !impl.Kernel().InPlace() {
		// Without an in-place kernel, panels are packed from the same runs.
		packer := func(base int) sgemm.BPacker {
			return func(dst []float32, p0, kcur, j0, ncur, nr int) {
				rows := vec.NewRows(offs[p0 : p0+kcur])
				for q := 0; q*nr < ncur; q++ {
					j := base + j0 + q*nr
					cols := min(nr, ncur-q*nr)
					panel := dst[q*nr*kcur : (q+1)*nr*kcur]
					if cols == 16 && nr == 16 {
						rows.Gather16(panel, padded, j)
						continue
					}
					for pp, off := range offs[p0 : p0+kcur] {
						d := panel[pp*nr : (pp+1)*nr]
						copy(d[:cols], padded[off+j:off+j+cols])
						clear(d[cols:])
					}
				}
			}
		}
		product = func(j0, cols int) {
			impl.GemmPacked(pa, cols, packer(j0), grid[j0:], n)
		}
	}
	// Chunks of whole 16-column panels, one core's each.
	per := max(16, (n+chunks-1)/chunks+15) / 16 * 16
	if chunks <= 1 || per >= n {
		product(0, n)
	} else {
		par.For((n+per-1)/per, chunks, func(q int) {
			j0 := q * per
			product(j0, min(per, n-j0))
		})
	}
	split(co, func(lo, hi int) {
		for o := lo; o < hi; o++ {
			for y := 0; y < ho; y++ {
				copy(out[(o*ho+y)*wo:(o*ho+y+1)*wo], grid[o*n+y*wp:])
			}
		}
	})
}

// splitRange runs f over [0, n) cut into at most chunks ranges, in
// parallel when there is more than one.
func splitRange(chunks, n int, f func(lo, hi int)) {
	if chunks <= 1 || n < 2 {
		f(0, n)
		return
	}
	parts := min(chunks, n)
	par.For(parts, parts, func(q int) { f(q*n/parts, (q+1)*n/parts) })
}

// fill sets every element of row to v. Doubling copies run at memmove's
// speed; the plain loop, which reloads v and checks bounds per element, took
// 6% of a two-thread forward filling convolution outputs with their bias.
func fill(row []float32, v float32) {
	if len(row) == 0 {
		return
	}
	row[0] = v
	for done := 1; done < len(row); done *= 2 {
		copy(row[done:], row[:done])
	}
}

// padPlanes copies the ci planes of x (h×w each) into dst as planes of
// hp×wp with zeros around them, the image at (pad.Top, pad.Left); values
// past the last plane are zeroed too.
func padPlanes(dst, x []float32, ci, h, w, hp, wp int, pad backend.Padding) {
	clear(dst)
	plane := hp * wp
	for ch := 0; ch < ci; ch++ {
		for y := 0; y < h; y++ {
			copy(dst[ch*plane+(y+pad.Top)*wp+pad.Left:][:w], x[(ch*h+y)*w:(ch*h+y+1)*w])
		}
	}
}

// toGrid copies one ho×wo plane into grid layout (rows of wp, the wp−wo
// extra columns zero).
func toGrid(dst, src []float32, ho, wo, wp int) {
	for y := 0; y < ho; y++ {
		row := dst[y*wp : (y+1)*wp]
		copy(row, src[y*wo:(y+1)*wo])
		clear(row[wo:])
	}
}

// convPacker packs the implicit im2col matrix of one image: row p of B is
// (input channel, ky, kx) and column j the output pixel (oy, ox), so B[p][j]
// is the input pixel under that kernel tap, or 0 in the padding.
func convPacker(x []float32, h, w, kh, kw, stride int, pad backend.Padding, wo int) sgemm.BPacker {
	khw := kh * kw
	return func(dst []float32, p0, kcur, j0, ncur, nr int) {
		// Where each tap of this block reads: its input plane and its
		// offsets, computed once per block rather than divided out per
		// (tap, panel) pair.
		type tapAt struct{ plane, dy, dx int }
		var tapBuf [512]tapAt
		taps := tapBuf[:0]
		if kcur > len(tapBuf) {
			taps = make([]tapAt, 0, kcur)
		}
		for pp := 0; pp < kcur; pp++ {
			tap := p0 + pp
			ch, r := tap/khw, tap%khw
			taps = append(taps, tapAt{ch * h * w, r/kw - pad.Top, r%kw - pad.Left})
		}
		// A panel's columns are runs of output pixels within one output row:
		// find the runs once per panel, then copy each tap's rows per run.
		type run struct{ oy, ox, n, off int }
		var runBuf [64]run
		for q := 0; q*nr < ncur; q++ {
			jStart := j0 + q*nr
			cols := min(nr, ncur-q*nr)
			runs := runBuf[:0]
			for jj := 0; jj < cols; {
				j := jStart + jj
				oy, ox := j/wo, j%wo
				n := min(cols-jj, wo-ox)
				runs = append(runs, run{oy, ox, n, jj})
				jj += n
			}
			panel := dst[q*nr*kcur : (q+1)*nr*kcur]
			for pp, t := range taps {
				d := panel[pp*nr : pp*nr+nr]
				for _, rn := range runs {
					out := d[rn.off : rn.off+rn.n]
					iy := rn.oy*stride + t.dy
					if iy < 0 || iy >= h {
						clear(out)
						continue
					}
					row := x[t.plane+iy*w : t.plane+(iy+1)*w]
					ix0 := rn.ox*stride + t.dx
					if stride == 1 {
						if ix0 >= 0 && ix0+rn.n <= w {
							// Most runs are a whole panel width: a fixed-size
							// array copy compiles to a few vector moves, where
							// copy() is a call with its own bookkeeping.
							switch len(out) {
							case 16:
								*(*[16]float32)(out) = *(*[16]float32)(row[ix0 : ix0+16])
							case 8:
								*(*[8]float32)(out) = *(*[8]float32)(row[ix0 : ix0+8])
							case 32:
								*(*[32]float32)(out) = *(*[32]float32)(row[ix0 : ix0+32])
							default:
								copy(out, row[ix0:ix0+len(out)])
							}
							continue
						}
						// A run over the left or right padding: zeros, then
						// the part inside the row, then zeros (or all zeros:
						// with more than k−1 padding a run can lie wholly
						// outside the row).
						if ix0 >= w || ix0+len(out) <= 0 {
							clear(out)
							continue
						}
						lo := min(len(out), max(0, -ix0))
						hi := max(lo, min(len(out), w-ix0))
						clear(out[:lo])
						copy(out[lo:hi], row[ix0+lo:ix0+hi])
						clear(out[hi:])
						continue
					}
					for i := range out {
						ix := ix0 + i*stride
						if ix >= 0 && ix < w {
							out[i] = row[ix]
						} else {
							out[i] = 0
						}
					}
				}
				if cols < nr {
					clear(d[cols:])
				}
			}
		}
	}
}

// im2col lays out the receptive fields as a [ci·kh·kw, ho·wo] matrix.
func im2col(c *Backend, col, x []float32, ci, h, w, kh, kw, stride int, pad backend.Padding, ho, wo int) {
	p := ho * wo
	c.parallel(ci, func(lo, hi int) {
		for ch := lo; ch < hi; ch++ {
			plane := x[ch*h*w : (ch+1)*h*w]
			for ky := 0; ky < kh; ky++ {
				for kx := 0; kx < kw; kx++ {
					row := col[((ch*kh+ky)*kw+kx)*p:][:p]
					for oy := 0; oy < ho; oy++ {
						iy := oy*stride + ky - pad.Top
						dstRow := row[oy*wo : (oy+1)*wo]
						if iy < 0 || iy >= h {
							clear(dstRow)
							continue
						}
						src := plane[iy*w : (iy+1)*w]
						if stride == 1 {
							// Zeros, the run of the row under this tap, zeros.
							lo := min(wo, max(0, pad.Left-kx))
							hi := max(lo, min(wo, w+pad.Left-kx))
							clear(dstRow[:lo])
							copy(dstRow[lo:hi], src[lo+kx-pad.Left:])
							clear(dstRow[hi:])
							continue
						}
						for ox := range dstRow {
							ix := ox*stride + kx - pad.Left
							if ix < 0 || ix >= w {
								dstRow[ox] = 0
							} else {
								dstRow[ox] = src[ix]
							}
						}
					}
				}
			}
		}
	})
}
