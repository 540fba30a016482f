package timeout

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/go-compendium/compendium"
	"github.com/go-compendium/compendium/internal/lifecycle"
)

// Stopper runs long-lived workers that each receive one quit channel, and
// stops them verifiably: [Stopper.Close] closes the channel and returns only
// when every worker has returned. It is the talk's "verify termination"
// slide done right: the slide sends a request on a channel and receives the
// acknowledgement on the same one, so with two workers one can take the
// other's acknowledgement, or the sender its own request. Here the request
// is a close, which every worker sees, and the acknowledgement is each
// worker's return, counted by the Stopper.
//
// A worker that panics, or calls runtime.Goexit, has failed: the failure
// closes the quit channel, so the other workers stop too. Close (and
// StopContext) re-panics with the same *[compendium.PanicError] on every
// call, or returns the Goexit as an error matching [compendium.ErrGoexit].
// Close the Stopper (defer it) even if you expect no failure: Close is
// where a failure surfaces. Once the Stopper is stopping (Close,
// StopContext, or a failure), Go starts nothing and returns an error
// matching [compendium.ErrClosed], so no worker can outlive the Close that
// verified their end.
//
// The zero value is ready to use; [NewStopper] is the same as new(Stopper).
// A Stopper must not be copied after first use. All methods are safe for
// concurrent use. A worker's return synchronizes before the return of
// Close, and of a StopContext that found every worker returned.
//
// Each worker's goroutine carries the pprof labels compendium=timeout
// type=Stopper worker=<name>. Cost: Go is a goroutine start and a map
// insert under a mutex; Close a close and a wait. Workers are long-lived,
// so there is no benchmark: for many short tasks use pool.Workers, and
// for workers that return errors and stop each other on the first one,
// semaphore.Group or golang.org/x/sync/errgroup.
type Stopper struct {
	// once makes the zero value usable: the owner is initialized on first
	// use, with no parent context (a Stopper stops when told, not when a
	// context ends; a worker that should also stop with a ctx selects on
	// it beside quit).
	once sync.Once
	// o holds the lifecycle: its Done channel is the quit channel, its
	// first failure is what Close reports, and it joins the workers.
	o lifecycle.Owner

	mu       sync.Mutex
	lastID   int            // IDs start at 1, as names do ("worker 1")
	running  map[int]string // ID -> name of every worker not yet returned
	done     chan struct{}  // closed once stopping and running is empty
	finished bool           // done is closed
	// late is the first Goexit of a worker that came once the Stopper was
	// stopping. Owner.Fail drops an error that arrives after a stop, as
	// the echo of the cancellation it most likely is; a Goexit echoes
	// nothing (it returns no value), and a worker does its cleanup after
	// quit, so a Goexit there is a failure Close must still report.
	late error
}

// NewStopper returns a new Stopper with no workers. It is the same as
// new(Stopper).
func NewStopper() *Stopper { return new(Stopper) }

func (s *Stopper) init() {
	s.once.Do(func() { s.o.Init(context.Background(), "timeout", "Stopper") })
}

// Go starts f on a new goroutine with the Stopper's quit channel. f should
// return soon after quit is closed. The worker is named "worker N", N
// counting from 1 in the order of Go and GoNamed calls; the name appears in
// StopContext's error, in Running and in the goroutine's pprof labels.
//
// Once the Stopper is stopping, Go starts nothing and returns the
// Stopper's closed error, which matches [compendium.ErrClosed]. A nil f
// panics.
func (s *Stopper) Go(f func(quit <-chan struct{})) error { return s.goNamed("Stopper.Go", "", f) }

// GoNamed is [Stopper.Go] with a name for the worker, reported by
// [Stopper.StopContext] and [Stopper.Running] if it has not returned, and
// by a Goexit failure.
func (s *Stopper) GoNamed(name string, f func(quit <-chan struct{})) error {
	return s.goNamed("Stopper.GoNamed", name, f)
}

func (s *Stopper) goNamed(op, name string, f func(quit <-chan struct{})) error {
	lifecycle.NotNil("timeout", op, "f", f == nil)
	s.init()
	s.mu.Lock()
	defer s.mu.Unlock()
	// Checked and started under the lock that stop takes before it joins,
	// so that no worker can slip in after stop has looked at the running
	// set, nor be added to the owner's WaitGroup while Close waits on it.
	if s.o.Canceled() {
		return s.o.ErrClosed()
	}
	s.lastID++
	id := s.lastID
	if name == "" {
		name = fmt.Sprintf("worker %d", id)
	}
	if s.running == nil {
		s.running = make(map[int]string)
	}
	s.running[id] = name
	s.o.Go(s.o.Labels("worker", name), func() { s.run(id, name, f) })
	return nil
}

func (s *Stopper) run(id int, name string, f func(quit <-chan struct{})) {
	// exit is deferred so that a worker that calls runtime.Goexit is
	// counted out too.
	defer s.exit(id)
	p, _ := lifecycle.Call(func() error { f(s.o.Done()); return nil }, func() {
		err := fmt.Errorf("timeout: Stopper: %s: %w", name, compendium.ErrGoexit)
		if !s.o.Fail(err) {
			s.mu.Lock()
			if s.late == nil {
				s.late = err
			}
			s.mu.Unlock()
		}
	})
	if p != nil {
		s.o.Fail(p)
	}
}

func (s *Stopper) exit(id int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.running, id)
	if s.o.Canceled() && len(s.running) == 0 {
		s.finishLocked()
	}
}

// stop starts stopping, once, and returns the channel closed when every
// worker has returned.
func (s *Stopper) stop() <-chan struct{} {
	s.init()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.o.Stop(s.o.ErrClosed())
	if len(s.running) == 0 {
		s.finishLocked()
	}
	return s.doneLocked()
}

func (s *Stopper) doneLocked() chan struct{} {
	if s.done == nil {
		s.done = make(chan struct{})
	}
	return s.done
}

func (s *Stopper) finishLocked() {
	if !s.finished {
		s.finished = true
		close(s.doneLocked())
	}
}

// Close closes the quit channel, waits until every worker has returned,
// and returns the first failure: nil, or a worker's Goexit as an error
// matching [compendium.ErrGoexit]. If a worker panicked, Close re-panics
// with its *[compendium.PanicError] instead. Every call, from any
// goroutine, waits for the same end and reports the same failure.
//
// Close waits for as long as the workers take: a worker that ignores quit
// hangs it; use [Stopper.StopContext] to bound the wait. A worker must not
// call Close, which would wait for the worker's own return: a worker that
// wants every worker stopped can call go s.Close() and return.
func (s *Stopper) Close() error {
	s.stop()
	s.o.Join()
	return s.result()
}

// result re-panics with the first panic, or returns the first failure.
func (s *Stopper) result() error {
	if err := s.o.Result(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.late
}

// StopContext is [Stopper.Close] with a bound on the wait: it closes the
// quit channel and returns what Close returns once every worker has
// returned, or, if ctx ends first, an error wrapping ctx.Err() that names
// the workers still running (joined with the first failure, if any).
// Those workers go on running (Go cannot kill a goroutine); a later Close
// or StopContext waits for them again. A worker panic is re-raised as in
// Close, even if ctx ended first. A nil ctx panics.
func (s *Stopper) StopContext(ctx context.Context) error {
	lifecycle.Context("timeout", "Stopper.StopContext", ctx)
	select {
	case <-s.stop():
	case <-ctx.Done():
	}
	err := s.result()
	// Empty once stop's channel is closed (no worker starts after
	// stopping), and also when every worker returned between ctx ending
	// and this check.
	names := s.Running()
	if len(names) == 0 {
		s.o.Join()
		return s.result() // a worker that ended since may have failed
	}
	late := fmt.Errorf("timeout: Stopper: %d still running (%s): %w", len(names), strings.Join(names, ", "), ctx.Err())
	if err != nil {
		return errors.Join(err, late)
	}
	return late
}

// Stopping returns the quit channel the workers receive. It is closed by
// the first Close or StopContext, or by a worker's failure; a supervisor
// can select on it to notice that a failure is stopping the workers.
func (s *Stopper) Stopping() <-chan struct{} {
	s.init()
	return s.o.Done()
}

// Running returns the names of the workers that have not returned, in the
// order they were started.
func (s *Stopper) Running() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := make([]int, 0, len(s.running))
	for id := range s.running {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	names := make([]string, len(ids))
	for i, id := range ids {
		names[i] = s.running[id]
	}
	return names
}
