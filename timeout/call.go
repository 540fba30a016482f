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
// reads and its goroutine exits. Nothing leaks beyond f's own running
// time, but nothing stops f either. In particular, a task of a limiter
// (semaphore.Group, pool.Workers, a semaphore slot) that wraps its work in
// Call gives its slot back at the deadline while f still runs, and the
// limit no longer bounds the work: to bound a limited task's time and keep
// the slot until f returns, give the limiter the deadline instead
// ([github.com/go-compendium/compendium/semaphore.TaskTimeout],
// [github.com/go-compendium/compendium/pool.TaskTimeout]), or use
// context.WithTimeout in the task with an f that honours it
// (NewRequestWithContext, QueryContext).
//
// At the deadline Call returns an error matching [ErrTimeout] and
// [context.DeadlineExceeded] that names the call and d; if ctx ends first,
// ctx.Err(). A ctx already done, or d <= 0, returns at once without
// starting f. A success at the deadline's instant is a success; a failure
// once f's context has ended is reported as the timeout (or ctx's error),
// f's error being most likely its echo. An f that calls runtime.Goexit
// fails with [compendium.ErrGoexit], reported at once.
//
// A panic in f before Call returns is re-raised on the caller's goroutine
// as a *[compendium.PanicError]; after Call has returned it has nobody to
// go to and crashes the program from f's goroutine. A nil ctx or f panics.
//
// f's goroutine carries the pprof labels compendium=timeout type=Call over
// those of ctx. Cost: a goroutine, a timer and a channel per call; see
// timeout.Call in bench/RESULTS.md, beside context.WithTimeout and a
// direct call, which start nothing.
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
