package pipeline

import (
	"strconv"

	"github.com/go-compendium/compendium/internal/lifecycle"
)

// Policy says what a [Buffer] does with an item that arrives when it is
// full.
type Policy int

const (
	// Block stops taking items until there is room: backpressure, as a
	// buffered channel gives.
	Block Policy = iota
	// DropNewest discards the item that arrives: what is held stays.
	// The talk's leaky buffer, as a select with a default case gives.
	DropNewest
	// DropOldest discards the oldest item held to make room for the one
	// that arrives, so that the consumer always gets the latest (for
	// telemetry, or a UI that shows the current state).
	DropOldest
)

// String returns the policy's name.
func (p Policy) String() string {
	switch p {
	case Block:
		return "Block"
	case DropNewest:
		return "DropNewest"
	case DropOldest:
		return "DropOldest"
	}
	return "Policy(" + strconv.Itoa(int(p)) + ")"
}

// Buffer returns in unchanged, with room for n items between it and the
// next stage, for a bursty consumer or producer. When the room is full,
// policy decides: [Block] stops taking items (upstream runs at most n
// items, plus the batch that did not fit, ahead of a slow consumer), and
// [DropNewest] and [DropOldest] discard one item per item that arrives,
// so that upstream never waits; [Stream.Dropped] on the returned stream
// counts the items discarded. Stages need no buffer to run at full speed.
// It panics if in is nil, n < 1 (or so large that the room would take more
// than a GiB), or policy is not one of the three.
func Buffer[T any](in *Stream[T], n int, policy Policy) *Stream[T] {
	checkStream("Buffer", in)
	lifecycle.Min(pkg, "Buffer", "n", n, 1)
	lifecycle.UpFront[T](pkg, "Buffer", "n", n)
	if policy < Block || policy > DropOldest {
		lifecycle.Panicf(pkg, "Buffer", "policy must be Block, DropNewest or DropOldest, got %v", policy)
	}
	in.take("Buffer")
	in.pump()
	s := in.s
	name, labels := s.stage("Buffer")
	out := newStream[T](s, name, 0) // no shelf: Buffer offers its oldest items in every wait
	b := &buffer[T]{in: in, out: out, ring: make([]T, n), policy: policy}
	s.spawn(name, labels.With("worker", "1"), func() (err error) {
		returned := false
		defer func() {
			if !returned || err != nil || in.cut.Load() {
				out.cut.Store(true)
			}
			close(out.ch)
		}()
		err = b.run()
		returned = true
		return err
	})
	return out
}

// buffer is Buffer's state: a ring of n items.
type buffer[T any] struct {
	in, out     *Stream[T]
	ring        []T
	head, count int
	policy      Policy
	// over is the part of an input batch that did not fit (Block), and
	// overBatch its whole array, recycled once over has gone in.
	over, overBatch []T
	// pending is a copy of the ring's oldest items, offered to the
	// consumer; it stays valid until they are sent or the oldest dropped.
	pending []T
}

// run is Buffer's goroutine. Each round it waits in one select for input
// (unless it is full and blocks), for the consumer to take its oldest
// items, or for cancellation, with the talk's nil-channel switch turning
// off the cases that cannot apply. It never holds an item back from a
// waiting consumer: whenever it holds any, it offers them.
func (b *buffer[T]) run() error {
	s := b.in.s
	src := b.in.ch // nil once the input has ended
	for {
		if b.over != nil {
			b.fill() // room was made: move in what did not fit
		}
		recv := src
		if b.policy == Block && (b.count == len(b.ring) || b.over != nil) {
			recv = nil // full: stop taking input
		}
		// The items offered are a copy of the oldest ones, made once and
		// kept until they are taken: a ring's items are not contiguous,
		// and the consumer recycles what it is handed.
		if b.pending == nil && b.count > 0 {
			b.pending = b.out.get()
			for i := range min(b.count, b.out.max) {
				b.pending = append(b.pending, b.ring[(b.head+i)%len(b.ring)])
			}
		}
		var send chan<- []T
		if b.pending != nil {
			send = b.out.ch
		}
		if recv == nil && send == nil {
			return nil // input ended and everything went out
		}
		// Count as a waiting consumer only while the input case is on,
		// so that a producer never blocks handing a batch to a Buffer
		// that is not taking any; take what a producer holds on its
		// shelf before waiting, as every consumer does.
		var batch []T
		got, ok := false, true
		if recv != nil {
			b.in.enter()
			batch = b.in.claim()
			got = batch != nil
		}
		if !got {
			var bell <-chan struct{}
			if recv != nil {
				bell = b.in.bell // nil unless in has several producers
			}
			select {
			case <-bell:
				b.in.leave()
				continue
			case batch, ok = <-recv:
				got = true
				if !ok {
					batch, ok = b.in.last()
				}
			case send <- b.pending:
				b.out.handed()
				if recv != nil {
					b.in.leave()
				}
				b.sent(len(b.pending))
				b.pending = nil
			case <-s.done:
				if recv != nil {
					b.in.leave()
				}
				return errCanceled
			}
		}
		switch {
		case got && !ok:
			src = nil // ended: send what is left, then return
		case got:
			b.over, b.overBatch = batch, batch
			b.fill()
		}
	}
}

// fill moves the items of b.over into the ring, as the policy says: with
// Block, what does not fit stays in b.over (one batch at most, since no
// input is taken meanwhile); the dropping policies make every item fit,
// dropping it or the oldest one, so their input never waits.
func (b *buffer[T]) fill() {
	n := len(b.ring)
	for i, v := range b.over {
		if b.count == n {
			switch b.policy {
			case Block:
				b.over = b.over[i:]
				return
			case DropNewest:
				b.out.dropped.Add(1)
				continue
			case DropOldest:
				b.sent(1)
				b.out.dropped.Add(1)
				if b.pending != nil {
					// The copy on offer starts with the item just
					// dropped: make a new one next round, so that a
					// dropped item is never delivered too.
					b.out.put(b.pending)
					b.pending = nil
				}
			}
		}
		b.ring[(b.head+b.count)%n] = v
		b.count++
	}
	b.in.put(b.overBatch)
	b.over, b.overBatch = nil, nil
}

// sent forgets the k oldest items.
func (b *buffer[T]) sent(k int) {
	var zero T
	for range k {
		b.ring[b.head] = zero // nothing reachable from a slot that is free
		b.head = (b.head + 1) % len(b.ring)
	}
	b.count -= k
}
