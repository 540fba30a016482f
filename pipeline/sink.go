package pipeline

import (
	"context"
	"iter"
	"sync/atomic"
)

// each calls f on the batches of st, in order, on the caller's goroutine,
// until st ends (it returns true) or f returns false. The sinks loop over a
// batch's items themselves: one indirect call per item fewer than a
// per-item callback (measured: 2 ns an item). If f panics or returns
// false, the caller decides what to do with the scope; the deferred stop in
// the sinks below makes sure a panic in a sink function cancels the stages
// instead of leaving them blocked.
//
// The receive is a plain one, with no quit case, as in work: cancellation
// arrives as st closing, once the stage feeding it has exited.
func (st *Stream[T]) each(f func([]T) bool) bool {
	for {
		b, ok := st.recv()
		if !ok {
			return true
		}
		if !f(b) {
			return false
		}
		st.put(b)
	}
}

// consume runs each and then Wait, cancelling the scope if f panics (or
// stops early) so that Wait, or the stages, never wait for a reader that
// is gone.
func (st *Stream[T]) consume(f func([]T) bool) error {
	completed := false
	defer func() {
		if !completed { // f panicked
			st.s.stop()
		}
	}()
	if !st.each(f) {
		st.s.stop() // before Wait, which would otherwise wait for stages blocked on us
	}
	completed = true
	return st.s.Wait()
}

// All returns the items of in as an iterator for a range loop on the
// caller's goroutine. Breaking out of the loop (or a panic in its body)
// cancels the scope: every stage stops at its next item instead of running
// on to drain its input, and nothing outlives
// the call to [Scope.Wait] that must follow the loop. A break is not an
// error: Wait then returns nil unless a stage failed first.
//
// The loop also ends early, without a break, if the scope is cancelled;
// Wait tells why. The iterator may be ranged once; ranging it again panics.
// Until it is ranged, the stages feeding it wait (so does Wait), unless the
// scope is cancelled.
func All[T any](in *Stream[T]) iter.Seq[T] {
	checkStream("All", in)
	in.take("All")
	var ranged atomic.Bool
	return func(yield func(T) bool) {
		if ranged.Swap(true) {
			panic("pipeline: All's iterator ranged twice")
		}
		completed := false
		defer func() {
			if !completed {
				in.s.stop()
			}
		}()
		completed = in.each(func(b []T) bool {
			for _, v := range b {
				if !yield(v) {
					return false
				}
			}
			return true
		})
	}
}

// ForEach calls f on every item of in, in order, on the caller's goroutine,
// then returns [Scope.Wait]'s result. An error from f cancels the scope and
// is returned (unless a stage failed first). For side effects on several
// goroutines at once, use [Map] or [Tap] with workers and then [Drain].
// It panics if f is nil.
func ForEach[T any](in *Stream[T], f func(context.Context, T) error) error {
	checkStream("ForEach", in)
	checkFunc("ForEach", "f", f == nil)
	in.take("ForEach")
	ctx := in.s.ctx
	return in.consume(func(b []T) bool {
		for _, v := range b {
			if err := f(ctx, v); err != nil {
				in.s.fail(err)
				return false
			}
		}
		return true
	})
}

// Collect returns every item of in, in order, and [Scope.Wait]'s result.
// On an error the slice holds the items received before the failure.
func Collect[T any](in *Stream[T]) ([]T, error) {
	checkStream("Collect", in)
	in.take("Collect")
	var xs []T
	err := in.consume(func(b []T) bool {
		xs = append(xs, b...)
		return true
	})
	return xs, err
}

// Reduce folds every item of in into an accumulator, starting from init,
// in order, on the caller's goroutine, and returns it with [Scope.Wait]'s
// result. It panics if f is nil.
func Reduce[T, A any](in *Stream[T], init A, f func(acc A, v T) A) (A, error) {
	checkStream("Reduce", in)
	checkFunc("Reduce", "f", f == nil)
	in.take("Reduce")
	acc := init
	err := in.consume(func(b []T) bool {
		for _, v := range b {
			acc = f(acc, v)
		}
		return true
	})
	return acc, err
}

// Head returns the first item of in, then cancels the rest of the pipeline
// and waits for it to stop (the stop is not an error). If the stream ends
// without an item, it returns [ErrEmpty]; if the pipeline failed first, the
// failure.
func Head[T any](in *Stream[T]) (T, error) {
	checkStream("Head", in)
	in.take("Head")
	var first T
	found := false
	err := in.consume(func(b []T) bool {
		first, found = b[0], true
		return false
	})
	switch {
	case err != nil:
		var zero T
		return zero, err
	case !found:
		return first, ErrEmpty
	}
	return first, nil
}

// Drain receives and discards every item of in, then returns
// [Scope.Wait]'s result: the sink for a pipeline run for its side effects.
func Drain[T any](in *Stream[T]) error {
	checkStream("Drain", in)
	in.take("Drain")
	return in.consume(func([]T) bool { return true })
}
