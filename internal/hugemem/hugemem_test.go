package hugemem

import (
	"runtime"
	"testing"
)

// TestFloatsAreZeroAndUsable: an advised buffer is an ordinary zeroed
// slice of the length asked, whatever the advice did, small or large.
func TestFloatsAreZeroAndUsable(t *testing.T) {
	for _, n := range []int{0, 1, Threshold/4 - 1, Threshold / 4, 3 * Threshold} {
		v := Floats(n)
		if len(v) != n {
			t.Fatalf("Floats(%d) has length %d", n, len(v))
		}
		for i := range v {
			if v[i] != 0 {
				t.Fatalf("Floats(%d)[%d] = %v", n, i, v[i])
			}
			v[i] = float32(i)
		}
		for i := range v {
			if v[i] != float32(i) {
				t.Fatalf("Floats(%d)[%d] lost its value", n, i)
			}
		}
	}
	b := make([]byte, 5*huge+3)
	Advise(b[1:]) // an unaligned start
	b[len(b)-1] = 1
	runtime.KeepAlive(b)
}
