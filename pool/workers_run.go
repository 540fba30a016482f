package pool

import (
	"runtime"
	"runtime/trace"
	"slices"
	"strconv"
	"time"

	"github.com/go-compendium/compendium"
	"github.com/go-compendium/compendium/internal/lifecycle"
)

// worker is one worker goroutine: its identity, its parking place, and the
// task it runs. A worker that exits (idle, or the pool shrank) is kept in
// Workers.spare and reused, index and labels included, by the next one to
// start, so that the labels a profile shows stay below the largest limit
// the pool has had.
type worker struct {
	index  int
	labels lifecycle.Labels // compendium=pool type=Workers worker=<index>
	wake   chan struct{}    // capacity 1: the one token that ends a park
	timer  *time.Timer      // the idle timer, made on first use with IdleTimeout
	main   func()           // w.work(me), made once
	loop   func() error     // w.loop(me), what lifecycle.Call runs
	exited func()           // w.exited(me), Call's Goexit hook
	run                     // the running task's context, deadline and region
}

// newWorker returns a spare worker, or a new one, with w.mu held.
func (w *Workers) newWorker() *worker {
	if k := len(w.spare); k > 0 {
		me := w.spare[k-1]
		w.spare = w.spare[:k-1]
		return me
	}
	me := &worker{index: w.made, wake: make(chan struct{}, 1)}
	w.made++
	me.labels = w.own.Labels("worker", strconv.Itoa(me.index))
	me.main = func() { w.work(me) }
	me.loop = func() error { w.loop(me); return nil }
	me.exited = func() { w.exited(me) }
	return me
}

// admit queues j if there is room for it, with w.mu held, and reports
// whether it did. Room is an idle worker (woken), the limit not reached (a
// worker started), or fewer than q tasks queued beyond those the workers
// on their way will take: with q = 0, a task is accepted only if a worker
// is there for it.
func (w *Workers) admit(j job) bool {
	switch {
	case len(w.sleepers) > 0:
		// Wake the worker that parked last: its stack and caches are the
		// warmest, and the ones parked longest can time out.
		last := len(w.sleepers) - 1
		w.wake(w.sleepers[last])
		w.sleepers = w.sleepers[:last]
	case w.workers < w.n:
		w.spawn(w.newWorker())
	case w.stats.Queued >= w.q+uint64(w.coming):
		return false
	}
	if w.stats.Queued == uint64(len(w.ring)) {
		w.grow()
	}
	tail := w.head + int(w.stats.Queued)
	if tail >= len(w.ring) {
		tail -= len(w.ring) // a compare, not %: a division costs more than the rest of admit
	}
	w.ring[tail] = j
	w.stats.Queued++
	w.stats.Submitted++
	// Pass the doorbell on: it holds one ring, and other submitters may
	// still be waiting for the room left.
	w.ringRoom()
	return true
}

// grow doubles the ring, with w.mu held. The ring starts empty and grows
// with the tasks actually queued, at most to about q plus the limit, so
// that neither a large limit nor a large queue allocates up front.
func (w *Workers) grow() {
	ring := make([]job, max(2*len(w.ring), 8))
	k := copy(ring, w.ring[w.head:])
	copy(ring[k:], w.ring[:w.head])
	w.ring, w.head = ring, 0
}

// pop takes the oldest queued task, with w.mu held and the queue not empty.
func (w *Workers) pop() job {
	j := w.ring[w.head]
	w.ring[w.head] = job{} // let the task's closure and contexts be collected
	if w.head++; w.head == len(w.ring) {
		w.head = 0
	}
	w.stats.Queued--
	return j
}

// spawn starts the worker goroutine me, with w.mu held.
func (w *Workers) spawn(me *worker) {
	w.workers++
	w.coming++
	w.own.Go(me.labels, me.main)
}

// wake ends a parked worker's park, with w.mu held; the caller has taken
// it off the sleepers stack.
func (w *Workers) wake(s *worker) {
	w.coming++
	// Capacity 1, and one token per park: never blocks, even when the
	// worker's idle timer has fired and it is not yet receiving.
	s.wake <- struct{}{}
}

// ringRoom wakes a submitter waiting for room, with w.mu held, once the
// queue is down to half its capacity. Waking at half rather than at every
// free slot lets a producer faster than the workers refill q/2 slots per
// wake-up instead of one; BenchmarkWorkersTuning (mark=half against
// mark=one, -cpu 1,2,4,8) measures it against waking at every free slot. It
// rings only if admit would take a task (a worker is idle or can start, or
// the queue has room), so that with a queue of 0 a pop does not wake a
// submitter that would find the worker busy with the task it just took.
// It reports whether it rang.
func (w *Workers) ringRoom() bool {
	if w.blocked == 0 {
		return false
	}
	if len(w.sleepers) > 0 || w.workers < w.n || w.stats.Queued < w.wakeAt+uint64(w.coming) {
		select {
		case w.room <- struct{}{}:
			return true
		default: // already rung; the woken submitter rings on (see admit)
		}
	}
	return false
}

// work is one worker goroutine. Its tasks run inside one lifecycle.Call
// for as long as none panics, rather than one Call per task: the deferred
// recover costs once per worker, not once per task. A panic unwinds the
// loop; it is counted, and the loop starts again on the same goroutine.
func (w *Workers) work(me *worker) {
	w.mu.Lock()
	w.coming--
	for {
		p, _ := lifecycle.Call(me.loop, me.exited)
		if p == nil {
			return // the loop returned: the worker exits
		}
		me.end()
		w.mu.Lock()
		w.finish(p, nil)
	}
}

// loop runs queued tasks on the worker me until the pool is closed and the
// queue empty, the pool is over its limit, or the worker has been idle for
// IdleTimeout. It is entered with w.mu held and returns with it released.
func (w *Workers) loop(me *worker) {
	for w.workers <= w.n {
		if w.stats.Queued == 0 {
			if w.state == closed || !w.park(me) {
				break
			}
			continue
		}
		j := w.pop()
		rang := w.ringRoom()
		if w.stopped() {
			w.stats.Canceled++
			w.cut = true
			w.checkIdle()
			continue
		}
		w.stats.Running++
		w.mu.Unlock()
		if rang {
			// The submitter just woken is queued to run on this
			// worker's P, after this goroutine, which would go on
			// taking tasks until the queue is empty and it parks,
			// leaving the workers idle while the submitter refills.
			// One yield per wake-up (once per q/2 tasks) lets it refill
			// at once. BenchmarkWorkersTuning (impl=yield against
			// impl=noyield, -cpu 1,2,4,8) measures what it gains.
			if !w.noYield {
				runtime.Gosched()
			}
		}
		// The common case, a task submitted with context.Background and
		// no deadline or trace, needs neither start nor end: two calls
		// fewer per task.
		ctx := w.taskCtx
		if j.c != nil || w.timeout > 0 || trace.IsEnabled() {
			ctx = me.start(w, j)
		}
		err := j.f(ctx)
		if me.merged != nil || me.cancel != nil || me.region != nil {
			me.end()
		}
		w.mu.Lock()
		w.finish(nil, err)
	}
	w.workers--
	w.spare = append(w.spare, me)
	w.mu.Unlock()
}

// finish counts the end of a running task that panicked with p or
// returned err, with w.mu held. A panic fails the pool whatever its rule
// for errors.
func (w *Workers) finish(p *compendium.PanicError, err error) {
	w.stats.Running--
	switch {
	case p != nil:
		w.stats.Panicked++
		w.own.Fail(p)
	case err != nil:
		w.stats.Failed++
		w.failed(err)
	default:
		w.stats.Completed++
	}
	w.checkIdle()
}

// failed records a task's error, with w.mu held: kept for the next Wait
// or, with CancelOnError, the pool's failure if it is the first. Every
// error is kept, also one that arrives after the pool's context ended:
// telling a task's echo of that end from a failure of its own would be a
// guess, and a task cut short did fail.
func (w *Workers) failed(err error) {
	if w.cancelOnError {
		w.own.Fail(err) // records and cancels only for the first failure
		return
	}
	w.errs.Add(err)
}

// exited is the Goexit hook of the worker me's lifecycle.Call: its task
// called runtime.Goexit, which is taking the goroutine down. The task is a
// failure (compendium.ErrGoexit), and a replacement starts under the same
// index, or the pool would lose a worker per Goexit.
func (w *Workers) exited(me *worker) {
	me.end()
	w.mu.Lock()
	w.finish(nil, compendium.ErrGoexit)
	w.workers--
	if w.workers < w.n {
		// Even when closed: the replacement skips what is still queued,
		// which Wait after Close waits for.
		w.spawn(me)
	} else {
		w.spare = append(w.spare, me)
	}
	w.mu.Unlock()
}

// runInline runs j on the calling goroutine, a submission from inside that
// found neither a worker nor room in the queue: caller-runs. The caller
// counted it as submitted and running.
func (w *Workers) runInline(j job) {
	var r run
	ctx := r.start(w, j)
	p, err := lifecycle.Call(func() error { return j.f(ctx) }, func() {
		// The task called Goexit, which ends the calling goroutine too:
		// if that is a worker, its own hook counts its task next.
		r.end()
		w.mu.Lock()
		w.finish(nil, compendium.ErrGoexit)
		w.mu.Unlock()
	})
	r.end()
	w.mu.Lock()
	w.finish(p, err)
	w.mu.Unlock()
}

// park waits, with w.mu held on entry and on return, until a submitter,
// Resize or Close wakes the worker. It reports false if the worker has been
// idle for IdleTimeout instead, and should exit.
func (w *Workers) park(me *worker) bool {
	w.sleepers = append(w.sleepers, me)
	// With a queue capacity of 0, an idle worker is what a waiting
	// submitter waits for.
	w.ringRoom()
	w.mu.Unlock()
	if w.idleFor == 0 {
		<-me.wake
		w.mu.Lock()
		w.coming--
		return true
	}
	if me.timer == nil {
		me.timer = time.NewTimer(w.idleFor)
	} else {
		me.timer.Reset(w.idleFor)
	}
	select {
	case <-me.wake:
		me.timer.Stop()
		w.mu.Lock()
		w.coming--
		return true
	case <-me.timer.C:
	}
	if w.hookExpired != nil {
		w.hookExpired()
	}
	w.mu.Lock()
	if i := slices.Index(w.sleepers, me); i >= 0 {
		w.sleepers = slices.Delete(w.sleepers, i, i+1)
		return false
	}
	// A submitter (or Close, or Resize) took this worker off the stack,
	// under w.mu, just as the timer fired: its token is in wake, and a
	// task may be waiting for this worker.
	<-me.wake
	w.coming--
	return true
}
