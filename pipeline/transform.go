package pipeline

import "context"

// Map returns a stream of f applied to every item of in, computed by workers
// goroutines at once. With one worker the output keeps the input's order;
// with more, items come out as they finish (use [OrderedMap] to keep the
// order). It panics if workers < 1 or f is nil.
//
// f receives the scope's context. If f returns an error, the scope is
// cancelled and [Scope.Wait] returns the error; once the scope is cancelled,
// each worker stops before its next item, so the calls started after the
// cancellation are at most one per worker (one that checked just before).
//
// A result that finds the next stage busy waits in the worker's batch, and
// goes on once the worker is done with f on its next item (or waits for
// input): it can be late by one call of f (see the package documentation).
// So f must not wait for the pipeline to finish with an item it returned
// earlier: that wait would never end. The same holds for Filter, FlatMap
// and Tap. Generate and FromSeq have no such limit.
//
// A worker that receives a batch keeps a piece of it and queues the rest,
// one piece per worker, for whichever worker is free first; between items,
// a worker with items left gives half of them to a worker that has none.
// So the workers share the items even when they arrived together
// (TestMapShareBatch). Measured cost: about 5 ns an item with one worker
// and a trivial f (BenchmarkThreeStage).
func Map[T, U any](in *Stream[T], workers int, f func(context.Context, T) (U, error)) *Stream[U] {
	checkStream("Map", in)
	checkWorkers("Map", workers)
	checkFunc("Map", "f", f == nil)
	return run(in, "Map", workers, func(ctx context.Context, items []T, e *emitter[U]) error {
		for _, v := range items {
			if e.canceled() {
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
// tested by workers goroutines at once (the order is kept with one worker
// only, as for [Map]). It panics if workers < 1 or keep is nil. An error
// from keep fails the scope, as for Map.
func Filter[T any](in *Stream[T], workers int, keep func(context.Context, T) (bool, error)) *Stream[T] {
	checkStream("Filter", in)
	checkWorkers("Filter", workers)
	checkFunc("Filter", "keep", keep == nil)
	return run(in, "Filter", workers, func(ctx context.Context, items []T, e *emitter[T]) error {
		for _, v := range items {
			if e.canceled() {
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
// every item of in by workers goroutines at once. The items of one call stay
// together and in order; calls are ordered with one worker only, as for
// [Map]. It panics if workers < 1 or f is nil. An error from f fails the
// scope, as for Map. The stage copies the items out, so f may reuse its
// slice's array.
func FlatMap[T, U any](in *Stream[T], workers int, f func(context.Context, T) ([]U, error)) *Stream[U] {
	checkStream("FlatMap", in)
	checkWorkers("FlatMap", workers)
	checkFunc("FlatMap", "f", f == nil)
	return run(in, "FlatMap", workers, func(ctx context.Context, items []T, e *emitter[U]) error {
		for _, v := range items {
			if e.canceled() {
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
// if f is nil. An error from f fails the scope, as for [Map].
//
// The items are passed on as they are: if T holds pointers, f sees the same
// values that the next stage receives, and must not modify them.
func Tap[T any](in *Stream[T], f func(context.Context, T) error) *Stream[T] {
	checkStream("Tap", in)
	checkFunc("Tap", "f", f == nil)
	return run(in, "Tap", 1, func(ctx context.Context, items []T, e *emitter[T]) error {
		for _, v := range items {
			if e.canceled() {
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
