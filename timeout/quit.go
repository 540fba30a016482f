package timeout

import (
	"sync"
	"sync/atomic"
)

// Quit is a close-once broadcast signal: the talk's "start gun" and
// "terminate workers" slides. Any number of goroutines select on
// [Quit.Done]; one call to [Quit.Quit] releases all of them at once, because
// a receive from a closed channel never blocks.
//
// The zero value is ready to use and has not fired; [NewQuit] is the same as
// new(Quit). A Quit must not be copied after first use (go vet reports
// copies). All methods are safe to call from any number of goroutines, and
// Quit may be called any number of times: only the first call closes the
// channel, so the "close of closed channel" panic cannot happen.
//
// Happens-before: the first call to Quit synchronizes before every receive
// from Done that observes the close, every Fired call that returns true and
// the return of every other call to Quit.
//
// Cost: no goroutine. Fired is one atomic load, and Done one atomic load
// once the channel exists; Quit takes a lock, only until the signal has
// fired. The channel is allocated on the first Done, and never if Quit
// comes first. See timeout.Signal in bench/RESULTS.md, beside
// context.WithCancel, a sync.Once closing a channel and a mutex-guarded
// flag. Use a plain atomic.Bool instead if nobody needs to select on the
// signal: it saves the channel, most of the cost, but a goroutine can only
// poll it.
type Quit struct {
	// done holds the chan struct{}, created lazily so that the zero value
	// works: whoever needs it first (Done or Quit) installs it with a
	// compare-and-swap. An atomic.Value rather than a sync.Once keeps
	// Done at one load, and rather than an atomic.Pointer it needs no
	// allocation for the pointer (context's cancelCtx does the same).
	done atomic.Value
	// mu serializes Quit, so that every call returns after the close, the
	// ones that lose the race too, as a second context cancel or
	// sync.Once.Do does. A compare-and-swap on a flag would make Quit
	// lock-free but would let a loser return while the winner is still
	// closing (waking every waiter takes a while), and a caller that
	// relies on the signal after its own Quit would find it not fired.
	mu sync.Mutex
	// fired is set after the close, so that a Fired that returns true
	// promises a Done channel that is already closed.
	fired atomic.Bool
}

// closedchan is handed out by a Quit that fired before anyone asked for
// its channel, saving the allocation. It is closed at init and never
// changes, as context's closedchan.
var closedchan = func() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}()

// NewQuit returns a new Quit that has not fired. It is the same as new(Quit).
func NewQuit() *Quit { return new(Quit) }

// Done returns a channel that is closed when the signal fires. It returns
// the same channel on every call.
func (q *Quit) Done() <-chan struct{} {
	if c, _ := q.done.Load().(chan struct{}); c != nil {
		return c
	}
	c := make(chan struct{})
	if q.done.CompareAndSwap(nil, c) {
		return c
	}
	// Another goroutine installed its channel first (or Quit installed
	// closedchan); use that one, so that every caller sees the same.
	return q.done.Load().(chan struct{})
}

// Quit fires the signal: it closes the channel Done returns, releasing every
// goroutine waiting on it, now and later. It reports whether this call fired
// it: exactly one call returns true, every later or concurrent one returns
// false. Every call returns only once the signal has fired, so after any
// Quit, Fired reports true and a receive from Done does not block.
func (q *Quit) Quit() bool {
	if q.fired.Load() {
		return false // fired long ago: no need for the lock
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.fired.Load() {
		return false
	}
	if !q.done.CompareAndSwap(nil, closedchan) {
		close(q.done.Load().(chan struct{}))
	}
	q.fired.Store(true)
	return true
}

// Fired reports whether the signal has fired, that is whether the channel
// Done returns is closed. It is a cheaper poll than a select on Done with a
// default case, for loops that check between units of work.
func (q *Quit) Fired() bool { return q.fired.Load() }
