package pipeline

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"

	"github.com/go-compendium/compendium/internal/panics"
)

// PanicError is a panic recovered from a stage: the value the stage's
// function passed to panic and the stack of the goroutine that panicked.
// [Scope.Wait] re-panics with it on the caller's goroutine, so a recover
// there gets the *PanicError and errors.As finds the original error inside
// it when the value was one.
type PanicError = panics.Error

// ErrEmpty is returned by [First] when its stream ended without an item.
var ErrEmpty = errors.New("pipeline: stream ended without an item")

// errStopped is the cancellation cause of a scope whose consumer stopped on
// purpose (a break out of [All], [First] having its item). Stages that exit
// because of it do not count it as a failure: Wait returns nil.
var errStopped = errors.New("pipeline: consumer stopped")

// errGoexit is the failure of a scope one of whose stage functions called
// runtime.Goexit.
var errGoexit = errors.New("pipeline: a stage function called runtime.Goexit")

// errCanceled is what a stage returns when it exits because the scope's
// context is done; Scope.end turns it into the error Wait should report.
var errCanceled = errors.New("pipeline: canceled")

// Scope owns every goroutine of one pipeline: each source and stage runs on
// goroutines that the Scope starts and [Scope.Wait] joins. Build a Scope
// with [New]; the zero value is not usable, and a Scope must not be copied.
//
// The Scope follows errgroup's rules: the first stage error, or the first
// panic, cancels [Scope.Context], every stage then stops at its next item
// or when its input closes, and Wait returns that first error (or
// re-panics). A
// consumer that stops early ([All] with break, [First]) cancels the scope
// too, without it counting as an error.
//
// Its methods are safe for concurrent use. Everything the stage functions
// did synchronizes before Wait returns, as for [sync.WaitGroup.Wait].
//
// Cost: one goroutine per source, per worker and per single-goroutine stage
// (OrderedMap adds two), a few hundred bytes of state per stage, and per
// edge between stages the two batches in use (the producer's and the
// consumer's, up to 256 items each) and up to 8 recycled ones. The per-item cost of
// a stage is about 5 ns at full load; a 3-stage pipeline of ints runs at
// 15 to 16 ns an item on two cores (BenchmarkThreeStage).
type Scope struct {
	ctx    context.Context
	cancel context.CancelCauseFunc
	wg     sync.WaitGroup

	// dead is set once ctx is done. Stages check it before every item: an
	// atomic load costs a fraction of a nanosecond, where a non-blocking
	// receive on ctx.Done() costs a runtime call (5 ns an item, measured).
	dead      atomic.Bool
	stopDeath func() bool   // unregisters the AfterFunc that sets dead
	deathDone chan struct{} // closed when that AfterFunc has run

	mu      sync.Mutex
	err     error           // the first failure
	pan     *PanicError     // the first panic
	quits   []chan struct{} // one per stage goroutine and sink, closed on cancellation
	quitted bool            // quits are closed
}

// New returns a Scope whose stages run until their input ends, a stage
// fails, a consumer stops, or ctx is done. If ctx is already done, no stage
// processes anything and Wait returns ctx.Err().
func New(ctx context.Context) *Scope {
	ctx, cancel := context.WithCancelCause(ctx)
	s := &Scope{ctx: ctx, cancel: cancel, deathDone: make(chan struct{})}
	s.stopDeath = context.AfterFunc(ctx, func() {
		defer close(s.deathDone)
		s.dead.Store(true)
		s.closeQuits()
	})
	return s
}

// Context returns the context every stage function receives. It is
// cancelled when a stage fails or panics, when a consumer stops early, when
// the parent context is done, and when Wait returns.
func (s *Scope) Context() context.Context { return s.ctx }

// Wait blocks until every goroutine of the scope has exited and returns the
// first error: a stage function's error, a sink function's error, or the
// parent context's Err if it ended the pipeline early. It returns nil if the
// pipeline ran to completion or a consumer stopped it on purpose. If a stage
// panicked, Wait panics with the *[PanicError].
//
// Wait only returns once every stream has been consumed by a sink (or the
// scope was cancelled): a stream nobody reads keeps its producer blocked.
// The sinks other than [All] call Wait themselves. Wait may be called more
// than once, and every call returns the same result.
func (s *Scope) Wait() error {
	s.wg.Wait()
	// No stage is left to look at dead: spare the AfterFunc its goroutine,
	// or, if it has started, join it, so that nothing outlives Wait. The
	// Wait that stops it closes deathDone in its place: stopDeath reports
	// true only once, and a later Wait (after a sink's, or concurrent with
	// it) would otherwise wait for a close that never comes
	// (TestWaitTwice).
	if s.stopDeath() {
		close(s.deathDone)
	}
	<-s.deathDone
	s.cancel(context.Canceled)
	s.mu.Lock()
	err, pan := s.err, s.pan
	s.mu.Unlock()
	if pan != nil {
		panic(pan)
	}
	return err
}

// newQuit returns a channel that is closed when the scope is cancelled, for
// one goroutine's selects. Each goroutine gets its own rather than sharing
// ctx.Done(): a select locks every channel it waits on, and one channel
// shared by every stage's every select made its lock the contended spot
// of an idle pipeline (it doubled BenchmarkFirstItem).
func (s *Scope) newQuit() <-chan struct{} {
	q := make(chan struct{})
	s.mu.Lock()
	if s.quitted {
		close(q)
	} else {
		s.quits = append(s.quits, q)
	}
	s.mu.Unlock()
	return q
}

// closeQuits closes every quit channel, once.
func (s *Scope) closeQuits() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.quitted {
		return
	}
	s.quitted = true
	for _, q := range s.quits {
		close(q)
	}
	s.quits = nil
}

// spawn runs f on a goroutine that Wait joins, passing it the goroutine's
// quit channel (see newQuit). A panic in f is captured and cancels the
// scope; an error from f goes through end.
func (s *Scope) spawn(f func(quit <-chan struct{}) error) {
	quit := s.newQuit()
	s.wg.Add(1)
	go func() {
		// Done in a defer so that a stage function calling runtime.Goexit
		// (t.FailNow in a test) cannot hang Wait. Such a stage would also
		// leave its upstream blocked and its downstream believing the
		// stream ended, so it fails the scope.
		returned := false
		defer func() {
			if !returned {
				s.fail(errGoexit)
			}
			s.wg.Done()
		}()
		var err error
		pe := panics.Try(func() { err = f(quit) })
		returned = true
		if pe != nil {
			s.mu.Lock()
			if s.pan == nil {
				s.pan = pe
			}
			s.mu.Unlock()
			s.kill(pe)
			return
		}
		s.end(err)
	}()
}

// end records how a stage ended. Once the scope is cancelled, whatever a
// stage returns (errCanceled, or a function's wrapped ctx.Err()) is a
// consequence of that cancellation, not news: it becomes nothing if a
// consumer stopped on purpose, and the scope's ctx.Err() otherwise (which
// Wait reports only if no real failure came first).
func (s *Scope) end(err error) {
	if err == nil {
		return
	}
	if err == errCanceled {
		// The stage saw dead, which kill sets just before it cancels:
		// wait for the cancel, so as to read its cause.
		<-s.ctx.Done()
	}
	if s.ctx.Err() != nil {
		if context.Cause(s.ctx) == errStopped {
			return
		}
		err = s.ctx.Err()
	}
	s.fail(err)
}

// failed is for a stage whose function just returned err: it fails the
// scope at once, rather than when spawn sees the error after the stage's
// deferred calls (closing its output among them) have run, so that the
// other stages stop a little sooner and see the failure before the closed
// stream. It returns err for the stage to return.
func (s *Scope) failed(err error) error {
	if err != errCanceled {
		s.end(err)
	}
	return err
}

// fail records err if it is the first failure, then cancels the scope. The
// order matters: a stage that sees the context done must find the failure
// already recorded, so that its own ctx.Err() does not take its place.
func (s *Scope) fail(err error) {
	s.mu.Lock()
	if s.err == nil {
		s.err = err
	}
	s.mu.Unlock()
	s.kill(err)
}

// kill cancels the scope with cause. It sets dead at once, rather than when
// the AfterFunc goroutine gets to run, so that the stages stop at their
// next item.
func (s *Scope) kill(cause error) {
	s.dead.Store(true)
	s.closeQuits()
	s.cancel(cause)
}

// canceled reports whether the scope's context is done (or about to be:
// kill sets dead just before it cancels).
func (s *Scope) canceled() bool { return s.dead.Load() }

// stop cancels the scope because a consumer has what it wants.
func (s *Scope) stop() { s.kill(errStopped) }
