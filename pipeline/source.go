package pipeline

import (
	"context"
	"iter"

	"github.com/go-compendium/compendium/internal/lifecycle"
)

// source starts a goroutine in s, a source of type typ, that feeds a new
// stream through produce, and returns the stream. The goroutine closes the
// stream when it returns; what it published stays on its shelf for the
// consumer to take.
func source[T any](s *Scope, typ string, produce func(e *emitter[T]) error) *Stream[T] {
	name, labels := s.stage(typ)
	out := newStream[T](s, name, 1)
	feed(out, labels.With("worker", "1"), produce)
	return out
}

// feed starts the goroutine of a source, labelled l, that feeds out
// through produce.
func feed[T any](out *Stream[T], l lifecycle.Labels, produce func(e *emitter[T]) error) {
	s := out.s
	s.spawn(out.name, l, func() (err error) {
		returned := false
		defer func() {
			if !returned || err != nil {
				out.cut.Store(true)
			}
			close(out.ch)
		}()
		if s.canceled() {
			returned = true
			return errCanceled // already cancelled: produce nothing
		}
		err = produce(newEmitter(out, 0, s.done))
		returned = true
		if err != nil && err != errCanceled {
			return s.failed(err)
		}
		return err
	})
}

// FromSlice returns a stream of the items of xs, in order. The items are
// copied into the pipeline's batches as they go; xs must not change until
// the stream has been consumed. An empty xs gives a stream that ends at
// once. It panics if s is nil.
func FromSlice[T any](s *Scope, xs []T) *Stream[T] {
	checkScope("FromSlice", s)
	return source(s, "FromSlice", func(e *emitter[T]) error {
		for i, v := range xs {
			// Checked every 64 items rather than every item: a consumer
			// that keeps taking (a sink draining the stream) would
			// otherwise take the whole slice after a cancellation.
			if i&63 == 0 && s.canceled() || !e.tryAdd(v) && !e.add(v) {
				return errCanceled
			}
		}
		return nil
	})
}

// FromSeq returns a stream of the values of seq, in order. The sequence is
// ranged on the stream's own goroutine and stopped (its yield returns false)
// when the scope is cancelled; a sequence that blocks between items must
// itself watch [Scope.Context], or Wait waits for it. It panics if s or seq
// is nil.
//
// A value yielded while the next stage is busy goes on as soon as the
// stage is free, even if the sequence is blocked by then, so a sequence may
// wait for the pipeline to finish with one value before it yields the next.
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
// returns false once the scope is cancelled (at once after a failure, a
// consumer's stop or Close; after a parent's cancel, as soon as a stage
// has seen it, or within 64 yields); gen should then return, and every
// later yield is ignored. gen's own waits should watch ctx, which is done
// at once. If gen returns an error, the scope fails with it, as a stage
// error. The notes on blocking in [FromSeq] apply. It panics if s or gen
// is nil.
func Generate[T any](s *Scope, gen func(ctx context.Context, yield func(T) bool) error) *Stream[T] {
	checkScope("Generate", s)
	checkFunc("Generate", "gen", gen == nil)
	return generate(s, "Generate", gen)
}

// generate is Generate, as a source of type typ.
func generate[T any](s *Scope, typ string, gen func(ctx context.Context, yield func(T) bool) error) *Stream[T] {
	return source(s, typ, func(e *emitter[T]) error {
		stopped := false
		i := 0
		err := gen(s.ctx, func(v T) bool {
			// The scope's dead flag every item, and the context itself
			// every 64, for a parent's cancel that no stage has seen yet
			// (see Scope.dead).
			if i++; stopped || s.dead.Load() || i&63 == 0 && s.canceled() || !e.tryAdd(v) && !e.add(v) {
				stopped = true
				return false
			}
			return true
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
// open, without items, until the scope is cancelled. It panics if s is
// nil. [ToChan] is the way back out.
func FromChan[T any](s *Scope, ch <-chan T) *Stream[T] {
	checkScope("FromChan", s)
	// No goroutine yet: a consumer that only waits for input (a stage
	// with one worker, a sink) receives from ch itself, which is what a
	// hand-written stage reading ch would do, and saves a hand-over per
	// item; the others start a goroutine that pumps ch (Stream.pump).
	name, labels := s.stage("FromChan")
	out := newStream[T](s, name, 1)
	out.src, out.lazy, out.labels = ch, true, labels.With("worker", "1")
	return out
}

// pump turns a stream that reads FromChan's channel lazily into one fed
// through its channel and shelf by a goroutine of its own, for a consumer
// that waits for input in a select of its own (several workers, Batch,
// Buffer). The consumer calls it as it takes st.
func (st *Stream[T]) pump() {
	if !st.lazy {
		return
	}
	st.lazy = false
	ch, done := st.src, st.s.done
	feed(st, st.labels, func(e *emitter[T]) error {
		for {
			select {
			case v, ok := <-ch:
				if !ok {
					return nil
				}
				if !e.tryAdd(v) && !e.add(v) {
					return errCanceled
				}
			case <-done:
				return errCanceled
			}
		}
	})
}
