// Package simd chooses which instruction set the CPU kernels run (packages
// unet/vec and unet/sgemm): the portable Go code, AVX2 with FMA, or
// AVX-512. Every path computes the same bits (docs/determinism.md), so the
// choice is one of speed alone; the environment variable DDPM_CPU names a
// path to run on purpose — to check that claim on one machine, or to time
// the paths side by side.
//
//	DDPM_CPU=auto      the fastest path this CPU has (the default)
//	DDPM_CPU=generic   portable Go, as on arm64
//	DDPM_CPU=avx2      AVX2 and FMA3
//	DDPM_CPU=avx512    AVX-512F (with AVX2 for the kernels that have no
//	                   AVX-512 version)
//
// The variable is read once, when the program starts. A value this CPU
// cannot run, or an unknown one, leaves the fastest path in use and is
// reported by Err, which the command line and the window print and exit
// on before any work.
package simd

import (
	"fmt"
	"os"
	"strings"

	"golang.org/x/sys/cpu"
)

// Path is one implementation of the CPU kernels.
type Path string

// The paths, slowest first.
const (
	Generic Path = "generic"
	AVX2    Path = "avx2"
	AVX512  Path = "avx512"
)

// Env is the environment variable that chooses the path.
const Env = "DDPM_CPU"

var (
	available = detect()
	current   Path
	choiceErr error
)

func init() { current, choiceErr = choose(os.Getenv(Env), available) }

func detect() []Path {
	ps := []Path{Generic}
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		ps = append(ps, AVX2)
		if cpu.X86.HasAVX512F {
			ps = append(ps, AVX512)
		}
	}
	return ps
}

// choose maps DDPM_CPU's value to a path among avail (slowest first); an
// empty value is auto.
func choose(v string, avail []Path) (Path, error) {
	best := avail[len(avail)-1]
	v = strings.ToLower(strings.TrimSpace(v))
	if v == "" || v == "auto" {
		return best, nil
	}
	for _, p := range avail {
		if string(p) == v {
			return p, nil
		}
	}
	names := make([]string, 0, len(avail)+1)
	names = append(names, "auto")
	for _, p := range avail {
		names = append(names, string(p))
	}
	switch Path(v) {
	case Generic, AVX2, AVX512:
		return best, fmt.Errorf("%s=%s: this CPU cannot run that path; it can run %s", Env, v, strings.Join(names, ", "))
	}
	return best, fmt.Errorf("%s=%q: unknown path; this CPU can run %s", Env, v, strings.Join(names, ", "))
}

// Current is the path the kernels use.
func Current() Path { return current }

// Available lists the paths this CPU can run, slowest (generic) first.
func Available() []Path { return append([]Path(nil), available...) }

// Err is the error in DDPM_CPU's value, or nil.
func Err() error { return choiceErr }

// AtLeast reports whether the current path includes p's instructions:
// AVX-512 machines run the AVX2 kernels where no AVX-512 kernel exists.
func AtLeast(p Path) bool { return rank(current) >= rank(p) }

func rank(p Path) int {
	switch p {
	case AVX512:
		return 2
	case AVX2:
		return 1
	}
	return 0
}
