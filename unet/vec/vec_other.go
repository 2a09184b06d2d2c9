//go:build !amd64

package vec

// Variables, as on amd64, so that the tests' switches compile everywhere.
var useAVX512, useAVX2, useAVX = false, false, false

func affineAVX512(dst, src *float32, n int, a, b float32, silu bool) { panic("unreachable") }

func affineAVX2(dst, src *float32, n int, a, b float32, silu bool) { panic("unreachable") }

func gather16AVX(dst, src *float32, offs *int, n int) { panic("unreachable") }

func sumAVX2(x *float32, n int) float64                    { panic("unreachable") }
func sumSqDevAVX2(x *float32, n int, mean float32) float64 { panic("unreachable") }

func gatherT16AVX(dst *float32, src *float32, offs *int, n int) { panic("unreachable") }

func gnSumsAVX2(d, dy, pre, y, x *float32, n int, mu, r float32, silu bool) (sd, sdx float64) {
	panic("unreachable")
}

func gnApplyAVX2(dst, d, x *float32, n int, mu, r, a, b, c float32, add bool) { panic("unreachable") }

func winoInAVX2(v *float32, stride int, p *float32, wp, th, groups int) { panic("unreachable") }

func winoOutAVX2(out *float32, wo int, m *float32, stride int, th, groups int, bias float32) {
	panic("unreachable")
}

func winoGradAVX2(v *float32, stride int, p *float32, wp, th, groups int) { panic("unreachable") }
