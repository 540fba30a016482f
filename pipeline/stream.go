package pipeline

import (
	"reflect"
	"sync/atomic"
	"unsafe"

	"github.com/go-compendium/compendium/internal/lifecycle"
)

// maxBatch is the most items one hand-over between stages carries. At full
// load batches grow to it; larger batches only add to the memory each edge
// holds (see pipeline.ThreeStage in bench/RESULTS.md for what 256 buys).
const maxBatch = 256

// maxBatchBytes bounds one batch's backing array for large element types,
// so that an edge of 4 KiB structs does not hold megabytes.
const maxBatchBytes = 64 << 10

// freeBatches is how many empty batches each stream keeps for reuse: one
// per producer being filled, one in the consumer's hands, one in flight,
// and slack.
const freeBatches = 8

// Stream is the output of a source or stage: a sequence of T flowing to the
// one stage or sink that consumes it. A Stream belongs to the [Scope] that
// made it, and every stage that consumes it runs in that scope, which is why
// stages take the stream alone and no scope argument.
//
// Items travel between stages in batches (see the package documentation),
// but every function you pass sees one item at a time, and nothing a
// channel would deliver is held back.
//
// A Stream is consumed once: passing it to a second stage or sink panics,
// since two consumers would each get an arbitrary share of the items. To
// fan out, run [Map] with more workers. The zero value is not usable; a
// Stream is always handled by pointer and must not be copied. Its methods
// are safe for concurrent use.
//
// Cost: a batch per producer and per consumer in flight, recycled; see
// pipeline.Soak in bench/RESULTS.md.
type Stream[T any] struct {
	s    *Scope
	name string   // the stage that produces it, "Map#2"
	ch   chan []T // unbuffered: a batch changes hands only when the consumer is ready
	free chan []T // recycled empty batches: a bounded free list, never blocks
	// spare is one recycled batch's array, in front of free: an idle
	// pipeline moves one-item batches, and recycling each through the
	// channel would cost two channel operations per item and edge, where
	// the slot costs two atomics.
	spare atomic.Pointer[T]
	max   int  // items per batch at most
	clear bool // T holds pointers: clear recycled batches

	// src is FromChan's channel while nobody pumps it into batches: a
	// consumer that only ever waits for input (one worker, a sink)
	// receives from it itself, which saves a goroutine and a hand-over
	// per item (see FromChan). labels are the pump's, if one is started.
	src    <-chan T
	own    []T  // the consumer's batch for what it reads from src; one more than max, so put knows it
	lazy   bool // src is read by the consumer
	ended  bool // the consumer saw src close, or the scope cancelled
	labels lifecycle.Labels

	// shelves are the producers' pending items, one shelf per producing
	// goroutine, set before any of them starts: a consumer about to wait
	// takes what a producer holds back (see shelf).
	shelves []*shelf[T]
	// bell, for a stream with several producers, tells a waiting consumer
	// to look at the shelves again: a producer that finds the consumer
	// counted as waiting but not yet parked rings it (buffered, one
	// ring), where a lone producer waits to hand its batch over. A
	// producer that waited there would stop producing until the consumer
	// had taken another producer's batch, and would then hand over its
	// own, a few items at a time (pipeline.MapWorkers). nil with one
	// producer: a consumer then waits in a plain receive.
	bell chan struct{}

	taken   atomic.Pointer[string] // the stage or sink consuming st
	cut     atomic.Bool            // st ended because the scope was cancelled, not because its input did
	dropped atomic.Uint64          // items a dropping Buffer discarded

	_ [64]byte // waiting, written by the consumer, read by producers per item, on a line of its own
	// waiting counts the consumers looking for input: in a receive on ch,
	// about to be, or scanning the shelves. A producer that publishes an
	// item and sees a consumer waiting hands its items on (offer); one
	// that sees none keeps batching. A consumer counts itself before it
	// scans the shelves and the producer publishes before it looks, so
	// that one of the two always sees the other. The producer that hands
	// a batch to a waiting consumer uncounts it (handed), at once, rather
	// than the consumer when it gets to run; a consumer that takes items
	// from a shelf, or leaves its wait any other way, uncounts itself.
	waiting atomic.Int32
	_       [60]byte
}

// newStream returns a stream of s, the output of the stage name, fed by
// producers goroutines.
func newStream[T any](s *Scope, name string, producers int) *Stream[T] {
	n := maxBatch
	if size := int(unsafe.Sizeof(*new(T))); size > 0 && n*size > maxBatchBytes {
		n = max(1, maxBatchBytes/size)
	}
	st := &Stream[T]{
		s: s, name: name, ch: make(chan []T), free: make(chan []T, freeBatches), max: n,
		clear: hasPointers(reflect.TypeFor[T]()),
	}
	st.shelves = make([]*shelf[T], producers)
	for i := range st.shelves {
		st.shelves[i] = new(shelf[T])
	}
	if producers > 1 {
		st.bell = make(chan struct{}, 1)
	}
	return st
}

// Dropped returns how many items the [Buffer] that made st has discarded
// so far under a dropping [Policy]. It is 0 for every other stream. It may
// be called at any time, from any goroutine.
func (st *Stream[T]) Dropped() uint64 { return st.dropped.Load() }

// checkStream panics if the stage or sink fn was given no stream.
func checkStream[T any](fn string, st *Stream[T]) {
	lifecycle.NotNil(pkg, fn, "in", st == nil)
}

// take marks st consumed by the stage or sink fn, or panics if it already
// has a consumer. Constructors call it after their other checks, so that a
// call that panics leaves st free.
func (st *Stream[T]) take(fn string) {
	if !st.taken.CompareAndSwap(nil, &fn) {
		lifecycle.Panicf(pkg, fn, "in already has a consumer (%s), got a second one", *st.taken.Load())
	}
}

// enter counts a consumer that looks for input; leave uncounts one that
// stops looking without having been handed a batch.
func (st *Stream[T]) enter() { st.waiting.Add(1) }
func (st *Stream[T]) leave() { st.waiting.Add(-1) }

// handed uncounts the consumer a producer just sent a batch to.
func (st *Stream[T]) handed() { st.waiting.Add(-1) }

// recv is the whole receive of a consumer that waits for nothing but
// input: the items a producer holds on its shelf, else a batch from ch,
// else, once ch is closed, whatever the producers left on their shelves.
// It needs no cancellation case: a cancelled scope's producers stop and
// close ch. ok is false once st has ended.
func (st *Stream[T]) recv() (b []T, ok bool) {
	if st.lazy {
		return st.recvChan()
	}
	st.enter()
	for {
		if b = st.claim(); b != nil {
			return b, true
		}
		if st.s.hook != nil {
			st.s.hook("recv "+st.name, -1)
		}
		if st.bell == nil {
			b, ok = <-st.ch
		} else {
			select {
			case b, ok = <-st.ch:
			case <-st.bell:
				continue // a producer published after we looked
			}
		}
		if ok {
			return b, true // the producer uncounted us
		}
		return st.last()
	}
}

// ring tells a consumer of a stream with several producers to look at the
// shelves again (see Stream.bell).
func (st *Stream[T]) ring() {
	select {
	case st.bell <- struct{}{}:
	default: // already rung
	}
}

// recvChan is recv for a stream that reads FromChan's channel itself: one
// item, and whatever else the channel has ready, up to a batch. On
// cancellation the stream ends, cut, and reports it as a source would.
func (st *Stream[T]) recvChan() ([]T, bool) {
	s := st.s
	if st.ended {
		return nil, false
	}
	if s.canceled() {
		return st.stopChan()
	}
	var b []T
	select {
	case v, ok := <-st.src:
		if !ok {
			st.ended = true
			return nil, false
		}
		// The consumer's own array, every time: it is done with the
		// last batch before it asks for the next (and put leaves this
		// array alone), so no recycling through the free list is needed.
		if st.own == nil {
			st.own = make([]T, 0, st.max+1)
		}
		b = append(st.own[:0], v)
	case <-s.done:
		return st.stopChan()
	}
	// Take what the channel has buffered too, up to a batch. (An
	// unbuffered channel has nothing ready but a sender parked on it, and
	// the look costs a channel operation on every item of an idle
	// pipeline.)
	for len(b) < st.max && len(st.src) > 0 {
		select {
		case v, ok := <-st.src:
			if !ok {
				st.ended = true
				return b, true
			}
			b = append(b, v)
		default:
			return b, true
		}
	}
	return b, true
}

// stopChan ends a stream that reads FromChan's channel itself, because
// the scope was cancelled.
func (st *Stream[T]) stopChan() ([]T, bool) {
	st.ended = true
	st.cut.Store(true)
	st.s.fail(errCanceled)
	return nil, false
}

// last is a counted consumer's step once ch is closed: the producers are
// gone, and what they left on their shelves is the end of the stream.
func (st *Stream[T]) last() ([]T, bool) {
	if b := st.claim(); b != nil {
		return b, true
	}
	st.leave()
	return nil, false
}

// claim takes the items on every shelf that has any, as many as fit one
// batch, in a recycled batch, or returns nil. The caller is counted in
// waiting; claim uncounts it if it returns items, and it does so before it
// takes the first of them, so that a crew whose workers are all counted
// holds no items (see crew.quiet).
func (st *Stream[T]) claim() []T {
	var b []T
	for _, sh := range st.shelves {
		for {
			c := sh.count.Load()
			if c == 0 || c == locked || len(b)+int(c) > st.max {
				break
			}
			if b == nil {
				st.waiting.Add(-1)
			}
			if sh.count.CompareAndSwap(c, locked) {
				// The producer writes only past c while the shelf is
				// locked, and replaces buf only after a hand-over, which
				// the lock excludes.
				if b == nil {
					b = st.get()
				}
				b = append(b, sh.buf[:c]...)
				sh.count.Store(0)
				break
			}
			if b == nil {
				st.waiting.Add(1) // the producer published one more, or took them: look again
			}
		}
	}
	return b
}

// get returns an empty batch of capacity st.max, recycled if one is free.
func (st *Stream[T]) get() []T {
	if p := st.spare.Swap(nil); p != nil {
		return unsafe.Slice(p, st.max)[:0]
	}
	select {
	case b := <-st.free:
		return b
	default:
		return make([]T, 0, st.max)
	}
}

// put recycles a batch the consumer is done with, or drops it if the free
// list is full or the batch is not one of st's (a FlatMap call's items
// that did not fit one batch). If T holds pointers, it clears the items
// first, so that a recycled batch keeps nothing reachable. Otherwise it
// does not: the clearing would write every cache line of the batch on the
// consumer's core just before the producer writes them again on its own.
func (st *Stream[T]) put(b []T) {
	if cap(b) != st.max {
		if st.clear && cap(b) == st.max+1 {
			clear(b) // the consumer's own array (see recvChan): nothing reachable from it
		}
		return
	}
	if st.clear {
		clear(b)
	}
	if st.spare.CompareAndSwap(nil, unsafe.SliceData(b)) {
		return
	}
	select {
	case st.free <- b[:0]:
	default:
	}
}

// hasPointers reports whether values of type t can hold pointers, which the
// garbage collector would follow from a recycled batch.
func hasPointers(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Complex64, reflect.Complex128:
		return false
	case reflect.Array:
		return t.Len() > 0 && hasPointers(t.Elem())
	case reflect.Struct:
		for i := range t.NumField() {
			if hasPointers(t.Field(i).Type) {
				return true
			}
		}
		return false
	default: // pointers, strings, slices, maps, chans, funcs, interfaces
		return true
	}
}
