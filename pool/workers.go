package pool

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/go-compendium/compendium/internal/panics"
)

// ErrClosed is the error [Workers.Go] returns after [Workers.Close] has
// been called, and the cause of the pool's context once Close cancels it.
var ErrClosed = errors.New("pool: closed")

// PanicError is a panic recovered from a task run by [Workers]: the value
// the task passed to panic and the stack of the worker goroutine where it
// happened. [Workers.Wait] (or [Workers.Close]) re-panics with it on the
// caller's goroutine, so a recover there gets the *PanicError back, and
// [errors.As] finds it in an error. If the panic value was an error,
// Unwrap returns it. A panic(nil) arrives as a [*runtime.PanicNilError].
type PanicError = panics.Error

// errFull is push's answer when the queue has no room; it never leaves the
// package.
var errFull = errors.New("pool: queue full")

// Workers is a bounded worker pool: at most n long-lived goroutines run the
// tasks taken from one bounded queue, the worker pool of the talk's load
// balancer, with backpressure, cancellation, errors and panics handled the
// way [golang.org/x/sync/errgroup] handles them.
//
// A task is a func(ctx context.Context) error. It runs with the pool's
// context, which is derived from the context given to [NewWorkers] and is
// cancelled by the first task that fails or panics (with [JoinErrors], only
// by a panic), when that parent context ends, and by [Workers.Close]. A task
// still queued when the pool's context is cancelled never runs: it is
// counted as cancelled in [Workers.Stats], and Wait reports why.
//
// Workers start on demand: a task that arrives when no worker is idle
// starts one, until there are n; they then run until Close (or until
// [IdleTimeout] retires them). A task goes to the idle worker that parked
// last, so under a light load the same few stay warm. The queue is a ring
// of q+n slots, allocated once: a pool's memory does not grow with the
// number of tasks.
//
// The zero value is not usable: create a Workers with [NewWorkers], and
// call [Workers.Close] when done with it. A Workers must not be copied;
// use the pointer NewWorkers returns.
//
// All methods are safe for concurrent use, except that [Workers.Wait] and
// [Workers.Close] must not be called from inside a task, since they wait for
// every task, the calling one included. The pool is reusable after Wait:
// tasks submitted after Wait returns are waited for by the next Wait. A pool
// whose context was cancelled stays cancelled and refuses new tasks (Go
// returns the cause); start a new one for a fresh start.
//
// Happens-before: a call to [Workers.Go] or [Workers.TryGo] that accepts a
// task synchronizes before the task starts, and the return of every task
// synchronizes before the return of a Wait or Close that waits for it.
//
// Cost: on the 2-core reference machine, with 4 workers, an atomic add as
// the task, and 1,000 tasks submitted then waited for, a task costs 43 to
// 52 ns from Go to the end of Wait, with no allocation (semaphore.Group
// 250-310 ns, errgroup.SetLimit 330-360 ns, a goroutine per task 200-230
// ns, each with an allocation per task). See BenchmarkWorkers, and the
// package documentation for when that matters.
type Workers struct {
	// Set by NewWorkers, read-only afterwards.
	ctx     context.Context
	cancel  context.CancelCauseFunc
	ctxDone <-chan struct{} // ctx.Done(), fetched once
	n       int             // the most workers
	q       int             // the queue's capacity
	idleFor time.Duration   // IdleTimeout, or 0
	join    bool            // JoinErrors
	room    chan struct{}   // a doorbell (capacity 1) for submitters waiting for room

	// goroutines counts the worker goroutines, for Close to join.
	goroutines sync.WaitGroup

	// mu guards everything below. One short critical section per task on
	// each side (push; finish-and-pop) was measured faster than the first
	// version of this type, a buffered channel as the queue with atomic
	// counters beside it (44 against 64 ns per tiny task with a deep
	// queue, 160 against 250 ns with hand-off), and it makes Stats a
	// consistent snapshot. A contended mutex is not durably
	// blocking in a synctest bubble, but nothing waits while holding it:
	// every wait (for room, for a task, for idleness) is on a channel.
	mu       sync.Mutex
	ring     []func(context.Context) error // the queue: ring buffer of q+n slots
	head     int                           // index of the oldest queued task
	sleepers []*worker                     // parked workers, last parked last
	coming   int                           // workers woken or started, not yet back at the queue
	blocked  int                           // submitters waiting on room
	closed   bool
	idle     chan struct{} // closed when nothing is queued or running; nil unless Wait waits
	stats    WorkersStats  // Queued, Running and Workers included, kept current
	errs     []error       // the task errors no Wait has returned yet, with JoinErrors
	panic    *PanicError   // the first panic
	raised   bool          // whether Wait or Close has re-panicked with panic
}

// worker is one worker goroutine's parking place.
type worker struct {
	wake  chan struct{} // capacity 1: the one token that ends a park
	timer *time.Timer   // the idle timer, made on first use with IdleTimeout
}

// NewWorkers returns a pool of at most n workers, whose context is derived
// from ctx. The queue holds 64 tasks unless [QueueCapacity] says otherwise.
// No goroutine starts until a task is submitted.
//
// NewWorkers panics if n is less than 1 (a pool of no workers would accept
// tasks and never run them, and silently using 1 instead would hide the bug
// that computed n), or if an option is nil.
func NewWorkers(ctx context.Context, n int, opts ...WorkersOption) *Workers {
	if n < 1 {
		panic(fmt.Sprintf("pool: workers must be at least 1, got %d", n))
	}
	cfg := workersConfig{queue: defaultQueue}
	applyOptions("NewWorkers", &cfg, opts)
	if cfg.queue > math.MaxInt-n {
		// The ring has q+n slots; an overflow would reach make as a
		// negative length and panic with the runtime's message instead.
		panic(fmt.Sprintf("pool: queue capacity plus workers must fit in an int, got %d + %d", cfg.queue, n))
	}
	ctx, cancel := context.WithCancelCause(ctx)
	return &Workers{
		ctx:      ctx,
		cancel:   cancel,
		ctxDone:  ctx.Done(),
		n:        n,
		q:        cfg.queue,
		idleFor:  cfg.idle,
		join:     cfg.join,
		room:     make(chan struct{}, 1),
		ring:     make([]func(context.Context) error, cfg.queue+n),
		sleepers: make([]*worker, 0, n),
	}
}

// Go submits task, blocking while the queue is full. It returns nil once
// the task is queued or a worker has it. If the task cannot be accepted, Go
// returns an error, the task never runs, and it is counted as rejected:
//
//   - ctx.Err() if ctx ends first (Go never blocks forever);
//   - [ErrClosed] after [Workers.Close];
//   - the cause of the pool's cancellation (a task's error, a
//     [*PanicError], or the parent context's cause) once the pool's
//     context is cancelled, since the task would only be skipped.
//
// A Go that had to wait is woken when the queue is half empty rather than
// at every free slot, so that a producer faster than the workers parks once
// per q/2 tasks instead of once per task.
//
// A task may submit more tasks to its own pool, but with TryGo or with a
// ctx that can end: a task blocked in Go holds a worker, and if every
// worker did, nothing would ever make room.
//
// Go panics if task is nil.
func (w *Workers) Go(ctx context.Context, task func(context.Context) error) error {
	if task == nil {
		panic("pool: Workers.Go needs a task, got nil")
	}
	// Check ctx first, as x/sync's semaphore does: a caller whose context
	// has ended should not get a task in just because there was room.
	// (ctx.Err, an atomic load since Go 1.26, measured about 8 ns per
	// task cheaper than a non-blocking receive from ctx.Done, checked
	// here and twice per task for the pool's own context.)
	if err := ctx.Err(); err != nil {
		return w.reject(err)
	}
	w.mu.Lock()
	for {
		if err := w.push(task); err != errFull {
			w.mu.Unlock()
			return err
		}
		w.blocked++
		w.mu.Unlock()
		// The pool's ctxDone is here because Close cancels the pool's
		// context: that is what wakes submitters blocked when it is
		// called. Nothing here ever closes a channel that others send
		// on, so a Go racing Close cannot panic.
		var err error
		select {
		case <-w.room:
		case <-ctx.Done():
			err = ctx.Err()
		case <-w.ctxDone:
		}
		w.mu.Lock()
		w.blocked--
		if err != nil {
			w.stats.Rejected++
			w.mu.Unlock()
			return err
		}
	}
}

// TryGo submits task if there is room for it without blocking: in the
// queue, or, with a queue capacity of 0, an idle worker. It reports whether
// the task was accepted. It returns false, counting the task as rejected,
// when there is no room, after [Workers.Close], and once the pool's context
// is cancelled.
//
// TryGo panics if task is nil.
func (w *Workers) TryGo(task func(context.Context) error) bool {
	if task == nil {
		panic("pool: Workers.TryGo needs a task, got nil")
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	err := w.push(task)
	if err == errFull {
		w.stats.Rejected++
	}
	return err == nil
}

// reject counts a refused submission and returns err.
func (w *Workers) reject(err error) error {
	w.mu.Lock()
	w.stats.Rejected++
	w.mu.Unlock()
	return err
}

// push queues task if there is room, with w.mu held. It returns nil,
// errFull (not counted: the caller decides whether to wait), or the refusal
// of a closed or cancelled pool (counted).
func (w *Workers) push(task func(context.Context) error) error {
	if w.closed {
		w.stats.Rejected++
		return ErrClosed
	}
	if w.ctx.Err() != nil {
		w.stats.Rejected++
		return context.Cause(w.ctx)
	}
	// The tasks accepted beyond q are at most the workers coming for them
	// (see below), so the ring's q+n slots cannot overflow; the check
	// costs nothing and keeps a logic error from overwriting a task.
	if w.stats.Queued == len(w.ring) {
		return errFull
	}
	switch {
	case len(w.sleepers) > 0:
		// Wake the worker that parked last: its stack and caches are
		// the warmest, and the ones parked longest can time out.
		last := len(w.sleepers) - 1
		w.wake(w.sleepers[last])
		w.sleepers = w.sleepers[:last]
	case w.stats.Workers < w.n:
		w.spawn(&worker{wake: make(chan struct{}, 1)})
	case w.stats.Queued >= w.q+w.coming:
		// The tasks that workers on their way will take do not count
		// against q: with q = 0, a task is accepted only if a worker is
		// there for it.
		return errFull
	}
	tail := w.head + w.stats.Queued
	if tail >= len(w.ring) {
		tail -= len(w.ring) // a compare, not %: a division costs more than the rest of push
	}
	w.ring[tail] = task
	w.stats.Queued++
	w.stats.Submitted++
	// Pass the doorbell on: it holds one ring, and other submitters may
	// still be waiting for the room left.
	w.ringRoom()
	return nil
}

// spawn starts a worker goroutine, with w.mu held.
func (w *Workers) spawn(me *worker) {
	w.stats.Workers++
	w.coming++
	w.goroutines.Add(1)
	go w.work(me)
}

// wake ends a parked worker's park, with w.mu held; the caller has taken
// it off the sleepers stack.
func (w *Workers) wake(s *worker) {
	w.coming++
	s.wake <- struct{}{} // capacity 1, and one token per park: never blocks
}

// ringRoom wakes a submitter waiting for room, with w.mu held, once the
// queue is down to half its capacity, and reports whether it did. Waking at
// half rather than at every free slot lets a producer faster than the
// workers refill q/2 slots per wake-up instead of one: in BenchmarkWorkers
// (tiny task, 4 workers, queue 64) it parks once per 36 tasks, and a task
// costs 48 ns instead of 58.
func (w *Workers) ringRoom() bool {
	if w.blocked > 0 && w.stats.Queued-w.coming <= w.q/2 {
		select {
		case w.room <- struct{}{}:
			return true
		default: // already rung; the woken submitter rings on (see push)
		}
	}
	return false
}

// work is one worker goroutine: it runs queued tasks until the pool is
// closed and the queue is empty, or until it has been idle for IdleTimeout.
func (w *Workers) work(me *worker) {
	defer w.goroutines.Done()
	w.mu.Lock()
	w.coming--
	for {
		if w.stats.Queued == 0 {
			if w.closed || !w.park(me) {
				w.stats.Workers--
				w.mu.Unlock()
				return
			}
			continue
		}
		task := w.ring[w.head]
		w.ring[w.head] = nil // let the task's closure be collected
		if w.head++; w.head == len(w.ring) {
			w.head = 0
		}
		w.stats.Queued--
		rang := w.ringRoom()
		if w.ctx.Err() != nil {
			w.stats.Cancelled++
			w.checkIdle()
			continue
		}
		w.stats.Running++
		w.mu.Unlock()
		if rang {
			// The submitter just woken is queued to run on this
			// worker's P, after this goroutine; with CPU-bound tasks
			// that would be once the queue is empty and a worker
			// parks, leaving the workers idle while it refills. One
			// yield per wake-up (once per q/2 tasks) lets it refill at
			// once: BenchmarkWorkers, ~1µs task, 4 workers, 730 ns per
			// task instead of 920, level with an unbounded queue.
			runtime.Gosched()
		}
		w.run(me, task)
		// run returns with w.mu held.
	}
}

// park waits, with w.mu held on entry and on return, until a submitter or
// Close wakes the worker. It reports false if the worker has been idle for
// IdleTimeout instead, and should exit.
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
	w.mu.Lock()
	if i := slices.Index(w.sleepers, me); i >= 0 {
		w.sleepers = slices.Delete(w.sleepers, i, i+1)
		return false
	}
	// A submitter took this worker off the stack, under w.mu, just as
	// the timer fired: its token is already in wake.
	<-me.wake
	w.coming--
	return true
}

// run runs task on the worker me with w.mu released, and returns with w.mu
// held, having counted the task's outcome.
func (w *Workers) run(me *worker, task func(context.Context) error) {
	exited := true
	defer func() {
		if !exited {
			return
		}
		// The task called runtime.Goexit, which is taking this
		// goroutine down. Count the task as completed, as errgroup and
		// semaphore.Group do: Goexit comes from t.FailNow or t.SkipNow
		// in a test, whose framework reports it, and a skip is no
		// error. Start a replacement in the same place (the count of
		// workers is unchanged), or the pool would lose a worker per
		// Goexit and Close would wait for one that is gone.
		w.mu.Lock()
		w.stats.Running--
		w.stats.Completed++
		w.checkIdle()
		w.stats.Workers--
		w.spawn(me)
		w.mu.Unlock()
	}()
	var err error
	p := panics.Try(func() { err = task(w.ctx) })
	exited = false
	w.mu.Lock()
	w.stats.Running--
	switch {
	case p != nil:
		w.stats.Panicked++
		if w.panic == nil {
			w.panic = p
		}
		w.cancel(p)
	case err != nil:
		w.stats.Failed++
		w.fail(err)
	default:
		w.stats.Completed++
	}
	w.checkIdle()
}

// fail records a task's error, with w.mu held: the first cancels the pool
// and becomes the cause of its cancellation (which a cancellation from
// elsewhere may have beaten it to), unless JoinErrors keeps every error and
// the pool running.
func (w *Workers) fail(err error) {
	if w.join {
		w.errs = append(w.errs, err)
		return
	}
	w.cancel(err) // a no-op but for the first
}

// checkIdle wakes the waiters of Wait and Close if nothing is queued or
// running, with w.mu held.
func (w *Workers) checkIdle() {
	if w.idle != nil && w.stats.Queued == 0 && w.stats.Running == 0 {
		close(w.idle)
		w.idle = nil
	}
}

// waitIdle returns once nothing is queued or running.
func (w *Workers) waitIdle() {
	w.mu.Lock()
	for w.stats.Queued > 0 || w.stats.Running > 0 {
		if w.idle == nil {
			// One channel per idle moment, closed by checkIdle: a
			// channel rather than a sync.Cond because blocking on it
			// is durable in a synctest bubble.
			w.idle = make(chan struct{})
		}
		idle := w.idle
		w.mu.Unlock()
		<-idle
		w.mu.Lock()
	}
	w.mu.Unlock()
}

// Wait waits until every task submitted so far has finished or been
// skipped, and returns the first error a task returned (with [JoinErrors],
// every error that no earlier Wait or Close returned, joined). If no task
// failed but some never ran because the pool's context was cancelled, Wait
// returns the cause of that cancellation ([ErrClosed] after Close, or the
// parent context's cause): tasks are never dropped in silence.
//
// If a task panicked, the first Wait (or Close) to see it re-panics on the
// caller's goroutine with a [*PanicError] holding the panic value and the
// worker's stack; after that, Wait returns the *PanicError as its error.
//
// Tasks submitted while Wait runs may or may not be waited for; the pool can
// be used again after Wait returns. A Wait that has to block allocates one
// channel, which the last task to finish closes.
func (w *Workers) Wait() error {
	w.waitIdle()
	return w.result()
}

// Close stops the pool: Go and TryGo refuse tasks from now on, the pool's
// context is cancelled with cause [ErrClosed], the tasks still queued are
// skipped and counted as cancelled, and Close returns once the running
// tasks have returned and every worker goroutine has exited. To finish the
// queued work first, call [Workers.Wait] before Close.
//
// Close returns what Wait would: the first task error, or ErrClosed if
// queued tasks were skipped, or nil; and it re-panics with a task's
// [*PanicError] if no Wait has done so yet. Close is idempotent and safe to
// call from several goroutines: every call returns after the workers have
// exited.
func (w *Workers) Close() error {
	w.mu.Lock()
	if !w.closed {
		w.closed = true
		w.cancel(ErrClosed)
		// The parked workers wake, drain the queue (skipping every
		// task, as the context is cancelled) and exit; the busy ones do
		// the same when their task returns.
		for _, s := range w.sleepers {
			w.wake(s)
		}
		w.sleepers = w.sleepers[:0]
	}
	w.mu.Unlock()
	w.goroutines.Wait()
	return w.result()
}

// result is what Wait and Close return, or the panic they re-raise.
func (w *Workers) result() error {
	w.mu.Lock()
	p, raise := w.panic, w.panic != nil && !w.raised
	w.raised = w.raised || raise
	var err error
	switch {
	case p != nil:
		err = p
	case w.join:
		// Each error is handed over once, so that a long-lived pool
		// does not keep every error it ever saw and report it again at
		// every Wait.
		err = errors.Join(w.errs...)
		clear(w.errs)
		w.errs = w.errs[:0]
		if w.stats.Cancelled > 0 {
			err = errors.Join(err, context.Cause(w.ctx))
		}
	case w.stats.Failed > 0 || w.stats.Cancelled > 0:
		// Something went wrong, so the pool's context is cancelled, and
		// its cause is what went wrong first: the first task error, the
		// parent context's cause, or ErrClosed. The errors that tasks
		// return after that (typically ctx.Err()) are consequences.
		err = context.Cause(w.ctx)
	}
	w.mu.Unlock()
	if raise {
		panic(p)
	}
	return err
}

// Context returns the pool's context, the one every task receives: it is
// done once a task fails or panics (with [JoinErrors], only panics), the
// parent context ends, or [Workers.Close] is called, and [context.Cause]
// reports why. A producer can select on its Done channel to stop producing
// for a pool that will refuse its tasks.
func (w *Workers) Context() context.Context {
	return w.ctx
}

// WorkersStats counts what a [Workers] has done since it was created. It is
// a consistent snapshot: at any moment,
//
//	Submitted = Queued + Running + Completed + Failed + Panicked + Cancelled
//
// and Panicked is counted apart from Failed.
type WorkersStats struct {
	// Submitted counts the tasks Go and TryGo accepted.
	Submitted int64
	// Queued is the number of accepted tasks waiting for a worker.
	Queued int
	// Running is the number of tasks running now.
	Running int
	// Completed counts the tasks that returned nil or called
	// runtime.Goexit.
	Completed int64
	// Failed counts the tasks that returned an error.
	Failed int64
	// Panicked counts the tasks that panicked.
	Panicked int64
	// Cancelled counts the accepted tasks that never ran because the
	// pool's context was cancelled while they were queued.
	Cancelled int64
	// Rejected counts the submissions Go and TryGo refused: no room for
	// TryGo, ctx ended for Go, pool closed or cancelled for both.
	Rejected int64
	// Workers is the number of worker goroutines now running, at most n.
	Workers int
}

// Stats returns the pool's counters. It never blocks for long (it takes the
// lock that each submission and each task holds briefly) and can be called
// at any time, also after Close.
func (w *Workers) Stats() WorkersStats {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.stats
}
