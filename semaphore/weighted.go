package semaphore

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/go-compendium/compendium/internal/lifecycle"
)

// ErrTooLarge is returned (wrapped, with the numbers) by [Weighted.Acquire]
// when asked for more weight than the semaphore's size. Such a request can
// never be granted, so Acquire fails at once.
//
// This is a deliberate difference from golang.org/x/sync/semaphore, whose
// Acquire blocks until ctx is done and then returns ctx.Err(), so that a
// sizing bug looks like a timeout, or hangs forever under
// context.Background. Check it with errors.Is(err, ErrTooLarge).
var ErrTooLarge = errors.New("semaphore: weight exceeds the semaphore's size")

// maxWeighted is the largest size NewWeighted accepts: the state word keeps
// the weight held shifted left by one, to make room for the queued flag.
const maxWeighted = math.MaxInt64 >> 1

// queued is the low bit of Weighted.state: set while goroutines wait in the
// queue. While it is set the fast paths stand aside, so that nothing barges
// past a waiter and the state changes only under the lock.
const queued = 1

// Weighted is a weighted semaphore: a size n shared out in weights, where
// Acquire(ctx, k) takes k of it at once, as a job takes k units of memory
// or k connections. Unlike k calls to a counting semaphore, a weighted
// Acquire takes all k or nothing, so two goroutines each acquiring k > 1
// can never each hold part of what the other needs and deadlock. With
// k = 1 it is a counting semaphore without [Counting.Acquirer].
//
// Waiters are served in FIFO order: a request that does not fit blocks
// every request behind it, however small, so a large request is not
// starved by a stream of small ones. [Weighted.TryAcquire] never barges
// past a queued waiter, and a waiter that gives up at the head of the
// queue hands the weight on to those behind it.
//
// Create one with [NewWeighted]; the zero value is not usable. A Weighted
// must not be copied after first use. All methods are safe for concurrent
// use. A [Weighted.Release] synchronizes before the Acquire or TryAcquire
// it makes room for returns.
//
// Cost: see semaphore.Acquire (impl=weighted) in bench/RESULTS.md.
type Weighted struct {
	size int64
	// state is held<<1 | queued: the weight held, and whether anyone
	// waits, in one atomic word. Without the queued bit, any goroutine may
	// change it by compare-and-swap, so an Acquire or Release that finds
	// no waiter and enough room settles with one swap; an Acquire that
	// finds no room yields once and retries before it queues, so that
	// goroutines queue only when they really must wait. With the bit set,
	// only the holder of lock changes it: every Release then hands weight
	// to the waiters at the head, in order.
	state atomic.Int64
	// lock guards the queue: a send takes it, a receive gives it back.
	// Channels rather than a sync.Mutex and sync.Cond because a waiter
	// must also wait for its ctx (a select on ready and ctx.Done, which no
	// condition variable offers), and because a goroutine blocked on a
	// channel is durably blocked for testing/synctest.
	lock chan struct{}
	// head and tail are the FIFO queue of waiters, guarded by lock; the
	// queue is non-empty exactly when state has the queued bit.
	head, tail *waiter
	// spare recycles waiters and their ready channels, so that blocking
	// allocates nothing in the steady state.
	spare sync.Pool
	// noYield turns the Gosched in Acquire off, for the benchmark that
	// shows what it gains (BenchmarkTuning, export_test.go).
	noYield bool
}

// waiter is one goroutine blocked in Acquire.
type waiter struct {
	k int64
	// ready receives one token when the weight is granted. It is buffered
	// so that the granting Release never blocks on a waiter that is busy
	// giving up, and reusable because it is drained rather than closed.
	ready      chan struct{}
	prev, next *waiter
}

// NewWeighted returns a weighted semaphore of size n, all of it free.
//
// NewWeighted panics if n < 1, or if n > 2^62-1 (one bit of the state word
// is the queued flag). x/sync accepts a size of 0, which blocks every
// non-zero Acquire forever; here that is a programming error.
func NewWeighted(n int64) *Weighted {
	lifecycle.Min(pkg, "NewWeighted", "n", n, 1)
	if n > maxWeighted {
		lifecycle.Panicf(pkg, "NewWeighted", "n must be at most %d, got %d", int64(maxWeighted), n)
	}
	return &Weighted{size: n, lock: make(chan struct{}, 1)}
}

// checkWeight panics on a negative weight: there is no sensible meaning
// for it, and clamping it to 0 would hide the bug. fn names the method.
func checkWeight(fn string, k int64) {
	if k < 0 {
		lifecycle.Panicf(pkg, fn, "k must not be negative, got %d", k)
	}
}

// Acquire takes weight k, blocking until it is free and every earlier
// waiter has been served, or until ctx is done.
//
// On success it returns nil. If ctx is done first it returns ctx.Err() and
// leaves the semaphore unchanged (if the weight was granted in the same
// instant, it is handed on as if Release had been called). A ctx that is
// already done never acquires, even when the weight is free. If k is
// larger than the semaphore's size, Acquire returns an error wrapping
// [ErrTooLarge] at once (x/sync would wait for ctx). Acquire(ctx, 0)
// succeeds once the waiters ahead of it are served. Acquire panics if ctx
// is nil or k is negative.
func (w *Weighted) Acquire(ctx context.Context, k int64) error {
	lifecycle.Context(pkg, "Weighted.Acquire", ctx)
	checkWeight("Weighted.Acquire", k)
	if k > w.size {
		return fmt.Errorf("%w: %d > %d", ErrTooLarge, k, w.size)
	}
	done := ctx.Done() // nil for a context that never ends
	if done != nil {
		select {
		case <-done:
			return ctx.Err()
		default:
		}
	}
	if w.tryAcquire(k) {
		return nil
	}
	// Yield once before queueing, for the reason Counting.Acquire does:
	// the holders are often runnable behind us. Here it matters more, since
	// the first goroutine to queue sets the queued bit, after which every
	// Acquire must queue behind it and every Release must hand over through
	// the lock and a goroutine switch; with enough goroutines that convoy
	// never drains. Yielding first is not barging: a queued waiter still
	// blocks the retry. BenchmarkTuning (type=weighted, -cpu 1,2,4,8)
	// measures the yield against queueing at once.
	if !w.noYield {
		runtime.Gosched()
	}
	if !w.tryAcquire(k) {
		if err := w.acquireSlow(ctx, done, k); err != nil {
			return err
		}
	}
	// The weight may have been freed by a goroutine that cancelled ctx
	// first, while we yielded or queued; then ctx was done first and the
	// caller must see ctx.Err(), as with x/sync. Whatever handed us the
	// weight (the compare-and-swap after a Release, or the send on ready)
	// synchronizes after that Release, so this check sees the
	// cancellation. (The fast path above skips the check: its window
	// between the look at done and the swap is a few instructions, where
	// this one spans a yield or a wait.)
	if done != nil {
		select {
		case <-done:
			w.Release(k)
			return ctx.Err()
		default:
		}
	}
	return nil
}

// TryAcquire takes weight k if it is free and nobody is waiting, without
// blocking, and reports whether it did. It never barges past a queued
// waiter: while one waits, TryAcquire returns false even if k would fit.
// TryAcquire(k) with k larger than the size returns false. A negative k
// panics.
func (w *Weighted) TryAcquire(k int64) bool {
	checkWeight("Weighted.TryAcquire", k)
	return w.tryAcquire(k)
}

// tryAcquire is the lock-free fast path: it retries the compare-and-swap
// while the weight fits and nobody waits, since a failed swap only means
// another fast path got in first.
func (w *Weighted) tryAcquire(k int64) bool {
	for {
		s := w.state.Load()
		// Written as k > size-held so that a huge k cannot overflow.
		if s&queued != 0 || k > w.size-s>>1 {
			return false
		}
		if w.state.CompareAndSwap(s, s+k<<1) {
			return true
		}
	}
}

// acquireSlow takes the lock and either acquires (a Release got in since
// the fast path looked) or queues and waits.
func (w *Weighted) acquireSlow(ctx context.Context, done <-chan struct{}, k int64) error {
	w.lock <- struct{}{}
	for {
		s := w.state.Load()
		if s&queued != 0 {
			break // others wait: queue behind them
		}
		if k <= w.size-s>>1 {
			if w.state.CompareAndSwap(s, s+k<<1) {
				<-w.lock
				return nil
			}
			continue
		}
		// Setting the bit fails if a fast path changed the state since the
		// load; look again rather than queue behind a Release that would
		// not know to wake us.
		if w.state.CompareAndSwap(s, s|queued) {
			break
		}
	}
	me := w.waiter(k)
	w.push(me)
	<-w.lock

	select {
	case <-me.ready:
		w.spare.Put(me)
		return nil
	case <-done:
	}

	w.lock <- struct{}{}
	select {
	case <-me.ready:
		// Granted in the same instant ctx ended: give the weight back, so
		// that a failed Acquire leaves the semaphore as it found it.
		w.releaseLocked(k)
	default:
		wasHead := w.head == me
		w.remove(me)
		if wasHead {
			// We may have been the request that blocked everyone behind
			// us: serve them from what is free now.
			w.grantLocked(w.state.Load() >> 1)
		}
	}
	<-w.lock
	w.spare.Put(me)
	return ctx.Err()
}

// Release gives back weight k taken by [Weighted.Acquire] or
// [Weighted.TryAcquire], waking the waiters at the head of the queue that
// now fit. It never blocks for long (only on the internal lock). It
// panics if k is negative or exceeds the weight held.
func (w *Weighted) Release(k int64) {
	checkWeight("Weighted.Release", k)
	for {
		s := w.state.Load()
		if s&queued != 0 {
			break
		}
		if s>>1 < k {
			releasedMore(k, s>>1)
		}
		if w.state.CompareAndSwap(s, s-k<<1) {
			return
		}
	}
	w.lock <- struct{}{}
	w.releaseLocked(k)
	<-w.lock
}

// releasedMore panics for a Release of k with only held held.
func releasedMore(k, held int64) {
	lifecycle.Panicf(pkg, "Weighted.Release", "released more than held, got %d with %d held", k, held)
}

// releaseLocked gives back weight k with the lock held. The queued bit may
// have been cleared since the caller saw it, so it falls back to the
// compare-and-swap when nobody waits.
func (w *Weighted) releaseLocked(k int64) {
	for {
		s := w.state.Load()
		if s>>1 < k {
			<-w.lock
			releasedMore(k, s>>1)
		}
		if s&queued != 0 {
			w.grantLocked(s>>1 - k)
			return
		}
		if w.state.CompareAndSwap(s, s-k<<1) {
			return
		}
	}
}

// grantLocked is called with the lock held and the queued bit set, held
// being the weight held once the caller's change is applied. It grants the
// waiters at the head of the queue in order while they fit, stopping at the
// first that does not (going on to smaller requests behind it would starve
// the large one, as x/sync's notifyWaiters explains), and stores the new
// state before waking anyone.
func (w *Weighted) grantLocked(held int64) {
	first := w.head
	last := first
	for last != nil && last.k <= w.size-held {
		held += last.k
		last = last.next
	}
	w.head = last
	s := held << 1
	if last == nil {
		w.tail = nil
	} else {
		last.prev = nil
		s |= queued
	}
	w.state.Store(s)
	for x := first; x != last; {
		// Unlink before the send: once woken, x may be recycled, and a
		// pooled waiter should not keep others alive.
		next := x.next
		x.prev, x.next = nil, nil
		x.ready <- struct{}{}
		x = next
	}
}

// waiter returns a recycled or new waiter for weight k.
func (w *Weighted) waiter(k int64) *waiter {
	x, _ := w.spare.Get().(*waiter)
	if x == nil {
		x = &waiter{ready: make(chan struct{}, 1)}
	}
	x.k = k
	return x
}

// push appends x to the queue; the lock is held.
func (w *Weighted) push(x *waiter) {
	x.prev, x.next = w.tail, nil
	if w.tail == nil {
		w.head = x
	} else {
		w.tail.next = x
	}
	w.tail = x
}

// remove unlinks x from the queue; the lock is held. It leaves the queued
// bit alone: if x was the head the caller settles the state with
// grantLocked, and otherwise the head is still waiting.
func (w *Weighted) remove(x *waiter) {
	if x.prev == nil {
		w.head = x.next
	} else {
		x.prev.next = x.next
	}
	if x.next == nil {
		w.tail = x.prev
	} else {
		x.next.prev = x.prev
	}
	x.prev, x.next = nil, nil
}
