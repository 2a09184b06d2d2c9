package vec

import "golang.org/x/sys/cpu"

var (
	useAVX512 = cpu.X86.HasAVX512F
	useAVX2   = cpu.X86.HasAVX2 && cpu.X86.HasFMA
	useAVX    = cpu.X86.HasAVX
)

//go:noescape
func gather16AVX(dst, src *float32, offs *int, n int)

//go:noescape
func affineAVX2(dst, src *float32, n int, a, b float32, silu bool)

//go:noescape
func affineAVX512(dst, src *float32, n int, a, b float32, silu bool)

//go:noescape
func sumAVX512(x *float32, n int) float32

//go:noescape
func sumSqDevAVX512(x *float32, n int, mean float32) float32

//go:noescape
func sumAVX2(x *float32, n int) float64

//go:noescape
func sumSqDevAVX2(x *float32, n int, mean float32) float64

//go:noescape
func gatherT16AVX(dst *float32, src *float32, offs *int, n int)

//go:noescape
func gnSumsAVX2(d, dy, pre, y, x *float32, n int, mu, r float32, silu bool) (sd, sdx float64)

//go:noescape
func gnApplyAVX2(dst, d, x *float32, n int, mu, r, a, b, c float32, add bool)

//go:noescape
func winoInAVX2(v *float32, stride int, p *float32, wp, th, groups int)

//go:noescape
func winoOutAVX2(out *float32, wo int, m *float32, stride int, th, groups int, bias float32)

//go:noescape
func winoGradAVX2(v *float32, stride int, p *float32, wp, th, groups int)
