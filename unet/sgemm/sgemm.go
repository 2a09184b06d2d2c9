// Package sgemm is a packed, cache-blocked single-precision matrix multiply
// (the Goto/BLIS scheme) with AVX-512 and AVX2 FMA micro-kernels in Go
// assembly, selected at run time, and a portable Go kernel everywhere else.
//
// It plugs in behind gonum's API: Implementation embeds gonum's native BLAS
// and overrides Sgemm, so it satisfies blas.Float32 and can be installed with
// blas32.Use. Everything that calls gonum keeps calling gonum.
//
// # Algorithm
//
// C = α·op(A)·op(B) + β·C is computed in blocks: B is packed KC rows at a
// time into panels NR columns wide, A into panels MR rows tall (α folded in),
// and a micro-kernel accumulates one MR×NR tile of C in registers over the
// KC-long panels. Transposed operands cost nothing extra: the packing reads
// them with the other stride, so backward passes run at forward speed. Work
// is split over row blocks and column chunks across GOMAXPROCS goroutines.
package sgemm

import (
	"runtime"
	"sync"

	"github.com/ddpmstudio/ddpmstudio/internal/detmath"
	"github.com/ddpmstudio/ddpmstudio/internal/par"
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"

	"github.com/ddpmstudio/ddpmstudio/internal/hugemem"
)

// Kernel is one micro-kernel: it adds the product of a packed MR×kc panel
// of A and a packed kc×NR panel of B to the MR×NR tile of C at c (row stride
// ldc).
type Kernel struct {
	Name   string
	MR, NR int
	run    func(k int, a, b, c []float32, ldc int)
	// ind, if set, is run with B read in place: row p of the panel is the
	// NR values at b[offs[p]:] (see GemmIndirect), on blocks row blocks in
	// turn (A's panels one after another, C MR rows down each time), adding
	// the tiles to C or, with set, storing them.
	ind func(k int, a, b []float32, offs []int, c []float32, ldc, blocks int, set bool)
}

// blocking parameters: a KC×NR panel of B stays in L1 while MR×KC panels of
// A stream from L2; an MC×KC block of A fits L2.
const (
	kc = 256
	mc = 128
	nc = 512
)

// Implementation is gonum's BLAS with a faster Sgemm.
type Implementation struct {
	gonum.Implementation
	kernel  Kernel
	workers int // 0: GOMAXPROCS at call time
}

// New returns the implementation using the best kernel this CPU supports.
func New() Implementation { return Implementation{kernel: Best()} }

// WithKernel returns the implementation using kernel k (for tests and
// benchmarks that compare kernels).
func WithKernel(k Kernel) Implementation { return Implementation{kernel: k} }

// WithWorkers returns the implementation running each product on at most
// n goroutines (1: on the caller alone, for callers that split the work
// themselves).
func (impl Implementation) WithWorkers(n int) Implementation {
	impl.workers = n
	return impl
}

// setup is the kernel and the number of goroutines a product runs with:
// the best kernel when none was chosen, GOMAXPROCS when workers is 0.
func (impl Implementation) setup() (Kernel, int) {
	kern, workers := impl.kernel, impl.workers
	if kern.run == nil {
		kern = Best()
	}
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	return kern, workers
}

// InPlace reports whether the kernel reads B in place in GemmIndirect;
// without it GemmIndirect packs panels, and a caller with a faster packer
// of its own should keep using GemmPacked.
func (k Kernel) InPlace() bool { return k.ind != nil }

// Kernel reports the micro-kernel in use.
func (impl Implementation) Kernel() Kernel { return impl.kernel }

// Portable is the pure-Go kernel, available everywhere. It follows the
// canonical order of every kernel (docs/determinism.md): each element of a
// tile starts at zero, takes a fused multiply-add per k in ascending order
// (detmath.FMA32, one rounding, as VFMADD231PS and FMLA), and is then
// added to C once per KC block. So its bits are the vector kernels' bits.
var Portable = Kernel{Name: "go", MR: 4, NR: 8, run: kernelGo}

// Best is the fastest kernel this CPU supports.
func Best() Kernel {
	ks := Kernels()
	return ks[0]
}

func kernelGo(k int, a, b, c []float32, ldc int) {
	const mr, nr = 4, 8
	var acc [mr * nr]float32
	for p := 0; p < k; p++ {
		ap := a[p*mr : p*mr+mr]
		bp := b[p*nr : p*nr+nr]
		for r := 0; r < mr; r++ {
			av := ap[r]
			row := acc[r*nr : r*nr+nr]
			for j, bv := range bp {
				r, ok := detmath.FMA32Fast(av, bv, row[j])
				if !ok {
					r = detmath.FMA32(av, bv, row[j])
				}
				row[j] = r
			}
		}
	}
	for r := 0; r < mr; r++ {
		row := c[r*ldc : r*ldc+nr]
		for j := range row {
			row[j] += acc[r*nr+j]
		}
	}
}

// buffers is a free list of packing buffers. Unlike a sync.Pool it survives
// garbage collections, so a steady stream of products of the same shapes
// allocates nothing after the first.
var buffers struct {
	sync.Mutex
	free []*[]float32
}

func getBuf(n int) *[]float32 {
	buffers.Lock()
	defer buffers.Unlock()
	best := -1
	for i, b := range buffers.free {
		if cap(*b) >= n && (best < 0 || cap(*b) < cap(*buffers.free[best])) {
			best = i
		}
	}
	if best < 0 {
		b := make([]float32, n)
		return &b
	}
	b := buffers.free[best]
	buffers.free = append(buffers.free[:best], buffers.free[best+1:]...)
	*b = (*b)[:n]
	return b
}

func putBuf(b *[]float32) {
	buffers.Lock()
	buffers.free = append(buffers.free, b)
	buffers.Unlock()
}

// Sgemm computes C = α·op(A)·op(B) + β·C for row-major matrices, as
// blas.Float32's Sgemm does, with the same argument checks.
func (impl Implementation) Sgemm(tA, tB blas.Transpose, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	aT := tA == blas.Trans || tA == blas.ConjTrans
	bT := tB == blas.Trans || tB == blas.ConjTrans
	if (tA != blas.NoTrans && !aT) || (tB != blas.NoTrans && !bT) {
		panic("blas: illegal transpose")
	}
	if m < 0 || n < 0 || k < 0 {
		panic("blas: negative dimension")
	}
	rowsA, colsA, rowsB, colsB := m, k, k, n
	if aT {
		rowsA, colsA = k, m
	}
	if bT {
		rowsB, colsB = n, k
	}
	if lda < max(1, colsA) || ldb < max(1, colsB) || ldc < max(1, n) {
		panic("blas: bad leading dimension")
	}
	if m == 0 || n == 0 {
		return
	}
	if len(a) < (rowsA-1)*lda+colsA || len(b) < (rowsB-1)*ldb+colsB || len(c) < (m-1)*ldc+n {
		panic("blas: insufficient slice length")
	}
	kern, workers := impl.setup()
	scaleC(m, n, beta, c, ldc)
	if alpha == 0 || k == 0 {
		return
	}
	g := gemm{kern: kern, aT: aT, bT: bT, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc}
	g.run(workers)
}

func scaleC(m, n int, beta float32, c []float32, ldc int) {
	if beta == 1 {
		return
	}
	for i := 0; i < m; i++ {
		row := c[i*ldc : i*ldc+n]
		if beta == 0 {
			clear(row)
			continue
		}
		for j := range row {
			row[j] *= beta
		}
	}
}

type gemm struct {
	// prepacked, when set, replaces packing A; packer, when set, replaces
	// packing B from b.
	prepacked *PackedA
	packer    BPacker

	kern     Kernel
	aT, bT   bool
	m, n, k  int
	alpha    float32
	a, b, c  []float32
	lda, ldb int
	ldc      int
}

func roundUp(x, to int) int { return (x + to - 1) / to * to }

func (g *gemm) run(workers int) {
	mr, nr := g.kern.MR, g.kern.NR
	for jc := 0; jc < g.n; jc += nc {
		ncur := min(nc, g.n-jc)
		panelsB := (ncur + nr - 1) / nr
		for pc := 0; pc < g.k; pc += kc {
			kcur := min(kc, g.k-pc)
			bbuf := getBuf(panelsB * nr * kcur)
			bp := *bbuf
			if g.packer != nil {
				g.packWith(bp, pc, kcur, jc, ncur, workers)
			} else {
				g.packB(bp, pc, kcur, jc, ncur, workers)
			}
			// Tasks: row blocks of A × chunks of B panels, enough to keep
			// every worker busy even when m is small. Each task packs its
			// own A block, so a serial product takes one chunk: two packed
			// every A block twice (a weight gradient's dY, on every sample).
			mBlocks := (g.m + mc - 1) / mc
			chunks := 1
			if workers > 1 && mBlocks < 2*workers {
				chunks = min(panelsB, (2*workers+mBlocks-1)/mBlocks)
			}
			per := (panelsB + chunks - 1) / chunks
			tasks := mBlocks * chunks
			do := func(t int) {
				ib, ch := t/chunks, t%chunks
				i0 := ib * mc
				mcur := min(mc, g.m-i0)
				p0, p1 := ch*per, min(panelsB, (ch+1)*per)
				if p0 >= p1 {
					return
				}
				if g.prepacked != nil {
					ebuf := getBuf(mr * nr)
					g.macro(g.prepacked.block(pc, i0), bp, *ebuf, i0, mcur, jc, ncur, kcur, p0, p1)
					putBuf(ebuf)
					return
				}
				abuf := getBuf(roundUp(mcur, mr)*kcur + mr*nr)
				ap, edge := (*abuf)[:roundUp(mcur, mr)*kcur], (*abuf)[roundUp(mcur, mr)*kcur:]
				g.packA(ap, i0, mcur, pc, kcur)
				g.macro(ap, bp, edge, i0, mcur, jc, ncur, kcur, p0, p1)
				putBuf(abuf)
			}
			if workers <= 1 || tasks == 1 {
				for t := 0; t < tasks; t++ {
					do(t)
				}
			} else {
				parallelFor(tasks, workers, do)
			}
			putBuf(bbuf)
		}
	}
}

// packWith runs the custom packer over chunks of panels in parallel.
func (g *gemm) packWith(dst []float32, p0, kcur, j0, ncur, workers int) {
	nr := g.kern.NR
	panels := (ncur + nr - 1) / nr
	chunks := 1
	if workers > 1 && kcur*ncur >= 1<<15 {
		chunks = min(panels, workers)
	}
	per := (panels + chunks - 1) / chunks
	pack := func(ch int) {
		q0, q1 := ch*per, min(panels, (ch+1)*per)
		if q0 >= q1 {
			return
		}
		g.packer(dst[q0*nr*kcur:q1*nr*kcur], p0, kcur, j0+q0*nr, min(ncur-q0*nr, (q1-q0)*nr), nr)
	}
	if chunks == 1 {
		pack(0)
		return
	}
	parallelFor(chunks, workers, pack)
}

// parallelFor runs do(0…n−1) on up to workers goroutines (package par's
// persistent helpers and the caller).
func parallelFor(n, workers int, do func(int)) { par.For(n, workers, do) }

// macro runs the micro-kernel over the tiles of one packed A block and B
// panels [p0, p1); edge (MR·NR values) takes the tiles that overhang C.
func (g *gemm) macro(ap, bp, edge []float32, i0, mcur, jc, ncur, kcur, p0, p1 int) {
	mr, nr := g.kern.MR, g.kern.NR
	for jp := p0; jp < p1; jp++ {
		j := jp * nr
		ncols := min(nr, ncur-j)
		bPanel := bp[jp*nr*kcur : (jp+1)*nr*kcur]
		for ir := 0; ir < mcur; ir += mr {
			nrows := min(mr, mcur-ir)
			aPanel := ap[ir*kcur : (ir+mr)*kcur]
			cOff := (i0+ir)*g.ldc + jc + j
			if nrows == mr && ncols == nr && cOff+(mr-1)*g.ldc+nr <= len(g.c) {
				g.kern.run(kcur, aPanel, bPanel, g.c[cOff:], g.ldc)
				continue
			}
			tile := edge[:mr*nr]
			clear(tile)
			g.kern.run(kcur, aPanel, bPanel, tile, nr)
			addTile(g.c[cOff:], g.ldc, tile, nr, nrows, ncols)
		}
	}
}

// addTile adds the nrows×ncols corner of an edge tile (row stride nr) to C
// at c (row stride ldc): the part of a micro-kernel's tile that lies in C.
func addTile(c []float32, ldc int, tile []float32, nr, nrows, ncols int) {
	for r := 0; r < nrows; r++ {
		row := c[r*ldc : r*ldc+ncols]
		for jj := range row {
			row[jj] += tile[r*nr+jj]
		}
	}
}

// packA copies rows [i0, i0+mcur) × columns [p0, p0+kcur) of op(A), times α,
// into MR-row panels: panel q holds, for each p, the MR values of its rows.
func (g *gemm) packA(dst []float32, i0, mcur, p0, kcur int) {
	mr := g.kern.MR
	alpha := g.alpha
	for ir := 0; ir < mcur; ir += mr {
		panel := dst[ir*kcur : (ir+mr)*kcur]
		rows := min(mr, mcur-ir)
		if g.aT {
			// op(A)[i][p] = a[p*lda + i]: MR consecutive values per p.
			for p := 0; p < kcur; p++ {
				src := g.a[(p0+p)*g.lda+i0+ir:]
				d := panel[p*mr : p*mr+mr]
				for r := 0; r < rows; r++ {
					d[r] = alpha * src[r]
				}
				for r := rows; r < mr; r++ {
					d[r] = 0
				}
			}
			continue
		}
		for r := 0; r < mr; r++ {
			if r >= rows {
				for p := 0; p < kcur; p++ {
					panel[p*mr+r] = 0
				}
				continue
			}
			src := g.a[(i0+ir+r)*g.lda+p0 : (i0+ir+r)*g.lda+p0+kcur]
			for p, v := range src {
				panel[p*mr+r] = alpha * v
			}
		}
	}
}

// packB copies rows [p0, p0+kcur) × columns [j0, j0+ncur) of op(B) into
// NR-column panels: panel q holds, for each p, NR consecutive values.
func (g *gemm) packB(dst []float32, p0, kcur, j0, ncur, workers int) {
	nr := g.kern.NR
	panels := (ncur + nr - 1) / nr
	pack := func(q int) {
		j := q * nr
		cols := min(nr, ncur-j)
		panel := dst[q*nr*kcur : (q+1)*nr*kcur]
		if !g.bT {
			for p := 0; p < kcur; p++ {
				d := panel[p*nr : p*nr+nr]
				copy(d, g.b[(p0+p)*g.ldb+j0+j:(p0+p)*g.ldb+j0+j+cols])
				clear(d[cols:])
			}
			return
		}
		// op(B)[p][j] = b[j*ldb + p]: read the panel's columns as rows of b,
		// eight at a time, so the writes stay within a few cache lines.
		for jj0 := 0; jj0 < nr; jj0 += 8 {
			if jj0+8 <= cols {
				row := func(i int) []float32 {
					off := (j0+j+jj0+i)*g.ldb + p0
					return g.b[off : off+kcur]
				}
				r0, r1, r2, r3, r4, r5, r6, r7 := row(0), row(1), row(2), row(3), row(4), row(5), row(6), row(7)
				for p := 0; p < kcur; p++ {
					d := panel[p*nr+jj0 : p*nr+jj0+8 : p*nr+jj0+8]
					d[0], d[1], d[2], d[3] = r0[p], r1[p], r2[p], r3[p]
					d[4], d[5], d[6], d[7] = r4[p], r5[p], r6[p], r7[p]
				}
				continue
			}
			for p := 0; p < kcur; p++ {
				d := panel[p*nr+jj0 : p*nr+jj0+8]
				for jj := range d {
					if jj0+jj < cols {
						d[jj] = g.b[(j0+j+jj0+jj)*g.ldb+p0+p]
					} else {
						d[jj] = 0
					}
				}
			}
		}
	}
	if workers <= 1 || panels < 4 || kcur*ncur < 1<<15 {
		for q := 0; q < panels; q++ {
			pack(q)
		}
		return
	}
	parallelFor(panels, workers, pack)
}

// PackedA is a left operand packed once for many products: convolution
// weights do not change between forward passes, so packing them on every
// call would be wasted work.
type PackedA struct {
	kern   Kernel
	M, K   int
	data   []float32
	starts []int // offset of block (pc, ic), indexed pcIndex*mBlocks + icIndex
}

// Bytes is the memory the packed matrix holds.
func (pa *PackedA) Bytes() int64 { return 4 * int64(cap(pa.data)) }

func (pa *PackedA) block(pc, i0 int) []float32 {
	mBlocks := (pa.M + mc - 1) / mc
	off := pa.starts[(pc/kc)*mBlocks+i0/mc]
	kcur := min(kc, pa.K-pc)
	mcur := min(mc, pa.M-i0)
	return pa.data[off : off+roundUp(mcur, pa.kern.MR)*kcur]
}

// PackA packs the m×k row-major matrix a (leading dimension lda) for
// GemmPacked with this implementation's kernel.
func (impl Implementation) PackA(m, k int, a []float32, lda int) *PackedA {
	return impl.PackAInto(nil, m, k, a, lda)
}

// PackedLen is the number of floats PackA stores for an m×k matrix.
func (impl Implementation) PackedLen(m, k int) int {
	kern, _ := impl.setup()
	_, size := packedLayout(kern, m, k, nil)
	return size
}

// packedLayout appends to starts the offset of every (kc × mc) block of a
// packed m×k matrix, in the order block reads them, and returns them with
// the floats they take in all: the one walk PackedLen and PackAInto share.
func packedLayout(kern Kernel, m, k int, starts []int) ([]int, int) {
	size := 0
	for pc := 0; pc < k; pc += kc {
		for i0 := 0; i0 < m; i0 += mc {
			starts = append(starts, size)
			size += roundUp(min(mc, m-i0), kern.MR) * min(kc, k-pc)
		}
	}
	return starts, size
}

// PackedAOn returns an empty packed matrix that PackAInto fills in buf
// when buf holds PackedLen floats: several matrices then share one
// allocation (a Winograd kernel's sixteen).
func PackedAOn(buf []float32) *PackedA { return &PackedA{data: buf} }

// PackAInto is PackA reusing pa's memory (pa may be nil): for a left
// operand packed anew on every call, such as a weight gradient's dY.
func (impl Implementation) PackAInto(pa *PackedA, m, k int, a []float32, lda int) *PackedA {
	kern, _ := impl.setup()
	if pa == nil {
		pa = &PackedA{}
	}
	var size int
	pa.kern, pa.M, pa.K = kern, m, k
	pa.starts, size = packedLayout(kern, m, k, pa.starts[:0])
	g := gemm{kern: kern, m: m, k: k, alpha: 1, a: a, lda: lda}
	if cap(pa.data) < size {
		pa.data = hugemem.Floats(size) // weights, filled once: see package hugemem
	}
	pa.data = pa.data[:size]
	for pc := 0; pc < k; pc += kc {
		for i0 := 0; i0 < m; i0 += mc {
			g.packA(pa.block(pc, i0), i0, min(mc, m-i0), pc, min(kc, k-pc))
		}
	}
	return pa
}

// BPacker writes rows [p0, p0+kcur) × columns [j0, j0+ncur) of a right
// operand into dst as panels nr columns wide: panel q holds, for each row p,
// the nr values of columns j0+q·nr …, zero past ncur. A convolution packs
// straight from the image this way, without an im2col matrix.
type BPacker func(dst []float32, p0, kcur, j0, ncur, nr int)

// GemmB computes C += A·B for a row-major A (m×k, leading dimension lda)
// and a k×n right operand supplied by packB (a weight gradient's image
// columns, gathered straight from the image).
func (impl Implementation) GemmB(m, n, k int, a []float32, lda int, packB BPacker, c []float32, ldc int) {
	if m == 0 || n == 0 || k == 0 {
		return
	}
	if lda < k || len(a) < (m-1)*lda+k || ldc < n || len(c) < (m-1)*ldc+n {
		panic("sgemm: A or C too small for GemmB")
	}
	kern, workers := impl.setup()
	g := gemm{kern: kern, m: m, n: n, k: k, alpha: 1, a: a, lda: lda, c: c, ldc: ldc, packer: packB}
	g.run(workers)
}

// GemmPacked computes C += A·B for a prepacked A (M×K) and a K×n right
// operand supplied by packB; C is M×n with leading dimension ldc.
func (impl Implementation) GemmPacked(pa *PackedA, n int, packB BPacker, c []float32, ldc int) {
	if pa.M == 0 || n == 0 || pa.K == 0 {
		return
	}
	if ldc < n || len(c) < (pa.M-1)*ldc+n {
		panic("sgemm: C too small for GemmPacked")
	}
	_, workers := impl.setup()
	g := gemm{kern: pa.kern, m: pa.M, n: n, k: pa.K, alpha: 1, c: c, ldc: ldc, prepacked: pa, packer: packB}
	g.run(workers)
}

// GemmIndirect computes C += A·B for a prepacked A (M×K) and the K×n right
// operand B[p][j] = src[offs[p]+j]: every row of B is a contiguous run of
// src, as the taps of a stride-1 convolution are on a zero-padded grid. A
// kernel with an in-place variant reads B where it lies — no packing, each
// B value read from the grid itself — and the others (and panels that would
// read past src) get panels packed from the same runs. Either way C sums
// the same products in the same order as GemmPacked. Where c is long enough
// to hold them, rows M … M+MR−2 are scratch that the in-place kernel may
// write: the last partial block of rows then needs no edge tile. It runs on
// the calling goroutine: the caller splits columns across cores.
func (impl Implementation) GemmIndirect(pa *PackedA, n int, src []float32, offs []int, c []float32, ldc int) {
	impl.gemmIndirect(pa, n, src, offs, c, ldc, false)
}

// GemmIndirectSet is GemmIndirect computing C = A·B: what C held is
// neither read nor kept (the first block of K stores its tiles; a kernel
// without a storing variant gets C cleared first). Same bits as clearing C
// and calling GemmIndirect.
func (impl Implementation) GemmIndirectSet(pa *PackedA, n int, src []float32, offs []int, c []float32, ldc int) {
	impl.gemmIndirect(pa, n, src, offs, c, ldc, true)
}

func (impl Implementation) gemmIndirect(pa *PackedA, n int, src []float32, offs []int, c []float32, ldc int, set bool) {
	if pa.M == 0 || n == 0 || pa.K == 0 {
		return
	}
	if len(offs) != pa.K || ldc < n || len(c) < (pa.M-1)*ldc+n {
		panic("sgemm: offsets or C wrong for GemmIndirect")
	}
	kern := pa.kern
	if set && kern.ind == nil {
		for i := 0; i < pa.M; i++ {
			clear(c[i*ldc : i*ldc+n])
		}
		set = false
	}
	mr, nr := kern.MR, kern.NR
	buf := getBuf(mr*nr + nr*kc)
	defer putBuf(buf)
	tile, panel := (*buf)[:mr*nr], (*buf)[mr*nr:]
	for pc := 0; pc < pa.K; pc += kc {
		kcur := min(kc, pa.K-pc)
		o := offs[pc : pc+kcur]
		lo, hi := o[0], o[0]
		for _, v := range o {
			lo, hi = min(lo, v), max(hi, v)
		}
		if lo < 0 {
			panic("sgemm: negative offset for GemmIndirect")
		}
		store := set && pc == 0 // this block's tiles are stored, not added
		for i0 := 0; i0 < pa.M; i0 += mc {
			mcur := min(mc, pa.M-i0)
			ap := pa.block(pc, i0)
			for j := 0; j < n; j += nr {
				ncols := min(nr, n-j)
				direct := kern.ind != nil && ncols == nr && hi+j+nr <= len(src)
				bp := panel[:kcur*nr]
				if !direct {
					for pp, off := range o {
						d := bp[pp*nr : (pp+1)*nr]
						got := copy(d[:ncols], src[min(off+j, len(src)):])
						clear(d[got:])
					}
				}
				for ir := 0; ir < mcur; ir += mr {
					if direct {
						// Every whole row block from here in one call, and
						// the last partial one too where C has the slack.
						nb := (mcur - ir) / mr
						if (mcur-ir)%mr != 0 && i0+mcur == pa.M && (i0+ir+nb*mr+mr-1)*ldc+j+nr <= len(c) {
							nb++
						}
						if nb > 0 {
							kern.ind(kcur, ap[ir*kcur:], src[j:], o, c[(i0+ir)*ldc+j:], ldc, nb, store)
							ir += (nb - 1) * mr
							continue
						}
					}
					nrows := min(mr, mcur-ir)
					aPanel := ap[ir*kcur : (ir+mr)*kcur]
					cOff := (i0+ir)*ldc + j
					dst, ld := c[cOff:], ldc
					// The last rows of C may be written whole into the
					// caller's slack; a partial block inside C may not.
					last := i0+ir+nrows == pa.M
					full := (nrows == mr || direct && last) && ncols == nr && cOff+(mr-1)*ldc+nr <= len(c)
					if store && !direct {
						full = false // kern.run adds: it writes the zeroed tile
					}
					if !full {
						clear(tile)
						dst, ld = tile, nr
					}
					if direct { // a partial block inside C: into the tile
						kern.ind(kcur, aPanel, src[j:], o, dst, ld, 1, false)
					} else {
						kern.run(kcur, aPanel, bp, dst, ld)
					}
					if full {
						continue
					}
					if store {
						for r := range nrows {
							copy(c[cOff+r*ldc:cOff+r*ldc+ncols], tile[r*nr:r*nr+ncols])
						}
						continue
					}
					addTile(c[cOff:], ldc, tile, nr, nrows, ncols)
				}
			}
		}
	}
}
