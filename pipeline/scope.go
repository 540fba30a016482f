package pipeline

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/go-compendium/compendium"
	"github.com/go-compendium/compendium/internal/lifecycle"
)

// ErrEmpty is returned by [Head] when its stream ended without an item.
var ErrEmpty = errors.New("pipeline: stream ended without an item")

// errStopped is the cancellation cause of a scope whose consumer stopped on
// purpose (a break out of [All], [Head] having its item). Stages that exit
// because of it do not count it as a failure: Wait returns nil.
var errStopped = errors.New("pipeline: consumer stopped")

// errCanceled is what a stage returns when it exits because the scope's
// context is done; the Owner turns it into the error Wait should report.
var errCanceled = errors.New("pipeline: canceled")

// Scope owns every goroutine of one pipeline: each source and stage runs on
// goroutines that the Scope starts and [Scope.Wait] and [Scope.Close] join.
// Build a Scope with [New]; the zero value is not usable, and a Scope must
// not be copied.
//
// The Scope follows errgroup's rules: the first stage error, or the first
// panic, cancels [Scope.Context], every stage then stops at its next item
// or when its input closes, and Wait returns that first error (or
// re-panics). A consumer that stops early ([All] with break, [Head])
// cancels the scope too, without it counting as an error.
//
// Its methods are safe for concurrent use. Everything the stage functions
// did synchronizes before Wait and Close return, as for
// [sync.WaitGroup.Wait].
//
// Cost: one goroutine per source, per worker and per single-goroutine
// stage; see pipeline.ThreeStage in bench/RESULTS.md.
type Scope struct {
	o      lifecycle.Owner
	parent context.Context // the ctx given to New: stage labels build on its labels
	ctx    context.Context // o.Context(), fetched once
	stages atomic.Int32    // stages started so far, to number them in labels

	// dead is set once ctx is done. Stages check it before every item.
	dead      atomic.Bool
	stopDeath func() bool   // unregisters the AfterFunc that sets dead
	deathDone chan struct{} // closed when that AfterFunc has run

	mu      sync.Mutex
	quits   []chan struct{} // one per stage goroutine and sink, closed on cancellation
	quitted bool            // quits are closed
}

// New returns a Scope whose stages run until their input ends, a stage
// fails, a consumer stops, Close is called, or ctx is done. If ctx is
// already done, no stage processes anything and Wait returns ctx's cause.
// It panics if ctx is nil.
func New(ctx context.Context) *Scope {
	lifecycle.Context("pipeline", "New", ctx)
	s := &Scope{parent: ctx, deathDone: make(chan struct{})}
	s.o.Init(ctx, "pipeline", "Scope")
	s.ctx = s.o.Context()
	s.stopDeath = context.AfterFunc(s.ctx, func() {
		defer close(s.deathDone)
		s.dead.Store(true)
		s.closeQuits()
	})
	return s
}

// Context returns the context every stage function receives. It is
// cancelled when a stage fails or panics, when a consumer stops early, when
// the parent context is done, and when Wait or Close returns.
func (s *Scope) Context() context.Context { return s.ctx }

// Wait blocks until every goroutine of the scope has exited and returns the
// first failure: a stage function's error, a sink function's error,
// [compendium.ErrGoexit] for a function that called runtime.Goexit, or the
// parent context's cause if it ended the pipeline early. It returns nil if
// the pipeline ran to completion or a consumer stopped it on purpose. If a
// stage panicked, Wait panics with the same *[compendium.PanicError] on
// every call.
//
// Wait only returns once every stream has been consumed by a sink (or the
// scope was cancelled): a stream nobody reads keeps its producer blocked.
// [Scope.Close] does not wait for that. The sinks other than [All] call
// Wait themselves. Wait may be called more than once, and every call
// returns the same result. Once it returns, the scope's context is done:
// a Scope runs one pipeline.
func (s *Scope) Wait() error {
	s.o.Join()
	s.release()
	s.o.Stop(s.o.ErrClosed())
	return s.o.Result()
}

// Close cancels the scope, waits for every goroutine of the scope to exit,
// and returns what Wait would: the first failure, nil if there was none
// (the cancellation by Close is not one), or a re-raised panic. Streams
// left unread cannot make it hang. It is idempotent: every call returns
// the same result.
func (s *Scope) Close() error {
	s.o.Stop(s.o.ErrClosed())
	s.dead.Store(true)
	s.closeQuits()
	return s.Wait()
}

// release stops the AfterFunc that sets dead, or, if it has started, joins
// it, so that nothing outlives Wait. The Wait that stops it closes
// deathDone in its place: stopDeath reports true only once.
func (s *Scope) release() {
	if s.stopDeath() {
		close(s.deathDone)
	}
	<-s.deathDone
}

// newQuit returns a channel that is closed when the scope is cancelled, for
// one goroutine's selects. Each goroutine gets its own rather than sharing
// ctx.Done(): a select locks every channel it waits on, and one channel
// shared by every stage's every select made its lock the contended spot
// of an idle pipeline.
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

// stage numbers a new stage or source of type typ, for its goroutines'
// labels: it returns the stage's name ("Map#2") and the labels
// compendium=pipeline type=typ stage=name, on top of the parent
// context's labels.
func (s *Scope) stage(typ string) (string, lifecycle.Labels) {
	name := fmt.Sprintf("%s#%d", typ, s.stages.Add(1))
	return name, lifecycle.NewLabels(s.parent, "pipeline", typ, "stage", name)
}

// spawn runs f on a goroutine that Wait joins, labelled l and worker=i,
// passing it the goroutine's quit channel (see newQuit). A panic in f is
// captured and fails the scope; so does a runtime.Goexit, as
// compendium.ErrGoexit; an error from f goes through end.
func (s *Scope) spawn(l lifecycle.Labels, worker int, f func(quit <-chan struct{}) error) {
	quit := s.newQuit()
	s.o.Go(l.With("worker", fmt.Sprint(worker)), func() {
		p, err := lifecycle.Call(func() error { return f(quit) }, func() { s.fail(compendium.ErrGoexit) })
		if p != nil {
			s.fail(p)
			return
		}
		s.end(err)
	})
}

// end records how a stage ended. Once the scope is cancelled, whatever a
// stage returns (errCanceled, or a function's wrapped ctx.Err()) is a
// consequence of that cancellation, not news: the Owner drops it after a
// stop (a consumer that stopped on purpose, Close), and records the parent
// context's cause in its place if the parent ended the pipeline.
func (s *Scope) end(err error) {
	if err == nil {
		return
	}
	if err == errCanceled {
		// The stage saw dead, which fail and stop set just after they
		// cancel; the AfterFunc sets it after the parent cancelled.
		<-s.ctx.Done()
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

// fail records err as the scope's failure if it is the first (see
// lifecycle.Owner.Fail), and cancels the scope.
func (s *Scope) fail(err error) {
	s.o.Fail(err)
	s.kill()
}

// kill sets dead at once, rather than when the AfterFunc goroutine gets to
// run, so that the stages stop at their next item.
func (s *Scope) kill() {
	s.dead.Store(true)
	s.closeQuits()
}

// canceled reports whether the scope's context is done (or about to be).
func (s *Scope) canceled() bool { return s.dead.Load() }

// stop cancels the scope because a consumer has what it wants.
func (s *Scope) stop() {
	s.o.Stop(errStopped)
	s.kill()
}
