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
DATA expc<>+40(SB)/4, $0x42b0c0a5 // 88.376
DATA expc<>+44(SB)/4, $0xc2b0c0a5 // -88.376
GLOBL expc<>(SB), RODATA|NOPTR, $48

// func affineAVX512(dst, src *float32, n int, a, b float32, silu bool)
// n is a multiple of 16. y = src·a + b; with silu, dst = y / (1 + e^−y),
// e^−y by the same Cephes polynomial as Expf, 2^n applied with VSCALEFPS.
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
	VBROADCASTSS expc<>+40(SB), Z18
	VBROADCASTSS expc<>+44(SB), Z19
	TESTB AL, AL
	JZ    plain

siluloop:
	VMOVUPS (SI), Z0
	VFMADD213PS Z21, Z20, Z0        // y = src*a + b
	VXORPS Z1, Z1, Z1
	VSUBPS Z0, Z1, Z1               // x = -y
	VMINPS Z18, Z1, Z1
	VMAXPS Z19, Z1, Z1              // clamp to ±88.376
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

// func sumAVX512(x *float32, n int) float32
TEXT ·sumAVX512(SB), NOSPLIT, $0-20
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	VXORPS Z0, Z0, Z0
sumloop:
	VADDPS (SI), Z0, Z0
	ADDQ $64, SI
	SUBQ $16, CX
	JNZ  sumloop
	VEXTRACTF64X4 $1, Z0, Y1
	VADDPS Y1, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VHADDPS X0, X0, X0
	VHADDPS X0, X0, X0
	MOVSS X0, ret+16(FP)
	VZEROUPPER
	RET

// func sumSqDevAVX512(x *float32, n int, mean float32) float32
TEXT ·sumSqDevAVX512(SB), NOSPLIT, $0-28
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	VBROADCASTSS mean+16(FP), Z2
	VXORPS Z0, Z0, Z0
sqloop:
	VMOVUPS (SI), Z1
	VSUBPS Z2, Z1, Z1
	VFMADD231PS Z1, Z1, Z0
	ADDQ $64, SI
	SUBQ $16, CX
	JNZ  sqloop
	VEXTRACTF64X4 $1, Z0, Y1
	VADDPS Y1, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VHADDPS X0, X0, X0
	VHADDPS X0, X0, X0
	MOVSS X0, ret+24(FP)
	VZEROUPPER
	RET
