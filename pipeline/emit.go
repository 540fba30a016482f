package pipeline

import (
	"runtime"
	"sync/atomic"
)

// locked is the count of a shelf whose items a consumer is copying out.
const locked = ^uint32(0)

// shelf is where a producer's pending items wait for a consumer: the batch
// it is filling, published item by item. It is what keeps a produced item
// from being held back. Without it, an item produced while the consumer
// was busy would wait in the producer's private batch until the producer
// came back from its next call of your function, which may wait for the
// consumer to make progress (an acknowledgement window, rate-limit
// feedback): a deadlock that channels do not have.
//
// count says how many items of buf are published: buf[:count]. The
// producer writes each item past the count and then publishes it with a
// compare-and-swap of count to count+1. A consumer about to wait claims the
// published items: it swaps the count for locked, copies buf[:count] out,
// and stores 0. The producer's next compare-and-swap then fails, and it
// moves the item it just wrote to the front (it had written it past the
// count, where the consumer never reads). To hand a batch over through the
// channel, the producer first takes the items back (count to 0) so that no
// consumer copies from an array in flight. A consumer whose
// compare-and-swap succeeds on a count it loaded before a hand-over claims
// the items published since, in the array that holds them: it reads buf
// after the swap, and the producer replaces buf before it publishes into
// the new array.
//
// The alternatives cost more per item: a mutex per item (the producer
// locks to append, the consumer tries the lock) is two atomic writes where
// this is one; letting the consumer take the array itself, rather than
// copy, lets the producer's write of its next item land in an array that
// the consumer has already recycled.
type shelf[T any] struct {
	count atomic.Uint32
	buf   []T      // written by the producer only while no consumer can read it
	_     [32]byte // 64 bytes in all: producers of one stream publish on lines of their own
}

// emitter is a producing goroutine's output side: it adds items to its
// shelf and hands the batch on when a consumer is waiting or the batch is
// full. At low load the consumer is parked, so each item goes on at once,
// alone; at full load the consumer is busy, items pile up, and the
// consumer takes them all when it comes back. No one ever waits for a
// batch to fill, and nothing produced waits for the producer.
type emitter[T any] struct {
	s   *Scope
	st  *Stream[T]
	sh  *shelf[T]
	buf []T // sh.buf
	n   int // items in buf: published, unless take took them back
	// published1 is set by a tryAdd that published its item and found a
	// consumer waiting: the add that follows offers instead.
	published1 bool
	max        int
	waiting    *atomic.Int32 // &st.waiting, read on every item
	done       <-chan struct{}
	// 128 bytes in all: the emitters of two stages, written on every item
	// by goroutines on different cores, never share a cache line.
	_ [40]byte
}

// newEmitter returns the emitter of st's i-th producer, which gives up
// blocking hand-overs when done is closed.
func newEmitter[T any](st *Stream[T], i int, done <-chan struct{}) *emitter[T] {
	e := &emitter[T]{s: st.s, st: st, sh: st.shelves[i], max: st.max, waiting: &st.waiting, done: done}
	e.buf = st.get()[:st.max]
	e.sh.buf = e.buf
	return e
}

// tryAdd is add's common case at full load: items pending, room for one
// more after v, the compare-and-swap won, and no consumer waiting once v
// is published. It reports whether it did all of add's work; if not, the
// caller calls add, which finds out how far tryAdd got. It makes no call,
// so the compiler inlines it, and the stages' loops write
// e.tryAdd(v) || e.add(v), which saves a call per item.
func (e *emitter[T]) tryAdd(v T) bool {
	n := e.n
	if n == 0 || n+1 >= e.max {
		return false
	}
	e.buf[n] = v
	if !e.sh.count.CompareAndSwap(uint32(n), uint32(n+1)) {
		return false
	}
	e.n = n + 1
	// Looked at after publishing: a consumer that counts itself after
	// this load scans the shelf and finds v.
	if e.waiting.Load() > 0 {
		e.published1 = true // add is to offer, not publish v again
		return false
	}
	return true
}

// add publishes v and hands the batch on if a consumer is waiting or the
// batch is full. It reports false if the scope was cancelled while it
// waited to hand a full batch on; v is published even then. After a
// tryAdd(v) that reported false it goes on from where tryAdd stopped.
func (e *emitter[T]) add(v T) bool {
	if e.published1 {
		e.published1 = false
		return e.offer() // tryAdd published v and saw a consumer waiting
	}
	n := e.n
	e.buf[n] = v
	if n == 0 && e.waiting.Load() > 0 {
		// Nothing pending and a consumer waiting (an idle pipeline):
		// hand v straight to it if it is parked, without publishing it
		// first, which only a consumer still on its way would need.
		select {
		case e.st.ch <- e.buf[:1]:
			e.sent()
			return true
		default:
		}
	}
	if e.sh.count.CompareAndSwap(uint32(n), uint32(n+1)) {
		e.n = n + 1
		return e.published()
	}
	e.reclaim(1)
	return e.published()
}

// addAll publishes vs as one unit: a consumer gets all of them or none, in
// order, in one batch. Units larger than a batch go on alone.
func (e *emitter[T]) addAll(vs []T) bool {
	k := len(vs)
	switch {
	case k == 0:
		return true
	case k == 1:
		return e.add(vs[0])
	case e.n+k > e.max:
		if e.n > 0 && !e.flush() {
			return false
		}
		if k > e.max {
			return e.alone(append(make([]T, 0, k), vs...))
		}
	}
	copy(e.buf[e.n:], vs)
	if e.sh.count.CompareAndSwap(uint32(e.n), uint32(e.n+k)) {
		e.n += k
	} else {
		e.reclaim(k)
	}
	return e.published()
}

// published follows a publication: it hands the batch on if a consumer is
// waiting or the batch is full.
func (e *emitter[T]) published() bool {
	if e.n < e.max && e.waiting.Load() <= 0 {
		return true
	}
	return e.offer()
}

// reclaim follows a failed publication: a consumer claimed buf[:n]. Once it
// has copied them out, the k items just written past them move to the
// front and are published.
func (e *emitter[T]) reclaim(k int) {
	e.settle()
	copy(e.buf, e.buf[e.n:e.n+k])
	if e.st.clear {
		clear(e.buf[k : e.n+k])
	}
	e.n = k
	e.sh.count.Store(uint32(k))
}

// settle waits until no consumer is copying from the shelf, a copy of at
// most one batch.
func (e *emitter[T]) settle() {
	for e.sh.count.Load() == locked {
		runtime.Gosched()
	}
}

// take takes the published items back from the shelf, so that they can be
// handed on through the channel, and reports whether there were any: a
// consumer may have claimed them first.
func (e *emitter[T]) take() bool {
	if e.sh.count.CompareAndSwap(uint32(e.n), 0) {
		return e.n > 0
	}
	e.settle()
	e.n = 0
	return false
}

// untake publishes again items that take took back and that no consumer
// received.
func (e *emitter[T]) untake() { e.sh.count.Store(uint32(e.n)) }

// sent starts a new batch after the pending one went through the channel,
// and uncounts the consumer that took it.
func (e *emitter[T]) sent() {
	e.st.handed()
	e.buf = e.st.get()[:e.max]
	e.sh.buf = e.buf // before the next publication, which orders it for consumers
	e.n = 0
}

// offer hands the published items to a consumer through the channel: at
// once if one is parked there; otherwise it waits for one if the batch is
// full or a consumer is on its way (counted in waiting), and goes back to
// batching if none is. It reports false if the scope was cancelled while it
// waited; the items are then published again, so that a consumer that
// drains the stream still gets them.
func (e *emitter[T]) offer() bool {
	for {
		if !e.take() {
			return true
		}
		select {
		case e.st.ch <- e.buf[:e.n]:
			e.sent()
			return true
		default:
		}
		if e.n < e.max && e.st.bell != nil {
			// Several producers: publish again and ring, rather than wait
			// for the consumer while another producer may be serving it.
			// A consumer counted but not yet parked looks at the shelves
			// again when it hears the bell.
			e.untake()
			e.st.ring()
			return true
		}
		if e.n < e.max && e.waiting.Load() <= 0 {
			// The consumer that was waiting found items elsewhere.
			// Publish again, then look once more: a consumer that counts
			// itself now scans the shelf after this store.
			e.untake()
			if e.waiting.Load() <= 0 {
				return true
			}
			continue
		}
		select {
		case e.st.ch <- e.buf[:e.n]:
			e.sent()
			return true
		case <-e.done:
			e.untake()
			return false
		}
	}
}

// flush hands the pending items on, waiting for a consumer. It reports
// false if the scope was cancelled first.
func (e *emitter[T]) flush() bool {
	if !e.take() {
		return true
	}
	select {
	case e.st.ch <- e.buf[:e.n]:
		e.sent()
		return true
	case <-e.done:
		e.untake()
		return false
	}
}

// alone hands on b, a unit too large for a batch, in a batch of its own.
func (e *emitter[T]) alone(b []T) bool {
	select {
	case e.st.ch <- b:
		e.st.handed()
		return true
	case <-e.done:
		return false
	}
}
