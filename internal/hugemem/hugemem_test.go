package hugemem

import (
	"os"
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

// TestReleaseKeepsItsNeighbours: releasing a slice of a larger buffer
// zeroes at most the whole pages inside it, never a byte around it, for
// slices smaller than a page, straddling pages, and page-aligned.
func TestReleaseKeepsItsNeighbours(t *testing.T) {
	buf := make([]float32, 8<<10) // 32 KiB
	for _, c := range []struct{ lo, hi int }{{3, 10}, {1000, 1030}, {100, 3000}, {0, 1024}, {1024, 6000}, {0, len(buf)}} {
		for i := range buf {
			buf[i] = 1
		}
		Release(buf[c.lo:c.hi])
		zeros := 0
		for i := range buf {
			if (i < c.lo || i >= c.hi) && buf[i] != 1 {
				t.Fatalf("releasing [%d, %d) changed value %d outside it", c.lo, c.hi, i)
			}
			if buf[i] == 0 {
				zeros++
			}
		}
		// On Linux a released page reads back as zeros: the pages were
		// given back. A span of 4990 values holds at least three whole pages.
		if runtime.GOOS == "linux" && c.hi-c.lo >= 4990 && zeros < 3*os.Getpagesize()/4 {
			t.Errorf("releasing [%d, %d) gave back %d values' worth of pages", c.lo, c.hi, zeros)
		}
	}
}
