package semaphore

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/go-compendium/compendium/internal/panics"
)

// PanicError is a panic recovered from a task started by [Group.Go] or
// [Group.TryGo]: the value the task passed to panic and the stack of the
// goroutine that panicked. [Group.Wait] re-panics with it (a *PanicError) on
// the goroutine that calls Wait, so the panic is neither lost nor stripped
// of the stack that explains it. Recover it with a type assertion, or, since
// its Unwrap returns the original value when that was an error, reach the
// value with errors.As and errors.Is.
type PanicError = panics.Error

// Group runs tasks on goroutines, at most n at a time, and collects the
// first error: Bryan C. Mills' "acquire before go" (Rethinking Classical
// Concurrency Patterns, GopherCon 2018). [Group.Go] takes a slot before it
// starts the goroutine, so there are never more than n goroutines, however
// many tasks are submitted, and the submitter is slowed to the pace of the
// work instead of piling up blocked goroutines.
//
// It differs from errgroup.Group with SetLimit in three ways: Go takes a
// ctx and gives up when it ends, where errgroup's Go blocks with no way
// out; Go and TryGo stop starting tasks once the group is cancelled; and a
// panic in a task is re-raised by Wait on the caller's goroutine as a
// *[PanicError] instead of crashing the process from the task's goroutine.
//
// errgroup's source explains why it does not carry panics to Wait: doing
// so delays them, and a panic that leaves the program unable to reach Wait
// would vanish. Group answers the second point by cancelling its context
// the moment a task panics, so every blocked Go returns and the submitter
// can reach Wait; a caller that never calls Wait does lose the panic, so
// always call it (in a defer if the submit loop can return early).
//
// Create one with [NewGroup]; the zero value is not usable and a Group must
// not be copied. Go, TryGo and Context are safe for concurrent use,
// including from inside tasks. A Group is single use: Wait cancels its
// context, after which Go and TryGo start nothing. The return of every task
// synchronizes before Wait returns.
//
// Cost (BenchmarkGroup, tiny task, limit 4): 240 to 260 ns and one
// allocation per task, errgroup with SetLimit 320 to 340; both are mostly
// the cost of starting a goroutine.
type Group struct {
	ctx    context.Context
	cancel context.CancelCauseFunc
	done   <-chan struct{} // ctx.Done(), kept to spare a call per Go
	// slots bounds the running tasks: Go acquires before it starts a
	// task, the task's deferred Release frees the slot.
	slots *Counting
	wg    sync.WaitGroup

	errOnce sync.Once
	err     error // the first error, written once under errOnce
	// panicked is the first panic; later ones are dropped, as later errors
	// are.
	panicked atomic.Pointer[PanicError]
}

// NewGroup returns a Group that runs at most n tasks at once, with a
// context derived from ctx that is cancelled, with the error as its cause,
// when a task returns an error or panics, when ctx is cancelled, or when
// Wait returns.
//
// NewGroup panics if n < 1. (errgroup's SetLimit takes a negative limit to
// mean "no limit"; a Group without a limit is a sync.WaitGroup, so it is a
// mistake here.)
func NewGroup(ctx context.Context, n int) *Group {
	if n < 1 {
		panic(fmt.Sprintf("semaphore: n must be at least 1, got %d", n))
	}
	gctx, cancel := context.WithCancelCause(ctx)
	return &Group{ctx: gctx, cancel: cancel, done: gctx.Done(), slots: New(n)}
}

// Go starts f on a new goroutine with the group's context, once fewer than
// n tasks are running, and returns nil. While n tasks are running it blocks;
// if ctx is done first it returns ctx.Err(), and if the group's context is
// done first (a task failed or panicked, the parent context ended, or Wait
// returned) it returns the group's cancellation cause (the first error, or
// the parent's cause). A done ctx or group never starts f, even with a slot
// free. When Go returns an error, f has not been and will not be called.
//
// A task that calls Go on its own group must pass a ctx that can end (or
// the group's): with every slot held by tasks that wait for a slot, nothing
// would ever free one. Go must not be called after Wait has started except
// from a running task, as with errgroup. A nil f panics.
func (g *Group) Go(ctx context.Context, f func(ctx context.Context) error) error {
	checkTask(f)
	switch err := g.slots.acquire(ctx, g.done); {
	case err == errStopped:
		return context.Cause(g.ctx)
	case err != nil:
		return err
	}
	return g.start(f)
}

// TryGo starts f on a new goroutine, as [Group.Go] does, only if fewer than
// n tasks are running and the group's context is not done, and reports
// whether it did. It never blocks. A nil f panics.
func (g *Group) TryGo(f func(ctx context.Context) error) bool {
	checkTask(f)
	return g.slots.TryAcquire() && g.start(f) == nil
}

// Wait blocks until every task started by Go and TryGo has returned, then
// cancels the group's context and returns the first error a task returned,
// or nil.
//
// If a task panicked, Wait panics instead, on the calling goroutine, with
// the first panic as a *[PanicError] holding the original value and the
// panicking goroutine's stack. The panic cancelled the group's context
// when it happened, so the other tasks saw ctx.Done, blocked Go calls
// returned, and Wait cannot be kept waiting by a submitter stuck behind the
// dead task. A task that ends with runtime.Goexit (t.FailNow in a test)
// frees its slot and counts as done without error, so it cannot hang Wait.
func (g *Group) Wait() error {
	g.wg.Wait()
	g.cancel(g.err)
	if p := g.panicked.Load(); p != nil {
		panic(p)
	}
	return g.err
}

// Context returns the group's context, the one every task receives: it is
// done once a task fails or panics, the parent context ends, or Wait
// returns, and context.Cause reports why.
func (g *Group) Context() context.Context {
	return g.ctx
}

// start runs f on a new goroutine in the slot the caller has just taken,
// unless the group is done: then it gives the slot back and returns the
// group's cause. Checking after taking the slot, not only before, is what
// keeps a failed group from starting anything: a failing task cancels the
// group before it frees its slot, and a receive from a buffered channel
// synchronizes before the send that reuses its slot, so whoever takes that
// slot sees the cancellation. A check made only before the send would miss
// a task that failed in between, as Go's yield and retry make likely.
func (g *Group) start(f func(ctx context.Context) error) error {
	select {
	case <-g.done:
		g.slots.Release()
		return context.Cause(g.ctx)
	default:
	}
	g.wg.Add(1)
	go g.run(f)
	return nil
}

// run is a task's goroutine. The bookkeeping sits in a defer so that a task
// that panics or calls runtime.Goexit still frees its slot and lets Wait
// return.
func (g *Group) run(f func(ctx context.Context) error) {
	defer func() {
		// The slot before Done: once Wait returns, every slot is free.
		g.slots.Release()
		g.wg.Done()
	}()
	// The error or panic cancels the group before the deferred release
	// frees the slot, so that whoever takes the slot next sees the
	// cancellation and starts nothing (see start).
	var err error
	if p := panics.Try(func() { err = f(g.ctx) }); p != nil {
		g.panicked.CompareAndSwap(nil, p)
		g.cancel(p)
		return
	}
	if err != nil {
		g.errOnce.Do(func() {
			g.err = err
			g.cancel(err)
		})
	}
}

// checkTask panics on a nil task, at the call that submitted it rather than
// later on the task's goroutine.
func checkTask(f func(ctx context.Context) error) {
	if f == nil {
		panic("semaphore: f must not be nil")
	}
}
