package timeout

import (
	"time"

	"github.com/go-compendium/compendium/internal/lifecycle"
)

// Heartbeat is a worker's heartbeat and its watchdog in one: the worker
// calls [Heartbeat.Beat] as it makes progress, and a supervisor receives
// from [Heartbeat.Missed] when no beat has come for d, so that it can
// restart a stalled worker.
//
// Beat never blocks the worker and never queues: it records the time of the
// beat (one atomic store), so a thousand beats between two checks cost a
// thousand stores and leave no backlog, where the usual channel heartbeat
// needs a monitor goroutine, a channel operation and a timer Reset per
// beat. It is an [IdleTimer] whose expiry reports on a channel: for a
// callback instead (say, to restart the worker directly), use an IdleTimer,
// with Touch as the beat.
//
// Missed delivers one value per stall: after a report the watchdog rests
// until the next Beat, so a worker that stays stalled is reported once, not
// every d. A supervisor that restarts the worker should call Beat itself
// when it does, so that a replacement that never beats is reported d later.
// A report nobody has received yet is not doubled.
//
// Create Heartbeats with [NewHeartbeat]; the zero value is not usable. A
// Heartbeat must not be copied. Beat, Missed and Close are safe for
// concurrent use. Close it when done: it owns a timer whose callback
// goroutine Close joins. A
// Beat is a clock store, not a message: it orders nothing between the
// worker and whoever receives from Missed; pass data on a channel of your
// own.
//
// Cost: a Beat is an [IdleTimer.Touch] (see timeout.Idle in
// bench/RESULTS.md); the watchdog wakes about once per d while beats come,
// to re-arm.
type Heartbeat struct {
	idle   *IdleTimer
	missed chan struct{}
}

// NewHeartbeat returns a Heartbeat whose watchdog reports a stall when d
// passes without a beat, counting from now. It panics if d is not positive.
func NewHeartbeat(d time.Duration) *Heartbeat {
	lifecycle.Positive("timeout", "NewHeartbeat", "d", d)
	h := &Heartbeat{missed: make(chan struct{}, 1)}
	h.idle = newIdleTimer("Heartbeat", d, func() {
		select {
		case h.missed <- struct{}{}:
		default: // a report is already waiting: keep one, not a backlog
		}
	})
	return h
}

// Beat records that the worker is alive. It never blocks and does not
// allocate. A Beat after Close does nothing.
func (h *Heartbeat) Beat() { h.idle.Touch() }

// Missed returns a channel that receives a value when d passes without a
// beat: once per stall, since the watchdog then rests until the next Beat.
// It has room for one report, so a report not yet received is not doubled
// and an unread one cannot block the watchdog. It is never closed, not
// even by Close: select on it together with your own quit or ctx.Done
// channel.
func (h *Heartbeat) Missed() <-chan struct{} { return h.missed }

// Close stops the watchdog: no report is sent after Close returns. It is
// idempotent, and returns nil: the watchdog runs no code of yours.
func (h *Heartbeat) Close() error { return h.idle.Close() }
