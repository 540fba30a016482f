package scenario

import (
	"fmt"
	"sync"
)

// Queue hands items from producers to consumers, in the order they were
// put, each to exactly one consumer.
type Queue interface {
	// Put adds v, blocking while the queue is full. It panics after Close.
	Put(v int)
	// Get removes the oldest item, blocking while the queue is empty. It
	// reports false once the queue is closed and empty.
	Get() (v int, ok bool)
	// Close says no more items will be Put. The producers' owner calls
	// it once every Put has returned, as with a channel's close.
	Close()
}

// ChanQueue is a channel, unbuffered or buffered.
type ChanQueue struct{ c chan int }

// NewChanQueue returns a channel queue with the given buffer size (0 for an
// unbuffered channel, where every Put waits for a Get).
func NewChanQueue(size int) *ChanQueue {
	if size < 0 {
		panic(fmt.Sprintf("scenario: negative channel size, got %d", size))
	}
	return &ChanQueue{c: make(chan int, size)}
}

// Put sends v.
func (q *ChanQueue) Put(v int) { q.c <- v }

// Get receives the next item.
func (q *ChanQueue) Get() (int, bool) {
	v, ok := <-q.c
	return v, ok
}

// Close closes the channel.
func (q *ChanQueue) Close() { close(q.c) }

// CondQueue is a bounded FIFO ring buffer behind a sync.Mutex, with one
// sync.Cond for "not empty" (consumers wait on it) and one for "not full"
// (producers wait on it): the classical monitor that Bryan Mills'
// "Rethinking Classical Concurrency Patterns" replaces with a channel.
// Make it with NewCondQueue; it must not be copied.
type CondQueue struct {
	mu       sync.Mutex
	notEmpty sync.Cond
	notFull  sync.Cond
	buf      []int
	head, n  int
	closed   bool
}

// NewCondQueue returns an empty queue holding at most size items.
func NewCondQueue(size int) *CondQueue {
	if size < 1 {
		panic(fmt.Sprintf("scenario: CondQueue size must be at least 1, got %d", size))
	}
	q := &CondQueue{buf: make([]int, size)}
	q.notEmpty.L = &q.mu
	q.notFull.L = &q.mu
	return q
}

// Put appends v, waiting while the queue is full.
func (q *CondQueue) Put(v int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for q.n == len(q.buf) && !q.closed {
		q.notFull.Wait()
	}
	if q.closed {
		panic("scenario: Put on closed CondQueue")
	}
	q.buf[(q.head+q.n)%len(q.buf)] = v
	q.n++
	// Only consumers wait on notEmpty, so one wake-up is enough: the
	// woken consumer takes this item.
	q.notEmpty.Signal()
}

// Get removes the oldest item, waiting while the queue is empty and open.
func (q *CondQueue) Get() (int, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for q.n == 0 && !q.closed {
		q.notEmpty.Wait()
	}
	if q.n == 0 {
		return 0, false
	}
	v := q.buf[q.head]
	q.head = (q.head + 1) % len(q.buf)
	q.n--
	q.notFull.Signal()
	return v, true
}

// Close wakes every waiter; Gets drain what is left, then report false.
func (q *CondQueue) Close() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.closed = true
	q.notEmpty.Broadcast()
	q.notFull.Broadcast()
}
