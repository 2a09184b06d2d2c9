package vec

import "github.com/ddpmstudio/ddpmstudio/internal/simd"

// The path DDPM_CPU chose (package simd); tests switch them to hold each
// path to the portable code. The AVX-only gathers are plain copies and go
// with the AVX2 path.
var (
	useAVX512 = simd.Current() == simd.AVX512
	useAVX2   = simd.AtLeast(simd.AVX2)
	useAVX    = useAVX2
)

//go:noescape
func gather16AVX(dst, src *float32, offs *int, n int)

//go:noescape
func affineAVX2(dst, src *float32, n int, a, b float32, silu bool)

//go:noescape
func affineAVX512(dst, src *float32, n int, a, b float32, silu bool)

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
