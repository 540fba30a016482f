package semaphore

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/go-compendium/compendium"
	"github.com/go-compendium/compendium/internal/lifecycle"
)

// pkg names this package in panic messages and pprof labels.
const pkg = "semaphore"

// Group runs tasks on at most n goroutines at once and collects the first
// failure: errgroup with a limit, built on Mills' "acquire before go". A
// task submitted from outside (see [Group.Go]) waits for a slot before
// anything runs it, so n is a bound on goroutines, not only on running
// code; a task submitted by a running task never waits, so a task may
// submit follow-up work at any limit without deadlock.
//
// The first task that fails (returns an error, panics, or calls
// runtime.Goexit) cancels the group's context with that failure as its
// cause; Go and TryGo then start nothing, and pending tasks are dropped.
// [Group.Wait] joins without refusing new work; [Group.Close] cancels,
// joins and refuses. Both return the first failure, and both re-raise
// the first panic as the same *[compendium.PanicError] on every call.
//
// Create one with [NewGroup]; the zero value is not usable, and a Group
// must not be copied. Every method is safe for concurrent use; Go is
// also safe from inside tasks, but Wait and Close must not be called by
// a task of the group (they would wait for it). The return of every task
// synchronizes before the Wait or Close that it lets return.
//
// Cost: see semaphore.Group in bench/RESULTS.md.
type Group struct {
	o lifecycle.Owner
	// taskCtx is the owner's context marked as this group's: every task
	// gets it (or one derived from it, with TaskTimeout), so that a Go
	// made with it is known to come from inside. Context returns the
	// unmarked one, so that passing g.Context() from outside still waits.
	taskCtx context.Context
	timeout time.Duration // per-task deadline; 0 for none
	// timeoutCause is what a task's context ends with at its deadline: a
	// message naming the option, wrapping context.DeadlineExceeded.
	timeoutCause error
	labels       lifecycle.Labels
	// onGoexit and onInlineGoexit are the Goexit hooks, made once so that
	// calling a task builds no method value.
	onGoexit, onInlineGoexit func()
	// noYield turns the Gosched in goSlow off, for the benchmark that
	// shows what it gains (BenchmarkTuning, export_test.go).
	noYield bool

	// mu guards everything below. One mutex, not a channel of tokens:
	// SetLimit must change the bound while tasks hold slots, a finishing
	// task must hand its slot to pending work without letting it go, and
	// the counters must move with the slots so that Stats is consistent;
	// each would need a lock beside a channel anyway.
	mu         sync.Mutex
	limit      int
	running    int // slots held: goroutines running a task or about to
	pending    fifo[task]
	maxPending int
	waiters    waiterList // outside Go calls waiting for a slot, oldest first
	spare      *goWaiter  // recycled waiters, linked through next
	idle       chan struct{}
	stats      groupCounts
}

// task is a unit of work as Go receives it.
type task = func(ctx context.Context) error

// groupKey marks a context as the task context of one group (g): a
// context value, found through any context derived from the task's.
type groupKey struct{ g *Group }

// GroupOption configures a [Group]; pass options to [NewGroup].
type GroupOption interface{ apply(*Group) }

type groupOption func(*Group)

func (f groupOption) apply(g *Group) { f(g) }

// MaxPending bounds the tasks that running tasks may queue with Go when
// every slot is taken (see [Group.Go]) to n; the default is the limit
// given to NewGroup. With n = 0 nothing queues: a task that submits when
// every slot is taken runs the new task itself, as a recursive call
// would. MaxPending panics if n < 0.
func MaxPending(n int) GroupOption {
	lifecycle.Min(pkg, "MaxPending", "n", n, 0)
	return groupOption(func(g *Group) { g.maxPending = n })
}

// TaskTimeout gives every task a context that ends d after the task
// starts, with ctx.Err() = [context.DeadlineExceeded] and a cause that
// names the option. The task keeps its slot until
// it returns, deadline or not: a task that ignores its context still
// counts against the limit, so the limit holds. A task that returns the
// context's error fails the group like any other error; return nil to
// treat the deadline as an expected outcome. TaskTimeout panics if
// d <= 0.
func TaskTimeout(d time.Duration) GroupOption {
	lifecycle.Positive(pkg, "TaskTimeout", "d", d)
	return groupOption(func(g *Group) { g.timeout = d })
}

// NewGroup returns a Group that runs at most n tasks at once, with a
// context derived from ctx that is cancelled when a task fails, when ctx
// ends, or by Close.
//
// NewGroup panics if ctx is nil or n < 1. (errgroup's SetLimit takes a
// negative limit to mean "no limit"; a Group without a limit is a
// sync.WaitGroup, so it is a mistake here.)
func NewGroup(ctx context.Context, n int, opts ...GroupOption) *Group {
	lifecycle.Context(pkg, "NewGroup", ctx)
	lifecycle.Min(pkg, "NewGroup", "n", n, 1)
	g := &Group{limit: n, maxPending: n}
	for _, opt := range opts {
		lifecycle.NotNil(pkg, "NewGroup", "option", opt == nil)
		opt.apply(g)
	}
	if g.timeout > 0 {
		g.timeoutCause = fmt.Errorf("semaphore: Group task ran past its TaskTimeout of %v: %w", g.timeout, context.DeadlineExceeded)
	}
	g.o.Init(ctx, pkg, "Group")
	g.taskCtx = context.WithValue(g.o.Context(), groupKey{g}, g)
	g.labels = g.o.Labels()
	g.onGoexit = g.goexit
	g.onInlineGoexit = g.inlineGoexit
	return g
}

// Go submits f, which will be called with the group's task context, and
// returns nil once it is accepted; it returns an error, and f will never
// be called, if it is not.
//
// A Go whose ctx is the context a task of this group received, or one
// derived from it, is a submission from inside, and never blocks: f
// starts at once if a slot is free; otherwise it joins the group's
// pending tasks, which run in order as running tasks finish, unless
// MaxPending are already pending; then the submitting task calls f
// itself before Go returns, in the slot it holds (caller-runs). So the
// limit holds, no task is lost, and a task that submits work cannot
// deadlock the group, at any limit. Such a Go is refused only when the
// group's context is done (not when the task's own deadline passed).
// Do not rely on a task you submit running while you wait for it: with
// every slot taken it runs after you, or inside this call. Make such
// calls while the task runs (from it, or from goroutines it waits for):
// one made after the task returned could run f on a goroutine that holds
// no slot.
//
// Any other ctx (including [Group.Context]) is a submission from outside:
// Go waits while n tasks run, and returns ctx.Err() if ctx ends first,
// or the group's cause ([context.Cause]) if the group's context ends
// first. A ctx that is done before a slot frees never submits, even with
// a slot free.
//
// Go panics if ctx or f is nil.
func (g *Group) Go(ctx context.Context, f func(ctx context.Context) error) error {
	lifecycle.Context(pkg, "Group.Go", ctx)
	lifecycle.NotNil(pkg, "Group.Go", "f", f == nil)
	if ctx.Value(groupKey{g}) != nil {
		return g.goInside(f)
	}
	// Done is nil for a context that never ends (context.Background):
	// then there is nothing to check.
	done := ctx.Done()
	if done != nil {
		select {
		case <-done:
			g.reject()
			return ctx.Err()
		default:
		}
	}
	g.mu.Lock()
	if err := g.refusal(); err != nil {
		g.mu.Unlock()
		return err
	}
	if g.running < g.limit {
		g.startLocked(f)
		g.mu.Unlock()
		return nil
	}
	g.mu.Unlock()
	return g.goSlow(ctx, done, f)
}

// goSlow waits for a slot for an outside submission.
func (g *Group) goSlow(ctx context.Context, done <-chan struct{}, f task) error {
	// Yield once before queueing: the tasks holding the slots are often
	// runnable right behind this goroutine, and letting them finish frees
	// a slot without parking the submitter, whose wake-up would cost a
	// goroutine switch per task. BenchmarkTuning (type=group,
	// -cpu 1,2,4,8) measures the yield against parking at once.
	if !g.noYield {
		runtime.Gosched()
	}
	g.mu.Lock()
	if err := g.refusal(); err != nil {
		g.mu.Unlock()
		return err
	}
	if done != nil && ctx.Err() != nil {
		// The yield gave a cancellation time to happen: report it, as a
		// waiter that saw it first would.
		g.stats.rejected++
		g.mu.Unlock()
		return ctx.Err()
	}
	if g.running < g.limit {
		g.startLocked(f)
		g.mu.Unlock()
		return nil
	}
	w := g.spare
	if w == nil {
		w = &goWaiter{ready: make(chan struct{}, 1)}
	} else {
		g.spare = w.next
	}
	w.f, w.ctx, w.taken = f, ctx, false
	g.waiters.push(w)
	g.mu.Unlock()

	groupDone := false
	select {
	case <-w.ready:
	case <-done:
	case <-g.o.Done():
		groupDone = true
	}

	g.mu.Lock()
	defer g.mu.Unlock()
	taken := w.taken
	if taken {
		// Taken in the same instant ctx ended: the task was accepted, and
		// Go reports what happened first.
		select {
		case <-w.ready:
		default:
		}
	} else {
		g.waiters.remove(w)
		g.stats.rejected++
	}
	w.f, w.ctx = nil, nil
	w.next, g.spare = g.spare, w
	switch {
	case taken:
		return nil
	case groupDone:
		return context.Cause(g.o.Context())
	default:
		return ctx.Err()
	}
}

// goInside is Go for a submission from one of the group's tasks: a free
// slot, else the pending list, else the caller runs f in its own slot.
func (g *Group) goInside(f task) error {
	g.mu.Lock()
	if err := g.refusal(); err != nil {
		g.mu.Unlock()
		return err
	}
	switch {
	case g.running < g.limit:
		g.startLocked(f)
		g.mu.Unlock()
		return nil
	case g.pending.len() < g.maxPending:
		g.pending.push(f)
		g.stats.submitted++
		g.mu.Unlock()
		return nil
	}
	// Caller-runs: the submitting task holds a slot and waits here, so
	// running f on this goroutine keeps the count of goroutines running
	// tasks at the limit. The alternatives were worse: blocking for a
	// slot is the deadlock this avoids; an unbounded queue is memory the
	// user cannot bound; refusing would lose work the user has no
	// better place for.
	g.stats.submitted++
	g.stats.started++
	g.stats.inline++
	g.mu.Unlock()
	p, err := g.call(f, g.onInlineGoexit)
	g.fail(p, err)
	g.mu.Lock()
	g.stats.end(p, err)
	g.mu.Unlock()
	return nil
}

// refusal counts and returns the error for a submission to a group whose
// context is done, or returns nil. g.mu is held.
func (g *Group) refusal() error {
	select {
	case <-g.o.Done():
		g.stats.rejected++
		return context.Cause(g.o.Context())
	default:
		return nil
	}
}

// reject counts a submission refused before taking the lock.
func (g *Group) reject() {
	g.mu.Lock()
	g.stats.rejected++
	g.mu.Unlock()
}

// startLocked takes a slot and starts a goroutine running f in it. g.mu
// is held and the group's context was seen not done under it, which is
// what lets Close join: Close cancels, then takes g.mu once, so every
// goroutine is either counted before Close joins or never started.
func (g *Group) startLocked(f task) {
	g.running++
	g.stats.submitted++
	g.stats.started++
	g.o.Add(1)
	go g.run(f)
}

// TryGo starts f on a goroutine of its own, as [Group.Go] does, only if a
// slot is free and the group's context is not done, and reports whether
// it did. It never blocks, and never queues. TryGo panics if f is nil.
func (g *Group) TryGo(f func(ctx context.Context) error) bool {
	lifecycle.NotNil(pkg, "Group.TryGo", "f", f == nil)
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.refusal() != nil {
		return false
	}
	if g.running >= g.limit {
		g.stats.rejected++
		return false
	}
	g.startLocked(f)
	return true
}

// SetLimit changes the number of tasks that may run at once to n, for
// the tasks that start from now on. Raising it starts pending tasks, then
// the oldest waiting Go calls' tasks, at once, until n run. Lowering it
// stops nothing: running tasks finish, and no task starts until fewer
// than n run. SetLimit panics if n < 1.
func (g *Group) SetLimit(n int) {
	lifecycle.Min(pkg, "Group.SetLimit", "n", n, 1)
	g.mu.Lock()
	defer g.mu.Unlock()
	g.limit = n
	for g.running < g.limit {
		select {
		case <-g.o.Done():
			return
		default:
		}
		var f task
		if g.pending.len() > 0 {
			f = g.pending.pop()
			g.stats.started++
		} else if f = g.takeWaiterLocked(); f == nil {
			return
		}
		g.running++
		g.o.Add(1)
		go g.run(f)
	}
}

// Wait blocks until no task of the group is running or pending, then
// returns the first failure, or nil. If the parent context ended while
// tasks were pending, they were dropped, and Wait returns its cause.
// Wait cancels nothing and refuses nothing afterwards: Go may be called
// again (on a group whose context is not done). Work that tasks submit is
// waited for too; a Go from outside that runs concurrently with Wait may
// or may not be.
//
// If a task panicked, Wait panics instead, on the calling goroutine, with
// the first panic as a *[compendium.PanicError] holding the value and the
// panicking goroutine's stack, on every call.
func (g *Group) Wait() error {
	g.mu.Lock()
	if g.running > 0 { // pending tasks exist only while some run
		if g.idle == nil {
			g.idle = make(chan struct{})
		}
		idle := g.idle
		g.mu.Unlock()
		<-idle
	} else {
		g.mu.Unlock()
	}
	return g.o.Result()
}

// Close cancels the group's context with an error matching
// [compendium.ErrClosed] (tasks see it, pending tasks are dropped, and
// Go and TryGo refuse from then on), waits for every goroutine the group
// started to exit, and returns the first failure, or nil: the same on
// every call. Like Wait, it re-raises the first panic.
func (g *Group) Close() error {
	g.o.Stop(g.o.ErrClosed())
	// Let every start that saw the group open finish counting its
	// goroutine, so that Join waits for it (see startLocked).
	g.mu.Lock()
	//lint:ignore SA2001 the critical section is empty on purpose: it waits for the starts in progress
	g.mu.Unlock()
	g.o.Join()
	return g.o.Result()
}

// Context returns the group's context: it ends when a task fails, when
// the parent context ends, or on Close, and [context.Cause] says why.
// Tasks receive a context derived from it that also marks their Go calls
// as coming from inside; this one does not, so a Go made with it from
// outside waits for a slot as any other.
func (g *Group) Context() context.Context {
	return g.o.Context()
}

// GroupStats are a [Group]'s counters.
type GroupStats struct {
	// TaskStats count tasks. Submitted counts the tasks Go and TryGo
	// accepted; Rejected the calls that returned an error or false;
	// Queued the pending tasks; Running the tasks started and not ended,
	// which includes those running inline and the tasks waiting in Go
	// for them; Canceled the pending tasks dropped when the group's
	// context ended.
	compendium.TaskStats
	// Inline counts the tasks that ran inline, in the slot of the task
	// that submitted them, because MaxPending tasks were pending.
	Inline uint64
	// Waiting is the number of Go calls from outside waiting for a slot
	// now: the backpressure the limit puts on submitters. Their tasks are
	// not yet Submitted.
	Waiting uint64
}

// Stats returns the group's counters, read under its lock: the identity
// of [compendium.TaskStats] holds in every snapshot.
func (g *Group) Stats() GroupStats {
	g.mu.Lock()
	defer g.mu.Unlock()
	s := g.stats.snapshot()
	s.Waiting = g.waiters.len
	return s
}

// run is a goroutine of the group: it runs f in the slot its starter took
// for it, then whatever the slot is handed next.
func (g *Group) run(f task) {
	defer g.o.Exit()
	g.labels.Apply()
	for f != nil {
		p, err := g.call(f, g.onGoexit)
		// Fail cancels the group before the slot is given up, so that
		// whatever takes the slot next sees the cancellation.
		g.fail(p, err)
		g.mu.Lock()
		g.stats.end(p, err)
		f = g.nextLocked()
		g.mu.Unlock()
	}
}

// call calls f with a task context. If f calls runtime.Goexit, goexit runs
// as the goroutine unwinds, and call never returns.
func (g *Group) call(f task, goexit func()) (*compendium.PanicError, error) {
	ctx := g.taskCtx
	if g.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, g.timeout, g.timeoutCause)
		defer cancel()
	}
	return lifecycle.Call(func() error { return f(ctx) }, goexit)
}

// fail records a task's panic or error as the group's failure.
func (g *Group) fail(p *compendium.PanicError, err error) {
	if p != nil {
		g.o.Fail(p)
	} else if err != nil {
		g.o.Fail(err)
	}
}

// goexit ends a task of run that called runtime.Goexit: a failure, and
// the goroutine is gone, so the slot is given up here. The failure has
// cancelled the group, so nothing is handed to the slot.
func (g *Group) goexit() {
	g.o.Fail(compendium.ErrGoexit)
	g.mu.Lock()
	g.stats.failed++
	g.nextLocked()
	g.mu.Unlock()
}

// inlineGoexit ends a task run inline that called runtime.Goexit. Its
// submitter's goroutine unwinds too, and gives up the slot it holds.
func (g *Group) inlineGoexit() {
	g.o.Fail(compendium.ErrGoexit)
	g.mu.Lock()
	g.stats.failed++
	g.mu.Unlock()
}

// nextLocked is called by a goroutine whose task ended: it returns the
// task to run next in the same slot (a pending task first, since pending
// work keeps its submitter's tree growing, then the oldest waiting Go's),
// or gives the slot up and returns nil. g.mu is held.
func (g *Group) nextLocked() task {
	var f task
	select {
	case <-g.o.Done():
		// Pending tasks never run once the group is done. Dropping them is
		// news if the parent context ended: Fail records its cause, so
		// that Wait does not report work cut short as done. (After Close
		// or a failure, Fail keeps what it has.)
		if n := g.pending.len(); n > 0 {
			g.stats.canceled += uint64(n)
			g.pending.clear()
			g.o.Fail(context.Cause(g.o.Context()))
		}
	default:
		if g.running <= g.limit { // above it after SetLimit lowered it
			if g.pending.len() > 0 {
				f = g.pending.pop()
				g.stats.started++
			} else {
				f = g.takeWaiterLocked()
			}
		}
	}
	if f == nil {
		g.running--
		if g.running == 0 && g.idle != nil {
			close(g.idle)
			g.idle = nil
		}
	}
	return f
}

// takeWaiterLocked takes the task of the oldest waiting Go whose ctx has
// not ended, wakes that Go, and returns the task; or returns nil. The
// caller has a slot for it. A waiter whose ctx ended stays for its Go to
// remove: that Go is returning ctx.Err(), and checking here, after the
// slot was freed, is what makes "a ctx done before a slot frees never
// submits" hold. g.mu is held.
func (g *Group) takeWaiterLocked() task {
	for w := g.waiters.head; w != nil; w = w.next {
		if w.ctx.Err() != nil {
			continue
		}
		g.waiters.remove(w)
		w.taken = true
		g.stats.submitted++
		g.stats.started++
		w.ready <- struct{}{}
		return w.f
	}
	return nil
}

// goWaiter is a Go from outside waiting for a slot.
type goWaiter struct {
	f          task
	ctx        context.Context
	ready      chan struct{} // 1-buffered: a token once taken
	taken      bool
	prev, next *goWaiter
}

// waiterList is a FIFO of waiters, doubly linked so that one that gives
// up leaves from anywhere.
type waiterList struct {
	head, tail *goWaiter
	len        uint64
}

// push appends w, the newest waiter.
func (l *waiterList) push(w *goWaiter) {
	l.len++
	w.prev, w.next = l.tail, nil
	if l.tail == nil {
		l.head = w
	} else {
		l.tail.next = w
	}
	l.tail = w
}

// remove unlinks w, wherever it is.
func (l *waiterList) remove(w *goWaiter) {
	l.len--
	if w.prev == nil {
		l.head = w.next
	} else {
		w.prev.next = w.next
	}
	if w.next == nil {
		l.tail = w.prev
	} else {
		w.next.prev = w.prev
	}
	w.prev, w.next = nil, nil
}

// fifo is a queue that reuses its slice: push appends, pop advances the
// head, and the slice starts over when the queue empties. A ring would do
// as well; this keeps the bound simple to see: the backing array is never
// more than twice the most items queued at once.
type fifo[T any] struct {
	items []T // items[head:] are queued; items[:head] are zeroed
	head  int
}

// len returns the number of items queued.
func (q *fifo[T]) len() int { return len(q.items) - q.head }

// push appends v. When the array is full only because of what was popped
// (a queue that never empties, as a busy group's can), it slides the
// queued items down instead of growing: growing would keep every popped
// slot for as long as the queue lives.
func (q *fifo[T]) push(v T) {
	if q.head > 0 && len(q.items) == cap(q.items) {
		n := copy(q.items, q.items[q.head:])
		clear(q.items[n:])
		q.items, q.head = q.items[:n], 0
	}
	q.items = append(q.items, v)
}

// pop removes and returns the oldest item; the queue must not be empty.
func (q *fifo[T]) pop() T {
	var zero T
	v := q.items[q.head]
	q.items[q.head] = zero // let the task go
	q.head++
	if q.head == len(q.items) {
		q.items, q.head = q.items[:0], 0
	}
	return v
}

// clear drops every item, keeping the array.
func (q *fifo[T]) clear() {
	clear(q.items)
	q.items, q.head = q.items[:0], 0
}

// groupCounts are a Group's counters, kept under its mutex: they move in
// the critical sections that move the slots, so they cost an increment
// each, and a snapshot under the mutex is consistent.
type groupCounts struct {
	submitted, rejected, started          uint64
	completed, failed, panicked, canceled uint64
	inline                                uint64
}

// end counts a started task's end.
func (c *groupCounts) end(p *compendium.PanicError, err error) {
	switch {
	case p != nil:
		c.panicked++
	case err != nil:
		c.failed++
	default:
		c.completed++
	}
}

// snapshot derives Queued and Running from the counts, as
// lifecycle.Counters does, so that the identity holds by construction.
func (c *groupCounts) snapshot() GroupStats {
	ended := c.completed + c.failed + c.panicked
	return GroupStats{
		TaskStats: compendium.TaskStats{
			Submitted: c.submitted,
			Rejected:  c.rejected,
			Queued:    c.submitted - c.started - c.canceled,
			Running:   c.started - ended,
			Completed: c.completed,
			Failed:    c.failed,
			Panicked:  c.panicked,
			Canceled:  c.canceled,
		},
		Inline: c.inline,
	}
}
