package simd

import (
	"strings"
	"testing"
)

func TestChoose(t *testing.T) {
	all := []Path{Generic, AVX2, AVX512}
	arm := []Path{Generic}
	for _, tc := range []struct {
		v     string
		avail []Path
		want  Path
		err   string
	}{
		{"", all, AVX512, ""},
		{"auto", all, AVX512, ""},
		{" AVX2 ", all, AVX2, ""},
		{"generic", all, Generic, ""},
		{"avx512", all, AVX512, ""},
		{"", arm, Generic, ""},
		{"avx2", arm, Generic, "cannot run that path; it can run auto, generic"},
		{"sse", all, AVX512, `unknown path; this CPU can run auto, generic, avx2, avx512`},
	} {
		got, err := choose(tc.v, tc.avail)
		if got != tc.want {
			t.Errorf("choose(%q) = %s, want %s", tc.v, got, tc.want)
		}
		switch {
		case tc.err == "" && err != nil:
			t.Errorf("choose(%q): %v", tc.v, err)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("choose(%q) error %v, want it to say %q", tc.v, err, tc.err)
		case err != nil && strings.Contains(err.Error(), "\n"):
			t.Errorf("choose(%q): error is not one line: %q", tc.v, err)
		}
	}
}

func TestAvailableStartsGeneric(t *testing.T) {
	a := Available()
	if len(a) == 0 || a[0] != Generic {
		t.Fatalf("Available() = %v, want generic first", a)
	}
	if Err() == nil && Current() != a[len(a)-1] && !AtLeast(Current()) {
		t.Fatalf("Current() = %s not among %v", Current(), a)
	}
}
