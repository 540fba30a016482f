package pipeline

import (
	"context"
	"sync/atomic"

	"github.com/go-compendium/compendium/internal/lifecycle"
)

// windowPerWorker and windowMin set an ordered stage's reorder window: how
// many items may be taken from the input ahead of the oldest one not yet
// out, when one item is slow and the others run ahead.
const (
	windowPerWorker = 64
	windowMin       = 2 * maxBatch
)

// numbered is an item with its place in the input.
type numbered[T any] struct {
	seq uint64
	v   T
}

// kept is one item of an OrderedFilter: the item, and whether to keep it.
type kept[T any] struct {
	v    T
	keep bool
}

// OrderedMap is [Map] with the output in the input's order, whatever the
// number of workers. It panics if in or f is nil or workers is below 1.
// Errors and cancellation work as for Map, and the workers take items one
// at a time as Map's do.
//
// A one-goroutine dispatcher numbers the items, the workers compute them in
// any order, and a one-goroutine collector puts the results back in order.
// When one item is slow, the others run ahead of it by at most the reorder
// window (64 items per worker, at least 512), and then the dispatcher
// waits, so memory stays bounded. With one worker, OrderedMap is Map with
// one worker.
func OrderedMap[T, U any](in *Stream[T], workers int, f func(context.Context, T) (U, error)) *Stream[U] {
	checkStream("OrderedMap", in)
	checkWorkers("OrderedMap", workers)
	checkFunc("OrderedMap", "f", f == nil)
	return ordered(in, "OrderedMap", workers, f, func(e *emitter[U], u U) bool { return e.add(u) })
}

// OrderedFilter is [Filter] with the output in the input's order, whatever
// the number of workers, as [OrderedMap] is to Map. It panics if in or
// keep is nil or workers is below 1.
func OrderedFilter[T any](in *Stream[T], workers int, keep func(context.Context, T) (bool, error)) *Stream[T] {
	checkStream("OrderedFilter", in)
	checkWorkers("OrderedFilter", workers)
	checkFunc("OrderedFilter", "keep", keep == nil)
	test := func(ctx context.Context, v T) (kept[T], error) {
		ok, err := keep(ctx, v)
		return kept[T]{v, ok}, err
	}
	return ordered(in, "OrderedFilter", workers, test, func(e *emitter[T], k kept[T]) bool {
		return !k.keep || e.add(k.v)
	})
}

// OrderedFlatMap is [FlatMap] with the calls in the input's order, whatever
// the number of workers, as [OrderedMap] is to Map: the items of one call
// stay together and in order, and the calls come out in the order of the
// items they were called on. It panics if in or f is nil or workers is
// below 1. f may reuse its slice's array.
func OrderedFlatMap[T, U any](in *Stream[T], workers int, f func(context.Context, T) ([]U, error)) *Stream[U] {
	checkStream("OrderedFlatMap", in)
	checkWorkers("OrderedFlatMap", workers)
	checkFunc("OrderedFlatMap", "f", f == nil)
	call := func(ctx context.Context, v T) ([]U, error) {
		us, err := f(ctx, v)
		if len(us) == 0 || err != nil {
			return nil, err
		}
		// A copy: the collector emits it later, after f may have reused
		// its array.
		return append(make([]U, 0, len(us)), us...), nil
	}
	return ordered(in, "OrderedFlatMap", workers, call, func(e *emitter[U], us []U) bool { return e.addAll(us) })
}

// ordered builds an order-keeping stage of type typ: compute runs on the
// items on workers goroutines, and emit hands each result on in the
// input's order.
func ordered[T, R, U any](in *Stream[T], typ string, workers int, compute func(context.Context, T) (R, error), emit func(*emitter[U], R) bool) *Stream[U] {
	window := max(windowMin, windowPerWorker*workers)
	lifecycle.UpFront[slot[R]](pkg, typ, "a reorder window for workers, of", window)
	in.take(typ)
	s := in.s
	name, labels := s.stage(typ)
	if workers == 1 {
		// One worker keeps the order by itself: no numbering, no ring.
		return start(in, name, labels, 1, func(ctx context.Context, items []T, e *emitter[U]) error {
			for _, v := range items {
				if e.s.canceled() {
					return errCanceled
				}
				r, err := compute(ctx, v)
				if err != nil {
					return err
				}
				if !emit(e, r) {
					return errCanceled
				}
			}
			return nil
		})
	}

	// emitted is how many results the collector has handed on; credit
	// wakes the dispatcher when it waits for the window to move.
	var emitted atomic.Uint64
	credit := make(chan struct{}, 1)

	// The dispatcher numbers the items; it waits, with what it numbered
	// on its shelf for the workers, when the window is full.
	var next uint64
	numberedIn := start(in, name, labels.With("role", "dispatch"), 1, func(ctx context.Context, items []T, e *emitter[numbered[T]]) error {
		for _, v := range items {
			for next-emitted.Load() >= uint64(window) {
				if s.hook != nil {
					s.hook("credit", -1)
				}
				select {
				case <-credit:
				case <-s.done:
					return errCanceled
				}
			}
			if x := (numbered[T]{next, v}); !e.tryAdd(x) && !e.add(x) {
				return errCanceled
			}
			next++
		}
		return nil
	})

	// The workers: the crew of Map, computing numbered items in any order
	// and taking them one at a time, so that nothing is held back from an
	// idle worker. The alternative, a piece of each batch per worker,
	// strands a piece behind a worker blocked in f.
	results := start(numberedIn, name, labels, workers, func(ctx context.Context, items []numbered[T], e *emitter[numbered[R]]) error {
		for _, x := range items {
			if e.s.canceled() {
				return errCanceled
			}
			r, err := compute(ctx, x.v)
			if err != nil {
				return err
			}
			if y := (numbered[R]{x.seq, r}); !e.tryAdd(y) && !e.add(y) {
				return errCanceled
			}
		}
		return nil
	})

	// The collector puts the results back in order in a ring as large as
	// the window: every result in flight has a number less than window
	// past the oldest one not yet out, so each has a slot of its own.
	out := newStream[U](s, name, 1)
	s.spawn(name, labels.With("role", "collect"), func() (err error) {
		returned := false
		defer func() {
			if !returned || err != nil || results.cut.Load() {
				out.cut.Store(true)
			}
			close(out.ch)
		}()
		e := newEmitter(out, 0, s.done)
		ring := make([]slot[R], window)
		var head uint64 // the number of the next result to hand on
		for {
			b, ok := results.recv()
			if !ok {
				// Every numbered item came back (or the scope was
				// cancelled, and the workers' stream says so by being
				// cut): whatever is in the ring past a gap stays there.
				returned = true
				return nil
			}
			for _, x := range b {
				ring[x.seq%uint64(window)] = slot[R]{x.seq + 1, x.v}
			}
			results.put(b)
			moved := false
			for {
				sl := &ring[head%uint64(window)]
				if sl.seq != head+1 {
					break
				}
				r := sl.r
				*sl = slot[R]{}
				if !emit(e, r) {
					returned = true
					return errCanceled
				}
				head++
				moved = true
			}
			// Let the dispatcher run ahead again. The store comes before
			// the wake-up, and the dispatcher loads after it waits, so
			// a wake-up it misses leaves a token it will find.
			if moved {
				emitted.Store(head)
				select {
				case credit <- struct{}{}:
				default:
				}
			}
		}
	})
	return out
}

// slot is one place in an ordered stage's ring: seq is the number of the
// result it holds plus one, 0 when empty.
type slot[R any] struct {
	seq uint64
	r   R
}
