package timeout

import (
	"fmt"
	"time"
)

// Heartbeat is a worker's heartbeat and its watchdog in one: the worker
// calls [Heartbeat.Beat] as it makes progress, and a supervisor receives
// from [Heartbeat.Missed] when no beat has come for d, so that it can
// restart a stalled worker.
//
// Beat never blocks the worker and never queues: it records the time of the
// beat (one atomic store), so a thousand beats between two checks cost a
// thousand stores and leave no backlog. The usual channel heartbeat (the
// worker does a non-blocking send on a buffered channel, a monitor
// goroutine resets a timer per beat) needs a monitor goroutine, a channel
// operation per beat and a timer Reset per beat; Heartbeat needs none of
// them. It is an [IdleTimer] whose expiry reports on a channel: for a
// callback instead (say, to restart the worker directly), use an IdleTimer,
// with Touch as the beat.
//
// Missed delivers one value per stall: after a report the watchdog rests
// until the next Beat, so a worker that stays stalled is reported once, not
// every d. A supervisor that restarts the worker should call Beat itself
// when it does, so that a replacement that never beats is reported d later.
// A report nobody has received yet is not doubled.
//
// Cost: a Beat is an [IdleTimer.Touch] (see BenchmarkIdle); the watchdog
// wakes about once per d while beats come, to re-arm.
//
// Create Heartbeats with [NewHeartbeat]; the zero value is not usable. A
// Heartbeat must not be copied. Beat, Missed and Stop are safe to call from
// any number of goroutines. Stop it when done: it owns a timer whose
// callback goroutine Stop joins.
//
// Happens-before: a Beat is a clock store, not a message; it orders nothing
// between the worker and whoever receives from Missed. Pass data on a
// channel of your own.
type Heartbeat struct {
	idle   *IdleTimer
	missed chan struct{}
}

// NewHeartbeat returns a Heartbeat whose watchdog reports a stall when d
// passes without a beat, counting from now. d must be positive: NewHeartbeat
// panics otherwise, as a programming error.
func NewHeartbeat(d time.Duration) *Heartbeat {
	if d <= 0 {
		panic(fmt.Sprintf("timeout: NewHeartbeat: d must be positive, got %v", d))
	}
	h := &Heartbeat{missed: make(chan struct{}, 1)}
	h.idle = NewIdleTimer(d, func() {
		select {
		case h.missed <- struct{}{}:
		default: // a report is already waiting: keep one, not a backlog
		}
	})
	return h
}

// Beat records that the worker is alive. It never blocks and does not
// allocate.
func (h *Heartbeat) Beat() { h.idle.Touch() }

// Missed returns a channel that receives a value when d passes without a
// beat: once per stall, since the watchdog then rests until the next Beat.
// It has room for one report, so a report not yet received is not doubled.
// It is never closed, not even by Stop: select on it together with your own
// quit or ctx.Done channel.
func (h *Heartbeat) Missed() <-chan struct{} { return h.missed }

// Stop stops the watchdog: no report is sent after Stop returns. It is
// idempotent.
func (h *Heartbeat) Stop() { h.idle.Stop() }
