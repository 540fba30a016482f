package timeout

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// IdleTimer calls f once the timer has gone d without [IdleTimer.Touch]: an
// expiry that activity pushes back. It is the fix for the timer-per-loop of
// the Cloudflare recycler post ("Recycling memory buffers in Go"), whose
// owner loop called time.After on every iteration, allocating a timer per
// event and leaving the old ones to the garbage collector.
//
// Touch does not touch the timer. It records the time of the activity with
// one atomic store; when the one underlying timer fires, it compares that
// time with the deadline and, if there was activity, re-arms itself for the
// time remaining. So a burst of a million Touches costs a million stores and
// no timer operation, where the alternatives pay a Reset (a lock and a
// timer-heap update) or a time.After (an allocation) per event.
//
// After f has run the timer rests until the next Touch, which re-arms it: f
// runs once per idle period, not every d while idle. f runs on a goroutine
// of its own (as with [time.AfterFunc]), never twice at once. An owner
// goroutine that wants the expiry in its own select loop (a recycler
// trimming its free list) can have f do a non-blocking send on a channel of
// capacity one, which is what [Heartbeat] does.
//
// Create IdleTimers with [NewIdleTimer]; the zero value is not usable. An
// IdleTimer must not be copied. Touch and Stop are safe to call from any
// number of goroutines, but not Stop from f (see [IdleTimer.Stop]). A panic
// in f crashes the program, as in time.AfterFunc: f has no caller to
// re-raise it on.
//
// Happens-before: the return of f synchronizes before the return of a Stop
// that found it running. A Touch is a clock store, not a message: it orders
// nothing with f. As with time.AfterFunc, nothing orders what the caller
// does after NewIdleTimer returns before f runs: an f that needs its own
// timer must get it through a channel or an atomic, not a variable assigned
// from NewIdleTimer's result.
//
// Cost: Touch is a clock read (25 ns of it) and an atomic store: 29 ns,
// against 41 ns for a Timer.Reset per event (which also takes the timer's
// lock, so parallel Touches fare better: 22 against 35 ns) and 130 ns and
// three allocations for a time.After per event (BenchmarkIdle). The trade: f runs on a
// goroutine of its own, and the timer wakes about once per d while busy, to
// re-arm, where a Reset per event never wakes while busy.
type IdleTimer struct {
	d     time.Duration
	f     func()
	epoch time.Time // last holds nanoseconds since epoch, on the monotonic clock
	last  atomic.Int64
	// resting is true while the timer is not armed because it found the
	// timer idle (f is about to run, running, or has run). Touch reads it
	// after storing last, and fire sets it before reading last: with both
	// atomics sequentially consistent, at least one of them sees the
	// other, so a Touch racing the expiry is never lost.
	resting atomic.Bool

	mu      sync.Mutex
	t       *time.Timer
	stopped bool
	touched bool          // a Touch arrived while f ran: re-arm after it
	running chan struct{} // non-nil while f runs; closed when it returns
}

// NewIdleTimer returns an IdleTimer that calls f on its own goroutine after
// d without a Touch, counting from now. d must be positive and f non-nil:
// an idle timeout of zero would fire on every event, so NewIdleTimer panics
// on either, as a programming error.
func NewIdleTimer(d time.Duration, f func()) *IdleTimer {
	if d <= 0 {
		panic(fmt.Sprintf("timeout: NewIdleTimer: d must be positive, got %v", d))
	}
	if f == nil {
		panic("timeout: NewIdleTimer: f is nil")
	}
	it := &IdleTimer{d: d, f: f, epoch: time.Now()}
	it.mu.Lock()
	defer it.mu.Unlock()
	it.t = time.AfterFunc(d, it.fire)
	return it
}

// Touch records activity now, pushing the expiry back to d from now. It
// never blocks and does not allocate. A Touch after Stop does nothing.
func (it *IdleTimer) Touch() {
	it.last.Store(int64(time.Since(it.epoch)))
	if it.resting.Load() {
		it.rearm()
	}
}

// Stop stops the timer: f will not be called again. If f is running, Stop
// waits for it to return, so that after Stop nothing of the timer's is left
// running. Stop reports whether the timer was armed, that is whether it
// stopped an expiry that would have come. It is idempotent.
//
// f must therefore not call Stop on its own timer: Stop would wait for
// itself, forever, as sync.Once's Do does when its f calls Do. Go hides
// which goroutine is calling, so Stop cannot tell f from another caller and
// turn that into a panic. f rarely needs to: once f has run, the timer
// rests, holding no goroutine, until the next Touch. If f must stop it for
// good, it can call go it.Stop().
func (it *IdleTimer) Stop() bool {
	it.mu.Lock()
	armed := !it.stopped && !it.resting.Load()
	it.stopped = true
	it.t.Stop()
	running := it.running
	it.mu.Unlock()
	if running != nil {
		<-running
	}
	return armed
}

// idle returns how long it has been since the last Touch (or creation).
func (it *IdleTimer) idle() time.Duration {
	return time.Since(it.epoch) - time.Duration(it.last.Load())
}

// fire runs when the underlying timer expires.
func (it *IdleTimer) fire() {
	it.mu.Lock()
	if it.stopped {
		it.mu.Unlock()
		return
	}
	it.resting.Store(true)
	if idle := it.idle(); idle < it.d {
		// There was activity since the timer was armed: sleep again
		// for what is left, instead of having Touch reset the timer.
		it.resting.Store(false)
		it.t.Reset(it.d - idle)
		it.mu.Unlock()
		return
	}
	running := make(chan struct{})
	it.running = running
	it.mu.Unlock()

	defer func() {
		// Deferred, so that a panicking f still releases Stop; the
		// panic itself goes on to crash the program, as in AfterFunc.
		it.mu.Lock()
		defer it.mu.Unlock()
		close(running)
		it.running = nil
		if it.touched && !it.stopped {
			it.touched = false
			it.armLocked()
		}
	}()
	it.f()
}

// rearm is Touch's slow path, taken only when the timer is resting.
func (it *IdleTimer) rearm() {
	it.mu.Lock()
	defer it.mu.Unlock()
	switch {
	case it.stopped || !it.resting.Load():
		// Stopped, or fire saw our Touch and re-armed itself.
	case it.running != nil:
		it.touched = true // fire re-arms when f returns
	default:
		it.armLocked()
	}
}

// armLocked ends a rest: it re-arms the timer for what is left of d since
// the last Touch. The caller holds mu.
func (it *IdleTimer) armLocked() {
	it.resting.Store(false)
	it.t.Reset(max(it.d-it.idle(), 0))
}
