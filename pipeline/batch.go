package pipeline

import (
	"context"
	"time"

	"github.com/go-compendium/compendium/internal/lifecycle"
)

// Batch returns a stream of slices of the items of in, in order: a slice
// goes out when it holds size items, or when maxWait has passed since its
// first item arrived, whichever comes first, and the last, partial slice
// goes out when in ends. A maxWait of 0 means no time limit: only size and
// the end of in cut a batch. It panics if size < 1 or maxWait < 0.
//
// Each slice is new and belongs to the receiver. Batch is for consumers
// that want groups (a bulk insert, a batched RPC); the pipeline's own
// batching between stages needs no Batch stage (see the package
// documentation).
func Batch[T any](in *Stream[T], size int, maxWait time.Duration) *Stream[[]T] {
	checkStream("Batch", in)
	lifecycle.Min(pkg, "Batch", "size", size, 1)
	lifecycle.UpFront[T](pkg, "Batch", "size", size)
	lifecycle.NonNegative(pkg, "Batch", "maxWait", maxWait)
	in.take("Batch")
	s := in.s
	_, labels := s.stage("Batch")
	out := newStream[[]T](s)
	s.spawn(labels, 1, func(quit <-chan struct{}) error {
		defer close(out.ch)
		e := newEmitter(out, quit)
		cur := make([]T, 0, size)
		// One timer for the stage's life, reset per batch rather than made
		// per batch (the talk's recycler re-created one on every loop).
		// Since Go 1.23 Stop and Reset leave no stale tick in timer.C, so
		// there is nothing to drain; tick is nil (its case off) whenever no
		// batch is open.
		var timer *time.Timer
		var tick <-chan time.Time
		defer func() {
			if timer != nil {
				timer.Stop()
			}
		}()
		// cut hands on the open batch and starts a new one.
		cut := func() bool {
			if tick != nil {
				timer.Stop()
				tick = nil
			}
			b := cur
			cur = make([]T, 0, size)
			return e.add(b)
		}
		for {
			var b []T
			ok, got, ticked := true, false, false
			if b = in.enter(); b != nil {
				got = true // taken from a generator that held it back
			} else {
				select {
				case b, ok = <-in.ch:
					got = true
				case <-tick:
					ticked = true
				case e.out() <- e.batch():
					e.sent()
				case <-e.done:
					in.leave()
					return errCanceled
				}
			}
			if !got || !ok {
				in.leave()
			}
			switch {
			case ticked:
				tick = nil
				if !cut() {
					return errCanceled
				}
			case got && !ok:
				if len(cur) > 0 && !cut() {
					return errCanceled
				}
				return e.finish()
			case got:
				for _, v := range b {
					if len(cur) == 0 && maxWait > 0 {
						if timer == nil {
							timer = time.NewTimer(maxWait)
						} else {
							timer.Reset(maxWait)
						}
						tick = timer.C
					}
					cur = append(cur, v)
					if len(cur) == size && !cut() {
						return errCanceled
					}
				}
				in.put(b)
			}
		}
	})
	return out
}

// Unbatch returns a stream of the items of the slices of in, in order: the
// inverse of [Batch].
func Unbatch[T any](in *Stream[[]T]) *Stream[T] {
	checkStream("Unbatch", in)
	return run(in, "Unbatch", 1, func(_ context.Context, items [][]T, e *emitter[T]) error {
		for _, v := range items {
			if e.canceled() || !e.addAll(v) {
				return errCanceled
			}
		}
		return nil
	})
}

// Buffer returns in unchanged, with room for n items between it and the next
// stage: upstream can run up to about n items ahead of a slow consumer
// (n plus one batch, at most 256 items, since items arrive in batches), and
// then it waits. Stages need no buffer to run at full speed; Buffer is for
// smoothing a bursty consumer. It panics if n < 1.
func Buffer[T any](in *Stream[T], n int) *Stream[T] {
	checkStream("Buffer", in)
	lifecycle.Min(pkg, "Buffer", "n", n, 1)
	lifecycle.UpFront[T](pkg, "Buffer", "n", n)
	in.take("Buffer")
	s := in.s
	_, labels := s.stage("Buffer")
	out := newStream[T](s)
	s.spawn(labels, 1, func(done <-chan struct{}) error {
		defer close(out.ch)
		var queue [][]T // batches of out's size; all full but the last
		held := 0
		src := in.ch
		for {
			recv := src
			if held >= n {
				recv = nil // full: stop taking input
			}
			var send chan<- []T
			var head []T
			if len(queue) > 0 {
				send, head = out.ch, queue[0]
			}
			if recv == nil && send == nil {
				return nil // input ended and everything went out
			}
			var b []T
			ok, got := true, false
			if recv != nil {
				b = in.enter()
				got = b != nil // taken from a generator that held it back
			}
			if !got {
				select {
				case b, ok = <-recv:
					got = true
				case send <- head:
					out.handed()
					held -= len(head)
					queue[0] = nil
					queue = queue[1:]
				case <-done:
					if recv != nil {
						in.leave()
					}
					return errCanceled
				}
			}
			if recv != nil && (!got || !ok) {
				in.leave()
			}
			switch {
			case got && !ok:
				src = nil
			case got:
				// Copy into the tail batch so that a burst of lone items
				// does not hold one batch array per item.
				for _, v := range b {
					if len(queue) == 0 || len(queue[len(queue)-1]) == out.max {
						queue = append(queue, out.get())
					}
					queue[len(queue)-1] = append(queue[len(queue)-1], v)
				}
				held += len(b)
				in.put(b)
			}
		}
	})
	return out
}
