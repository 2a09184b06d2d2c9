package app

import "sync"

// busy counts background goroutines. Unlike a WaitGroup, work may start
// while someone waits for idleness (a finished task often starts another).
type busy struct {
	mu      sync.Mutex
	n       int
	changed chan struct{} // closed at every Done
}

func (b *busy) Add(d int) {
	b.mu.Lock()
	b.n += d
	b.mu.Unlock()
}

func (b *busy) Done() {
	b.mu.Lock()
	b.n--
	if b.changed != nil {
		close(b.changed)
		b.changed = nil
	}
	b.mu.Unlock()
}

// state reports whether nothing runs, and a channel closed at the next Done.
func (b *busy) state() (bool, <-chan struct{}) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.changed == nil {
		b.changed = make(chan struct{})
	}
	return b.n == 0, b.changed
}

// uiQueue stands in for the UI goroutine in tests.
type uiQueue struct {
	mu    sync.Mutex
	fns   []func()
	ready chan struct{}
}

func (q *uiQueue) post(f func()) {
	q.mu.Lock()
	if q.ready == nil {
		q.ready = make(chan struct{}, 1)
	}
	q.fns = append(q.fns, f)
	q.mu.Unlock()
	select {
	case q.ready <- struct{}{}:
	default:
	}
}

func (q *uiQueue) empty() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.fns) == 0
}

func (q *uiQueue) run() {
	for {
		q.mu.Lock()
		if len(q.fns) == 0 {
			q.mu.Unlock()
			return
		}
		f := q.fns[0]
		q.fns = q.fns[1:]
		q.mu.Unlock()
		f()
	}
}

// latest runs work off the UI goroutine, newest request only: while one
// piece of work runs, a newer request replaces any waiting one, so a
// dragged slider never queues up stale plots or predictions.
type latest struct {
	mu      sync.Mutex
	pending func()
	running bool
	bg      *busy
}

func (l *latest) run(f func()) {
	l.mu.Lock()
	l.pending = f
	if l.running {
		l.mu.Unlock()
		return
	}
	l.running = true
	l.mu.Unlock()
	l.bg.Add(1)
	go func() {
		defer l.bg.Done()
		for {
			l.mu.Lock()
			f := l.pending
			l.pending = nil
			if f == nil {
				l.running = false
				l.mu.Unlock()
				return
			}
			l.mu.Unlock()
			f()
		}
	}()
}
