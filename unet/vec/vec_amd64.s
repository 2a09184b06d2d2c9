#include "textflag.h"

DATA expc<>+0(SB)/4, $0x3fb8aa3b  // log2 e
DATA expc<>+4(SB)/4, $0x3f318000  // ln2 hi
DATA expc<>+8(SB)/4, $0xb95e8083  // ln2 lo
DATA expc<>+12(SB)/4, $0x39506967 // c0
DATA expc<>+16(SB)/4, $0x3ab743ce // c1
DATA expc<>+20(SB)/4, $0x3c088908 // c2
DATA expc<>+24(SB)/4, $0x3d2aa9c1 // c3
DATA expc<>+28(SB)/4, $0x3e2aaaaa // c4
DATA expc<>+32(SB)/4, $0x3f000000 // c5
DATA expc<>+36(SB)/4, $0x3f800000 // 1
DATA expc<>+40(SB)/4, $0x00000000 // (unused)
DATA expc<>+44(SB)/4, $0x00000000 // (unused)
DATA expc<>+48(SB)/4, $0x42b00000 // 88: 2^n stays finite without VSCALEFPS
DATA expc<>+52(SB)/4, $0xc2ae0000 // -87: 2^n stays normal without VSCALEFPS
DATA expc<>+56(SB)/4, $0x0000007f // 127, the exponent bias
GLOBL expc<>(SB), RODATA|NOPTR, $60

// func affineAVX512(dst, src *float32, n int, a, b float32, silu bool)
// n is a multiple of 16. y = src·a + b; with silu, dst = y / (1 + e^−y),
// e^−y by the same steps as affineAVX2 (and siluCanonical): −y clamped to
// [−87, 88], 2^n applied with VSCALEFPS, which multiplies by the same
// power of two that affineAVX2 builds in the exponent bits.
TEXT ·affineAVX512(SB), NOSPLIT, $0-33
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	VBROADCASTSS a+24(FP), Z20
	VBROADCASTSS b+28(FP), Z21
	MOVB silu+32(FP), AL
	VBROADCASTSS expc<>+0(SB), Z22
	VBROADCASTSS expc<>+4(SB), Z23
	VBROADCASTSS expc<>+8(SB), Z24
	VBROADCASTSS expc<>+12(SB), Z25
	VBROADCASTSS expc<>+16(SB), Z26
	VBROADCASTSS expc<>+20(SB), Z27
	VBROADCASTSS expc<>+24(SB), Z28
	VBROADCASTSS expc<>+28(SB), Z29
	VBROADCASTSS expc<>+32(SB), Z30
	VBROADCASTSS expc<>+36(SB), Z31
	VBROADCASTSS expc<>+48(SB), Z18
	VBROADCASTSS expc<>+52(SB), Z19
	TESTB AL, AL
	JZ    plain

siluloop:
	VMOVUPS (SI), Z0
	VFMADD213PS Z21, Z20, Z0        // y = src*a + b
	VXORPS Z1, Z1, Z1
	VSUBPS Z0, Z1, Z1               // x = -y
	VMINPS Z18, Z1, Z1
	VMAXPS Z19, Z1, Z1              // clamp to [-87, 88]
	VMULPS Z22, Z1, Z2              // x·log2e
	VRNDSCALEPS $0, Z2, Z2          // n = round to nearest
	VFNMADD231PS Z23, Z2, Z1        // r = x − n·ln2hi
	VFNMADD231PS Z24, Z2, Z1        // r −= n·ln2lo
	VMOVAPS Z25, Z3                 // p = c0
	VFMADD213PS Z26, Z1, Z3         // p = p·r + c1
	VFMADD213PS Z27, Z1, Z3
	VFMADD213PS Z28, Z1, Z3
	VFMADD213PS Z29, Z1, Z3
	VFMADD213PS Z30, Z1, Z3         // p = p·r + c5
	VMULPS Z1, Z1, Z4               // r²
	VFMADD213PS Z1, Z4, Z3          // p·r² + r
	VADDPS Z31, Z3, Z3              // + 1
	VSCALEFPS Z2, Z3, Z3            // e^x = p · 2^n
	VADDPS Z31, Z3, Z3              // 1 + e^−y
	VDIVPS Z3, Z0, Z0               // y / (1 + e^−y)
	VMOVUPS Z0, (DI)
	ADDQ $64, SI
	ADDQ $64, DI
	SUBQ $16, CX
	JNZ  siluloop
	VZEROUPPER
	RET

plain:
	VMOVUPS (SI), Z0
	VFMADD213PS Z21, Z20, Z0
	VMOVUPS Z0, (DI)
	ADDQ $64, SI
	ADDQ $64, DI
	SUBQ $16, CX
	JNZ  plain
	VZEROUPPER
	RET

// func affineAVX2(dst, src *float32, n int, a, b float32, silu bool)
// n is a multiple of 8. The AVX-512 loop on 8 lanes with FMA3; without
// VSCALEFPS, 2^n is built in the exponent bits, so −y is clamped to
// [−87, 88] where that stays a normal float (e^−y beyond adds nothing to 1).
TEXT ·affineAVX2(SB), NOSPLIT, $0-33
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	VBROADCASTSS a+24(FP), Y10
	VBROADCASTSS b+28(FP), Y11
	MOVB silu+32(FP), AL
	VBROADCASTSS expc<>+0(SB), Y12
	VBROADCASTSS expc<>+4(SB), Y13
	VBROADCASTSS expc<>+8(SB), Y14
	VBROADCASTSS expc<>+36(SB), Y15
	VBROADCASTSS expc<>+48(SB), Y8
	VBROADCASTSS expc<>+52(SB), Y9
	VPBROADCASTD expc<>+56(SB), Y7
	TESTB AL, AL
	JZ    plain2

siluloop2:
	VMOVUPS (SI), Y0
	VFMADD213PS Y11, Y10, Y0        // y = src*a + b
	VXORPS Y1, Y1, Y1
	VSUBPS Y0, Y1, Y1               // x = -y
	VMINPS Y8, Y1, Y1
	VMAXPS Y9, Y1, Y1               // clamp to [-87, 88]
	VMULPS Y12, Y1, Y2              // x·log2e
	VROUNDPS $0, Y2, Y2             // n = round to nearest
	VFNMADD231PS Y13, Y2, Y1        // r = x − n·ln2hi
	VFNMADD231PS Y14, Y2, Y1        // r −= n·ln2lo
	VBROADCASTSS expc<>+12(SB), Y3  // p = c0
	VBROADCASTSS expc<>+16(SB), Y4
	VFMADD213PS Y4, Y1, Y3          // p = p·r + c1
	VBROADCASTSS expc<>+20(SB), Y4
	VFMADD213PS Y4, Y1, Y3
	VBROADCASTSS expc<>+24(SB), Y4
	VFMADD213PS Y4, Y1, Y3
	VBROADCASTSS expc<>+28(SB), Y4
	VFMADD213PS Y4, Y1, Y3
	VBROADCASTSS expc<>+32(SB), Y4
	VFMADD213PS Y4, Y1, Y3          // p = p·r + c5
	VMULPS Y1, Y1, Y4               // r²
	VFMADD213PS Y1, Y4, Y3          // p·r² + r
	VADDPS Y15, Y3, Y3              // + 1
	VCVTPS2DQ Y2, Y5                // n as int32
	VPADDD Y7, Y5, Y5
	VPSLLD $23, Y5, Y5              // 2^n as float bits
	VMULPS Y5, Y3, Y3               // e^x = p · 2^n
	VADDPS Y15, Y3, Y3              // 1 + e^−y
	VDIVPS Y3, Y0, Y0               // y / (1 + e^−y)
	VMOVUPS Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JNZ  siluloop2
	VZEROUPPER
	RET

plain2:
	VMOVUPS (SI), Y0
	VFMADD213PS Y11, Y10, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JNZ  plain2
	VZEROUPPER
	RET

// func gather16AVX(dst, src *float32, offs *int, n int)
// For i < n: dst[16i : 16i+16] = src[offs[i] : offs[i]+16] (two 32-byte
// loads and stores per row; AVX, no FMA needed).
TEXT ·gather16AVX(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ offs+16(FP), BX
	MOVQ n+24(FP), CX
	TESTQ CX, CX
	JZ   gdone
gloop:
	MOVQ (BX), AX
	VMOVUPS (SI)(AX*4), Y0
	VMOVUPS 32(SI)(AX*4), Y1
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	ADDQ $8, BX
	ADDQ $64, DI
	DECQ CX
	JNZ  gloop
	VZEROUPPER
gdone:
	RET

// func sumAVX2(x *float32, n int) float64
// n is a multiple of 8. Σ x[i] in float64: eight floats widened to two
// vectors of four doubles a step, into two accumulators.
TEXT ·sumAVX2(SB), NOSPLIT, $0-24
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	VXORPD Y0, Y0, Y0
	VXORPD Y1, Y1, Y1
sum2loop:
	VCVTPS2PD (SI), Y2
	VCVTPS2PD 16(SI), Y3
	VADDPD Y2, Y0, Y0
	VADDPD Y3, Y1, Y1
	ADDQ $32, SI
	SUBQ $8, CX
	JNZ  sum2loop
	VADDPD Y1, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPD X1, X0, X0
	VHADDPD X0, X0, X0
	MOVSD X0, ret+16(FP)
	VZEROUPPER
	RET

// func sumSqDevAVX2(x *float32, n int, mean float32) float64
// n is a multiple of 8. Σ (x[i] − mean)² in float64, as sumAVX2.
TEXT ·sumSqDevAVX2(SB), NOSPLIT, $0-32
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	VCVTSS2SD mean+16(FP), X4, X4
	VBROADCASTSD X4, Y4
	VXORPD Y0, Y0, Y0
	VXORPD Y1, Y1, Y1
sq2loop:
	VCVTPS2PD (SI), Y2
	VCVTPS2PD 16(SI), Y3
	VSUBPD Y4, Y2, Y2
	VSUBPD Y4, Y3, Y3
	VFMADD231PD Y2, Y2, Y0
	VFMADD231PD Y3, Y3, Y1
	ADDQ $32, SI
	SUBQ $8, CX
	JNZ  sq2loop
	VADDPD Y1, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPD X1, X0, X0
	VHADDPD X0, X0, X0
	MOVSD X0, ret+24(FP)
	VZEROUPPER
	RET

// func gatherT16AVX(dst *float32, src *float32, offs *int, n int)
// For b < n (blocks of 8 pixels) and each half h of the 16 rows:
// dst[(8b+i)·16 + 8h + r] = src[offs[8h+r] + 8b + i], i, r < 8: eight rows
// of eight loaded, transposed in registers, stored as eight 8-wide pieces.
TEXT ·gatherT16AVX(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ offs+16(FP), BX
	MOVQ n+24(FP), CX
	TESTQ CX, CX
	JZ   gtdone
	XORQ DX, DX              // 4·8·b: byte offset of the block in each row
gtblock:
	MOVQ $0, R8              // half: 0 or 1
gthalf:
	MOVQ R8, R9
	SHLQ $6, R9              // 8 offsets · 8 bytes per half
	LEAQ (BX)(R9*1), R10
	MOVQ 0(R10), AX
	LEAQ (SI)(AX*4), R11
	VMOVUPS (R11)(DX*1), Y0
	MOVQ 8(R10), AX
	LEAQ (SI)(AX*4), R11
	VMOVUPS (R11)(DX*1), Y1
	MOVQ 16(R10), AX
	LEAQ (SI)(AX*4), R11
	VMOVUPS (R11)(DX*1), Y2
	MOVQ 24(R10), AX
	LEAQ (SI)(AX*4), R11
	VMOVUPS (R11)(DX*1), Y3
	MOVQ 32(R10), AX
	LEAQ (SI)(AX*4), R11
	VMOVUPS (R11)(DX*1), Y4
	MOVQ 40(R10), AX
	LEAQ (SI)(AX*4), R11
	VMOVUPS (R11)(DX*1), Y5
	MOVQ 48(R10), AX
	LEAQ (SI)(AX*4), R11
	VMOVUPS (R11)(DX*1), Y6
	MOVQ 56(R10), AX
	LEAQ (SI)(AX*4), R11
	VMOVUPS (R11)(DX*1), Y7
	// 8×8 transpose.
	VUNPCKLPS Y1, Y0, Y8
	VUNPCKHPS Y1, Y0, Y9
	VUNPCKLPS Y3, Y2, Y10
	VUNPCKHPS Y3, Y2, Y11
	VUNPCKLPS Y5, Y4, Y12
	VUNPCKHPS Y5, Y4, Y13
	VUNPCKLPS Y7, Y6, Y14
	VUNPCKHPS Y7, Y6, Y15
	VSHUFPS $0x44, Y10, Y8, Y0
	VSHUFPS $0xEE, Y10, Y8, Y1
	VSHUFPS $0x44, Y11, Y9, Y2
	VSHUFPS $0xEE, Y11, Y9, Y3
	VSHUFPS $0x44, Y14, Y12, Y4
	VSHUFPS $0xEE, Y14, Y12, Y5
	VSHUFPS $0x44, Y15, Y13, Y6
	VSHUFPS $0xEE, Y15, Y13, Y7
	VPERM2F128 $0x20, Y4, Y0, Y8
	VPERM2F128 $0x20, Y5, Y1, Y9
	VPERM2F128 $0x20, Y6, Y2, Y10
	VPERM2F128 $0x20, Y7, Y3, Y11
	VPERM2F128 $0x31, Y4, Y0, Y12
	VPERM2F128 $0x31, Y5, Y1, Y13
	VPERM2F128 $0x31, Y6, Y2, Y14
	VPERM2F128 $0x31, Y7, Y3, Y15
	// Pixel i of the block goes to dst row i, columns 8h … 8h+7.
	MOVQ R8, R9
	SHLQ $5, R9              // 8 floats · 4 bytes
	LEAQ (DI)(R9*1), R10
	VMOVUPS Y8, 0(R10)
	VMOVUPS Y9, 64(R10)
	VMOVUPS Y10, 128(R10)
	VMOVUPS Y11, 192(R10)
	VMOVUPS Y12, 256(R10)
	VMOVUPS Y13, 320(R10)
	VMOVUPS Y14, 384(R10)
	VMOVUPS Y15, 448(R10)
	INCQ R8
	CMPQ R8, $2
	JLT  gthalf
	ADDQ $512, DI            // 8 rows of 16 floats
	ADDQ $32, DX
	DECQ CX
	JNZ  gtblock
	VZEROUPPER
gtdone:
	RET

// func gnSumsAVX2(d, dy, pre, y, x *float32, n int, mu, r float32, silu bool) (sd, sdx float64)
// n is a multiple of 8. With silu, d[i] = dy[i]·(s + y[i]·(1 − s)) for
// s = y[i]/pre[i] (½ where pre[i] is 0), else d is dy and is not written.
// Returns Σ d[i] and Σ d[i]·((x[i] − mu)·r), each in two float64
// accumulators of four lanes; the float32 steps are those of the Go tail.
TEXT ·gnSumsAVX2(SB), NOSPLIT, $0-80
	MOVQ d+0(FP), DI
	MOVQ dy+8(FP), SI
	MOVQ pre+16(FP), R8
	MOVQ y+24(FP), R9
	MOVQ x+32(FP), R10
	MOVQ n+40(FP), CX
	VBROADCASTSS mu+48(FP), Y10
	VBROADCASTSS r+52(FP), Y11
	VBROADCASTSS expc<>+32(SB), Y12 // ½
	VBROADCASTSS expc<>+36(SB), Y13 // 1
	MOVB silu+56(FP), AL
	VXORPD Y0, Y0, Y0
	VXORPD Y1, Y1, Y1
	VXORPD Y2, Y2, Y2
	VXORPD Y3, Y3, Y3
	VXORPS Y9, Y9, Y9
gnsloop:
	TESTB AL, AL
	JZ    gnsplain
	VMOVUPS (R8), Y4         // pre
	VMOVUPS (R9), Y5         // y
	VDIVPS Y4, Y5, Y6        // s = y / pre
	VCMPPS $0, Y9, Y4, Y7    // pre == 0
	VBLENDVPS Y7, Y12, Y6, Y6
	VSUBPS Y6, Y13, Y8       // 1 − s
	VMULPS Y8, Y5, Y8        // y·(1 − s)
	VADDPS Y8, Y6, Y6        // SiLU′
	VMOVUPS (SI), Y7
	VMULPS Y6, Y7, Y6        // d = dy·SiLU′
	VMOVUPS Y6, (DI)
	JMP   gnssums
gnsplain:
	VMOVUPS (SI), Y6
gnssums:
	VMOVUPS (R10), Y4
	VSUBPS Y10, Y4, Y4       // x − mu
	VMULPS Y11, Y4, Y4       // x̂
	VMULPS Y4, Y6, Y4        // d·x̂
	VCVTPS2PD X6, Y5
	VADDPD Y5, Y0, Y0
	VEXTRACTF128 $1, Y6, X6
	VCVTPS2PD X6, Y6
	VADDPD Y6, Y1, Y1
	VCVTPS2PD X4, Y5
	VADDPD Y5, Y2, Y2
	VEXTRACTF128 $1, Y4, X4
	VCVTPS2PD X4, Y4
	VADDPD Y4, Y3, Y3
	ADDQ $32, DI
	ADDQ $32, SI
	ADDQ $32, R8
	ADDQ $32, R9
	ADDQ $32, R10
	SUBQ $8, CX
	JNZ  gnsloop
	VADDPD Y1, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPD X1, X0, X0
	VHADDPD X0, X0, X0
	MOVSD X0, sd+64(FP)
	VADDPD Y3, Y2, Y2
	VEXTRACTF128 $1, Y2, X3
	VADDPD X3, X2, X2
	VHADDPD X2, X2, X2
	MOVSD X2, sdx+72(FP)
	VZEROUPPER
	RET

// func gnApplyAVX2(dst, d, x *float32, n int, mu, r, a, b, c float32, add bool)
// n is a multiple of 8. dst[i] = a·d[i] + (b·x̂ + c) for x̂ = (x[i] − mu)·r,
// plus dst[i] first if add; no fused multiply-adds, so that the Go tail
// gives the same bits.
TEXT ·gnApplyAVX2(SB), NOSPLIT, $0-53
	MOVQ dst+0(FP), DI
	MOVQ d+8(FP), SI
	MOVQ x+16(FP), R10
	MOVQ n+24(FP), CX
	VBROADCASTSS mu+32(FP), Y10
	VBROADCASTSS r+36(FP), Y11
	VBROADCASTSS a+40(FP), Y12
	VBROADCASTSS b+44(FP), Y13
	VBROADCASTSS c+48(FP), Y14
	MOVB add+52(FP), AL
gnaloop:
	VMOVUPS (R10), Y4
	VSUBPS Y10, Y4, Y4       // x − mu
	VMULPS Y11, Y4, Y4       // x̂
	VMULPS Y13, Y4, Y4       // b·x̂
	VADDPS Y14, Y4, Y4       // + c
	VMOVUPS (SI), Y5
	VMULPS Y12, Y5, Y5       // a·d
	VADDPS Y4, Y5, Y5
	TESTB AL, AL
	JZ    gnastore
	VMOVUPS (DI), Y6
	VADDPS Y6, Y5, Y5        // dst + v, as the Go tail adds
gnastore:
	VMOVUPS Y5, (DI)
	ADDQ $32, DI
	ADDQ $32, SI
	ADDQ $32, R10
	SUBQ $8, CX
	JNZ  gnaloop
	VZEROUPPER
	RET

// WROW loads row r of eight 4×4 tiles (sixteen floats from base, and the
// sixteen from base+8 bytes), splits them into the tiles' columns j = 0…3
// (even and odd floats, VSHUFPS within 128-bit lanes: lane l holds tile
// 0 1 4 5 2 3 6 7, which the output transform's unpacking undoes) and
// applies B on the right: e0 = d0 − d2, e1 = d1 + d2, e2 = d2 − d1,
// e3 = d1 − d3, into e0, e1, e2, e3; t is scratch.
#define WROW(base, e0, e1, e2, e3, t) \
	VMOVUPS 0(base), e0 \
	VMOVUPS 32(base), e1 \
	VSHUFPS $0x88, e1, e0, t \
	VSHUFPS $0xDD, e1, e0, e1 \
	VMOVAPS t, e0 \
	VMOVUPS 8(base), e2 \
	VMOVUPS 40(base), e3 \
	VSHUFPS $0x88, e3, e2, t \
	VSHUFPS $0xDD, e3, e2, e3 \
	VMOVAPS t, e2 \
	VSUBPS e2, e0, e0 \
	VSUBPS e3, e1, e3 \
	VSUBPS e1, e2, t \
	VADDPS e2, e1, e1 \
	VMOVAPS t, e2

// func winoInAVX2(v *float32, stride int, p *float32, wp, th, groups int)
// The Winograd F(2×2, 3×3) input transform Bᵀ·d·B of th rows of groups×8
// tiles of one padded plane p (row stride wp floats): tile (ty, tx) is rows
// 2ty…2ty+3, columns 2tx…2tx+3, and its value ξ goes to
// v[ξ·stride + ty·8·groups + lane(tx)] (WROW's lane order). The same
// steps, in the same order, as winoInGo.
TEXT ·winoInAVX2(SB), NOSPLIT, $0-48
	MOVQ v+0(FP), DI
	MOVQ stride+8(FP), R12
	SHLQ $2, R12
	MOVQ p+16(FP), SI
	MOVQ wp+24(FP), R8
	SHLQ $2, R8
	MOVQ th+32(FP), R9
	MOVQ groups+40(FP), R10
	TESTQ R9, R9
	JZ    wido
	TESTQ R10, R10
	JZ    wido
wirow:
	MOVQ SI, BX
	MOVQ R10, CX
wigroup:
	LEAQ (BX)(R8*1), R11
	LEAQ (R11)(R8*1), R13
	LEAQ (R13)(R8*1), AX
	WROW(BX, Y0, Y1, Y2, Y3, Y12)
	WROW(R11, Y4, Y5, Y6, Y7, Y12)
	WROW(R13, Y8, Y9, Y10, Y11, Y12)
	MOVQ DI, DX
	VSUBPS Y8, Y0, Y0        // row 0: e0 − e2
	VSUBPS Y9, Y1, Y1
	VSUBPS Y10, Y2, Y2
	VSUBPS Y11, Y3, Y3
	VMOVUPS Y0, (DX)
	ADDQ R12, DX
	VMOVUPS Y1, (DX)
	ADDQ R12, DX
	VMOVUPS Y2, (DX)
	ADDQ R12, DX
	VMOVUPS Y3, (DX)
	ADDQ R12, DX
	VADDPS Y8, Y4, Y0        // row 1: e1 + e2
	VADDPS Y9, Y5, Y1
	VADDPS Y10, Y6, Y2
	VADDPS Y11, Y7, Y3
	VMOVUPS Y0, (DX)
	ADDQ R12, DX
	VMOVUPS Y1, (DX)
	ADDQ R12, DX
	VMOVUPS Y2, (DX)
	ADDQ R12, DX
	VMOVUPS Y3, (DX)
	ADDQ R12, DX
	VSUBPS Y4, Y8, Y8        // row 2: e2 − e1
	VSUBPS Y5, Y9, Y9
	VSUBPS Y6, Y10, Y10
	VSUBPS Y7, Y11, Y11
	VMOVUPS Y8, (DX)
	ADDQ R12, DX
	VMOVUPS Y9, (DX)
	ADDQ R12, DX
	VMOVUPS Y10, (DX)
	ADDQ R12, DX
	VMOVUPS Y11, (DX)
	ADDQ R12, DX
	WROW(AX, Y0, Y1, Y2, Y3, Y12)
	VSUBPS Y0, Y4, Y0        // row 3: e1 − e3
	VSUBPS Y1, Y5, Y1
	VSUBPS Y2, Y6, Y2
	VSUBPS Y3, Y7, Y3
	VMOVUPS Y0, (DX)
	ADDQ R12, DX
	VMOVUPS Y1, (DX)
	ADDQ R12, DX
	VMOVUPS Y2, (DX)
	ADDQ R12, DX
	VMOVUPS Y3, (DX)
	ADDQ $32, DI
	ADDQ $64, BX
	DECQ CX
	JNZ  wigroup
	LEAQ (SI)(R8*2), SI
	DECQ R9
	JNZ  wirow
	VZEROUPPER
wido:
	RET

// func winoOutAVX2(out *float32, wo int, m *float32, stride int, th, groups int, bias float32)
// The Winograd F(2×2, 3×3) output transform Aᵀ·m·A + bias of th rows of
// groups×8 tiles: value ξ of tile (ty, tx) is m[ξ·stride + ty·8·groups + lane(tx)],
// and its 2×2 result goes to out rows 2ty and 2ty+1 (row stride wo floats),
// columns 2tx and 2tx+1. The same steps, in the same order, as winoOutGo.
TEXT ·winoOutAVX2(SB), NOSPLIT, $0-52
	MOVQ out+0(FP), DI
	MOVQ wo+8(FP), R8
	SHLQ $2, R8
	MOVQ m+16(FP), SI
	MOVQ stride+24(FP), R12
	SHLQ $2, R12
	MOVQ th+32(FP), R9
	MOVQ groups+40(FP), R10
	VBROADCASTSS bias+48(FP), Y15
	TESTQ R9, R9
	JZ    wodo
	TESTQ R10, R10
	JZ    wodo
worow:
	MOVQ DI, BX
	MOVQ R10, CX
wogroup:
	MOVQ SI, DX
	VMOVUPS (DX), Y0
	ADDQ R12, DX
	VMOVUPS (DX), Y1
	ADDQ R12, DX
	VMOVUPS (DX), Y2
	ADDQ R12, DX
	VMOVUPS (DX), Y3
	ADDQ R12, DX
	VMOVUPS (DX), Y4
	ADDQ R12, DX
	VMOVUPS (DX), Y5
	ADDQ R12, DX
	VMOVUPS (DX), Y6
	ADDQ R12, DX
	VMOVUPS (DX), Y7
	ADDQ R12, DX
	VMOVUPS (DX), Y8
	ADDQ R12, DX
	VMOVUPS (DX), Y9
	ADDQ R12, DX
	VMOVUPS (DX), Y10
	ADDQ R12, DX
	VMOVUPS (DX), Y11
	ADDQ R12, DX
	VADDPS Y4, Y0, Y0        // s0 = (m0 + m1) + m2
	VADDPS Y5, Y1, Y1
	VADDPS Y6, Y2, Y2
	VADDPS Y7, Y3, Y3
	VADDPS Y8, Y0, Y0
	VADDPS Y9, Y1, Y1
	VADDPS Y10, Y2, Y2
	VADDPS Y11, Y3, Y3
	VSUBPS Y8, Y4, Y4        // s1 = (m1 − m2) − m3
	VSUBPS Y9, Y5, Y5
	VSUBPS Y10, Y6, Y6
	VSUBPS Y11, Y7, Y7
	VMOVUPS (DX), Y8
	ADDQ R12, DX
	VMOVUPS (DX), Y9
	ADDQ R12, DX
	VMOVUPS (DX), Y10
	ADDQ R12, DX
	VMOVUPS (DX), Y11
	VSUBPS Y8, Y4, Y4
	VSUBPS Y9, Y5, Y5
	VSUBPS Y10, Y6, Y6
	VSUBPS Y11, Y7, Y7
	VADDPS Y1, Y0, Y8        // y00 = ((s0₀ + s0₁) + s0₂) + bias
	VADDPS Y2, Y8, Y8
	VADDPS Y15, Y8, Y8
	VSUBPS Y2, Y1, Y9        // y01 = ((s0₁ − s0₂) − s0₃) + bias
	VSUBPS Y3, Y9, Y9
	VADDPS Y15, Y9, Y9
	VADDPS Y5, Y4, Y10       // y10, y11 the same from s1
	VADDPS Y6, Y10, Y10
	VADDPS Y15, Y10, Y10
	VSUBPS Y6, Y5, Y11
	VSUBPS Y7, Y11, Y11
	VADDPS Y15, Y11, Y11
	VUNPCKLPS Y9, Y8, Y0     // interleave y00, y01 into row 2ty: lanes
	VUNPCKHPS Y9, Y8, Y1     // 0 1 4 5 are tiles 0–3, lanes 2 3 6 7 tiles 4–7
	VMOVUPS Y0, (BX)
	VMOVUPS Y1, 32(BX)
	VUNPCKLPS Y11, Y10, Y0   // and y10, y11 into row 2ty+1
	VUNPCKHPS Y11, Y10, Y1
	VMOVUPS Y0, (BX)(R8*1)
	VMOVUPS Y1, 32(BX)(R8*1)
	ADDQ $32, SI
	ADDQ $64, BX
	DECQ CX
	JNZ  wogroup
	LEAQ (DI)(R8*2), DI
	DECQ R9
	JNZ  worow
	VZEROUPPER
wodo:
	RET

// GOUT stores p, p + q, p − q and 0 − q (z is zero) to four planes R12
// bytes apart from DX, advancing DX past them; t is scratch.
#define GOUT(p, q, z, t) \
	VMOVUPS p, (DX) \
	ADDQ R12, DX \
	VADDPS q, p, t \
	VMOVUPS t, (DX) \
	ADDQ R12, DX \
	VSUBPS q, p, t \
	VMOVUPS t, (DX) \
	ADDQ R12, DX \
	VSUBPS q, z, t \
	VMOVUPS t, (DX) \
	ADDQ R12, DX

// func winoGradAVX2(v *float32, stride int, p *float32, wp, th, groups int)
// The transform A·y·Aᵀ of th rows of groups×8 2×2 tiles of an output
// gradient p (row stride wp floats): tile (ty, tx) is rows 2ty and 2ty+1,
// columns 2tx and 2tx+1, and its value ξ goes to
// v[ξ·stride + ty·8·groups + lane(tx)], the tiles in the order of
// winoInAVX2. The same steps, in the same order, as winoGradGo.
TEXT ·winoGradAVX2(SB), NOSPLIT, $0-48
	MOVQ v+0(FP), DI
	MOVQ stride+8(FP), R12
	SHLQ $2, R12
	MOVQ p+16(FP), SI
	MOVQ wp+24(FP), R8
	SHLQ $2, R8
	MOVQ th+32(FP), R9
	MOVQ groups+40(FP), R10
	VXORPS Y15, Y15, Y15
	TESTQ R9, R9
	JZ    wgdo
	TESTQ R10, R10
	JZ    wgdo
wgrow:
	MOVQ SI, BX
	MOVQ R10, CX
wggroup:
	VMOVUPS 0(BX), Y0
	VMOVUPS 32(BX), Y1
	VSHUFPS $0x88, Y1, Y0, Y2 // y00
	VSHUFPS $0xDD, Y1, Y0, Y3 // y01
	VMOVUPS 0(BX)(R8*1), Y0
	VMOVUPS 32(BX)(R8*1), Y1
	VSHUFPS $0x88, Y1, Y0, Y4 // y10
	VSHUFPS $0xDD, Y1, Y0, Y5 // y11
	VADDPS Y4, Y2, Y6         // row 1: y0 + y1
	VADDPS Y5, Y3, Y7
	VSUBPS Y4, Y2, Y8         // row 2: y0 − y1
	VSUBPS Y5, Y3, Y9
	VSUBPS Y4, Y15, Y10       // row 3: 0 − y1
	VSUBPS Y5, Y15, Y11
	MOVQ DI, DX
	GOUT(Y2, Y3, Y15, Y12)
	GOUT(Y6, Y7, Y15, Y12)
	GOUT(Y8, Y9, Y15, Y12)
	GOUT(Y10, Y11, Y15, Y12)
	ADDQ $32, DI
	ADDQ $64, BX
	DECQ CX
	JNZ  wggroup
	LEAQ (SI)(R8*2), SI
	DECQ R9
	JNZ  wgrow
	VZEROUPPER
wgdo:
	RET
