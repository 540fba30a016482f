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
// the end of in cut a batch. It panics if in is nil, size < 1 (or so large
// that one slice would pass a GiB), or maxWait < 0.
//
// Each slice is new and belongs to the receiver; its memory follows the
// items it holds, not size. Batch is for consumers that want groups (a
// bulk insert, a batched RPC); the pipeline's own batching between stages
// needs no Batch stage (see the package documentation).
func Batch[T any](in *Stream[T], size int, maxWait time.Duration) *Stream[[]T] {
	checkStream("Batch", in)
	lifecycle.Min(pkg, "Batch", "size", size, 1)
	lifecycle.UpFront[T](pkg, "Batch", "size", size)
	lifecycle.NonNegative(pkg, "Batch", "maxWait", maxWait)
	in.take("Batch")
	in.pump()
	s := in.s
	name, labels := s.stage("Batch")
	out := newStream[[]T](s, name, 1)
	s.spawn(name, labels.With("worker", "1"), func() (err error) {
		returned := false
		defer func() {
			if !returned || err != nil || in.cut.Load() {
				out.cut.Store(true)
			}
			close(out.ch)
		}()
		e := newEmitter(out, 0, s.done)
		var cur []T
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
		// cut hands on the open batch.
		cut := func() bool {
			if tick != nil {
				timer.Stop()
				tick = nil
			}
			b := cur
			cur = nil
			return e.add(b)
		}
		for {
			// The select below may keep finding input ready; checking
			// here bounds what Batch takes in after a cancellation.
			if s.canceled() {
				returned = true
				return errCanceled
			}
			// Wait for input or the open batch's deadline. A cut batch
			// is published (see emitter), so the consumer takes it
			// while Batch waits here: nothing is held back but the open
			// batch, which is what Batch is for.
			in.enter()
			b := in.claim()
			ok := true
			if b == nil {
				if s.hook != nil {
					s.hook("batch", -1)
				}
				select {
				case b, ok = <-in.ch:
					if !ok {
						b, ok = in.last()
					}
				case <-in.bell: // nil unless in has several producers
					in.leave()
					continue
				case <-tick:
					in.leave()
					tick = nil
					if !cut() {
						returned = true
						return errCanceled
					}
					continue
				case <-s.done:
					in.leave()
					returned = true
					return errCanceled
				}
			}
			if !ok {
				// The input ended: the last, partial batch goes out. It is
				// published even if the scope is cancelled meanwhile (see
				// emitter.add): the stream is complete either way.
				returned = true
				if len(cur) > 0 {
					cut()
				}
				return nil
			}
			for i, v := range b {
				if cur == nil {
					// Room for the items at hand, up to size: a batch's
					// memory grows with its items, by append, and never
					// starts at size.
					cur = make([]T, 0, min(size, len(b)-i))
					if maxWait > 0 {
						if timer == nil {
							timer = time.NewTimer(maxWait)
						} else {
							timer.Reset(maxWait)
						}
						tick = timer.C
					}
				}
				cur = append(cur, v)
				if len(cur) == size && !cut() {
					returned = true
					return errCanceled
				}
			}
			in.put(b)
		}
	})
	return out
}

// Unbatch returns a stream of the items of the slices of in, in order: the
// inverse of [Batch]. The items of one slice stay together. It panics if
// in is nil.
func Unbatch[T any](in *Stream[[]T]) *Stream[T] {
	checkStream("Unbatch", in)
	return run(in, "Unbatch", 1, func(ctx context.Context, items [][]T, e *emitter[T]) error {
		for _, v := range items {
			if e.s.canceled() || !e.addAll(v) {
				return errCanceled
			}
		}
		return nil
	})
}
