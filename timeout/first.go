package timeout

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/go-compendium/compendium/internal/lifecycle"
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
// context does at once. Like [Call], First may return while losers still
// run.
//
// If every function fails, First returns their errors joined with
// [errors.Join], in the order of fs, each prefixed with its index; a
// function that called runtime.Goexit failed with
// [compendium.ErrGoexit]. If ctx ends first, First returns ctx.Err() at
// once, whether or not the functions honour it. A ctx already done
// returns ctx.Err() without starting anything.
//
// Panics are handled as in Call: a panic before First returns is
// re-raised on the caller's goroutine as a *[compendium.PanicError] (the
// first one, if several functions panicked, even when a success arrived
// at the same moment); a panic in a loser after First returned crashes the
// program from the loser's goroutine, never swallowed.
//
// An empty fs, a nil function or a nil ctx panics: a first-of-none has no
// answer, and a list of replicas that can be empty is the caller's to
// check (see Lifecycle in the package doc).
//
// Each function's goroutine carries the pprof labels compendium=timeout
// type=First fs=i (its index), over those of ctx. Cost: a goroutine per
// function, one cancellable context and one channel for them all; per
// function it is the goroutine and send of timeout.Call in
// bench/RESULTS.md, without Call's timer.
//
// First is [Hedge] with no delay between starts.
func First[T any](ctx context.Context, fs ...func(context.Context) (T, error)) (T, error) {
	check(ctx, "First", fs)
	return hedge(ctx, kindFirst, 0, fs)
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
// ctx, panics, Goexit, labels (type=Hedge) and leaks are handled as in
// First. Hedge uses one timer for all the delays, not one per try.
func Hedge[T any](ctx context.Context, delay time.Duration, fs ...func(context.Context) (T, error)) (T, error) {
	check(ctx, "Hedge", fs)
	return hedge(ctx, kindHedge, delay, fs)
}

// check panics on First's and Hedge's programming errors, before anything
// starts.
func check[T any](ctx context.Context, op string, fs []func(context.Context) (T, error)) {
	lifecycle.Context("timeout", op, ctx)
	lifecycle.Min("timeout", op, "len(fs)", len(fs), 1)
	for i, f := range fs {
		if f == nil { // the name is built only when it is needed
			lifecycle.NotNil("timeout", op, "fs["+strconv.Itoa(i)+"]", true)
		}
	}
}

func hedge[T any](ctx context.Context, k *kind, delay time.Duration, fs []func(context.Context) (T, error)) (T, error) {
	var zero T
	if err := ctx.Err(); err != nil {
		return zero, err
	}
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	r := newRace[T](ctx, k, len(fs))
	started, pending := 0, 0
	start := func() {
		r.start(rctx, started, fs[started])
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
		var o outcome[T]
		select {
		case o = <-r.ch:
			pending--
			if o.p == nil && o.err != nil && ctx.Err() == nil {
				errs[o.i] = fmt.Errorf("timeout: %s: fs[%d]: %w", k.op, o.i, o.err)
				if started < len(fs) {
					start() // a failed try starts the next one early
					tick = next()
				}
				continue
			}
		case <-tick:
			start()
			tick = next()
			continue
		case <-ctx.Done(): // rctx, derived from ctx, has ended too
			o.err = ctx.Err()
		}
		// Over: a success, a panic, or ctx ended (o.err is then ctx's
		// error or a function's echo of it). The deferred cancel stops
		// the losers once we return; a loser's panic from then on is its
		// own (finish).
		_, _, p := r.finish()
		switch {
		case o.p != nil:
			panic(o.p)
		case p != nil:
			panic(p) // a panic that came with the winner is not dropped
		case o.err == nil:
			return o.v, nil
		default:
			return zero, ctx.Err()
		}
	}
	return zero, errors.Join(errs...)
}
