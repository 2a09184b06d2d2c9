package par

import (
	"runtime"
	"sync/atomic"
	"testing"
)

// TestForRunsEveryItemOnce, with loops started back to back (helpers
// spinning), after a pause (helpers parked), nested (run serially) and from
// two goroutines at once (one of them serially).
func TestForRunsEveryItemOnce(t *testing.T) {
	p := New()
	check := func(n, workers int) {
		hits := make([]atomic.Int32, n)
		p.For(n, workers, func(i int) { hits[i].Add(1) })
		for i := range hits {
			if h := hits[i].Load(); h != 1 {
				t.Errorf("n=%d workers=%d: item %d ran %d times", n, workers, i, h)
				return
			}
		}
	}
	for round := 0; round < 200; round++ {
		check(1+round%37, 1+round%4)
	}
	// Let the helpers park, then wake them.
	for i := 0; i < 3; i++ {
		for s := 0; s < 50; s++ {
			runtime.Gosched()
		}
		check(100, 3)
	}
	// Nested: the inner loop runs on its caller.
	var total atomic.Int32
	p.For(8, 4, func(int) { p.For(5, 4, func(int) { total.Add(1) }) })
	if total.Load() != 40 {
		t.Fatalf("nested loops ran %d items, want 40", total.Load())
	}
	// Concurrent loops.
	done := make(chan struct{})
	for g := 0; g < 2; g++ {
		go func() {
			defer func() { done <- struct{}{} }()
			for r := 0; r < 50; r++ {
				check(64, 2)
			}
		}()
	}
	<-done
	<-done
}

func TestForSerialWhenOneWorker(t *testing.T) {
	p := New()
	order := []int{}
	p.For(5, 1, func(i int) { order = append(order, i) }) // no race: serial
	for i, v := range order {
		if v != i {
			t.Fatalf("one worker ran items out of order: %v", order)
		}
	}
	if p.started.Load() != 0 {
		t.Fatal("a helper was started for a serial loop")
	}
}
