package pipeline

import (
	"context"
	"iter"
)

// source starts a goroutine in s that feeds a new stream through produce,
// and returns the stream. The goroutine closes the stream when it returns.
// If held, the consumer may take the batch the producer holds back (see
// heldBatch), and produce must hold held.mu while it touches e.
func source[T any](s *Scope, typ string, held bool, produce func(e *emitter[T]) error) *Stream[T] {
	out := newStream[T](s)
	var h *heldBatch[T]
	if held {
		h = &heldBatch[T]{}
		out.held = h
	}
	_, labels := s.stage(typ)
	s.spawn(labels, 1, func(quit <-chan struct{}) error {
		defer close(out.ch)
		if s.ctx.Err() != nil {
			return errCanceled // already cancelled: produce nothing
		}
		e := newEmitter(out, quit)
		if h != nil {
			h.mu.Lock()
			h.e = e
			h.mu.Unlock()
			// Whatever is still held once the producer is gone (after a
			// failure) stays where it is.
			defer func() {
				h.mu.Lock()
				h.e = nil
				h.has.Store(false)
				h.mu.Unlock()
			}()
		}
		if err := produce(e); err != nil {
			return s.failed(err)
		}
		if h != nil {
			h.mu.Lock()
			defer h.mu.Unlock()
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
	return source(s, "FromSlice", false, func(e *emitter[T]) error {
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
// when the scope is cancelled; a sequence that blocks between items must
// itself watch [Scope.Context], or Wait waits for it.
//
// An item yielded while the next stage is busy waits in the source's batch
// and goes on as soon as the stage is free, even if the sequence is blocked
// by then, so a sequence may wait for the pipeline to finish with one item
// before it yields the next (TestGenerateFeedback).
func FromSeq[T any](s *Scope, seq iter.Seq[T]) *Stream[T] {
	checkScope("FromSeq", s)
	checkFunc("FromSeq", "seq", seq == nil)
	return generate(s, "FromSeq", func(_ context.Context, yield func(T) bool) error {
		seq(yield)
		return nil
	})
}

// Generate returns a stream of the values that gen passes to yield, in
// order: the talk's generator, run on the stream's own goroutine. yield
// returns false once the scope is cancelled; gen should then return, and
// every later yield is ignored. If gen returns an error, the scope fails
// with it, as a stage error. The notes on blocking in [FromSeq] apply. It
// panics if gen is nil.
func Generate[T any](s *Scope, gen func(ctx context.Context, yield func(T) bool) error) *Stream[T] {
	checkScope("Generate", s)
	checkFunc("Generate", "gen", gen == nil)
	return generate(s, "Generate", gen)
}

// generate is Generate, for the source typ.
func generate[T any](s *Scope, typ string, gen func(ctx context.Context, yield func(T) bool) error) *Stream[T] {
	return source(s, typ, true, func(e *emitter[T]) error {
		h := e.st.held
		stopped := false
		err := gen(s.ctx, func(v T) bool {
			if stopped || s.canceled() {
				stopped = true
				return false
			}
			h.mu.Lock()
			ok := e.tryAdd(v) || e.add(v)
			held := e.n > 0
			if held != h.has.Load() {
				h.has.Store(held)
			}
			h.mu.Unlock()
			if held && e.waiting.Load() > 0 {
				// A consumer came to wait while the lock was held: it may
				// have found the lock taken and gone to park, and once
				// gen has the control back nobody else would hand the
				// batch on. It is waiting, so the send will not block for
				// long. (If it did take the batch, there is nothing left
				// to flush.)
				h.mu.Lock()
				ok = e.flush() && ok
				h.has.Store(e.n > 0)
				h.mu.Unlock()
			}
			if !ok {
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
	return source(s, "FromChan", false, func(e *emitter[T]) error {
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
