package pipeline

import (
	"context"
	"sync"
	"sync/atomic"
)

// step processes items of a stage, in order, adding what it produces to e
// and checking e.canceled before each item. An error ends the stage;
// errCanceled means the scope was cancelled. A step takes a run of items
// rather than one so that the stage's loop costs no indirect call per item
// beyond the caller's function.
type step[T, U any] func(ctx context.Context, items []T, e *emitter[U]) error

// run starts the workers of a stage that calls f on every item of in, and
// returns the stream they feed. The last worker to exit closes it.
func run[T, U any](in *Stream[T], op string, workers int, f step[T, U]) *Stream[U] {
	in.take(op)
	_, labels := in.s.stage(op)
	out := newStream[U](in.s)
	var c *crew[T]
	if workers > 1 {
		c = &crew[T]{share: make(chan []T, workers), allDone: make(chan struct{})}
	}
	var live atomic.Int32
	live.Store(int32(workers))
	for i := range workers {
		in.s.spawn(labels, i+1, func(quit <-chan struct{}) error {
			// Closing on every exit, failure included, is the Go blog's rule
			// (a stage closes its outbound channel when its sends are done),
			// so that a receiver is never left waiting on a stage that is gone.
			defer func() {
				if live.Add(-1) == 0 {
					close(out.ch)
				}
			}()
			return work(in, out, c, workers, f, quit)
		})
	}
	return out
}

// crew is what the workers of one multi-worker stage share, so that the
// batches of opportunistic batching do not cost parallelism. Without it,
// FromSlice of 8 slow items into Map with 8 workers would hand all 8 items
// to one worker in one batch and run them one after another.
//
// Work spreads two ways. A worker that receives a batch from the input
// splits it at once into one piece per worker, keeps the first, and queues
// the others on share, a channel buffered to one piece per worker, where
// any worker takes them when it is free: a worker parked in its receive at
// once, one still busy or not yet started when it next looks. Then, between
// items, a worker with items left gives half of them to a worker that is
// waiting (counted in the input's waiting), which evens out the tail when
// items take unequal times. TestMapShareBatch: 32 one-second items on 8
// workers take 4 to 6 s in 98% of runs, where 4 is the floor (and 32 the
// time of one worker); the tail seen is 9 s, with 5 workers busy at once.
//
// The alternative, idle workers stealing from busy ones, would also even out
// the tail at once, but needs the busy worker to claim each item atomically
// (a CAS per item, contended by thieves) and a generation count against
// reuse of its batch; queued pieces and donation cost one load per item and
// no shared write.
type crew[T any] struct {
	share   chan []T      // pieces for any worker; buffered, one per worker
	busy    atomic.Int32  // pieces held by workers or queued on share
	inDone  atomic.Bool   // the input stream is closed
	allDone chan struct{} // closed once the input is closed and no piece is left (a hint: see check)
	once    sync.Once
}

// check closes allDone if no more work is likely to come: the input is
// closed and no piece is held or queued. Workers that saw the input
// close wait for allDone rather than exit, so that they can still take
// pieces at the tail of the stream. (A worker that has just received a
// batch but not yet counted itself busy may let allDone close early; the
// pieces it then queues are taken by the workers on their way out, see
// work, which costs parallelism, never items.)
func (c *crew[T]) check() {
	if c.inDone.Load() && c.busy.Load() == 0 {
		c.once.Do(func() { close(c.allDone) })
	}
}

// offer queues a copy of b[lo:] on share for any worker, and reports
// whether there was room. The copy goes in a batch from the free list, so
// that both arrays are recycled as usual. (Queuing b[lo:] itself would save
// the copy, but then neither worker could recycle the shared array: at full
// load, where every batch gets split, that was one 2 KiB allocation per
// batch, BenchmarkSoak.)
func (c *crew[T]) offer(in *Stream[T], b []T, lo int) bool {
	d := append(in.get(), b[lo:]...)
	c.busy.Add(1) // before the send, so that allDone cannot close while d is queued
	select {
	case c.share <- d:
		clear(b[lo:]) // nothing reachable from the part given away
		return true
	default:
		c.busy.Add(-1)
		in.put(d)
		return false
	}
}

// split cuts a batch just received from the input into one piece per
// worker, queues all but the first, and returns the first (or more, if the
// queue was full).
func (c *crew[T]) split(in *Stream[T], b []T, workers int) []T {
	size := (len(b) + workers - 1) / workers
	for lo := (len(b) - 1) / size * size; lo > 0; lo -= size {
		if !c.offer(in, b, lo) {
			break
		}
		b = b[:lo]
	}
	return b
}

// work is one worker of a stage: it receives batches from in (or donations
// from its crew), calls f on each item, and feeds out through an emitter.
func work[T, U any](in *Stream[T], out *Stream[U], c *crew[T], workers int, f step[T, U], done <-chan struct{}) error {
	ctx := in.s.ctx
	e := newEmitter(out, done)
	src := in.ch
	var share <-chan []T
	var allDone <-chan struct{}
	if c != nil {
		share, allDone = c.share, c.allDone
	}
	for {
		var b []T
		ok, fromIn, sent, finished := true, false, false, false
		if b = in.enter(); b != nil {
			fromIn = true // taken from a generator that held it back
		} else if c == nil && e.n == 0 {
			// Nothing to send and no crew: just wait for input. A plain
			// receive needs no quit case, because cancellation reaches
			// this stage as its input closing: every stage closes its
			// output when it exits, and the sources, which receive from
			// nothing of ours, exit on cancellation. It costs half what a
			// select does, and an idle pipeline's latency is made of
			// these receives (BenchmarkFirstItem: 1.1 µs with selects,
			// 0.8 without). Wait takes no longer for it: it joins every
			// stage anyway.
			b, ok = <-src
			fromIn = true
		} else {
			// One select waits for input, a donation, or the consumer
			// taking the pending batch; the cases that cannot apply are
			// nil channels. Here the quit case is needed: a send blocks
			// until the consumer takes the batch, which it will not do
			// once cancelled.
			select {
			case b, ok = <-src:
				fromIn = true
			case b = <-share:
			case e.out() <- e.batch():
				e.sent()
				sent = true
			case <-allDone:
				finished = true
			case <-done:
				in.leave()
				return errCanceled
			}
		}
		if !fromIn || !ok {
			in.leave() // the sender uncounts a consumer it hands a batch to
		}
		if finished {
			// No worker should hold work now, but one that received a
			// batch just as the input closed may have queued pieces of
			// it after allDone closed: whoever exits takes those first,
			// and since that worker drains the queue too before it
			// exits, the last worker out leaves it empty.
			select {
			case b = <-share:
			default:
				return e.finish()
			}
		}
		switch {
		case sent:
			continue
		case finished:
			// a piece from the queue: process it below
		case !ok && c == nil:
			return e.finish()
		case !ok:
			// Keep going without input: other workers may still donate.
			src = nil
			c.inDone.Store(true)
			c.check()
			continue
		}
		if fromIn && c != nil {
			c.busy.Add(1)
		}
		if c == nil {
			if err := f(ctx, b, e); err != nil {
				return in.s.failed(err)
			}
			in.put(b)
		} else {
			if fromIn && len(b) > 1 {
				b = c.split(in, b, workers)
			}
			for i := 0; i < len(b); i++ {
				// A worker of this stage waiting on in is idle: give it
				// half of what is left.
				if len(b)-i > 1 && in.idle() {
					if mid := i + (len(b)-i+1)/2; c.offer(in, b, mid) {
						b = b[:mid]
					}
				}
				if err := f(ctx, b[i:i+1], e); err != nil {
					return in.s.failed(err)
				}
			}
			in.put(b)
			c.busy.Add(-1)
			c.check()
		}
	}
}
