package pipeline

import "context"

// Map returns a stream of f applied to every item of in, computed by workers
// goroutines at once. With one worker the output keeps the input's order;
// with more, items come out as they finish (use [OrderedMap] to keep the
// order). It panics if in or f is nil or workers is below 1 (or so large
// that its goroutines alone would take more than a GiB).
//
// f receives the scope's context. If f returns an error, the scope is
// cancelled and [Scope.Wait] returns the error. Once the scope's context
// is done, for whatever reason, each worker starts at most one more call
// of f (one that checked the context just before).
//
// The workers take items one at a time, as goroutines receiving from one
// channel would: no worker waits while another holds an item it has not
// started, so n items that wait for each other all run at once on n
// workers. A result goes on as soon as the next stage is ready for it,
// even if the worker is by then blocked in f on a later item, so f may
// wait for the pipeline to make progress with earlier results. The same
// holds for every stage.
func Map[T, U any](in *Stream[T], workers int, f func(context.Context, T) (U, error)) *Stream[U] {
	checkStream("Map", in)
	checkWorkers("Map", workers)
	checkFunc("Map", "f", f == nil)
	return run(in, "Map", workers, func(ctx context.Context, items []T, e *emitter[U]) error {
		for _, v := range items {
			if e.s.canceled() {
				return errCanceled
			}
			u, err := f(ctx, v)
			if err != nil {
				return err
			}
			if !e.tryAdd(u) && !e.add(u) {
				return errCanceled
			}
		}
		return nil
	})
}

// Filter returns a stream of the items of in for which keep reports true,
// tested by workers goroutines at once (the order is kept with one worker;
// use [OrderedFilter] to keep it with more). It panics if in or keep is
// nil or workers is below 1. Errors and cancellation work as for [Map].
func Filter[T any](in *Stream[T], workers int, keep func(context.Context, T) (bool, error)) *Stream[T] {
	checkStream("Filter", in)
	checkWorkers("Filter", workers)
	checkFunc("Filter", "keep", keep == nil)
	return run(in, "Filter", workers, func(ctx context.Context, items []T, e *emitter[T]) error {
		for _, v := range items {
			if e.s.canceled() {
				return errCanceled
			}
			ok, err := keep(ctx, v)
			if err != nil {
				return err
			}
			if ok && !e.tryAdd(v) && !e.add(v) {
				return errCanceled
			}
		}
		return nil
	})
}

// FlatMap returns a stream of every item of every slice f returns, called on
// every item of in by workers goroutines at once. The items of one call
// stay together and in order, however many there are; the calls come out
// in the input's order with one worker (use [OrderedFlatMap] to keep it
// with more). It panics if in or f is nil or workers is below 1. Errors
// and cancellation work as for [Map]. The stage copies the items out, so f
// may reuse its slice's array.
func FlatMap[T, U any](in *Stream[T], workers int, f func(context.Context, T) ([]U, error)) *Stream[U] {
	checkStream("FlatMap", in)
	checkWorkers("FlatMap", workers)
	checkFunc("FlatMap", "f", f == nil)
	return run(in, "FlatMap", workers, func(ctx context.Context, items []T, e *emitter[U]) error {
		for _, v := range items {
			if e.s.canceled() {
				return errCanceled
			}
			us, err := f(ctx, v)
			if err != nil {
				return err
			}
			if !e.addAll(us) {
				return errCanceled
			}
		}
		return nil
	})
}

// Tap returns in unchanged after calling f on each item, in order, on one
// goroutine: a place to count, log or check items as they pass. It panics
// if in or f is nil. Errors and cancellation work as for [Map].
//
// The items are passed on as they are: if T holds pointers, f sees the same
// values that the next stage receives, and must not modify them.
func Tap[T any](in *Stream[T], f func(context.Context, T) error) *Stream[T] {
	checkStream("Tap", in)
	checkFunc("Tap", "f", f == nil)
	return run(in, "Tap", 1, func(ctx context.Context, items []T, e *emitter[T]) error {
		for _, v := range items {
			if e.s.canceled() {
				return errCanceled
			}
			if err := f(ctx, v); err != nil {
				return err
			}
			if !e.tryAdd(v) && !e.add(v) {
				return errCanceled
			}
		}
		return nil
	})
}
