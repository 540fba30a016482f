package pipeline

import (
	"context"
	"iter"
	"strconv"
	"sync/atomic"
)

// each calls f on the batches of st, in order, on the caller's goroutine,
// until st ends (it returns true) or f returns false. The sinks loop over a
// batch's items themselves: one indirect call per item fewer than a
// per-item callback. If f panics or returns false, the caller decides
// what to do with the scope; the deferred stop in consume makes sure a
// panic in a sink function cancels the stages instead of leaving them
// blocked.
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
// is gone. A stream that ended because Close cut it short gives an error
// matching compendium.ErrClosed where Wait gives nil.
func (st *Stream[T]) consume(f func([]T) bool) error {
	returned := false
	defer func() {
		if !returned { // f panicked
			st.s.stop()
		}
	}()
	ended := st.each(f)
	if !ended {
		st.s.stop() // before Wait, which would otherwise wait for stages blocked on us
	}
	returned = true
	err := st.s.Wait()
	if ended {
		err = st.s.closedErr(st.cut.Load(), err)
	}
	return err
}

// All returns the items of in as an iterator for a range loop on the
// caller's goroutine. Breaking out of the loop (or a panic in its body)
// cancels the scope: every stage stops at its next item instead of running
// on to drain its input, and nothing outlives the call to [Scope.Wait]
// that must follow the loop. A break is not an error: Wait then returns
// nil unless a stage failed first.
//
// The loop also ends early, without a break, if the scope is cancelled;
// Wait tells why. The items that reached the stream before a stage failed
// still come out first. The iterator may be ranged once; ranging it again
// panics. Until it is ranged, the stages feeding it wait (so does Wait,
// but not Close). It panics if in is nil.
func All[T any](in *Stream[T]) iter.Seq[T] {
	checkStream("All", in)
	in.take("All")
	var ranged atomic.Bool
	return func(yield func(T) bool) {
		if ranged.Swap(true) {
			panic("pipeline: All: the iterator must be ranged once, got a second range")
		}
		returned := false
		defer func() {
			if !returned {
				in.s.stop()
			}
		}()
		returned = in.each(func(b []T) bool {
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
// is returned (unless a stage failed first); f is not called again. Items
// that reached the stream before a stage failed are still passed to f,
// with a context that is done. For side effects on several goroutines at
// once, use [Map] or [Tap] with workers and then [Drain]. It panics if in
// or f is nil.
func ForEach[T any](in *Stream[T], f func(context.Context, T) error) error {
	checkStream("ForEach", in)
	checkFunc("ForEach", "f", f == nil)
	in.take("ForEach")
	ctx := in.s.ctx
	return in.consume(func(b []T) bool {
		for _, v := range b {
			if err := f(ctx, v); err != nil {
				in.s.failed(err)
				return false
			}
		}
		return true
	})
}

// Collect returns every item of in, in order, and [Scope.Wait]'s result.
// On an error the slice holds the items that reached the stream before the
// failure: with one worker per stage, every result computed before the
// failing item. It panics if in is nil.
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
// result. It panics if in or f is nil.
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
// failure. It panics if in is nil.
func Head[T any](in *Stream[T]) (T, error) {
	checkStream("Head", in)
	in.take("Head")
	var head T
	found := false
	err := in.consume(func(b []T) bool {
		head, found = b[0], true
		return false
	})
	switch {
	case err != nil:
		var zero T
		return zero, err
	case !found:
		return head, ErrEmpty
	}
	return head, nil
}

// Drain receives and discards every item of in, then returns
// [Scope.Wait]'s result: the sink for a pipeline run for its side effects.
// It panics if in is nil.
func Drain[T any](in *Stream[T]) error {
	checkStream("Drain", in)
	in.take("Drain")
	return in.consume(func([]T) bool { return true })
}

// ToChan returns a channel that carries the items of in, in order, for a
// select of yours (beside a timer, a quit channel, another stream). A
// goroutine of the scope sends each item as you receive it (the channel is
// unbuffered) and closes the channel when the stream ends or the scope is
// cancelled; items still in flight when the scope is cancelled are not
// sent. Read the pipeline's error with [Scope.Wait] once the channel is
// closed. If you stop reading before it closes, call [Scope.Close]: it
// cancels the stages and joins them, the sending goroutine included. It
// panics if in is nil. [FromChan] is the way in.
func ToChan[T any](in *Stream[T]) <-chan T {
	checkStream("ToChan", in)
	in.take("ToChan")
	s := in.s
	name, labels := s.stage("ToChan")
	ch := make(chan T)
	s.spawn(name, labels.With("worker", strconv.Itoa(1)), func() error {
		defer close(ch)
		for {
			// A cut input needs no report here: the stage that stopped
			// early reported the cancellation.
			b, ok := in.recv()
			if !ok {
				return nil
			}
			for _, v := range b {
				select {
				case ch <- v:
				case <-s.done:
					return errCanceled
				}
			}
			in.put(b)
		}
	})
	return ch
}
