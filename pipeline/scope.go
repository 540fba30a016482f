package pipeline

import (
	"context"
	"errors"
	"fmt"
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
// not be copied. Its methods are safe for concurrent use.
//
// The Scope follows errgroup's rules: the first failure (a stage or sink
// function's error, a panic, a runtime.Goexit) cancels [Scope.Context],
// every stage stops at its next item, and Wait returns that failure, or
// re-panics. A consumer that stops early ([All] with break, [Head])
// cancels the scope too, without it counting as a failure. A Scope runs
// one pipeline: once Wait or Close has returned, its context is done, and
// a sink of a stream added afterwards returns an error matching
// [compendium.ErrClosed].
//
// Everything the stage functions did happens before Wait and Close
// return, as for [sync.WaitGroup.Wait]; an item's production happens
// before its consumption by the next stage or sink, as for a channel.
//
// Cost: one goroutine per source, per worker and per one-goroutine stage
// (an ordered stage adds two), and per edge the batches in flight; see
// pipeline.ThreeStage and pipeline.Soak in bench/RESULTS.md.
type Scope struct {
	o      lifecycle.Owner
	parent context.Context // the ctx given to New: stage labels build on its labels
	// parentDone is parent.Done(): nil for a parent that is never
	// cancelled (context.Background), and then only the Scope itself can
	// cancel ctx, and dead is exact (see canceled).
	parentDone <-chan struct{}
	ctx        context.Context // o.Context(), fetched once
	done       <-chan struct{} // ctx.Done(), fetched once
	stages     atomic.Int32    // stages started so far, to number them in labels

	// dead is set once the scope is cancelled, by whatever learns it
	// first: a failure, a stop or Close set it before they cancel ctx; a
	// parent's cancel, as soon as a stage sees it in the context. Reading
	// it costs a load where ctx.Err costs an interface call and more,
	// which a stage would pay on every item (pipeline.ThreeStage).
	dead atomic.Bool

	// hook, if a test set it (export_test.go), is called by goroutines
	// at a few windows (about to park after looking for work, about to
	// steal): site names the place, worker the crew worker (-1 elsewhere).
	// A test uses it to make another goroutine act in that window, which
	// no black-box test can reach. It costs a nil check where it is.
	hook func(site string, worker int)
}

// New returns a Scope whose stages run until their input ends, a stage
// fails, a consumer stops, Close is called, or ctx is done. If ctx is
// already done, no stage processes anything and Wait returns ctx's cause.
// It panics if ctx is nil.
func New(ctx context.Context) *Scope {
	lifecycle.Context(pkg, "New", ctx)
	s := &Scope{parent: ctx, parentDone: ctx.Done()}
	s.o.Init(ctx, pkg, "Scope")
	s.ctx = s.o.Context()
	s.done = s.o.Done()
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
// scope was cancelled): a stream nobody reads keeps its producer blocked,
// as an unread channel would. [Scope.Close] does not wait for that. The
// sinks other than [All] and [ToChan] call Wait themselves. Wait may be
// called more than once, and every call returns the same result. Once it
// returns, the scope's context is done, as errgroup's is after its Wait:
// the context is released, not left registered with its parent.
func (s *Scope) Wait() error {
	s.o.Join()
	s.o.Stop(s.o.ErrClosed())
	s.dead.Store(true) // after Stop: see Scope.fail
	return s.o.Result()
}

// Close cancels the scope, waits for every goroutine of the scope to exit,
// and returns what Wait would: the first failure, nil if there was none
// (the cancellation by Close is not one), or a re-raised panic. Streams
// left unread cannot make it hang. It is idempotent: every call returns
// the same result. A sink whose stream Close cut short returns an error
// matching [compendium.ErrClosed], as does a sink of a stream added after
// Close.
func (s *Scope) Close() error {
	s.o.Stop(s.o.ErrClosed())
	s.dead.Store(true) // after Stop: see Scope.fail
	return s.Wait()
}

// stage numbers a new stage or source of type typ, for its goroutines'
// labels: it returns the stage's name ("Map#2") and the labels
// compendium=pipeline type=typ stage=name, on top of the parent
// context's labels.
func (s *Scope) stage(typ string) (string, lifecycle.Labels) {
	name := fmt.Sprintf("%s#%d", typ, s.stages.Add(1))
	return name, lifecycle.NewLabels(s.parent, "pipeline", typ, "stage", name)
}

// spawn runs f on a goroutine that Wait and Close join, labelled l, for
// the stage name. A panic in f fails the scope with it; so does a
// runtime.Goexit, as compendium.ErrGoexit; an error from f fails the scope
// unless it is a consequence of its cancellation (see lifecycle.Owner.Fail).
func (s *Scope) spawn(name string, l lifecycle.Labels, f func() error) {
	s.o.Go(l, func() {
		p, err := lifecycle.Call(f, func() {
			s.fail(fmt.Errorf("pipeline: %s: %w", name, compendium.ErrGoexit))
		})
		if p != nil {
			s.fail(p)
			return
		}
		s.fail(err)
	})
}

// failed is for a stage whose function just returned err: it fails the
// scope at once, rather than when spawn sees the error after the stage's
// deferred calls (closing its output among them) have run, so that the
// other stages stop sooner and see the failure before the closed stream.
// It returns err for the stage to return.
func (s *Scope) failed(err error) error {
	s.fail(err)
	return err
}

// fail records err as the scope's failure if it is the first, or as a
// consequence of its cancellation (see lifecycle.Owner.Fail); either way
// the scope is cancelled, and dead says so. A nil err changes nothing.
//
// dead is set after Fail (and after Stop, everywhere else), never before:
// a generator that sees dead returns errCanceled, which the owner drops as
// an echo only once it has recorded why it was cancelled. Set first, a
// racing generator's errCanceled became the scope's failure, in place of
// the real error or of Close's nil.
func (s *Scope) fail(err error) {
	if err != nil {
		s.o.Fail(err) // cancels the scope, if it is not cancelled yet
		s.dead.Store(true)
	}
}

// canceled reports whether the scope's context is done. Stages check it
// before each item. It reads the context itself, which a parent's cancel
// cancels before it returns, not a flag that a goroutine sets later (a
// context.AfterFunc runs late when every core is busy) - except when the
// parent can never be cancelled: then the scope's own cancels are the only
// ones, and each sets dead just after it cancels (see Scope.fail).
func (s *Scope) canceled() bool {
	if s.parentDone == nil {
		return s.dead.Load()
	}
	return s.ctx.Err() != nil
}

// stop cancels the scope because a consumer has what it wants.
func (s *Scope) stop() {
	s.o.Stop(errStopped)
	s.dead.Store(true) // after Stop: see Scope.fail
}

// closedErr is what a sink returns, in place of Wait's nil, when its stream
// was cut short by Close (or ended after it): the pipeline did not run to
// completion, and the caller did not stop it by reading less.
func (s *Scope) closedErr(cut bool, err error) error {
	if err == nil && cut && lifecycle.IsStop(context.Cause(s.ctx)) {
		return context.Cause(s.ctx)
	}
	return err
}
