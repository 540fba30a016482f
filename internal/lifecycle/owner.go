package lifecycle

import (
	"context"
	"errors"
	"runtime/pprof"
	"sync"
	"sync/atomic"

	"github.com/go-compendium/compendium"
)

// Owner is the lifecycle core of a type that starts goroutines: its
// context, the goroutines it must join, its first failure and its first
// panic. A type embeds one (by value, initialized with [Owner.Init]) and
// builds its Wait and Close from [Owner.Join] and [Owner.Result], or simply
// calls [Owner.Close].
//
// Failures and stops are told apart. [Owner.Fail] records a failure (a
// task's error, a panic, a Goexit) and cancels the owner with it as the
// cause; [Owner.Stop] cancels without failing (Close, a consumer that has
// what it wants). An error that reaches Fail once the owner is cancelled is
// a consequence of that cancellation: after a stop it is dropped, after the
// parent context ended it is replaced by the parent's cause, so that Wait
// reports why the work was cut short rather than a task's echo of it.
//
// All methods are safe for concurrent use. An Owner must not be copied
// after Init.
type Owner struct {
	ctx    context.Context
	cancel context.CancelCauseFunc
	done   <-chan struct{} // ctx.Done(), fetched once
	wg     sync.WaitGroup
	labels Labels // compendium=pkg type=typ, over the parent's labels
	closed error  // what Close stops the owner with

	mu      sync.Mutex
	err     error // the first failure
	stopped bool  // Stop was called before any failure: later errors are not failures
	panic   atomic.Pointer[compendium.PanicError]
}

// Init prepares o for the type typ of package pkg: its context is derived
// from parent, its goroutines are labelled compendium=pkg and type=typ (on
// top of the labels parent carries), and its Close stops it with an error
// "pkg: typ is closed" that matches compendium.ErrClosed.
func (o *Owner) Init(parent context.Context, pkg, typ string) {
	o.ctx, o.cancel = context.WithCancelCause(parent)
	o.done = o.ctx.Done()
	o.labels = NewLabels(parent, pkg, typ)
	o.closed = Closed(pkg + ": " + typ + " is closed")
}

// Context returns the owner's context: it ends when the owner fails,
// stops, or closes, or when the parent context ends, and
// [context.Cause] says why.
func (o *Owner) Context() context.Context { return o.ctx }

// Done returns the owner's context's Done channel.
func (o *Owner) Done() <-chan struct{} { return o.done }

// Canceled reports whether the owner's context has ended.
func (o *Owner) Canceled() bool { return o.ctx.Err() != nil }

// ErrClosed returns the error the owner's Close stops it with, which
// matches compendium.ErrClosed: the error for work offered after Close.
func (o *Owner) ErrClosed() error { return o.closed }

// Labels returns the owner's labels with kv (key, value, key, value...)
// added, for [Owner.Go].
func (o *Owner) Labels(kv ...string) Labels { return o.labels.With(kv...) }

// Go runs f on a new goroutine that [Owner.Join] waits for, with the
// pprof labels l (the owner's own if l is the zero Labels).
func (o *Owner) Go(l Labels, f func()) {
	if l.ctx == nil {
		l = o.labels
	}
	o.wg.Add(1)
	go func() {
		defer o.wg.Done()
		l.Apply()
		f()
	}()
}

// Add counts n goroutines that the caller starts itself (to reuse a
// closure, say) and that call [Owner.Exit] when they end.
func (o *Owner) Add(n int) { o.wg.Add(n) }

// Exit ends a goroutine counted with [Owner.Add].
func (o *Owner) Exit() { o.wg.Done() }

// Join waits for every goroutine started with Go (or counted with Add).
func (o *Owner) Join() { o.wg.Wait() }

// Fail records err as the owner's failure, if it is the first and the owner
// is not yet cancelled, and cancels the owner with err as the cause. It
// reports whether err was recorded. A *compendium.PanicError also becomes
// the panic that Result re-raises. A nil err is ignored.
//
// An err arriving after the owner was cancelled is a consequence: after
// [Owner.Stop] or Close it is dropped; after the parent context ended, the
// parent's cause is recorded in its place (once), so that Result reports
// why the work was cut short. A panic is never dropped: the first one is
// kept whenever it comes.
func (o *Owner) Fail(err error) bool {
	if err == nil {
		return false
	}
	if p, ok := err.(*compendium.PanicError); ok {
		o.panic.CompareAndSwap(nil, p)
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.err != nil || o.stopped {
		return false
	}
	if o.ctx.Err() != nil {
		// Cancelled, not by a failure (that would be in o.err) nor a stop:
		// the parent context ended.
		o.err = context.Cause(o.ctx)
		return false
	}
	o.err = err
	o.cancel(err)
	return true
}

// Stop cancels the owner with cause without failing it: errors that arrive
// afterwards are dropped as consequences (see [Owner.Fail]). A failure
// recorded before Stop stays.
func (o *Owner) Stop(cause error) {
	o.mu.Lock()
	if o.err == nil && o.ctx.Err() == nil {
		o.stopped = true
	}
	o.mu.Unlock()
	o.cancel(cause)
}

// Err returns the failure recorded so far, or nil.
func (o *Owner) Err() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.err
}

// Panicked returns the first panic recorded, or nil.
func (o *Owner) Panicked() *compendium.PanicError { return o.panic.Load() }

// Result re-panics with the first panic, if any, on the calling goroutine;
// otherwise it returns the first failure, or nil. Wait and Close return
// it after Join, on every call.
func (o *Owner) Result() error {
	if p := o.panic.Load(); p != nil {
		panic(p)
	}
	return o.Err()
}

// Close stops the owner with its closed error (see [Owner.ErrClosed]),
// joins every goroutine it started, and returns [Owner.Result]. It is
// idempotent: every call joins and returns the same result.
func (o *Owner) Close() error {
	o.Stop(o.closed)
	o.Join()
	return o.Result()
}

// closedError is an object's "closed" error: its message names the object,
// and it matches compendium.ErrClosed.
type closedError struct{ msg string }

func (e *closedError) Error() string        { return e.msg }
func (e *closedError) Is(target error) bool { return target == compendium.ErrClosed }

// Closed returns an error with message msg that matches
// compendium.ErrClosed with errors.Is. Types make theirs once, at
// construction or as a package variable, so returning it allocates nothing.
func Closed(msg string) error { return &closedError{msg} }

// IsStop reports whether err is the closed error of some owner, which
// [Owner.Close] stops with: a clean stop, not a failure.
func IsStop(err error) bool {
	var c *closedError
	return errors.As(err, &c)
}

// Labels is a set of pprof labels that goroutines apply when they start, so
// that a goroutine profile or dump groups the goroutines compendium starts
// by package, type and role. The zero Labels applies nothing.
type Labels struct{ ctx context.Context }

// NewLabels returns the labels compendium=pkg and type=typ, with kv added,
// on top of the labels that ctx carries (those of a caller inside
// pprof.Do). Used by code that starts goroutines without an Owner.
func NewLabels(ctx context.Context, pkg, typ string, kv ...string) Labels {
	l := Labels{pprof.WithLabels(ctx, pprof.Labels("compendium", pkg, "type", typ))}
	return l.With(kv...)
}

// With returns l with kv (key, value, key, value...) added.
func (l Labels) With(kv ...string) Labels {
	if len(kv) == 0 || l.ctx == nil {
		return l
	}
	return Labels{pprof.WithLabels(l.ctx, pprof.Labels(kv...))}
}

// Apply sets the calling goroutine's labels to l. It costs a context
// lookup and a store; goroutines call it once, when they start.
func (l Labels) Apply() {
	if l.ctx != nil {
		pprof.SetGoroutineLabels(l.ctx)
	}
}

// Context returns a context carrying l, for pprof.Do or trace regions, or
// nil for the zero Labels.
func (l Labels) Context() context.Context { return l.ctx }
