package timeout

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// First calls every function in fs at once, each on its own goroutine, and
// returns the first success: the talk's "first of N" slide (ask every CDN
// node, keep the fastest answer) and Pike's replicated search.
//
// As soon as one function succeeds, First cancels the context the others
// received and returns without waiting for them. They cannot leak: their
// results go into a channel with room for all of them (the slide's
// unbuffered channel left every loser blocked on its send forever), so each
// loser exits as soon as it returns, which a function that honours its
// context does at once.
//
// If every function fails, First returns their errors joined with
// [errors.Join], in the order of fs, each prefixed with its index. If ctx
// ends first, First returns ctx.Err(). An empty fs or a nil function is an
// error naming it; a ctx already done returns ctx.Err(); in all three cases
// nothing is started.
//
// Panics are handled as in [Call]: a panic before First returns is re-raised
// on the caller's goroutine as a *[PanicError] (the first one, if several
// functions panicked); a panic in a loser after First returned crashes the
// program from the loser's goroutine, never swallowed.
//
// Cost: a goroutine per function, one cancellable context and one channel
// for them all. It has no benchmark of its own: per function it is the
// goroutine and send that BenchmarkCall measures for Call, without Call's
// timer.
//
// First is [Hedge] with no delay between starts.
func First[T any](ctx context.Context, fs ...func(context.Context) (T, error)) (T, error) {
	return hedge(ctx, "First", 0, fs)
}

// Hedge is a hedged call ("The Tail at Scale", Dean and Barroso): it starts
// fs[0]; if no function has succeeded delay later it starts fs[1] as well,
// then fs[2] after another delay, and so on. The first success wins and the
// contexts of the others are cancelled, as in [First]. To hedge one function
// n times, pass it n times.
//
// A try that fails starts the next one at once rather than after the rest of
// the delay: the delay is there to avoid duplicate work while a try might
// still answer, and a failed try will not; the timer then counts delay from
// that start. Once every function has been started and has failed, Hedge
// returns their errors joined, as First does.
//
// delay <= 0 starts every function at once, which is First. Bad input,
// ctx, panics and leaks are handled as in First. Hedge uses one timer for
// all the delays, not one per try.
func Hedge[T any](ctx context.Context, delay time.Duration, fs ...func(context.Context) (T, error)) (T, error) {
	return hedge(ctx, "Hedge", delay, fs)
}

func hedge[T any](ctx context.Context, op string, delay time.Duration, fs []func(context.Context) (T, error)) (T, error) {
	var zero T
	if len(fs) == 0 {
		return zero, fmt.Errorf("timeout: %s: no functions", op)
	}
	for i, f := range fs {
		if f == nil {
			return zero, nilFunc(op, fmt.Sprintf("fs[%d]", i))
		}
	}
	if err := ctx.Err(); err != nil {
		return zero, err
	}
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	r := newRace[T](len(fs))
	started, pending := 0, 0
	start := func() {
		go r.run(rctx, started, fs[started])
		started++
		pending++
	}

	// next is the timer for the next start; its channel stays nil when
	// every function has been started, which disables that select case
	// (a nil channel is never ready) instead of needing a second loop.
	var timer *time.Timer
	next := func() <-chan time.Time {
		if started == len(fs) {
			return nil
		}
		if timer == nil {
			timer = time.NewTimer(delay)
		} else {
			timer.Reset(delay)
		}
		return timer.C
	}
	start()
	if delay <= 0 {
		for started < len(fs) {
			start()
		}
	}
	tick := next()
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()

	errs := make([]error, len(fs))
	for pending > 0 {
		select {
		case o := <-r.ch:
			pending--
			if o.p == nil && o.err != nil && ctx.Err() == nil {
				errs[o.i] = fmt.Errorf("timeout: %s: fs[%d]: %w", op, o.i, o.err)
				if started < len(fs) {
					start() // a failed try starts the next one early
					tick = next()
				}
				continue
			}
			cancel()
			_, _, p := r.finish()
			switch {
			case o.p != nil:
				panic(o.p)
			case p != nil:
				panic(p)
			case o.err == nil:
				return o.v, nil
			default: // failed because ctx ended
				return zero, ctx.Err()
			}
		case <-tick:
			start()
			tick = next()
		case <-ctx.Done():
			cancel()
			if _, _, p := r.finish(); p != nil {
				panic(p)
			}
			return zero, ctx.Err()
		}
	}
	return zero, errors.Join(errs...)
}
