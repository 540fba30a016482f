package fanout

import "sync/atomic"

// closedBit marks a gate shut; the bits below it count the callers inside.
const closedBit = 1 << 62

// gate orders producers' sends against a shutdown, without a lock. A
// producer enters before it may put something in a queue and leaves after;
// shut marks the gate closed, so that later producers are turned away, and
// returns once the producers inside have left: after it, nothing new can
// enter the queues, so a final drain sees every accepted item and the
// queues may be closed. Producers inside must not wait for anything that
// only the shutdown would provide.
//
// An RWMutex (producers read-lock, shut write-locks) does the same, but a
// goroutine blocked on a contended mutex is not durably blocked for
// testing/synctest, and entering costs the same two atomic adds.
type gate struct {
	n      atomic.Int64
	quiet  chan struct{} // closed once shut and empty
	hushed atomic.Bool   // quiet has been closed
}

func newGate() gate { return gate{quiet: make(chan struct{})} }

// enter reports whether the caller may go in; if it returns false, the
// caller must not send and must not call leave.
func (g *gate) enter() bool {
	if g.n.Add(1)&closedBit != 0 {
		g.leave()
		return false
	}
	return true
}

// leave ends an enter that returned true.
func (g *gate) leave() {
	if g.n.Add(-1) == closedBit {
		g.hush()
	}
}

// shut closes the gate and waits for every caller inside to leave. It is
// idempotent and safe to call concurrently.
func (g *gate) shut() {
	if g.n.Or(closedBit) == 0 {
		g.hush()
	}
	<-g.quiet
}

// hush closes quiet, once.
func (g *gate) hush() {
	if g.hushed.CompareAndSwap(false, true) {
		close(g.quiet)
	}
}
