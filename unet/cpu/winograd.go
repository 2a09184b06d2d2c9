package cpu

import (
	"github.com/ddpmstudio/ddpmstudio/internal/hugemem"
	"github.com/ddpmstudio/ddpmstudio/unet/backend"
	"github.com/ddpmstudio/ddpmstudio/unet/sgemm"
	"github.com/ddpmstudio/ddpmstudio/unet/vec"
)

// Winograd F(2×2, 3×3) for the 3×3 convolutions (Lavin & Gray, 2016). Each
// 2×2 block of output pixels (a tile) is Aᵀ·[Σ_c U_c ⊙ V_c]·A, where
// V_c = Bᵀ·d_c·B is the tile's 4×4 input patch of channel c transformed and
// U_c = G·g_c·Gᵀ the channel's 3×3 kernel transformed (once per weight
// update). The sum over channels is sixteen matrix products, one per
// position ξ of the 4×4 transform: M_ξ (co × tiles) = U_ξ (co × ci) ·
// V_ξ (ci × tiles). That is 16 multiplies per tile and channel pair where the
// direct convolution does 36: 2.25× fewer, paid for with the two transforms
// (adds only, vec.WinogradInput and vec.WinogradOutput) and some rounding
// (B and A are 0/±1; G has halves).
//
// The tiles of a row are taken eight at a time (the vector width), so a
// row of tw tiles costs tw8 = tw rounded up to 8: a layer runs this way
// when that waste is at most a quarter, and when both channel counts are at
// least 16 (with fewer, the transforms cost more than the multiplies they
// save). The choice depends on the layer's shape alone, never on the batch:
// every batch size gives every sample the same bits.

// winogradFits reports whether a k×k stride-1 convolution with this
// padding, ci → co channels on h×w maps, runs as Winograd.
func winogradFits(k, ci, co, h, w int, pad backend.Padding) bool {
	if k != 3 || pad != (backend.Padding{Top: 1, Left: 1, Bottom: 1, Right: 1}) || ci < 16 || co < 16 || h < 2 {
		return false
	}
	return 4*winoGeometry(h, w).tw8 <= 5*((w+1)/2)
}

// winoGeom is how an h×w map is cut into tiles: th rows of tw8 tiles
// (the row's (w+1)/2 rounded up to the vector width), read from a padded
// plane of hp×wp (one zero border, and zeros over the tiles past the
// image).
type winoGeom struct {
	th, tw8, tiles int
	hp, wp, plane  int
	h, w           int
}

func winoGeometry(h, w int) winoGeom {
	th, tw8 := (h+1)/2, ((w+1)/2+7)/8*8
	hp, wp := 2*th+2, 2*tw8+2
	return winoGeom{th: th, tw8: tw8, tiles: th * tw8, hp: hp, wp: wp, plane: hp * wp, h: h, w: w}
}

// input pads channels lo…hi−1 of one sample x into p (a plane each) and
// writes channel ch's transform V at v[ch·row:], its sixteen planes vs
// apart.
func (g winoGeom) input(v []float32, vs, row int, p, x []float32, lo, hi int) {
	pad := backend.Padding{Top: 1, Left: 1, Bottom: g.hp - g.h - 1, Right: g.wp - g.w - 1}
	padPlanes(p[lo*g.plane:hi*g.plane], x[lo*g.h*g.w:hi*g.h*g.w], hi-lo, g.h, g.w, g.hp, g.wp, pad)
	for ch := lo; ch < hi; ch++ {
		vec.WinogradInput(v[ch*row:], vs, p[ch*g.plane:(ch+1)*g.plane], g.wp, g.th, g.tw8)
	}
}

// winoG is G of U = G·g·Gᵀ, the kernel's transform.
var winoG = [4][3]float64{{1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}}

// winoWeights is a kernel's 16 transformed matrices U_ξ (co × ci), packed.
type winoWeights struct {
	version uint64
	u       [16]*sgemm.PackedA
}

// winoKey names a weight tensor's transform: of the kernel itself, or of
// the flipped kernel of its transposed convolution (the input gradient).
type winoKey struct {
	w       *Tensor
	flipped bool
}

// winogradWeights returns U for w (co × ci × 3 × 3) or, flipped, for the
// kernel of its transposed convolution (W′[i][o] = W[o][i] rotated half a
// turn, ci × co), transforming and packing it again when w has changed.
// The transform runs in float64 and is rounded once. The caller holds c.mu.
func (c *Backend) winogradWeights(w *Tensor, flipped bool, impl sgemm.Implementation) *winoWeights {
	key := winoKey{w, flipped}
	if e, ok := c.wino[key]; ok && e.version == w.version {
		return e
	}
	if w.released {
		c.failLocked(errReleased)
		return nil
	}
	s := w.shape
	co, ci := s[0], s[1]
	rows, cols := co, ci // U_ξ is rows × cols
	if flipped {
		rows, cols = ci, co
	}
	g := &winoG
	// The unpacked U goes through one buffer reused by every kernel (a
	// 512-channel kernel's is 16 MB), the rows of it and the sixteen
	// packings split across the cores: the first forward of a 256² model
	// transforms 200 MB of kernels.
	c.winoU = grow(c.winoU, 16*rows*cols)
	u := c.winoU
	c.parallel(rows, func(lo, hi int) { winoTransform(u, w, g, lo, hi, rows, cols, ci, flipped) })
	e := &winoWeights{version: w.version}
	// The sixteen packed matrices share one allocation, advised for huge
	// pages (hugemem): it is filled once, and faulting it in by 4 KiB
	// pages cost more than the packing.
	size := impl.PackedLen(rows, cols)
	slab := hugemem.Floats(16 * size)
	c.parallel(16, func(lo, hi int) {
		for xi := lo; xi < hi; xi++ {
			pa := sgemm.PackedAOn(slab[xi*size : (xi+1)*size : (xi+1)*size])
			e.u[xi] = impl.PackAInto(pa, rows, cols, u[xi*rows*cols:(xi+1)*rows*cols], cols)
		}
	})
	if c.wino == nil {
		c.wino = map[winoKey]*winoWeights{}
	}
	c.wino[key] = e
	return e
}

// winoTransform writes rows lo…hi−1 of the sixteen matrices U_ξ of w (or
// of its flipped kernel) into u.
func winoTransform(u []float32, w *Tensor, g *[4][3]float64, lo, hi, rows, cols, ci int, flipped bool) {
	gv := *g
	plane := rows * cols
	var kf [3][3]float64 // the kernel, turned half a turn when flipped
	for r := lo; r < hi; r++ {
		for cc := 0; cc < cols; cc++ {
			o, i := r, cc
			if flipped {
				o, i = cc, r
			}
			k := w.Data[(o*ci+i)*9 : (o*ci+i+1)*9]
			k = k[:9]
			if flipped {
				for y := range 3 {
					for x := range 3 {
						kf[y][x] = float64(k[(2-y)*3+2-x])
					}
				}
			} else {
				for y := range 3 {
					for x := range 3 {
						kf[y][x] = float64(k[y*3+x])
					}
				}
			}
			// G·k, then (G·k)·Gᵀ: each sum from zero in the order of its
			// index, every product rounded to float64 before it is added
			// (the conversions keep the compiler from fusing them).
			var gk [4][3]float64
			for a := range 4 {
				ga := gv[a]
				for x := range 3 {
					v := 0.0
					v += float64(ga[0] * kf[0][x])
					v += float64(ga[1] * kf[1][x])
					v += float64(ga[2] * kf[2][x])
					gk[a][x] = v
				}
			}
			at := r*cols + cc
			for a := range 4 {
				for b := range 4 {
					gb := gv[b]
					v := 0.0
					v += float64(gk[a][0] * gb[0])
					v += float64(gk[a][1] * gb[1])
					v += float64(gk[a][2] * gb[2])
					u[(4*a+b)*plane+at] = float32(v)
				}
			}
		}
	}
}

// winoScratch is one core's buffers for a sample: the padded input, the
// transformed input V, the products M and the output tiles.
type winoScratch struct {
	p, v, m, o []float32
	offs       []int
}

// grow returns b with length n, reallocated (zeroed) only when its capacity
// is short: scratch keeps its memory from layer to layer.
func grow(b []float32, n int) []float32 {
	if cap(b) < n {
		return hugemem.Floats(n)
	}
	return b[:n]
}

// winogradConv adds to out (n × co × h×w) the 3×3 stride-1 convolution,
// padded by one, of x (n × ci × h×w) with the transformed kernel u — or,
// given a bias, sets out to bias + the convolution. Samples are split
// across cores when there is one per core, else each sample's transforms
// (by channel) and products (by ξ) are. The caller holds c.mu.
func (c *Backend) winogradConv(impl sgemm.Implementation, u *winoWeights, out []float32, co int, x []float32, n, ci, h, w int, bias []float32) {
	serial := impl.WithWorkers(1)
	slots := c.sampleSlots(n)
	if len(c.winos) < slots {
		c.winos = append(c.winos, make([]winoScratch, slots-len(c.winos))...)
	}
	c.perSample(n, slots, func(q, smp, chunks int) {
		winogradSample(serial, u, out[smp*co*h*w:(smp+1)*co*h*w], co, x[smp*ci*h*w:(smp+1)*ci*h*w], ci, h, w, bias, &c.winos[q], chunks)
	})
}

// winoBandTiles bounds the tiles transformed and multiplied at once: a
// 256² layer of 256 input channels would otherwise hold V (16·ci·tiles)
// and M (16·co·tiles) for all 16384 tiles, 410 MB of scratch; in bands of
// about 2048 tiles it holds 50 MB, and the products, 16 per band, stay
// large enough to run at full speed.
const winoBandTiles = 2048

// winogradSample is winogradConv for one sample, its work split into
// chunks run in parallel (impl must be serial). The tiles are taken a band
// of tile rows at a time: padding, input transform, the sixteen products,
// output transform. Every value is computed the same way whatever the split and
// the band: a tile's products sum over the channels alone.
func winogradSample(impl sgemm.Implementation, u *winoWeights, out []float32, co int, x []float32, ci, h, w int, bias []float32, s *winoScratch, chunks int) {
	split := func(n int, f func(lo, hi int)) { splitRange(chunks, n, f) }
	g := winoGeometry(h, w)
	th, tw8 := g.th, g.tw8
	band := max(1, min(th, winoBandTiles/tw8)) // tile rows per band
	tiles := band * tw8
	mr := impl.Kernel().MR
	mrows := co + mr - 1 // the in-place product may write MR−1 rows past C
	// The sixteen planes of V and of M lie a cache line more than their
	// size apart: at a multiple of 4 KiB (ci·tiles often is) the transforms'
	// sixteen streams would share one set of the L1 cache.
	vs, ms := ci*tiles+16, mrows*tiles+16
	bandPlane := (2*band + 2) * g.wp // a channel's padded rows for one band
	s.p = grow(s.p, ci*bandPlane)
	s.v = grow(s.v, 16*vs)
	s.m = grow(s.m, 16*ms)
	ow := 2 * tw8
	s.o = grow(s.o, co*2*band*ow)
	if cap(s.offs) < ci {
		s.offs = make([]int, ci)
	}
	for ty0 := 0; ty0 < th; ty0 += band {
		tb := min(band, th-ty0) // tile rows in this band
		bt := tb * tw8          // its tiles
		offs := s.offs[:ci]
		for i := range offs {
			offs[i] = i * bt
		}
		split(ci, func(lo, hi int) {
			for ch := lo; ch < hi; ch++ {
				// The band's padded rows: input rows 2·ty0−1 … 2·(ty0+tb),
				// zero outside the image, one zero column on the left.
				p := s.p[ch*bandPlane : (ch+1)*bandPlane]
				for r := range 2*tb + 2 {
					row := p[r*g.wp : (r+1)*g.wp]
					if y := 2*ty0 - 1 + r; y >= 0 && y < h {
						row[0] = 0
						copy(row[1:1+w], x[(ch*h+y)*w:][:w])
						clear(row[1+w:])
					} else {
						clear(row)
					}
				}
				vec.WinogradInput(s.v[ch*bt:], vs, p, g.wp, tb, tw8)
			}
		})
		split(16, func(lo, hi int) {
			for xi := lo; xi < hi; xi++ {
				m := s.m[xi*ms : xi*ms+mrows*bt]
				impl.GemmIndirectSet(u.u[xi], bt, s.v[xi*vs:xi*vs+ci*bt], offs, m, bt)
			}
		})
		y0, y1 := 2*ty0, min(h, 2*(ty0+tb)) // the output rows of the band
		split(co, func(lo, hi int) {
			for o := lo; o < hi; o++ {
				var b float32
				if bias != nil {
					b = bias[o]
				}
				dst := out[o*h*w : (o+1)*h*w]
				if bias != nil && ow == w && y1-y0 == 2*tb {
					// The band's grid rows are the output's rows (a width
					// of a multiple of 16, as at 256²): transform straight
					// into them, without the copy.
					vec.WinogradOutput(dst[y0*w:y1*w], ow, s.m[o*bt:], ms, tb, tw8, b)
					continue
				}
				grid := s.o[o*2*band*ow : (o+1)*2*band*ow]
				vec.WinogradOutput(grid, ow, s.m[o*bt:], ms, tb, tw8, b)
				for y := y0; y < y1; y++ {
					row := dst[y*w : (y+1)*w]
					src := grid[(y-y0)*ow : (y-y0)*ow+w]
					if bias != nil {
						copy(row, src)
						continue
					}
					for i, v := range src {
						row[i] += v
					}
				}
			}
		})
	}
}

// winoGradScratch is one weight-gradient slot's buffers: a sample's padded
// input and padded output gradient, their transforms V and Ŷ for a chunk
// of samples side by side along the tiles, and the slot's running sum dU
// (16 × co × ci) of the transformed kernel's gradient.
type winoGradScratch struct {
	p, y, v, yh, du []float32
}

// winoGradTiles is about how many tiles (of all the chunk's samples) one
// dot product runs over: long enough that the reductions at its end cost
// nothing, short enough that a chunk's transforms stay a few MiB.
const winoGradTiles = 2048

// winogradWeightGrad adds to s.du the gradient of the transformed kernel
// for the samples smps of x (ci × h×w each) and dy (co × h×w each). The
// forward computes M_ξ = U_ξ·V_ξ and Y = Aᵀ·M·A per tile, so dM = A·dY·Aᵀ
// per tile (vec.WinogradGrad) and dU_ξ += dM_ξ·V_ξᵀ summed over the tiles:
// sixteen products of co × ci where the direct weight gradient has nine
// over four times as many pixels, 2.25× fewer multiplies. Both operands
// come out of their transforms with the tiles innermost, which is what
// sgemm.DotNT reads, so nothing is packed. Tiles past the image's edge
// have a zero dY and add nothing. Samples are taken in chunks whose tiles
// lie side by side, so each dot product runs over many of them.
func winogradWeightGrad(s *winoGradScratch, dy []float32, co int, x []float32, ci, h, w int, smps []int) {
	g := winoGeometry(h, w)
	th, tw8, tiles := g.th, g.tw8, g.tiles
	yh, yw := 2*th, 2*tw8
	yplane := yh * yw
	ci3, co3 := (ci+2)/3*3, (co+2)/3*3 // DotNT reads rows in threes
	per := max(1, min(len(smps), winoGradTiles/tiles))
	k := per * tiles
	vs, ys := ci3*k+16, co3*k+16 // off the 4 KiB stride, as in winogradSample
	s.p = grow(s.p, ci*g.plane)
	s.y = grow(s.y, co*yplane)
	// Rows ci…ci3−1 and co…co3−1 are never written: DotNT reads them and
	// drops what it makes of them.
	s.v = grow(s.v, 16*vs)
	s.yh = grow(s.yh, 16*ys)
	for c0 := 0; c0 < len(smps); c0 += per {
		chunk := smps[c0:min(c0+per, len(smps))]
		kk := len(chunk) * tiles
		for i, smp := range chunk {
			g.input(s.v[i*tiles:], vs, k, s.p, x[smp*ci*h*w:(smp+1)*ci*h*w], 0, ci)
			padPlanes(s.y, dy[smp*co*h*w:(smp+1)*co*h*w], co, h, w, yh, yw, backend.Padding{Bottom: yh - h, Right: yw - w})
			for o := 0; o < co; o++ {
				vec.WinogradGrad(s.yh[o*k+i*tiles:], ys, s.y[o*yplane:(o+1)*yplane], yw, th, tw8)
			}
		}
		for xi := range 16 {
			sgemm.DotNT(co, ci, kk, s.yh[xi*ys:xi*ys+co3*k], k, s.v[xi*vs:xi*vs+ci3*k], k, s.du[xi*co*ci:(xi+1)*co*ci], ci)
		}
	}
}

// addWinogradKernelGrad adds to dw (co × ci × 3 × 3) the kernel gradient
// Gᵀ·dU·G (the adjoint of U = G·g·Gᵀ) of the slots' transformed-kernel
// gradients, summed in slot order in float64.
func addWinogradKernelGrad(dw []float32, slots []winoGradScratch, co, ci int) {
	g := &winoG
	for o := 0; o < co; o++ {
		for c := 0; c < ci; c++ {
			var du [4][4]float64
			for q := range slots {
				for xi := range 16 {
					du[xi/4][xi%4] += float64(slots[q].du[xi*co*ci+o*ci+c])
				}
			}
			k := dw[(o*ci+c)*9 : (o*ci+c+1)*9]
			for y := range 3 {
				for x := range 3 {
					var v float64
					for a := range 4 {
						for b := range 4 {
							v += float64(g[a][y] * du[a][b] * g[b][x])
						}
					}
					k[y*3+x] += float32(v)
				}
			}
		}
	}
}
