package pool

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/go-compendium/compendium"
	"github.com/go-compendium/compendium/internal/lifecycle"
)

// Workers is a bounded worker pool: at most n long-lived goroutines run
// tasks taken, in order, from one bounded queue, with backpressure on
// submitters. It serves a long-lived pool in a server as well as a batch
// job: the ctx given to [Workers.Go] reaches the task, a task's error is
// reported by [Workers.Wait] and cancels nothing (with [CancelOnError], the
// first one cancels the pool, as in errgroup), and a panic is re-raised by
// every Wait and Close.
//
// A task may submit more tasks to its own pool, with the ctx it received:
// such a submission never blocks, so work that discovers work (a crawl, a
// tree walk) cannot deadlock the pool, and Wait returns once that work too
// is done. Workers start on demand, and with [IdleTimeout] exit when idle;
// [Workers.Resize] changes the limit of a running pool.
//
// Create one with [NewWorkers]; the zero value is not usable, and a Workers
// must not be copied. All methods are safe for concurrent use. Wait,
// Shutdown and Close wait for every task, so a task must not call them.
//
// A Go or TryGo that accepts a task synchronizes before the task starts,
// and the return of every task synchronizes before the return of the Wait,
// Shutdown or Close that waits for it.
//
// Cost: see pool.Workers in bench/RESULTS.md.
type Workers struct {
	// Set by NewWorkers, read-only afterwards.
	own           lifecycle.Owner // the pool's context, goroutines and first failure
	ctx           context.Context // own.Context(), fetched once
	taskCtx       context.Context // own's context with the marker: what most tasks get
	mark          mark            // the marker in taskCtx
	q             uint64          // the queue's capacity
	wakeAt        uint64          // q/2+1, or 0 if q is: a blocked Go wakes when Queued is below it (see ringRoom)
	idleFor       time.Duration   // IdleTimeout, or 0
	timeout       time.Duration   // TaskTimeout, or 0
	timeoutCause  error           // the cause a task's context ends with at its TaskTimeout
	cancelOnError bool            // CancelOnError
	room          chan struct{}   // a doorbell (capacity 1) for submitters waiting for room
	stopWake      func() bool     // unregisters wakeBlocked from the pool's context
	hookExpired   func()          // tests only: runs when a worker's idle timer has fired
	hookBlocked   func()          // tests only: runs when a Go is about to wait for room
	noYield       bool            // tests only: no Gosched after a wake-up (see loop)

	// mu guards everything below. One short critical section per task on
	// each side (admit; finish-and-pop) makes Stats an exact snapshot; a
	// channel as the queue, with atomic counters beside it, measured
	// slower. Nothing waits while holding mu: every wait (for room, for a
	// task, for idleness) is on a channel, which a synctest bubble sees.
	mu       sync.Mutex
	n        int       // the limit: the most workers (Resize changes it)
	ring     []job     // the queue, a ring buffer grown as needed
	head     int       // index of the oldest queued task
	sleepers []*worker // parked workers, last parked last
	spare    []*worker // the workers that exited, reused with their index
	made     int       // the workers ever made: the next one's index
	workers  int       // worker goroutines running
	coming   int       // workers woken or started, not yet back at the queue
	blocked  int       // submitters waiting on room
	state    state
	idle     chan struct{} // closed when nothing is queued or running; nil unless someone waits
	stats    compendium.TaskStats
	errs     lifecycle.Errors // task errors for the next Wait (without CancelOnError)
	cut      bool             // work was cut short by the end of the pool's context
	closed   bool             // closeErr is set: the result every later Wait and Close returns
	closeErr error
}

// state is how much work a pool takes.
type state uint8

const (
	open     state = iota
	draining       // Shutdown started: tasks from inside only
	closed         // Close started: nothing
)

// keptErrors is how many task errors a Wait returns whole; the rest are
// only counted ("and 12 more errors, not kept", and Stats.Failed). Enough
// to see whether failures share a cause, few enough that a long-lived pool
// whose tasks fail by the million holds a few errors, not all of them, and
// that Wait's error reads in one log line.
const keptErrors = 8

// NewWorkers returns a pool of at most n workers, whose context is derived
// from ctx. The queue holds 64 tasks unless [QueueCapacity] says
// otherwise. No goroutine starts and no memory is set aside for n or the
// queue until tasks arrive, so a large n (a pool bounded only by its
// queue) costs nothing up front.
//
// NewWorkers panics if ctx or an option is nil, or if n is less than 1.
func NewWorkers(ctx context.Context, n int, opts ...WorkersOption) *Workers {
	lifecycle.Context("pool", "NewWorkers", ctx)
	lifecycle.Min("pool", "NewWorkers", "n", n, 1)
	cfg := workersConfig{queue: defaultQueue}
	applyOptions("NewWorkers", &cfg, opts)
	w := &Workers{
		q:             uint64(cfg.queue),
		wakeAt:        uint64(cfg.queue/2 + min(cfg.queue, 1)),
		idleFor:       cfg.idle,
		timeout:       cfg.timeout,
		cancelOnError: cfg.cancelOnError,
		room:          make(chan struct{}, 1),
		n:             n,
		errs:          lifecycle.NewErrors(keptErrors),
	}
	w.own.Init(ctx, "pool", "Workers")
	w.ctx = w.own.Context()
	// However the pool's context ends (its parent, a panic, CancelOnError),
	// submitters blocked for room must hear of it.
	w.stopWake = context.AfterFunc(w.ctx, w.wakeBlocked)
	w.mark = mark{w: w}
	w.taskCtx = context.WithValue(w.own.Context(), markKey{}, &w.mark)
	w.mark.ctx = w.taskCtx
	if w.timeout > 0 {
		w.timeoutCause = fmt.Errorf("pool: Workers task ran past its TaskTimeout of %v: %w", w.timeout, context.DeadlineExceeded)
	}
	return w
}

// Go submits task. It returns nil once the task is queued or a worker has
// it; otherwise the task never runs, is counted as rejected, and Go
// returns why: ctx's error, the pool's closed error (matching
// [compendium.ErrClosed]) after Shutdown or Close, or the cause of the
// pool's context once it has ended.
//
// The task runs with a context that carries ctx's values and ends when ctx
// or the pool's context ends, whichever is first. With context.Background
// (or TODO) the task simply gets the pool's context, at no cost; any other
// ctx costs a context made and released per task (the workers-ctx row of
// pool.Workers in bench/RESULTS.md).
//
// From outside the pool, Go blocks while the queue is full, until there is
// room or ctx ends; it is woken when the queue is half empty rather than at
// every free slot, so that a producer faster than the workers parks once
// per half queue instead of once per task.
//
// From inside, that is with the ctx a task of this pool received (or one
// derived from it), Go never blocks: it gives the task to an idle or new
// worker if the limit allows, else queues it if the queue has room, else
// runs it at once on the calling goroutine, in the worker the caller
// holds, and returns when it has run. So no more than n tasks ever run at
// once, no submission waits for a worker that waits for it, and nothing
// is lost. Work submitted from inside outlives its submitter: it ends
// with the pool or with the ctx of the outside Go that started the line
// of submissions, never because its submitter returned. Use such a ctx
// only on the task's own goroutine: elsewhere, running a task inline
// would run it beside the n.
//
// Go panics if ctx or task is nil.
func (w *Workers) Go(ctx context.Context, task func(context.Context) error) error {
	if ctx == nil || task == nil {
		badSubmit("Workers.Go", ctx, task)
	}
	j := job{f: task}
	var ctxDone <-chan struct{}
	switch {
	case ctx == w.taskCtx:
		return w.goInside(j)
	case never(ctx):
	default:
		if m := markOf(ctx); m != nil && m.w == w {
			return w.goInside(m.job(ctx, task))
		}
		// Checked first, as x/sync's semaphore does: a caller whose
		// context has ended gets no task in just because there was room.
		if err := ctx.Err(); err != nil {
			return w.reject(err)
		}
		j.c = ctx
		ctxDone = ctx.Done()
	}
	w.mu.Lock()
	for {
		if err := w.refusal(open); err != nil {
			w.stats.Rejected++
			w.passOn() // the submitters still waiting are refused too
			w.mu.Unlock()
			return err
		}
		if w.admit(j) {
			w.mu.Unlock()
			return nil
		}
		w.blocked++
		w.mu.Unlock()
		// The doorbell alone, not a select over it and the pool's Done
		// channel: a select locks and queues on every channel it waits
		// on, and with a hand-off queue a submitter waits once per task.
		// Stopping the pool rings the bell too (see wakeBlocked), and
		// each refused submitter passes the ring on. Nothing here closes
		// a channel that others send on, so a Go racing Close cannot
		// panic.
		if w.hookBlocked != nil {
			w.hookBlocked()
		}
		var err error
		if ctxDone == nil {
			<-w.room
		} else {
			select {
			case <-w.room:
			case <-ctxDone:
				err = ctx.Err()
			}
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

// job returns the job for task submitted from inside with ctx, which
// carries m: with the very context the submitting task received, the new
// task's context is made like the submitter's (for a line started with
// context.Background, the pool's task context itself); with one derived
// from it, from that context's values and the line's origin.
func (m *mark) job(ctx context.Context, task func(context.Context) error) job {
	switch {
	case ctx != m.ctx:
		return job{f: task, c: &derived{vals: ctx, origin: m.origin}}
	case m.origin != nil:
		return job{f: task, c: m.origin}
	}
	return job{f: task}
}

// goInside submits j from inside a task: a free worker, else the queue,
// else the calling goroutine (see Go). It never waits for room.
func (w *Workers) goInside(j job) error {
	w.mu.Lock()
	if err := w.refusal(draining); err != nil {
		w.stats.Rejected++
		w.mu.Unlock()
		return err
	}
	if w.admit(j) {
		w.mu.Unlock()
		return nil
	}
	w.stats.Submitted++
	w.stats.Running++
	w.mu.Unlock()
	w.runInline(j)
	return nil
}

// TryGo submits task if there is room for it without blocking: an idle or
// new worker, or room in the queue. It reports whether the task was
// accepted; if not, the task never runs and is counted as rejected (no
// room, ctx ended, the pool closed or its context ended). The task's
// context is made as for [Workers.Go]; from inside, TryGo never runs the
// task itself.
//
// TryGo panics if ctx or task is nil.
func (w *Workers) TryGo(ctx context.Context, task func(context.Context) error) bool {
	if ctx == nil || task == nil {
		badSubmit("Workers.TryGo", ctx, task)
	}
	j, least := job{f: task}, open
	switch {
	case ctx == w.taskCtx:
		least = draining
	case never(ctx):
	default:
		if m := markOf(ctx); m != nil && m.w == w {
			j, least = m.job(ctx, task), draining
		} else if ctx.Err() != nil {
			w.reject(nil)
			return false
		} else {
			j.c = ctx
		}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.refusal(least) == nil && w.admit(j) {
		return true
	}
	w.stats.Rejected++
	return false
}

// badSubmit panics for Go or TryGo (fn) called with a nil ctx or task. It
// is apart from them to keep their fast path short.
func badSubmit(fn string, ctx context.Context, task func(context.Context) error) {
	lifecycle.Context("pool", fn, ctx)
	lifecycle.NotNil("pool", fn, "task", task == nil)
}

// reject counts a refused submission and returns err.
func (w *Workers) reject(err error) error {
	w.mu.Lock()
	w.stats.Rejected++
	w.mu.Unlock()
	return err
}

// refusal returns why the pool refuses a task, with w.mu held: its closed
// error if it is past the state least (open for a task from outside,
// draining for one from inside), the cause of its context's end, or nil.
func (w *Workers) refusal(least state) error {
	if w.state > least {
		return w.own.ErrClosed()
	}
	if w.stopped() {
		return context.Cause(w.own.Context())
	}
	return nil
}

// passOn rings the doorbell, with w.mu held, if a submitter waits for
// room: a refused submitter passes the ring on, so that one ring wakes
// them all, one after the other.
func (w *Workers) passOn() {
	if w.blocked > 0 {
		select {
		case w.room <- struct{}{}:
		default: // already rung
		}
	}
}

// wakeBlocked wakes the submitters waiting for room once the pool's
// context has ended: they are refused.
func (w *Workers) wakeBlocked() {
	w.mu.Lock()
	w.passOn()
	w.mu.Unlock()
}

// stopped reports whether the pool's context has ended. It checks the
// context itself, not a flag set later by another goroutine, so that once
// the context ends each worker starts at most the task it has in hand.
// (ctx.Err is an atomic load since Go 1.26; a non-blocking receive from
// Done does more, checking the channel's synctest bubble among others.)
func (w *Workers) stopped() bool {
	return w.ctx.Err() != nil
}

// Wait waits until nothing is queued or running, including the tasks that
// tasks submitted, and returns what went wrong since the last Wait: the
// errors tasks returned (the first 8, then a count), joined, and, if work
// was cut short because the pool's context ended, its cause. With
// [CancelOnError] it returns the first failure on every call. If a task
// panicked, every Wait re-panics on the caller's goroutine with the same
// *[compendium.PanicError].
//
// Wait does not stop submissions: the pool is reusable after it, and while
// other goroutines keep submitting it returns only once the pool is idle,
// which may be never. To wait for a fixed set of tasks while others keep
// coming, use [Workers.Shutdown], which refuses new work first, or count
// the set with a [sync.WaitGroup].
func (w *Workers) Wait() error {
	w.waitIdle(nil)
	return w.result()
}

// Shutdown stops the pool gracefully: Go and TryGo from outside are
// refused from now on, the queue is drained (tasks submitted from inside
// by the tasks draining are still taken and run), and then Shutdown
// returns [Workers.Close]'s result. If ctx ends first, Shutdown closes the
// pool at once, cancelling what runs and skipping what is queued, and
// returns ctx's error joined with Close's result.
//
// Shutdown panics if ctx is nil.
func (w *Workers) Shutdown(ctx context.Context) error {
	lifecycle.Context("pool", "Workers.Shutdown", ctx)
	w.mu.Lock()
	if w.state == open {
		w.state = draining
		w.passOn() // refuse the submitters waiting for room
	}
	w.mu.Unlock()
	if !w.waitIdle(ctx.Done()) {
		return join(ctx.Err(), w.Close())
	}
	return w.Close()
}

// Close stops the pool at once: Go and TryGo refuse tasks from now on, the
// pool's context is cancelled (with the pool's closed error as its cause,
// matching [compendium.ErrClosed]), the tasks still queued are skipped and
// counted as canceled, and Close returns once the running tasks have
// returned and every worker goroutine has exited. To finish the queued
// work first, call [Workers.Shutdown] (or Wait, then Close).
//
// Close returns what Wait would, fixed at the first Close: the errors no
// Wait has returned and, if work was cut short, the cause; and it
// re-panics with a task's panic. Every call, and every Wait after it,
// returns the same.
func (w *Workers) Close() error {
	w.mu.Lock()
	if w.state != closed {
		w.state = closed
		// Close wakes the blocked submitters itself, so that no
		// goroutine of the context's runs wakeBlocked after Close.
		w.stopWake()
		w.passOn()
		w.own.Stop(w.own.ErrClosed())
		// The parked workers wake, skip what is queued (the context is
		// cancelled) and exit; the busy ones do the same when their
		// task returns.
		for _, s := range w.sleepers {
			w.wake(s)
		}
		w.sleepers = w.sleepers[:0]
	}
	w.mu.Unlock()
	return w.result() // which joins the workers first
}

// result is what Wait and Close return, or the panic they re-raise. Once
// the pool is closed it is fixed: Close's result, taken once every worker
// has exited, so that a Wait racing Close cannot take the errors that
// Close is to report.
func (w *Workers) result() error {
	w.mu.Lock()
	if w.state == closed && !w.closed {
		w.mu.Unlock()
		w.own.Join()
		w.mu.Lock()
		if !w.closed {
			w.closed, w.closeErr = true, w.take()
		}
	}
	err := w.closeErr
	if !w.closed {
		err = w.take()
	}
	w.mu.Unlock()
	if p := w.own.Panicked(); p != nil {
		panic(p)
	}
	return err
}

// take returns what went wrong since the last Wait, with w.mu held, and
// forgets the errors it returns.
func (w *Workers) take() error {
	var err error
	if w.cancelOnError {
		err = w.own.Err()
	} else {
		err = w.errs.Take()
	}
	if w.cut {
		// Tasks were skipped: say why, unless the errors already do (a
		// task that returned the parent context's error, say).
		if cause := context.Cause(w.own.Context()); !errors.Is(err, cause) {
			err = join(err, cause)
		}
	}
	return err
}

// join is errors.Join for two errors, but returns either one alone if the
// other is nil, so that a lone error is returned as itself.
func join(a, b error) error {
	switch {
	case a == nil:
		return b
	case b == nil:
		return a
	}
	return errors.Join(a, b)
}

// waitIdle returns true once nothing is queued or running, or false if stop
// is closed first.
func (w *Workers) waitIdle(stop <-chan struct{}) bool {
	w.mu.Lock()
	for w.stats.Queued > 0 || w.stats.Running > 0 {
		if w.idle == nil {
			// One channel per idle moment, closed by checkIdle: a
			// channel rather than a sync.Cond, because a select on it can
			// also watch stop, and blocking on it is durable in a
			// synctest bubble.
			w.idle = make(chan struct{})
		}
		idle := w.idle
		w.mu.Unlock()
		select {
		case <-idle:
		case <-stop:
			return false
		}
		w.mu.Lock()
	}
	w.mu.Unlock()
	return true
}

// checkIdle wakes the waiters of Wait and Shutdown if nothing is queued or
// running, with w.mu held.
func (w *Workers) checkIdle() {
	if w.idle != nil && w.stats.Queued == 0 && w.stats.Running == 0 {
		close(w.idle)
		w.idle = nil
	}
}

// Resize sets the most workers to n. Growing starts workers at once for
// the tasks already queued, up to the new limit. Shrinking interrupts
// nothing: idle workers beyond n exit at once, busy ones when their task
// returns, and until then up to the old limit may still run; queued tasks
// keep their order and run on the workers that remain. Resize on a closed
// pool only records n.
//
// Resize panics if n is less than 1.
func (w *Workers) Resize(n int) {
	lifecycle.Min("pool", "Workers.Resize", "n", n, 1)
	w.mu.Lock()
	defer w.mu.Unlock()
	w.n = n
	if w.state == closed {
		return
	}
	for w.workers < w.n && w.stats.Queued > uint64(w.coming) {
		w.spawn(w.newWorker())
	}
	// A sleeper woken here finds the pool over its limit and exits; the
	// loop checks that on its own, so a busy worker does the same later.
	for excess := w.workers - w.n; excess > 0 && len(w.sleepers) > 0; excess-- {
		last := len(w.sleepers) - 1
		w.wake(w.sleepers[last])
		w.sleepers = w.sleepers[:last]
	}
	w.ringRoom() // workers on their way make room in the queue
}

// Context returns the pool's context: it ends when the parent context
// ends, when [Workers.Close] is called (or Shutdown closes), when a task
// panics, or, with [CancelOnError], when a task fails; [context.Cause]
// says why. A producer can select on its Done channel to stop producing
// for a pool that will refuse its tasks. It carries no marker: a Go with
// it is a submission from outside.
func (w *Workers) Context() context.Context {
	return w.own.Context()
}

// WorkersStats counts what a [Workers] has done since it was created, in
// the vocabulary of [compendium.TaskStats], whose identity
//
//	Submitted = Queued + Running + Completed + Failed + Panicked + Canceled
//
// holds in every snapshot: Stats takes it under the lock that every
// submission and every task's start and end take. A task that called
// runtime.Goexit counts as failed. Running counts a task whose submission
// from inside runs another in its place (see [Workers.Go]) as well as that
// other one, so it can exceed the limit by such tasks.
type WorkersStats struct {
	compendium.TaskStats
	// Workers is the number of worker goroutines running now: at most the
	// limit, except after Resize shrinks it, until the busy ones return.
	Workers uint64
}

// Stats returns the pool's counters. It takes the pool's lock briefly, and
// can be called at any time, also after Close.
func (w *Workers) Stats() WorkersStats {
	w.mu.Lock()
	defer w.mu.Unlock()
	return WorkersStats{TaskStats: w.stats, Workers: uint64(w.workers)}
}
