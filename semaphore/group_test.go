package semaphore_test

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-compendium/compendium"
	"github.com/go-compendium/compendium/semaphore"
)

// nop is a task that does nothing and succeeds.
func nop(context.Context) error { return nil }

// blockUntilDone is a task that holds its slot until the group ends.
func blockUntilDone(ctx context.Context) error {
	<-ctx.Done()
	return nil
}

// recoverPanic runs f and returns what it panicked with, or nil.
func recoverPanic(f func()) (v any) {
	defer func() { v = recover() }()
	f()
	return nil
}

func TestGroupLimitReachedNeverExceeded(t *testing.T) {
	for _, limit := range []int{1, 4, 64} {
		synctest.Test(t, func(t *testing.T) {
			g := semaphore.NewGroup(context.Background(), limit)
			var inFlight gauge
			var ran atomic.Int64
			for range goroutines {
				err := g.Go(context.Background(), func(context.Context) error {
					inFlight.add(1)
					time.Sleep(hold)
					inFlight.add(-1)
					ran.Add(1)
					return nil
				})
				require.NoError(t, err)
			}
			require.NoError(t, g.Wait())
			assert.Equal(t, int64(limit), inFlight.peak.Load(), "peak tasks in flight with limit %d", limit)
			assert.Equal(t, int64(goroutines), ran.Load(), "tasks run")
		})
	}
}

func TestGroupConcurrentSubmitters(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const limit, submitters, each = 4, 10, 100
		g := semaphore.NewGroup(context.Background(), limit)
		var inFlight gauge
		var ran atomic.Int64
		var wg sync.WaitGroup
		for range submitters {
			wg.Go(func() {
				for range each {
					assert.NoError(t, g.Go(context.Background(), func(context.Context) error {
						inFlight.add(1)
						time.Sleep(hold)
						inFlight.add(-1)
						ran.Add(1)
						return nil
					}))
				}
			})
		}
		wg.Wait()
		require.NoError(t, g.Wait())
		assert.Equal(t, int64(limit), inFlight.peak.Load(), "peak tasks in flight")
		assert.Equal(t, int64(submitters*each), ran.Load(), "tasks run")
		assert.Equal(t, compendium.TaskStats{Submitted: submitters * each, Completed: submitters * each}, g.Stats().TaskStats)
	})
}

func TestGroupFirstErrorCancelsAndIsReturned(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		first := errors.New("first")
		second := errors.New("second")
		g := semaphore.NewGroup(context.Background(), 3)

		var sawCancel atomic.Bool
		require.NoError(t, g.Go(context.Background(), func(ctx context.Context) error {
			<-ctx.Done()
			sawCancel.Store(true)
			assert.ErrorIs(t, context.Cause(ctx), first, "the cause seen by a sibling task")
			return second // after the first: not reported
		}))
		require.NoError(t, g.Go(context.Background(), func(context.Context) error {
			time.Sleep(time.Second)
			return first
		}))
		synctest.Wait()
		assert.NoError(t, g.Context().Err(), "the group was cancelled before any task failed")

		time.Sleep(time.Second)
		synctest.Wait()
		assert.ErrorIs(t, context.Cause(g.Context()), first, "Cause(Context()) after the failure")
		assert.ErrorIs(t, g.Go(context.Background(), nop), first, "Go on a failed group")
		assert.False(t, g.TryGo(nop), "TryGo on a failed group")

		assert.ErrorIs(t, g.Wait(), first)
		assert.True(t, sawCancel.Load(), "the sibling task never saw the cancellation")
	})
}

// TestGroupWaitJoinsWithoutRefusing: Wait waits for every task and
// cancels nothing, so the group takes work again; Close cancels and
// refuses, on every call.
func TestGroupWaitJoinsWithoutRefusing(t *testing.T) {
	g := semaphore.NewGroup(context.Background(), 2)
	var ran atomic.Int64
	inc := func(context.Context) error {
		ran.Add(1)
		return nil
	}
	for range 10 {
		require.NoError(t, g.Go(context.Background(), inc))
	}
	assert.NoError(t, g.Wait())
	assert.Equal(t, int64(10), ran.Load(), "Wait returned before every task had")
	assert.NoError(t, g.Context().Err(), "Wait cancelled the group")

	require.NoError(t, g.Go(context.Background(), inc), "Go after Wait")
	assert.True(t, g.TryGo(inc), "TryGo after Wait")
	assert.NoError(t, g.Wait(), "a second Wait")
	assert.Equal(t, int64(12), ran.Load())

	assert.NoError(t, g.Close())
	assert.NoError(t, g.Close(), "Close is idempotent")
	assert.ErrorIs(t, context.Cause(g.Context()), compendium.ErrClosed, "the group's cause after Close")
	err := g.Go(context.Background(), inc)
	assert.ErrorIs(t, err, compendium.ErrClosed, "Go after Close")
	assert.EqualError(t, err, "semaphore: Group is closed")
	assert.False(t, g.TryGo(inc), "TryGo after Close")
	assert.Equal(t, int64(12), ran.Load(), "a task ran after Close")
	s := g.Stats()
	assert.Equal(t, uint64(12), s.Submitted)
	assert.Equal(t, uint64(12), s.Completed)
	assert.Equal(t, uint64(2), s.Rejected, "the refused Go and TryGo")
}

func TestGroupParentCancelStopsGo(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		parent, cancel := context.WithCancel(context.Background())
		g := semaphore.NewGroup(parent, 1)
		require.NoError(t, g.Go(context.Background(), blockUntilDone))

		errc := make(chan error, 1)
		go func() { errc <- g.Go(context.Background(), nop) }()
		synctest.Wait()
		assert.Empty(t, errc, "Go returned while the only slot was held")

		cancel()
		assert.ErrorIs(t, <-errc, context.Canceled, "blocked Go after the parent was cancelled")
		assert.NoError(t, g.Wait(), "Wait: no task failed")
	})
}

func TestGroupGoHonoursCallerContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := semaphore.NewGroup(context.Background(), 1)
		release := make(chan struct{})
		require.NoError(t, g.Go(context.Background(), func(context.Context) error {
			<-release
			return nil
		}))

		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		var called atomic.Bool
		start := time.Now()
		err := g.Go(ctx, func(context.Context) error {
			called.Store(true)
			return nil
		})
		assert.ErrorIs(t, err, context.DeadlineExceeded, "Go blocked behind a full group")
		assert.Equal(t, time.Second, time.Since(start), "Go gave up before its deadline")
		assert.NoError(t, g.Context().Err(), "the caller's timeout cancelled the group")

		// A done ctx never starts a task, even with a slot free.
		close(release)
		synctest.Wait()
		assert.ErrorIs(t, g.Go(ctx, func(context.Context) error {
			called.Store(true)
			return nil
		}), context.DeadlineExceeded)

		assert.NoError(t, g.Wait())
		assert.False(t, called.Load(), "a task whose Go failed was called")
		assert.Equal(t, compendium.TaskStats{Submitted: 1, Rejected: 2, Completed: 1}, g.Stats().TaskStats,
			"both refused Go calls count as Rejected")
	})
}

func TestGroupGoUnblocksWhenGroupFails(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		boom := errors.New("boom")
		g := semaphore.NewGroup(context.Background(), 1)
		require.NoError(t, g.Go(context.Background(), func(context.Context) error {
			time.Sleep(time.Second)
			return boom
		}))
		start := time.Now()
		// The failing task cancels the group before its deferred release
		// frees the slot, so the blocked Go wakes on the cancellation.
		err := g.Go(context.Background(), nop)
		assert.ErrorIs(t, err, boom, "Go blocked behind a failing task")
		assert.Equal(t, time.Second, time.Since(start))
		assert.ErrorIs(t, g.Wait(), boom)
	})
}

func TestGroupTryGo(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := semaphore.NewGroup(context.Background(), 2)
		release := make(chan struct{})
		wait := func(context.Context) error {
			<-release
			return nil
		}
		assert.True(t, g.TryGo(wait), "TryGo on an empty group")
		assert.True(t, g.TryGo(wait), "TryGo with one slot free")
		assert.False(t, g.TryGo(nop), "TryGo on a full group")
		close(release)
		synctest.Wait()
		assert.True(t, g.TryGo(nop), "TryGo once the tasks are done")
		assert.NoError(t, g.Wait())
		assert.Equal(t, uint64(1), g.Stats().Rejected, "the refused TryGo")
		require.NoError(t, g.Close())
		assert.False(t, g.TryGo(nop), "TryGo after Close")
		assert.Equal(t, uint64(2), g.Stats().Rejected, "TryGo after Close counts as Rejected")
	})
}

// panicWith panics with v; its name must appear in the stack Wait
// re-raises, so it is kept out of line.
//
//go:noinline
func panicWith(v any) error { panic(v) }

func TestGroupPanicReraisedByWait(t *testing.T) {
	errVal := errors.New("an error value")
	cases := []struct {
		name  string
		value any
	}{
		{"string", "boom"},
		{"error", errVal},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g := semaphore.NewGroup(context.Background(), 2)
			require.NoError(t, g.Go(context.Background(), blockUntilDone))
			require.NoError(t, g.Go(context.Background(), func(context.Context) error { return panicWith(c.value) }))

			v := recoverPanic(func() { _ = g.Wait() })
			require.NotNil(t, v, "Wait returned instead of panicking")
			p, ok := v.(*compendium.PanicError)
			require.True(t, ok, "Wait panicked with %T, want *compendium.PanicError", v)
			assert.Equal(t, c.value, p.Value)
			assert.Contains(t, string(p.Stack), "semaphore_test.panicWith", "the stack is the panicking goroutine's")
			assert.Contains(t, p.Error(), "panic: ")

			var pe *compendium.PanicError
			assert.ErrorAs(t, context.Cause(g.Context()), &pe, "the group's cause is the panic")
			if err, isErr := c.value.(error); isErr {
				assert.ErrorIs(t, p, err, "errors.Is through the PanicError")
			}
			assert.Same(t, p, recoverPanic(func() { _ = g.Wait() }), "a second Wait re-raises the same panic")
			for range 2 {
				assert.Same(t, p, recoverPanic(func() { _ = g.Close() }), "every Close re-raises the same panic")
			}
			assert.Equal(t, compendium.TaskStats{Submitted: 2, Completed: 1, Panicked: 1}, g.Stats().TaskStats)
		})
	}
}

// TestGroupPanicAfterErrorStillReraised checks that a panic is never
// swallowed because an error came first.
func TestGroupPanicAfterErrorStillReraised(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := semaphore.NewGroup(context.Background(), 2)
		require.NoError(t, g.Go(context.Background(), func(ctx context.Context) error {
			<-ctx.Done() // the error below has cancelled the group
			panic("second")
		}))
		require.NoError(t, g.Go(context.Background(), func(context.Context) error {
			return errors.New("first")
		}))
		v := recoverPanic(func() { _ = g.Wait() })
		require.IsType(t, &compendium.PanicError{}, v, "a panic after an error was swallowed")
		assert.Equal(t, "second", v.(*compendium.PanicError).Value)
	})
}

// TestGroupPanicUnblocksGo checks the promise that lets a submitter reach
// Wait: a panicking task cancels the group, so a Go blocked behind it
// returns the panic as its error and starts nothing.
func TestGroupPanicUnblocksGo(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := semaphore.NewGroup(context.Background(), 1)
		require.NoError(t, g.Go(context.Background(), func(context.Context) error {
			time.Sleep(time.Second)
			return panicWith("boom")
		}))
		var called atomic.Bool
		err := g.Go(context.Background(), func(context.Context) error {
			called.Store(true)
			return nil
		})
		var pe *compendium.PanicError
		require.ErrorAs(t, err, &pe, "Go blocked behind a panicking task")
		assert.Equal(t, "boom", pe.Value)

		v := recoverPanic(func() { _ = g.Wait() })
		assert.Same(t, pe, v, "Wait re-raises the panic Go returned")
		assert.False(t, called.Load(), "a task started after the panic")
	})
}

// TestGroupGoexitIsAFailure: a task that calls runtime.Goexit (as
// t.FailNow does) produced no result, so it fails the group with
// compendium.ErrGoexit, gives up its slot, and does not hang Wait.
func TestGroupGoexitIsAFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := semaphore.NewGroup(context.Background(), 1)
		require.NoError(t, g.Go(context.Background(), func(context.Context) error {
			runtime.Goexit()
			return nil
		}))
		assert.ErrorIs(t, g.Wait(), compendium.ErrGoexit)
		assert.ErrorIs(t, context.Cause(g.Context()), compendium.ErrGoexit, "the Goexit cancelled the group")
		assert.ErrorIs(t, g.Go(context.Background(), nop), compendium.ErrGoexit, "Go after the failure")
		assert.Equal(t, uint64(1), g.Stats().Failed)
		assert.ErrorIs(t, g.Close(), compendium.ErrGoexit, "Close returns the first failure")
	})
}

func TestGroupGoFromTask(t *testing.T) {
	g := semaphore.NewGroup(context.Background(), 2)
	var ran atomic.Int64
	require.NoError(t, g.Go(context.Background(), func(ctx context.Context) error {
		for range 5 {
			if err := g.Go(ctx, func(context.Context) error {
				ran.Add(1)
				return nil
			}); err != nil {
				return err
			}
		}
		return nil
	}))
	assert.NoError(t, g.Wait())
	assert.Equal(t, int64(5), ran.Load())
}

// TestGroupNeverStartsAfterFailure submits behind a task that fails, on a
// group of one slot, many times. The only way to get the slot is for the
// failing task to free it, and it cancels the group first, so neither Go
// (which yields and retries before it parks) nor a spinning TryGo may ever
// start the second task.
func TestGroupNeverStartsAfterFailure(t *testing.T) {
	boom := errors.New("boom")
	fail := func(context.Context) error { return boom }
	var started atomic.Int64
	late := func(context.Context) error {
		started.Add(1)
		return nil
	}
	for i := range 1000 {
		g := semaphore.NewGroup(context.Background(), 1)
		require.NoError(t, g.Go(context.Background(), fail))
		if i%2 == 0 {
			require.ErrorIs(t, g.Go(context.Background(), late), boom, "iteration %d: Go behind a failing task", i)
		} else {
			for g.Context().Err() == nil && !g.TryGo(late) {
				runtime.Gosched()
			}
		}
		require.ErrorIs(t, g.Wait(), boom, "iteration %d", i)
		require.Zero(t, started.Load(), "iteration %d: a task started in a group that had already failed", i)
	}
}

// TestGroupGoCancelledBeforeFree: a Go whose ctx is cancelled before the
// slot is freed returns ctx.Err() and starts nothing.
func TestGroupGoCancelledBeforeFree(t *testing.T) {
	g := semaphore.NewGroup(context.Background(), 1)
	free := make(chan struct{})
	var started atomic.Int64
	cancelThenFree(t,
		func() {
			require.NoError(t, g.Go(context.Background(), func(context.Context) error {
				<-free
				return nil
			}))
		},
		func(ctx context.Context) error {
			return g.Go(ctx, func(context.Context) error { started.Add(1); return errors.New("started") })
		},
		func() { free <- struct{}{} },
		func() bool { return started.Load() != 0 })
	require.NoError(t, g.Wait())
	s := g.Stats()
	assert.Equal(t, uint64(1000), s.Rejected, "every refused Go counts as Rejected: %+v", s)
	assert.Equal(t, s.Submitted, s.Completed)
}

// endsWhenChecked is a context that, once armed, is cancelled at the
// very moment its Err is read, and reports nil to that read: the
// interleaving where a cancellation lands just after Group looked at a
// waiting Go's context and took its task.
type endsWhenChecked struct {
	context.Context
	done  chan struct{}
	armed atomic.Bool
	once  sync.Once
}

func newEndsWhenChecked() *endsWhenChecked {
	return &endsWhenChecked{Context: context.Background(), done: make(chan struct{})}
}

func (c *endsWhenChecked) Done() <-chan struct{} { return c.done }

func (c *endsWhenChecked) Err() error {
	if !c.armed.Load() {
		return nil
	}
	first := false
	c.once.Do(func() { first = true; close(c.done) })
	if first {
		return nil
	}
	return context.Canceled
}

// TestGroupWaiterTakenAsItsContextEnds: a waiting Go whose task is taken
// in the same instant its ctx ends reports the task accepted, and the
// task runs: the one that takes it never waits for the Go to look.
func TestGroupWaiterTakenAsItsContextEnds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := semaphore.NewGroup(context.Background(), 1)
		release := make(chan struct{})
		require.NoError(t, g.Go(context.Background(), func(context.Context) error { <-release; return nil }))
		ctx := newEndsWhenChecked()
		var ran atomic.Bool
		errc := make(chan error, 1)
		go func() { errc <- g.Go(ctx, func(context.Context) error { ran.Store(true); return nil }) }()
		synctest.Wait() // the Go waits
		ctx.armed.Store(true)
		close(release) // the finishing task takes its task, and ctx ends
		assert.NoError(t, <-errc, "a Go whose task was taken")
		require.NoError(t, g.Wait())
		assert.True(t, ran.Load())
		require.NoError(t, g.Close())
	})
}

// TestGroupSetLimitOnDoneGroupStartsNothing: once the group's context is
// done, raising the limit starts neither pending tasks nor waiting ones;
// the pending ones are dropped when their submitter ends.
func TestGroupSetLimitOnDoneGroupStartsNothing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		parent, cancel := context.WithCancel(context.Background())
		g := semaphore.NewGroup(parent, 1, semaphore.MaxPending(3))
		var ran atomic.Int64
		count := func(context.Context) error { ran.Add(1); return nil }
		release := make(chan struct{})
		require.NoError(t, g.Go(context.Background(), func(ctx context.Context) error {
			for range 3 {
				if err := g.Go(ctx, count); err != nil {
					return err
				}
			}
			<-release // holds the slot, ignoring ctx
			return nil
		}))
		synctest.Wait()
		require.Equal(t, uint64(3), g.Stats().Queued)
		cancel()
		g.SetLimit(8)
		synctest.Wait()
		assert.Zero(t, ran.Load(), "SetLimit started a task on a cancelled group")
		close(release)
		assert.ErrorIs(t, g.Wait(), context.Canceled)
		assert.Zero(t, ran.Load())
		assert.Equal(t, uint64(3), g.Stats().Canceled)
		assert.ErrorIs(t, g.Close(), context.Canceled)
	})
}

// TestGroupCloseJoins: Close returns only once every task has returned
// and its goroutine is done with the group.
func TestGroupCloseJoins(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := semaphore.NewGroup(context.Background(), 2)
		var returned atomic.Int64
		for range 2 {
			require.NoError(t, g.Go(context.Background(), func(ctx context.Context) error {
				<-ctx.Done()
				time.Sleep(time.Second) // cleaning up after the cancellation
				returned.Add(1)
				return nil
			}))
		}
		start := time.Now()
		require.NoError(t, g.Close())
		assert.Equal(t, int64(2), returned.Load(), "Close returned before its tasks")
		assert.Equal(t, time.Second, time.Since(start))
	})
}

// TestGroupWaiterCancelledBeforeFreeIsNotTaken: a waiting Go whose ctx
// ends before a slot frees returns ctx.Err(), and its task never runs,
// even when the task that frees the slot looks at the waiters before the
// Go has woken. GOMAXPROCS(1) gives that order: the cancelled Go is made
// runnable first, the finishing task second, and the scheduler runs the
// last one made runnable first.
func TestGroupWaiterCancelledBeforeFreeIsNotTaken(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	var ran atomic.Int64
	for i := range 100 {
		g := semaphore.NewGroup(context.Background(), 1)
		release := make(chan struct{})
		require.NoError(t, g.Go(context.Background(), func(context.Context) error { <-release; return nil }))
		ctx, cancel := context.WithCancel(context.Background())
		errc := make(chan error, 1)
		go func() { errc <- g.Go(ctx, func(context.Context) error { ran.Add(1); return nil }) }()
		for g.Stats().Waiting == 0 {
			runtime.Gosched()
		}
		cancel()
		close(release)
		require.ErrorIs(t, <-errc, context.Canceled, "iteration %d", i)
		require.NoError(t, g.Close())
		require.Zero(t, ran.Load(), "iteration %d: the task of a cancelled Go ran", i)
	}
}
