package pipeline

import (
	"context"
	"iter"
)

// checkScope panics if a source was given no scope.
func checkScope(op string, s *Scope) {
	if s == nil {
		panic("pipeline: " + op + " with a nil scope")
	}
}

// source starts a goroutine in s that feeds a new stream through produce,
// and returns the stream. The goroutine closes the stream when it returns.
func source[T any](s *Scope, produce func(e *emitter[T]) error) *Stream[T] {
	out := newStream[T](s)
	s.spawn(func(quit <-chan struct{}) error {
		defer close(out.ch)
		if s.ctx.Err() != nil {
			return errCanceled // already cancelled: produce nothing
		}
		e := newEmitter(out, quit)
		if err := produce(e); err != nil {
			return s.failed(err)
		}
		return e.finish()
	})
	return out
}

// FromSlice returns a stream of the items of xs, in order. The items are
// copied into the pipeline's batches as they go; xs must not change until
// the stream has been consumed. An empty xs gives a stream that ends at once.
func FromSlice[T any](s *Scope, xs []T) *Stream[T] {
	checkScope("FromSlice", s)
	return source(s, func(e *emitter[T]) error {
		for _, v := range xs {
			if s.canceled() || !e.tryAdd(v) && !e.add(v) {
				return errCanceled
			}
		}
		return nil
	})
}

// FromSeq returns a stream of the values of seq, in order. The sequence is
// ranged on the stream's own goroutine and stopped (its yield returns false)
// when the scope is cancelled.
//
// An item waits in the source's batch while the next stage is busy, and
// goes on when the stage comes back for it, when the batch is full, or with
// the next item the sequence yields. So a sequence that blocks between items
// (reading a network) may hold an item back until its next one; feed such a
// source through a channel and [FromChan], which hands each item on as soon
// as the next stage is free.
func FromSeq[T any](s *Scope, seq iter.Seq[T]) *Stream[T] {
	checkScope("FromSeq", s)
	checkFunc("FromSeq", seq == nil)
	return Generate(s, func(_ context.Context, yield func(T) bool) error {
		seq(yield)
		return nil
	})
}

// Generate returns a stream of the values that gen passes to yield, in
// order: the talk's generator, run on the stream's own goroutine. yield
// returns false once the scope is cancelled; gen should then return, and
// every later yield is ignored. If gen returns an error, the scope fails
// with it, as a stage error. The note on blocking sources in [FromSeq]
// applies. It panics if gen is nil.
func Generate[T any](s *Scope, gen func(ctx context.Context, yield func(T) bool) error) *Stream[T] {
	checkScope("Generate", s)
	checkFunc("Generate", gen == nil)
	return source(s, func(e *emitter[T]) error {
		stopped := false
		err := gen(s.ctx, func(v T) bool {
			if stopped || s.canceled() || !e.tryAdd(v) && !e.add(v) {
				stopped = true
			}
			return !stopped
		})
		if err == nil && stopped {
			err = errCanceled
		}
		return err
	})
}

// FromChan returns a stream of the values received from ch, in order, until
// ch is closed or the scope is cancelled. The stage never closes ch and
// stops receiving when the scope is cancelled, so whoever sends on ch must
// also watch [Scope.Context]. A nil ch never delivers: the stream stays
// open, without items, until the scope is cancelled.
func FromChan[T any](s *Scope, ch <-chan T) *Stream[T] {
	checkScope("FromChan", s)
	return source(s, func(e *emitter[T]) error {
		for {
			select {
			case v, ok := <-ch:
				if !ok {
					return nil
				}
				if !e.tryAdd(v) && !e.add(v) {
					return errCanceled
				}
			case e.out() <- e.batch():
				e.sent()
			case <-e.done:
				return errCanceled
			}
		}
	})
}
