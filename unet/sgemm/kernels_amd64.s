#include "textflag.h"

// func kernel8x32AVX512(k int, a, b, c *float32, ldc int)
// Registers: Z0–Z15 accumulate the 8×32 tile (row r in Z(2r), Z(2r+1));
// Z16, Z17 hold 32 values of the B panel; each A value is broadcast from
// memory by the FMA itself. a advances 8 floats and b 32 floats per k.
TEXT ·kernel8x32AVX512(SB), NOSPLIT, $0-40
	MOVQ k+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DI
	MOVQ c+24(FP), DX
	MOVQ ldc+32(FP), R8
	SHLQ $2, R8
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7
	VPXORD Z8, Z8, Z8
	VPXORD Z9, Z9, Z9
	VPXORD Z10, Z10, Z10
	VPXORD Z11, Z11, Z11
	VPXORD Z12, Z12, Z12
	VPXORD Z13, Z13, Z13
	VPXORD Z14, Z14, Z14
	VPXORD Z15, Z15, Z15
	TESTQ CX, CX
	JZ    store512

loop512:
	VMOVUPS (DI), Z16
	VMOVUPS 64(DI), Z17
	PREFETCHT0 512(DI)
	VFMADD231PS.BCST (SI), Z16, Z0
	VFMADD231PS.BCST (SI), Z17, Z1
	VFMADD231PS.BCST 4(SI), Z16, Z2
	VFMADD231PS.BCST 4(SI), Z17, Z3
	VFMADD231PS.BCST 8(SI), Z16, Z4
	VFMADD231PS.BCST 8(SI), Z17, Z5
	VFMADD231PS.BCST 12(SI), Z16, Z6
	VFMADD231PS.BCST 12(SI), Z17, Z7
	VFMADD231PS.BCST 16(SI), Z16, Z8
	VFMADD231PS.BCST 16(SI), Z17, Z9
	VFMADD231PS.BCST 20(SI), Z16, Z10
	VFMADD231PS.BCST 20(SI), Z17, Z11
	VFMADD231PS.BCST 24(SI), Z16, Z12
	VFMADD231PS.BCST 24(SI), Z17, Z13
	VFMADD231PS.BCST 28(SI), Z16, Z14
	VFMADD231PS.BCST 28(SI), Z17, Z15
	ADDQ $32, SI
	ADDQ $128, DI
	DECQ CX
	JNZ  loop512

store512:
	VADDPS (DX), Z0, Z0
	VADDPS 64(DX), Z1, Z1
	VMOVUPS Z0, (DX)
	VMOVUPS Z1, 64(DX)
	ADDQ R8, DX
	VADDPS (DX), Z2, Z2
	VADDPS 64(DX), Z3, Z3
	VMOVUPS Z2, (DX)
	VMOVUPS Z3, 64(DX)
	ADDQ R8, DX
	VADDPS (DX), Z4, Z4
	VADDPS 64(DX), Z5, Z5
	VMOVUPS Z4, (DX)
	VMOVUPS Z5, 64(DX)
	ADDQ R8, DX
	VADDPS (DX), Z6, Z6
	VADDPS 64(DX), Z7, Z7
	VMOVUPS Z6, (DX)
	VMOVUPS Z7, 64(DX)
	ADDQ R8, DX
	VADDPS (DX), Z8, Z8
	VADDPS 64(DX), Z9, Z9
	VMOVUPS Z8, (DX)
	VMOVUPS Z9, 64(DX)
	ADDQ R8, DX
	VADDPS (DX), Z10, Z10
	VADDPS 64(DX), Z11, Z11
	VMOVUPS Z10, (DX)
	VMOVUPS Z11, 64(DX)
	ADDQ R8, DX
	VADDPS (DX), Z12, Z12
	VADDPS 64(DX), Z13, Z13
	VMOVUPS Z12, (DX)
	VMOVUPS Z13, 64(DX)
	ADDQ R8, DX
	VADDPS (DX), Z14, Z14
	VADDPS 64(DX), Z15, Z15
	VMOVUPS Z14, (DX)
	VMOVUPS Z15, 64(DX)
	VZEROUPPER
	RET

// The AVX2 kernels share their body. Registers: Y0–Y11 accumulate the 6×16
// tile (row r in Y(2r), Y(2r+1)); Y12, Y13 hold 16 values of B's row p; Y14,
// Y15 take turns holding a broadcast A value; SI walks the packed A panel (6
// floats per p), DX and R8 (bytes) are C's tile and row stride.
#define ZERO6x16 \
	VXORPS Y0, Y0, Y0 \
	VXORPS Y1, Y1, Y1 \
	VXORPS Y2, Y2, Y2 \
	VXORPS Y3, Y3, Y3 \
	VXORPS Y4, Y4, Y4 \
	VXORPS Y5, Y5, Y5 \
	VXORPS Y6, Y6, Y6 \
	VXORPS Y7, Y7, Y7 \
	VXORPS Y8, Y8, Y8 \
	VXORPS Y9, Y9, Y9 \
	VXORPS Y10, Y10, Y10 \
	VXORPS Y11, Y11, Y11

// FMA6x16 adds A's six values at SI times Y12:Y13 to the tile, advancing SI.
#define FMA6x16 \
	VBROADCASTSS (SI), Y14 \
	VFMADD231PS Y14, Y12, Y0 \
	VFMADD231PS Y14, Y13, Y1 \
	VBROADCASTSS 4(SI), Y15 \
	VFMADD231PS Y15, Y12, Y2 \
	VFMADD231PS Y15, Y13, Y3 \
	VBROADCASTSS 8(SI), Y14 \
	VFMADD231PS Y14, Y12, Y4 \
	VFMADD231PS Y14, Y13, Y5 \
	VBROADCASTSS 12(SI), Y15 \
	VFMADD231PS Y15, Y12, Y6 \
	VFMADD231PS Y15, Y13, Y7 \
	VBROADCASTSS 16(SI), Y14 \
	VFMADD231PS Y14, Y12, Y8 \
	VFMADD231PS Y14, Y13, Y9 \
	VBROADCASTSS 20(SI), Y15 \
	VFMADD231PS Y15, Y12, Y10 \
	VFMADD231PS Y15, Y13, Y11 \
	ADDQ $24, SI

// ADDROW adds accumulators lo, hi to the C row at DX.
#define ADDROW(lo, hi) \
	VADDPS (DX), lo, lo \
	VADDPS 32(DX), hi, hi \
	VMOVUPS lo, (DX) \
	VMOVUPS hi, 32(DX)

// STORE6x16 adds the tile to C.
#define STORE6x16 \
	ADDROW(Y0, Y1) \
	ADDQ R8, DX \
	ADDROW(Y2, Y3) \
	ADDQ R8, DX \
	ADDROW(Y4, Y5) \
	ADDQ R8, DX \
	ADDROW(Y6, Y7) \
	ADDQ R8, DX \
	ADDROW(Y8, Y9) \
	ADDQ R8, DX \
	ADDROW(Y10, Y11)

// func kernel6x16AVX2(k int, a, b, c *float32, ldc int)
// B is a packed panel: DI advances 16 floats per p.
TEXT ·kernel6x16AVX2(SB), NOSPLIT, $0-40
	MOVQ k+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DI
	MOVQ c+24(FP), DX
	MOVQ ldc+32(FP), R8
	SHLQ $2, R8
	ZERO6x16
	TESTQ CX, CX
	JZ    store2

loop2:
	VMOVUPS (DI), Y12
	VMOVUPS 32(DI), Y13
	FMA6x16
	ADDQ $64, DI
	DECQ CX
	JNZ  loop2

store2:
	STORE6x16
	VZEROUPPER
	RET

// SETROW stores accumulators lo, hi to the C row at DX.
#define SETROW(lo, hi) \
	VMOVUPS lo, (DX) \
	VMOVUPS hi, 32(DX)

// func kernel6x16IndAVX2(k int, a, b *float32, offs *int, c *float32, ldc, blocks int, set bool)
// kernel6x16AVX2 with B read in place — row p of the panel is the 16
// floats at b + offs[p] (a convolution tap's run on a padded grid, a row of
// a Winograd transform), so B needs no packing — run on blocks row blocks
// one after another: A's panels follow each other (6·k floats apart) and C
// moves down six rows a block. One call per column panel instead of one
// per tile: a product with a short K (the Winograd products: K is the
// channel count) spent a tenth of its time between tiles in Go. With set
// the tiles are stored to C instead of added (C = A·B, nothing to clear or
// read; the sums are never −0, so the bits are those of adding to zeros).
// Same FMAs in the same order as kernel6x16AVX2, so the same bits.
TEXT ·kernel6x16IndAVX2(SB), NOSPLIT, $0-57
	MOVQ k+0(FP), R10
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DI
	MOVQ offs+24(FP), R11
	MOVQ c+32(FP), R12
	MOVQ ldc+40(FP), R8
	SHLQ $2, R8
	MOVQ blocks+48(FP), BX
	MOVBQZX set+56(FP), R13
	TESTQ BX, BX
	JZ    bdone
bblock:
	MOVQ R10, CX
	MOVQ R11, R9
	MOVQ R12, DX
	ZERO6x16
	TESTQ CX, CX
	JZ    bstore
bloop:
	MOVQ (R9), AX
	VMOVUPS (DI)(AX*4), Y12
	VMOVUPS 32(DI)(AX*4), Y13
	FMA6x16
	ADDQ $8, R9
	DECQ CX
	JNZ  bloop
bstore:
	TESTQ R13, R13
	JNZ   bset
	STORE6x16
	JMP   bnext
bset:
	SETROW(Y0, Y1)
	ADDQ R8, DX
	SETROW(Y2, Y3)
	ADDQ R8, DX
	SETROW(Y4, Y5)
	ADDQ R8, DX
	SETROW(Y6, Y7)
	ADDQ R8, DX
	SETROW(Y8, Y9)
	ADDQ R8, DX
	SETROW(Y10, Y11)
bnext:
	LEAQ (R12)(R8*4), R12 // six rows down
	LEAQ (R12)(R8*2), R12
	DECQ BX
	JNZ  bblock
	VZEROUPPER
bdone:
	RET

// HSUM adds the eight lanes of y (x its low half) to the float at mem;
// t (and tx, its low half) is scratch.
#define HSUM(y, x, t, tx, mem) \
	VEXTRACTF128 $1, y, tx \
	VADDPS tx, x, x \
	VHADDPS x, x, x \
	VHADDPS x, x, x \
	VADDSS mem, x, x \
	VMOVSS x, mem

// func dot3x3AVX2(k int, a *float32, lda int, b *float32, ldb int, c *float32, ldc int)
// c[i·ldc + j] += Σ_p a[i·lda + p]·b[j·ldb + p] for i, j < 3; k is a
// multiple of 8. Nine accumulators of eight lanes, each lane summing every
// eighth product, reduced at the end.
TEXT ·dot3x3AVX2(SB), NOSPLIT, $0-56
	MOVQ k+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ lda+16(FP), R8
	SHLQ $2, R8
	MOVQ b+24(FP), DI
	MOVQ ldb+32(FP), R9
	SHLQ $2, R9
	MOVQ c+40(FP), DX
	MOVQ ldc+48(FP), R10
	SHLQ $2, R10
	LEAQ (SI)(R8*1), R11
	LEAQ (R11)(R8*1), R12
	LEAQ (DI)(R9*1), R13
	LEAQ (R13)(R9*1), AX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	VXORPS Y8, Y8, Y8
	XORQ BX, BX
	TESTQ CX, CX
	JZ    d3sum
d3loop:
	VMOVUPS (SI)(BX*1), Y9
	VMOVUPS (R11)(BX*1), Y10
	VMOVUPS (R12)(BX*1), Y11
	VMOVUPS (DI)(BX*1), Y12
	VFMADD231PS Y12, Y9, Y0
	VFMADD231PS Y12, Y10, Y3
	VFMADD231PS Y12, Y11, Y6
	VMOVUPS (R13)(BX*1), Y13
	VFMADD231PS Y13, Y9, Y1
	VFMADD231PS Y13, Y10, Y4
	VFMADD231PS Y13, Y11, Y7
	VMOVUPS (AX)(BX*1), Y14
	VFMADD231PS Y14, Y9, Y2
	VFMADD231PS Y14, Y10, Y5
	VFMADD231PS Y14, Y11, Y8
	ADDQ $32, BX
	SUBQ $8, CX
	JNZ  d3loop
d3sum:
	HSUM(Y0, X0, Y15, X15, 0(DX))
	HSUM(Y1, X1, Y15, X15, 4(DX))
	HSUM(Y2, X2, Y15, X15, 8(DX))
	ADDQ R10, DX
	HSUM(Y3, X3, Y15, X15, 0(DX))
	HSUM(Y4, X4, Y15, X15, 4(DX))
	HSUM(Y5, X5, Y15, X15, 8(DX))
	ADDQ R10, DX
	HSUM(Y6, X6, Y15, X15, 0(DX))
	HSUM(Y7, X7, Y15, X15, 4(DX))
	HSUM(Y8, X8, Y15, X15, 8(DX))
	VZEROUPPER
	RET
