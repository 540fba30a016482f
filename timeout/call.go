package timeout

import (
	"context"
	"time"

	"github.com/go-compendium/compendium"
	"github.com/go-compendium/compendium/internal/lifecycle"
)

// Call calls f with a context that ends d from now and returns f's result,
// or an error at the deadline, whichever comes first: Gerrand's "Timing out,
// moving on" as a function.
//
// Call returns at the deadline while f may still be running. Go cannot
// kill a goroutine, so an f that ignores its context runs on until it
// returns by itself; its result then goes into a buffered channel nobody
// reads and its goroutine exits, so nothing leaks beyond f's own running
// time, but nothing stops f either. In particular, a task of a limiter
// (semaphore.Group, pool.Workers, a semaphore slot) that wraps its work in
// Call gives its slot back at the deadline while f still runs, and the
// limit no longer bounds the work: to bound a limited task's time without
// losing the slot, see the per-task deadline of semaphore.Group and
// pool.Workers, or call context.WithTimeout in the task and give f a
// context it honours (NewRequestWithContext, QueryContext).
//
// The error at the deadline matches [ErrTimeout] and
// [context.DeadlineExceeded] and names the call and d. If ctx ends first,
// Call returns ctx.Err(), which does not match ErrTimeout. If ctx is
// already done, or d <= 0 (a deadline that has already passed), Call
// returns at once without starting f. If f succeeds at the same instant as
// the deadline, Call returns its result; if f fails once its context has
// ended, Call returns the timeout (or ctx's) error, since f's error is
// then most likely its consequence. If f calls runtime.Goexit, Call
// returns an error matching [compendium.ErrGoexit] at once.
//
// A panic in f before Call returns is re-raised on the caller's goroutine
// as a *[compendium.PanicError]. A panic in f after Call has returned has
// nobody to go to: it is re-raised on f's goroutine and crashes the
// program, as an unrecovered panic in any goroutine would. It is never
// swallowed. A nil ctx or f panics (see Lifecycle in the package doc).
//
// f's goroutine carries the pprof labels compendium=timeout type=Call,
// over those of ctx. Cost: a goroutine, a context with a timer and a
// channel per call; see timeout.Call in bench/RESULTS.md, beside
// context.WithTimeout and a direct call, which start nothing and are the
// better tool when f honours ctx and returning before it does is not
// needed.
func Call[T any](ctx context.Context, d time.Duration, f func(context.Context) (T, error)) (T, error) {
	lifecycle.Context("timeout", "Call", ctx)
	lifecycle.NotNil("timeout", "Call", "f", f == nil)
	return call(ctx, kindCall, d, f)
}

// Do is [Call] for a function with no result: it calls f with a context
// that ends d from now and returns f's error, or an error matching
// [ErrTimeout] and [context.DeadlineExceeded] at the deadline. Everything
// Call says about f running on, limiters' slots, panics, Goexit, ctx and
// d <= 0 holds for Do; its goroutine is labelled type=Do.
func Do(ctx context.Context, d time.Duration, f func(context.Context) error) error {
	lifecycle.Context("timeout", "Do", ctx)
	lifecycle.NotNil("timeout", "Do", "f", f == nil)
	_, err := call(ctx, kindDo, d, func(ctx context.Context) (struct{}, error) { return struct{}{}, f(ctx) })
	return err
}

func call[T any](ctx context.Context, k *kind, d time.Duration, f func(context.Context) (T, error)) (T, error) {
	var zero T
	if err := ctx.Err(); err != nil {
		return zero, err
	}
	if d <= 0 {
		return zero, &timeoutError{op: k.op, what: "no result", d: d}
	}
	// The cause tells f why its context ended: ErrTimeout for our
	// deadline, the parent's cause otherwise.
	fctx, cancel := context.WithTimeoutCause(ctx, d, ErrTimeout)
	defer cancel()
	r := newRace[T](ctx, k, 1)
	r.start(fctx, 0, f)

	var o outcome[T]
	select {
	case o = <-r.ch:
	case <-fctx.Done():
		// The deadline (or ctx) and f may have finished at the same
		// instant: finish collects f's outcome if it is there, and
		// otherwise leaves f to panic on its own should it panic later.
		var ok bool
		var p *compendium.PanicError
		o, ok, p = r.finish()
		if p != nil {
			panic(p)
		}
		if !ok {
			return zero, ended(ctx, k.op, d)
		}
	}
	return settle(ctx, fctx, k, d, o)
}

// settle turns f's outcome into Call's result, once Call has it. fctx is
// the context f was given.
func settle[T any](ctx, fctx context.Context, k *kind, d time.Duration, o outcome[T]) (T, error) {
	var zero T
	switch {
	case o.p != nil:
		panic(o.p)
	case o.goexit:
		// Before the ctx check: a Goexit is not an echo of the deadline.
		return zero, k.goexit
	case o.err != nil && fctx.Err() != nil:
		// f failed once its context had ended: most likely because it
		// had. Which of the two Call saw first is up to the scheduler
		// when they happen together, so this is checked on either path.
		return zero, ended(ctx, k.op, d)
	}
	return o.v, o.err
}

// ended is the error for a call whose context ended: ctx's own error if the
// caller's context ended, the timeout otherwise.
func ended(ctx context.Context, op string, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return &timeoutError{op: op, what: "no result", d: d}
}
