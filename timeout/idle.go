package timeout

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-compendium/compendium"
	"github.com/go-compendium/compendium/internal/lifecycle"
)

// IdleTimer calls f once the timer has gone d without [IdleTimer.Touch]: an
// expiry that activity pushes back. It is the fix for the timer-per-loop of
// the Cloudflare recycler post ("Recycling memory buffers in Go"), whose
// owner loop called time.After on every iteration.
//
// Touch records the time of the activity with one atomic store and never
// touches the timer; when the one underlying timer fires, it compares that
// time with the deadline and, if there was activity, re-arms itself for the
// time remaining. After f has run the timer rests until the next Touch,
// which re-arms it: f runs once per idle period, not every d while idle,
// on a goroutine of its own (as with [time.AfterFunc]) and never twice at
// once. An owner goroutine that wants the expiry in its own select loop
// can have f do a non-blocking send on a channel of capacity one, which is
// what [Heartbeat] does.
//
// A panic in f is recovered, stops the timer for good, and is re-raised
// as the same *[compendium.PanicError] by every Stop and Close; an f that
// calls runtime.Goexit stops it too, and Close returns an error matching
// [compendium.ErrGoexit]. Close it (defer it): that is where a failure
// surfaces.
//
// Create IdleTimers with [NewIdleTimer]; the zero value is not usable. An
// IdleTimer must not be copied. Touch, Stop and Close are safe for
// concurrent use, but f must not call Stop or Close (see [IdleTimer.Stop]).
// The return of f synchronizes before the return of a Stop or Close that
// found it running. A Touch is a clock store, not a message: it orders
// nothing with f. As with time.AfterFunc, nothing orders NewIdleTimer's
// return before f runs.
//
// f's goroutine carries the pprof labels compendium=timeout
// type=IdleTimer while f runs. Cost: see timeout.Idle in bench/RESULTS.md,
// beside a Timer.Reset and a time.After per event. The trade: f runs on a
// goroutine of its own, and the timer wakes about once per d while busy,
// to re-arm, where a Reset per event never wakes while busy.
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
	// o is the lifecycle: its cancellation is the stopped state (by Stop,
	// Close or a failure of f), it records f's failures, counts a running
	// f for Stop and Close to join, and holds the labels.
	o      lifecycle.Owner
	goexit error // the failure of an f that called runtime.Goexit
	// late is set if f called runtime.Goexit after Stop or Close had
	// begun, which Owner.Fail drops as an echo of the stop; a Goexit
	// echoes nothing, so Close still reports it (read after the join).
	late atomic.Bool

	mu      sync.Mutex // guards t, touched, and o's cancellation against fire
	t       *time.Timer
	touched bool // a Touch arrived while f ran: re-arm after it
	running bool // f is running
}

// NewIdleTimer returns an IdleTimer that calls f on its own goroutine after
// d without a Touch, counting from now. It panics if d is not positive (an
// idle timeout of zero would fire on every event) or f is nil.
func NewIdleTimer(d time.Duration, f func()) *IdleTimer {
	lifecycle.Positive("timeout", "NewIdleTimer", "d", d)
	lifecycle.NotNil("timeout", "NewIdleTimer", "f", f == nil)
	return newIdleTimer("IdleTimer", d, f)
}

// newIdleTimer is NewIdleTimer for the type typ, which names the owner in
// labels and errors.
func newIdleTimer(typ string, d time.Duration, f func()) *IdleTimer {
	it := &IdleTimer{d: d, f: f, epoch: time.Now()}
	it.o.Init(context.Background(), "timeout", typ)
	it.goexit = fmt.Errorf("timeout: %s: f: %w", typ, compendium.ErrGoexit)
	it.mu.Lock()
	defer it.mu.Unlock()
	it.t = time.AfterFunc(d, it.fire)
	return it
}

// Touch records activity now, pushing the expiry back to d from now. It
// never blocks and does not allocate. A Touch after Stop or Close does
// nothing.
func (it *IdleTimer) Touch() {
	it.last.Store(int64(time.Since(it.epoch)))
	if it.resting.Load() {
		it.rearm()
	}
}

// Stop stops the timer for good: f will not be called again. If f is
// running, Stop waits for it to return, so that after Stop nothing of the
// timer's is left running. Stop reports whether it prevented an expiry:
// true if the timer was armed, or f was running and a Touch during f had
// scheduled the next one; false if the timer was resting after f, or
// already stopped. It re-panics as Close does, but returns no error: use
// Close to learn of a Goexit in f. It is idempotent.
//
// f must not call Stop or Close on its own timer: they would wait for
// f's return, forever, as sync.Once's Do does when its f calls Do. Go
// hides which goroutine is calling, so they cannot tell f from another
// caller and turn that into a panic. f rarely needs to: once f has run,
// the timer rests, holding no goroutine, until the next Touch. If f must
// stop it for good, it can call go it.Close().
func (it *IdleTimer) Stop() bool {
	armed := it.stop()
	it.o.Join()
	_ = it.o.Result() // re-panics; an error is Close's to report
	return armed
}

// Close stops the timer for good, as Stop does, and returns f's first
// failure: nil, or an error matching [compendium.ErrGoexit] if f called
// runtime.Goexit. If f panicked, Close re-panics with its
// *[compendium.PanicError] instead. Every call reports the same.
func (it *IdleTimer) Close() error {
	it.stop()
	it.o.Join()
	if err := it.o.Result(); err != nil || !it.late.Load() {
		return err
	}
	return it.goexit
}

// stop cancels the owner and the timer, and reports whether that
// prevented an expiry.
func (it *IdleTimer) stop() bool {
	it.mu.Lock()
	defer it.mu.Unlock()
	armed := !it.o.Canceled() && (!it.resting.Load() || it.touched)
	it.o.Stop(it.o.ErrClosed())
	it.t.Stop()
	return armed
}

// idle returns how long it has been since the last Touch (or creation).
func (it *IdleTimer) idle() time.Duration {
	return time.Since(it.epoch) - time.Duration(it.last.Load())
}

// fire runs when the underlying timer expires.
func (it *IdleTimer) fire() {
	it.mu.Lock()
	if it.o.Canceled() {
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
	// Counted under mu, where stop cannot have cancelled the owner: a
	// Stop either sees f running and joins it, or came first and f does
	// not run.
	it.o.Add(1)
	it.running = true
	it.mu.Unlock()

	defer it.ran()
	it.o.Labels().Apply()
	p, _ := lifecycle.Call(func() error { it.f(); return nil }, func() {
		if !it.o.Fail(it.goexit) {
			it.late.Store(true) // read by Close only if o has no failure
		}
	})
	if p != nil {
		it.o.Fail(p) // cancels the owner: the timer is stopped for good
	}
}

// ran ends a run of f, however f ended: it re-arms the timer if a Touch
// came while f ran, and lets Stop and Close return.
func (it *IdleTimer) ran() {
	it.mu.Lock()
	it.running = false
	if it.touched && !it.o.Canceled() {
		it.armLocked()
	}
	it.touched = false
	it.mu.Unlock()
	it.o.Exit()
}

// rearm is Touch's slow path, taken only when the timer is resting.
func (it *IdleTimer) rearm() {
	it.mu.Lock()
	defer it.mu.Unlock()
	switch {
	case it.o.Canceled() || !it.resting.Load():
		// Stopped, or fire saw our Touch and re-armed itself.
	case it.running:
		it.touched = true // ran re-arms when f returns
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
