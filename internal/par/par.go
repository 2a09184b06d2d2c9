// Package par runs parallel loops on a persistent set of goroutines that
// spin briefly between loops, for the CPU backend's kernels.
//
// A U-Net forward pass at batch 1 is a chain of some two hundred short
// parallel loops (a GEMM's blocks, an element-wise kernel's chunks), each
// tens to hundreds of microseconds long. Starting goroutines per loop and
// waking them through the scheduler costs tens of microseconds per loop on
// a busy machine — enough to make two cores slower than one. Here the
// helpers stay awake for a short while after each loop, polling an atomic
// counter, so the next loop starts on them within a microsecond; after
// that while they park, so an idle program burns no CPU.
package par

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// spinFor is how long an idle helper polls for the next loop before it
// parks: longer than the gap between two kernels of a forward pass, far
// shorter than a person notices on a CPU meter.
const spinFor = 200 * time.Microsecond

type job struct {
	f     func(i int)
	n     int64
	next  atomic.Int64 // the next item to claim
	done  atomic.Int64 // items finished
	seats atomic.Int64 // helpers that may still join
}

// Pool runs loops; its zero value is not usable, see New.
type Pool struct {
	busy    atomic.Bool // a loop is running: nested or concurrent loops run serially
	seq     atomic.Uint64
	cur     atomic.Pointer[job]
	parked  atomic.Int32
	mu      sync.Mutex
	wake    *sync.Cond
	started atomic.Int32 // helpers started so far
	startMu sync.Mutex
}

// New returns an empty pool; helpers are started on first need.
func New() *Pool {
	p := &Pool{}
	p.wake = sync.NewCond(&p.mu)
	return p
}

var global = New()

// For runs f(0), …, f(n−1) on the calling goroutine and up to workers−1
// helpers of the package's pool, and returns when all have finished. The
// calls must be independent. A loop started while another is running (a
// kernel called from inside a loop, or two backends at once) runs serially
// on its caller, so loops never wait on each other.
func For(n, workers int, f func(i int)) { global.For(n, workers, f) }

// For is the package-level For on this pool.
func (p *Pool) For(n, workers int, f func(i int)) {
	if n <= 0 {
		return
	}
	workers = min(workers, n)
	if workers <= 1 || !p.busy.CompareAndSwap(false, true) {
		for i := 0; i < n; i++ {
			f(i)
		}
		return
	}
	defer p.busy.Store(false)
	p.ensure(workers - 1)
	j := &job{f: f, n: int64(n)}
	j.seats.Store(int64(workers - 1))
	p.cur.Store(j)
	p.seq.Add(1)
	if p.parked.Load() > 0 {
		p.mu.Lock()
		p.wake.Broadcast()
		p.mu.Unlock()
	}
	work(j)
	for spins := 0; j.done.Load() < j.n; spins++ {
		if spins > 64 {
			runtime.Gosched()
		}
	}
}

// work claims and runs items of j until none are left.
func work(j *job) {
	for {
		i := j.next.Add(1) - 1
		if i >= j.n {
			return
		}
		j.f(int(i))
		j.done.Add(1)
	}
}

// ensure starts helpers until there are at least k.
func (p *Pool) ensure(k int) {
	if int(p.started.Load()) >= k {
		return
	}
	p.startMu.Lock()
	defer p.startMu.Unlock()
	for int(p.started.Load()) < k {
		p.started.Add(1)
		go p.helper(p.seq.Load())
	}
}

// helper runs loops as they come: it polls for spinFor after each, then
// parks until the next.
func (p *Pool) helper(last uint64) {
	for {
		deadline := time.Now().Add(spinFor)
		for spins := 0; p.seq.Load() == last; spins++ {
			if spins&1023 == 1023 {
				if time.Now().After(deadline) {
					p.park(last)
					break
				}
				runtime.Gosched()
			}
		}
		last = p.seq.Load()
		if j := p.cur.Load(); j != nil && j.seats.Add(-1) >= 0 {
			work(j)
		}
	}
}

// park waits until a loop newer than last is published.
func (p *Pool) park(last uint64) {
	p.mu.Lock()
	p.parked.Add(1)
	for p.seq.Load() == last {
		p.wake.Wait()
	}
	p.parked.Add(-1)
	p.mu.Unlock()
}
