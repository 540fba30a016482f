package timeout

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/go-compendium/compendium/internal/panics"
)

// Stopper runs long-lived workers that each receive one quit channel, and
// stops them verifiably: [Stopper.Stop] closes the channel and returns only
// when every worker has returned. It is the talk's "verify termination"
// slide done right. The slide sends a request on a channel and then
// receives the acknowledgement on the same channel, so with more than one
// worker (or a worker that sends on it first) a worker can take another's
// acknowledgement, and the sender can take its own request back. Here the
// request is a close, which every worker sees, and the acknowledgement is
// each worker's return, counted by the Stopper.
//
// The zero value is ready to use; [NewStopper] is the same as new(Stopper).
// A Stopper must not be copied after first use. All methods are safe to
// call from any number of goroutines.
//
// A worker that panics is recovered with its stack; the panic closes the
// quit channel, so the other workers stop too, and Stop (or StopContext)
// re-panics with the *[PanicError] on its caller's goroutine once the
// workers are done, as errgroup's Wait does. Call Stop (defer it) even if
// you expect no panic: it is where a panic surfaces.
//
// Happens-before: a worker's return synchronizes before the return of Stop
// (and of a StopContext that returns nil).
//
// Cost: Go is a goroutine start and a map insert under a mutex; Stop is a
// close and a wait. Workers are meant to be long-lived, so there is no
// per-task benchmark: for many short tasks use a worker pool.
//
// For workers that return errors and should stop each other on the first
// one, golang.org/x/sync/errgroup with a context is the better tool; a
// Stopper is for loops that run until told to stop.
type Stopper struct {
	// quit fires at the first Stop, StopContext, or panic: its Fired is
	// the Stopper's "stopping" flag. Only begin fires it, under mu, so
	// under mu Fired is stable.
	quit Quit

	mu      sync.Mutex
	lastID  int            // IDs start at 1, as names do ("worker 1")
	running map[int]string // ID -> name of every worker not yet returned
	done    chan struct{}  // closed once stopped and running is empty
	panic   *PanicError    // the first worker panic
}

// NewStopper returns a new Stopper with no workers. It is the same as
// new(Stopper).
func NewStopper() *Stopper { return new(Stopper) }

// Go starts f on a new goroutine with the Stopper's quit channel. f should
// return soon after quit is closed. The worker is named "worker N", N
// counting from 1 in the order of Go and GoNamed calls; the name appears in
// StopContext's error and in Running.
//
// Go returns [ErrStopped], without starting f, once the Stopper has begun
// stopping (Stop, StopContext, or a worker's panic): a worker started then
// could outlive the Stop that is meant to have verified its end. A nil f is
// an error naming it.
func (s *Stopper) Go(f func(quit <-chan struct{})) error { return s.goNamed("Go", "", f) }

// GoNamed is [Stopper.Go] with a name for the worker, reported by
// [Stopper.StopContext] and [Stopper.Running] if it has not returned.
func (s *Stopper) GoNamed(name string, f func(quit <-chan struct{})) error {
	return s.goNamed("GoNamed", name, f)
}

func (s *Stopper) goNamed(op, name string, f func(quit <-chan struct{})) error {
	if f == nil {
		return nilFunc("Stopper."+op, "f")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	// Checked and registered under the lock Stop takes, so that no worker
	// can slip in after Stop has looked at the running set.
	if s.quit.Fired() {
		return ErrStopped
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
	go s.run(id, f)
	return nil
}

func (s *Stopper) run(id int, f func(quit <-chan struct{})) {
	// exit is deferred so that a worker that calls runtime.Goexit is
	// counted out too; Try lets Goexit through.
	defer s.exit(id)
	if p := panics.Try(func() { f(s.quit.Done()) }); p != nil {
		s.mu.Lock()
		if s.panic == nil {
			s.panic = p
		}
		s.mu.Unlock()
		s.begin()
	}
}

func (s *Stopper) exit(id int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.running, id)
	if s.quit.Fired() && len(s.running) == 0 {
		close(s.doneLocked())
	}
}

// begin starts stopping, once, and returns the channel closed when every
// worker has returned.
func (s *Stopper) begin() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	done := s.doneLocked()
	if s.quit.Quit() && len(s.running) == 0 {
		close(done)
	}
	return done
}

func (s *Stopper) doneLocked() chan struct{} {
	if s.done == nil {
		s.done = make(chan struct{})
	}
	return s.done
}

// Stop closes the quit channel and waits until every worker has returned.
// It may be called any number of times, from any number of goroutines: each
// call waits for the same end. If a worker panicked, Stop re-panics with
// its *[PanicError] on the caller's goroutine (every call does, so no
// caller believes the workers ended cleanly).
//
// Stop waits for as long as the workers take: a worker that ignores quit
// hangs it. Use [Stopper.StopContext] to bound the wait. A worker must not
// call Stop, which would wait for the worker's own return: a worker that
// wants every worker stopped can call go s.Stop() and return.
func (s *Stopper) Stop() {
	<-s.begin()
	s.repanic()
}

// StopContext is [Stopper.Stop] with a bound on the wait: it closes the
// quit channel and returns nil once every worker has returned, or an error
// wrapping ctx.Err() that names the workers still running if ctx ends
// first. Those workers go on running (Go cannot kill a goroutine); a later
// Stop or StopContext waits for them again. A worker panic is re-raised as
// in Stop, even if ctx ended first.
func (s *Stopper) StopContext(ctx context.Context) error {
	select {
	case <-s.begin():
	case <-ctx.Done():
	}
	s.repanic()
	// Empty once begin's channel is closed (no worker starts after
	// stopping), and also when every worker returned between ctx ending
	// and this check.
	names := s.Running()
	if len(names) == 0 {
		return nil
	}
	return fmt.Errorf("timeout: Stopper: %d still running (%s): %w", len(names), strings.Join(names, ", "), ctx.Err())
}

// Stopping returns the quit channel the workers receive. It is closed by
// the first Stop or StopContext, or when a worker panics; a supervisor can
// select on it to notice that a panic is stopping the workers.
func (s *Stopper) Stopping() <-chan struct{} { return s.quit.Done() }

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

func (s *Stopper) repanic() {
	s.mu.Lock()
	p := s.panic
	s.mu.Unlock()
	if p != nil {
		panic(p)
	}
}
