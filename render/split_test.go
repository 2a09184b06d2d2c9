package render

import "testing"

func TestSplitK(t *testing.T) {
	for _, tc := range []struct{ groups, kdim int }{
		{1, 9}, {1, 1152}, {32, 1152}, {4, 4608}, {16, 2304}, {263, 1152}, {264, 1152}, {2000, 27}, {8, 3 * 9}, {5, 64},
	} {
		ks, kper := splitK(tc.groups, tc.kdim)
		switch {
		case ks < 1 || kper%16 != 0:
			t.Errorf("%v: ksplit %d, kper %d", tc, ks, kper)
		case ks*kper < tc.kdim || (ks-1)*kper >= tc.kdim:
			t.Errorf("%v: %d parts of %d do not cover k = %d exactly once", tc, ks, kper, tc.kdim)
		case ks > 1 && kper < 64:
			t.Errorf("%v: parts of %d k are too short", tc, kper)
		case tc.groups >= splitTarget && ks != 1:
			t.Errorf("%v: %d groups fill the GPU, yet split %d ways", tc, tc.groups, ks)
		case tc.kdim >= 64*((splitTarget+tc.groups-1)/tc.groups) && 4*tc.groups*ks < 3*splitTarget:
			// Rounding parts up to whole slices may cost a few parts, not more.
			t.Errorf("%v: only %d×%d groups though k could split further", tc, tc.groups, ks)
		}
	}
}
