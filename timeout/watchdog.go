package timeout

import (
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-compendium/compendium/internal/lifecycle"
)

// Watchdog watches a fixed set of workers, numbered 0 to workers-1, and
// reports which of them stalled: a worker is stalled when it has been busy
// for d without progress, d after its [Watchdog.Busy] or its last
// [Watchdog.Beat], whichever came later. An idle worker is never stalled,
// however long it waits for work: that is what a single [Heartbeat] cannot
// tell, since it only knows that no beat came.
//
// Each stall is reported once, by sending the worker's number on
// [Watchdog.Stalled]; the worker is then not watched until it calls Busy or
// Beat again. The channel has room for one report per worker and holds at
// most one unreceived report per worker, so a send never blocks and never
// drops: a report waiting to be received is not doubled by a second stall
// of the same worker, nor lost when other workers stall.
//
// Busy and Beat cost a clock read, an atomic store and an atomic load, as
// [IdleTimer.Touch]; Idle an atomic store. The Watchdog has one timer for
// all workers, armed for the earliest moment any busy worker could stall,
// and rests (no timer armed) while no busy worker is left to watch.
//
// Create one with [NewWatchdog]; the zero value is not usable, and a
// Watchdog must not be copied. Its methods are safe for concurrent use.
// Busy, Beat and Idle record the clock, they send no message: they order
// nothing with the receipt of a report. A report says the worker was
// stalled when it was sent; it may have moved on since.
//
// Cost: see impl=supervised under fanout.Balancer in bench/RESULTS.md,
// which calls Busy and Idle around every request.
type Watchdog struct {
	d       time.Duration
	epoch   time.Time // the workers' times are nanoseconds since epoch, on the monotonic clock
	workers []watched
	stalled chan int // capacity: one per worker
	// resting is true while the timer is not armed because no busy worker
	// was left to watch. Busy and Beat read it after storing their time,
	// and check sets it before reading the times: with both sequentially
	// consistent, at least one sees the other, so a worker that starts or
	// beats while the timer goes to rest is never left unwatched.
	resting atomic.Bool

	mu       sync.Mutex
	t        *time.Timer // nil until first armed
	closed   bool
	reported []int64 // per worker, the time of the Busy or Beat its last report was for; -1 if none
	sent     []int   // the last len(sent) reports, in the order sent: a ring
	nsent    uint64  // reports sent so far
}

// watched is one worker's state, on a cache line of its own, so that
// workers beating at once do not contend on each other's stores.
type watched struct {
	last atomic.Int64 // when the worker last called Busy or Beat
	busy atomic.Bool
	_    [64 - 8 - 4]byte
}

// NewWatchdog returns a Watchdog over workers workers, all idle, that
// reports a busy worker as stalled after d without a Beat. It panics if d
// is not positive or workers is less than 1 (or so large that its state
// would take more than a GiB).
func NewWatchdog(d time.Duration, workers int) *Watchdog {
	lifecycle.Positive("timeout", "NewWatchdog", "d", d)
	lifecycle.Min("timeout", "NewWatchdog", "workers", workers, 1)
	lifecycle.UpFront[watched]("timeout", "NewWatchdog", "workers", workers)
	w := &Watchdog{
		d:        d,
		epoch:    time.Now(),
		workers:  make([]watched, workers),
		stalled:  make(chan int, workers),
		reported: make([]int64, workers),
		sent:     make([]int, workers),
	}
	for i := range w.reported {
		w.reported[i] = -1
	}
	w.resting.Store(true) // nothing to watch until a Busy
	return w
}

// Busy records that worker i began a unit of work: from now, d without a
// Beat (or a new Busy) is a stall. It panics if i is not a worker's number.
func (w *Watchdog) Busy(i int) {
	s := w.worker("Watchdog.Busy", i)
	// The time first: check reads busy, then last, so a check that sees
	// this worker busy sees the time its work began, not an older one.
	s.last.Store(w.now())
	s.busy.Store(true)
	if w.resting.Load() {
		w.wake()
	}
}

// Beat records that worker i made progress: a busy worker's stall is
// pushed back to d from now, and a worker that was reported stalled is
// watched again. A Beat from an idle worker does nothing: it stays idle.
// Beat never blocks and does not allocate. It panics if i is not a
// worker's number.
func (w *Watchdog) Beat(i int) {
	s := w.worker("Watchdog.Beat", i)
	s.last.Store(w.now())
	if w.resting.Load() && s.busy.Load() {
		w.wake()
	}
}

// Idle records that worker i has no work: it cannot stall until its next
// Busy. A report already sent for it stays in [Watchdog.Stalled]. It panics
// if i is not a worker's number.
func (w *Watchdog) Idle(i int) {
	w.worker("Watchdog.Idle", i).busy.Store(false)
}

// Stalled returns the channel on which the Watchdog sends a worker's number
// each time that worker stalls. It is closed by [Watchdog.Close], after
// which the reports sent before it can still be received.
func (w *Watchdog) Stalled() <-chan int { return w.stalled }

// Close stops the Watchdog: no report is sent after Close returns, and
// Stalled is closed. Busy, Beat and Idle may still be called and do
// nothing that matters. Close is idempotent and always returns nil: the
// Watchdog runs none of your code, so nothing it does can fail. It joins
// nothing either: its timer's callback does all its work holding the lock
// that Close takes, and returns without it once closed.
func (w *Watchdog) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.closed {
		w.closed = true
		if w.t != nil {
			w.t.Stop()
		}
		close(w.stalled)
	}
	return nil
}

// worker returns worker i's state, or panics naming fn if there is none.
func (w *Watchdog) worker(fn string, i int) *watched {
	if uint(i) >= uint(len(w.workers)) {
		lifecycle.Panicf("timeout", fn, "i must be a worker from 0 to %d, got %d", len(w.workers)-1, i)
	}
	return &w.workers[i]
}

// now returns the time since epoch, in nanoseconds.
func (w *Watchdog) now() int64 { return int64(time.Since(w.epoch)) }

// wake is Busy's and Beat's slow path, taken only when the timer rests (or
// is about to rest): it checks again, which arms the timer for the worker
// that woke it.
func (w *Watchdog) wake() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.closed {
		w.check()
	}
}

// fire runs when the timer expires.
func (w *Watchdog) fire() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.closed {
		w.check()
	}
}

// check reports every busy worker whose stall is due and not yet reported,
// then arms the timer for the earliest stall still to come, or lets it
// rest if there is none. The caller holds mu.
//
// One timer armed for the earliest deadline, rather than one per worker
// (time.AfterFunc per Busy, or a Reset per Beat): a Beat then touches no
// timer at all, and the Watchdog costs one timer however many workers it
// watches. The price is a scan of every worker per expiry.
func (w *Watchdog) check() {
	w.resting.Store(true)
	now := w.now()
	const none = math.MaxInt64
	next := int64(none) // the earliest stall still to come
	for i := range w.workers {
		s := &w.workers[i]
		if !s.busy.Load() {
			continue
		}
		last := s.last.Load()
		if last == w.reported[i] {
			// Reported, and no Busy or Beat since: any later one stores a
			// time at or after the report, so later than last.
			continue
		}
		if due := last + int64(w.d); due > now {
			next = min(next, due)
			continue
		}
		w.reported[i] = last
		w.report(i)
	}
	if next == none {
		return // rest until a Busy or Beat wakes us
	}
	w.resting.Store(false)
	if w.t == nil {
		w.t = time.AfterFunc(time.Duration(next-now), w.fire)
	} else {
		w.t.Reset(time.Duration(next - now))
	}
}

// report sends i on stalled unless a report of i is still waiting there.
// The caller holds mu.
//
// Only report sends, and the receivers take the oldest first, so the
// reports still waiting are exactly the last len(stalled) sent: the ring
// of recent sends tells which workers they are, without a flag that the
// receiver would have to clear. A report received while we look is still
// counted as waiting: it is received after this stall began, so it
// reports this stall, not only the last. With at most one waiting per
// worker, the channel (one slot per worker) always has room.
func (w *Watchdog) report(i int) {
	for k := range uint64(len(w.stalled)) {
		if w.sent[(w.nsent-1-k)%uint64(len(w.sent))] == i {
			return
		}
	}
	w.stalled <- i
	w.sent[w.nsent%uint64(len(w.sent))] = i
	w.nsent++
}
