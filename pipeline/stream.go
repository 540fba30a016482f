package pipeline

import (
	"reflect"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/go-compendium/compendium/internal/lifecycle"
)

// maxBatch is the most items one hand-over between stages carries. At full
// load batches grow to it; 256 already brings the channel cost per item to
// about a nanosecond (BenchmarkThreeStage, impl=batched), and larger batches
// only add to the memory each edge holds and to the work a stage may do
// after the scope is cancelled.
const maxBatch = 256

// maxBatchBytes bounds one batch's backing array for large element types,
// so that an edge of 4 KiB structs does not hold megabytes.
const maxBatchBytes = 64 << 10

// freeBatches is how many empty batches each stream keeps for reuse: one
// being filled by the producer, one in the consumer's hands, one in flight,
// and slack for OrderedMap's pieces.
const freeBatches = 8

// Stream is the output of a source or stage: a sequence of T flowing to the
// one stage or sink that consumes it. A Stream belongs to the [Scope] that
// made it, and every stage that consumes it runs in that scope, which is why
// stages take the stream alone and no scope argument.
//
// Items travel between stages in batches (see the package documentation),
// but every function you pass sees one item at a time, in the order the
// stream carries them.
//
// A Stream is consumed once: passing it to a second stage or sink panics,
// since two consumers would each get an arbitrary share of the items. To
// fan out, run [Map] with more workers. The zero value is not usable; a
// Stream is always handled by pointer.
type Stream[T any] struct {
	s    *Scope
	ch   chan []T // unbuffered: a batch changes hands only when the consumer is ready
	free chan []T // recycled empty batches: a bounded free list, never blocks
	// spare is one recycled batch's array, in front of free: an idle
	// pipeline moves one-item batches, and recycling each through the
	// channel cost two channel operations per item and edge, where the
	// slot costs two atomics (BenchmarkFirstItem: 0.65 to 0.75 µs, was
	// 0.72 to 0.79; BenchmarkSoak 73 to 88 ns an item, was 87 to 97).
	spare atomic.Pointer[T]
	max   int                    // items per batch at most
	clear bool                   // T holds pointers: clear recycled batches
	taken atomic.Pointer[string] // the stage or sink consuming st

	// waiting counts the consumers in a receive on ch that no batch has
	// been handed to yet, so that add can skip its non-blocking send when
	// nobody could take the batch: the send is a runtime call, about 5 ns
	// an item, where the load is a fraction of one. A consumer counts
	// itself (enter) before it parks, so a parked consumer is never
	// missed; the producer that hands it a batch uncounts it (handed), at
	// once, rather than the consumer when it gets to run, which may be
	// much later: until then every add would offer a batch in vain. A
	// consumer that leaves its receive any other way (input closed,
	// cancellation, another select case) uncounts itself (leave).
	waiting atomic.Int32

	// held is set on the streams of Generate and FromSeq, whose producer
	// runs the caller's code between items and may block there holding a
	// batch (see heldBatch).
	held *heldBatch[T]
}

// heldBatch lets the consumer of a generator's stream take the batch the
// generator holds back. A generator adds an item and returns to its
// caller's code, which may block (a network read, a wait for the pipeline
// to finish with the item): if the consumer was busy when the item came,
// the item waits in the batch, and nothing would hand it on until the
// generator's next yield, which may never come (TestGenerateFeedback). So
// a consumer that is about to park takes the batch itself.
//
// mu is held by the producer whenever it touches its emitter (inside
// yield, and for the last batch), and by a consumer while it takes the
// batch. A consumer only ever tries the lock, and the producer checks for
// a waiting consumer after it unlocks, so that a consumer that found the
// lock taken and went to park is served by the producer instead: neither
// side can wait for the other (TestGenerateFeedback). The alternative, a
// lock-free claim by compare-and-swap of the item count, would let the
// producer write an item into an array the consumer had just taken and
// recycled. The lock costs the generator about 3 ns an item
// (BenchmarkThreeStage: 15 ns an item, 12 without it).
type heldBatch[T any] struct {
	mu  sync.Mutex
	e   *emitter[T] // the producer's emitter, set before its first item
	has atomic.Bool // e holds items (a hint, read without mu)
}

// take returns the items the producer holds back, or nil if it holds none
// or is adding one right now (then it sees the consumer waiting).
func (h *heldBatch[T]) take(st *Stream[T]) []T {
	if !h.has.Load() || !h.mu.TryLock() {
		return nil
	}
	defer h.mu.Unlock()
	e := h.e
	if e == nil || e.n == 0 {
		return nil
	}
	b := e.batch()
	e.buf, e.n = st.get()[:e.max], 0
	h.has.Store(false)
	// Uncount the consumer before the producer can look: one that saw it
	// still waiting would block to send it a batch that it will not
	// receive until it has processed this one.
	st.waiting.Add(-1)
	return b
}

// enter counts a consumer about to receive on st.ch. If it returns a
// batch, the consumer took it from a generator that was holding it back,
// is no longer counted, and must not receive. Otherwise, after the
// receive, the consumer calls leave unless it got a batch: the sender
// uncounted it.
func (st *Stream[T]) enter() []T {
	st.waiting.Add(1)
	if st.held == nil {
		return nil
	}
	return st.held.take(st)
}

func (st *Stream[T]) leave() { st.waiting.Add(-1) }

// recv is the whole receive of a consumer that waits for nothing but
// input: a batch a generator held back, or else a plain receive on st.ch.
// It needs no quit case: cancellation arrives as st closing (see work). ok
// is false once st has ended.
func (st *Stream[T]) recv() (b []T, ok bool) {
	if b = st.enter(); b != nil {
		return b, true
	}
	if b, ok = <-st.ch; !ok {
		st.leave()
	}
	return b, ok
}

// handed uncounts the consumer a batch was just sent to.
func (st *Stream[T]) handed() { st.waiting.Add(-1) }

// idle reports whether a consumer is in a receive on st.ch.
func (st *Stream[T]) idle() bool { return st.waiting.Load() > 0 }

func newStream[T any](s *Scope) *Stream[T] {
	n := maxBatch
	if size := int(unsafe.Sizeof(*new(T))); size > 0 && n*size > maxBatchBytes {
		n = max(1, maxBatchBytes/size)
	}
	return &Stream[T]{
		s: s, ch: make(chan []T), free: make(chan []T, freeBatches), max: n,
		clear: hasPointers(reflect.TypeFor[T]()),
	}
}

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
// list is full. If T holds pointers, it clears the items first, so that a
// recycled batch keeps nothing reachable. Otherwise it does not: the
// clearing would write every cache line of the batch on the consumer's
// core just before the producer writes them again on its own.
func (st *Stream[T]) put(b []T) {
	if st.clear {
		clear(b)
	}
	// Every batch has room for st.max items (all come from get), so the
	// array alone is enough to rebuild it.
	if st.spare.CompareAndSwap(nil, unsafe.SliceData(b)) {
		return
	}
	select {
	case st.free <- b[:0]:
	default:
	}
}

// emitter is a stage's output side: it collects items into a batch and hands
// the batch on as soon as the consumer can take it. This is the opportunistic
// batching that makes stages cheap: an idle consumer is parked in a receive,
// so the non-blocking send in add succeeds at once and a lone item travels
// alone, with no added latency; a busy consumer is not receiving, the send
// fails for the cost of a load, and items pile up until the consumer comes
// back for all of them or the batch reaches st.max. No one ever waits for a
// batch to fill.
type emitter[T any] struct {
	st      *Stream[T]
	buf     []T // the batch being filled, its length max; buf[:n] holds items
	n       int
	max     int
	waiting *atomic.Int32 // &st.waiting, read on every item
	dead    *atomic.Bool  // &st.s.dead, read on every item
	done    <-chan struct{}
}

// newEmitter returns an emitter for st that gives up blocking sends when
// quit is closed.
func newEmitter[T any](st *Stream[T], quit <-chan struct{}) *emitter[T] {
	e := &emitter[T]{st: st, max: st.max, waiting: &st.waiting, dead: &st.s.dead, done: quit}
	e.buf = st.get()[:st.max]
	return e
}

// canceled reports whether the scope is cancelled; stages check it before
// every item, so that the work done after a cancellation is at most the
// item in hand.
func (e *emitter[T]) canceled() bool { return e.dead.Load() }

// tryAdd is add's common case, room in the batch and no consumer waiting:
// it appends v and reports true, or does nothing and reports false. It
// makes no call, so the compiler inlines it, and the stages' loops write
// `e.tryAdd(v) || e.add(v)`, which saves a call per item in every stage.
func (e *emitter[T]) tryAdd(v T) bool {
	if e.n+1 < e.max && e.waiting.Load() <= 0 {
		e.buf[e.n] = v
		e.n++
		return true
	}
	return false
}

// add appends v and hands the batch on if a consumer is waiting. It blocks
// only when the batch is full and reports false if the scope was cancelled
// meanwhile.
func (e *emitter[T]) add(v T) bool {
	e.buf[e.n] = v
	e.n++
	if e.n >= e.max {
		return e.flush()
	}
	if e.waiting.Load() <= 0 {
		return true
	}
	select {
	case e.st.ch <- e.batch():
		e.sent()
	default:
	}
	return true
}

// addAll adds every item of vs, as add does.
func (e *emitter[T]) addAll(vs []T) bool {
	for _, v := range vs {
		if !e.tryAdd(v) && !e.add(v) {
			return false
		}
	}
	return true
}

// batch returns the pending items.
func (e *emitter[T]) batch() []T { return e.buf[:e.n] }

// out returns the channel to offer the pending batch on in a select: nil,
// which switches the case off, when there is nothing to send (the talk's
// nil-channel switch).
func (e *emitter[T]) out() chan<- []T {
	if e.n == 0 {
		return nil
	}
	return e.st.ch
}

// sent starts a new batch after the pending one was sent, and uncounts the
// consumer that took it.
func (e *emitter[T]) sent() {
	e.st.handed()
	e.buf = e.st.get()[:e.max]
	e.n = 0
}

// flush hands on the pending batch, blocking until the consumer takes it or
// the scope is cancelled (then it reports false).
func (e *emitter[T]) flush() bool {
	if e.n == 0 {
		return true
	}
	select {
	case e.st.ch <- e.batch():
		e.sent()
		return true
	case <-e.done:
		return false
	}
}

// finish hands on the last batch when the stage's input has ended. It
// returns errCanceled if the scope was cancelled first.
func (e *emitter[T]) finish() error {
	if e.n > 0 {
		select {
		case e.st.ch <- e.batch():
			e.st.handed()
		case <-e.done:
			return errCanceled
		}
	}
	e.buf, e.n = nil, 0
	return nil
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
