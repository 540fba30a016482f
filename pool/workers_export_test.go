package pool

// SetIdleExpiredHook makes f run on a worker of w whose idle timer has just
// fired, before it takes the pool's lock to retire: the one moment where a
// submission, a Resize or a Close can take the worker off the idle stack
// while it is not receiving, which no test can reach by timing alone. Call
// it before submitting anything.
func SetIdleExpiredHook(w *Workers, f func()) { w.hookExpired = f }

// SetBlockedHook makes f run in a Go that found no room, after it has
// counted itself as waiting and released the pool's lock, before it waits
// on the doorbell: the moment where a worker may ring for it before it
// listens. Call it before submitting anything.
func SetBlockedHook(w *Workers, f func()) { w.hookBlocked = f }

// SetTuning turns on or off the two scheduling aids of w, for
// BenchmarkWorkersTuning: the Gosched with which a worker that has just
// woken a submitter blocked for room lets it refill the queue (yield), and
// the mark at which a blocked submitter is woken, when the queue is down
// to half (half) or as soon as one slot is free (not half). Call it before
// submitting anything.
func SetTuning(w *Workers, yield, half bool) {
	w.noYield = !yield
	if !half {
		w.wakeAt = w.q // ringRoom rings while Queued < q+coming: whenever admit would take a task
	}
}

// SetTickHook makes f run on a's timer goroutine as each tick begins,
// before it takes any lock: the one place where a test can hold a tick in
// progress, to see that Close waits for it. Call it before the first Put.
func SetTickHook[E any](a *AgingRecycler[E], f func()) { a.hookTick = f }
