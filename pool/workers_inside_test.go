package pool_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-compendium/compendium"
	"github.com/go-compendium/compendium/pool"
)

// TestRecursiveTree runs a tree of tasks in which each task does its work,
// then submits its children to its own pool with the ctx it received: at
// limits 1, 2 and 8 and queue bounds 0 and 2, every node runs exactly
// once, Wait returns only after the whole tree, nothing deadlocks, and no
// more than the limit ever do their work at once.
func TestRecursiveTree(t *testing.T) {
	const depth, fan = 4, 3 // 1 + 3 + 9 + 27 + 81 nodes
	const nodes = 121
	for _, n := range []int{1, 2, 8} {
		for _, q := range []int{0, 2} {
			t.Run(fmt.Sprintf("n=%d/queue=%d", n, q), func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					w := pool.NewWorkers(bg, n, pool.QueueCapacity(q))
					defer w.Close()
					var g gauge
					var ran atomic.Int64
					var node func(level int) func(context.Context) error
					node = func(level int) func(context.Context) error {
						return func(ctx context.Context) error {
							g.enter()
							ran.Add(1)
							time.Sleep(time.Millisecond)
							g.exit()
							if level == depth {
								return nil
							}
							for range fan {
								if err := w.Go(ctx, node(level+1)); err != nil {
									return err
								}
							}
							return nil
						}
					}
					require.NoError(t, w.Go(bg, node(0)))
					require.NoError(t, w.Wait())
					assert.Equal(t, int64(nodes), ran.Load(), "nodes run")
					assert.LessOrEqual(t, g.peak.Load(), int64(n), "peak tasks doing their work")
					assert.Positive(t, g.peak.Load())
					st := w.Stats()
					assertAccounted(t, st)
					assert.Equal(t, uint64(nodes), st.Submitted)
					assert.Equal(t, uint64(nodes), st.Completed)
					assert.LessOrEqual(t, st.Workers, uint64(n))
				})
			})
		}
	}
}

// TestInsideNeverBlocks checks the policy for a submission from inside a
// busy pool: a free worker, else the queue, else the submitting goroutine
// runs the task before Go returns.
func TestInsideNeverBlocks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := pool.NewWorkers(bg, 1, pool.QueueCapacity(1))
		defer w.Close()
		var order []string
		done := make(chan struct{})
		require.NoError(t, w.Go(bg, func(ctx context.Context) error {
			parent := goroutineID()
			require.NoError(t, w.Go(ctx, func(context.Context) error {
				order = append(order, "queued child")
				return nil
			}))
			require.NoError(t, w.Go(ctx, func(context.Context) error {
				assert.Equal(t, parent, goroutineID(), "the task runs on the submitter's goroutine")
				order = append(order, "inline child")
				return nil
			}))
			order = append(order, "parent after Go")
			assert.True(t, w.TryGo(ctx, nop) == false, "TryGo from inside never runs the task itself")
			close(done)
			return nil
		}))
		<-done
		require.NoError(t, w.Wait())
		assert.Equal(t, []string{"inline child", "parent after Go", "queued child"}, order)
		st := w.Stats()
		assertAccounted(t, st)
		assert.Equal(t, uint64(3), st.Completed)
		assert.Equal(t, uint64(1), st.Rejected, "the TryGo")
	})
}

// TestInsideOutcomes runs tasks inline (n = 1, no queue) that fail, call
// Goexit and panic: each is counted, the failure and the Goexit reach
// Wait, and the panic cancels the pool and is re-raised.
func TestInsideOutcomes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := pool.NewWorkers(bg, 1, pool.QueueCapacity(0))
		submit := func(task func(context.Context) error) {
			require.NoError(t, w.Go(bg, func(ctx context.Context) error { return w.Go(ctx, task) }))
			synctest.Wait()
		}
		submit(func(context.Context) error { return errTask })
		submit(func(context.Context) error { runtime.Goexit(); return nil })
		err := w.Wait()
		assert.ErrorIs(t, err, errTask)
		assert.ErrorIs(t, err, compendium.ErrGoexit, "the inline Goexit")
		st := w.Stats()
		assertAccounted(t, st)
		// The Goexit also ended its parent, on the same goroutine: a
		// failure as well, and the worker was replaced.
		assert.Equal(t, uint64(1), st.Completed, "the first parent")
		assert.Equal(t, uint64(3), st.Failed, "both children and the second parent")
		assert.Equal(t, uint64(1), st.Workers)

		submit(func(context.Context) error { panic("inline") })
		v := catch(func() { _ = w.Wait() })
		require.IsType(t, &compendium.PanicError{}, v)
		assert.Equal(t, "inline", v.(*compendium.PanicError).Value)
		st = w.Stats()
		assertAccounted(t, st)
		assert.Equal(t, uint64(1), st.Panicked)
		assert.Same(t, v, catch(func() { _ = w.Close() }))
	})
}

// TestInsideWhileDraining checks that a task draining under Shutdown may
// still submit from inside, with its own context or one derived from it,
// and those tasks run, while Go from outside is refused.
func TestInsideWhileDraining(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := pool.NewWorkers(bg, 2)
		g := newGate()
		var children atomic.Int64
		child := func(context.Context) error { children.Add(1); return nil }
		caller, cancel := context.WithCancel(bg)
		defer cancel()
		require.NoError(t, w.Go(caller, func(ctx context.Context) error {
			<-g.ch
			for range 5 {
				require.NoError(t, w.Go(ctx, child))
			}
			type key struct{}
			derived := context.WithValue(ctx, key{}, 1)
			require.NoError(t, w.Go(derived, child))
			assert.True(t, w.TryGo(ctx, child), "TryGo from inside while draining")
			assert.True(t, w.TryGo(derived, child), "TryGo from inside, derived context, while draining")
			return nil
		}))
		shut := make(chan error)
		go func() { shut <- w.Shutdown(bg) }()
		synctest.Wait()
		err := w.Go(bg, nop)
		assert.ErrorIs(t, err, compendium.ErrClosed, "Go from outside while draining")
		assert.False(t, w.TryGo(bg, nop), "TryGo from outside while draining")
		g.release()
		assert.NoError(t, <-shut)
		assert.Equal(t, int64(8), children.Load(), "children submitted while draining ran")
		assertAccounted(t, w.Stats())
	})
}

// TestInsideAfterClose checks that once the pool is closed, a submission
// from inside is refused with the closed error too.
func TestInsideAfterClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := pool.NewWorkers(bg, 1)
		got := make(chan error, 2)
		require.NoError(t, w.Go(bg, func(ctx context.Context) error {
			<-ctx.Done()
			got <- w.Go(ctx, nop)
			if w.TryGo(ctx, nop) {
				got <- errors.New("TryGo accepted")
			}
			return nil
		}))
		synctest.Wait()
		assert.NoError(t, w.Close())
		assert.ErrorIs(t, <-got, compendium.ErrClosed)
		assert.Len(t, got, 0)
		st := w.Stats()
		assert.Equal(t, uint64(2), st.Rejected, "the Go and the TryGo from inside")
		assert.Equal(t, uint64(1), st.Submitted)
	})
}

// TestOutsideWithPoolContext checks that the pool's own context, passed to
// Go from outside, is not mistaken for a task's: Go keeps its
// backpressure and never runs the task on the caller's goroutine.
func TestOutsideWithPoolContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := pool.NewWorkers(bg, 1, pool.QueueCapacity(0))
		defer w.Close()
		g := newGate()
		require.NoError(t, w.Go(bg, g.task))
		synctest.Wait()
		returned := make(chan error)
		go func() { returned <- w.Go(w.Context(), nop) }()
		synctest.Wait()
		select {
		case <-returned:
			t.Fatal("Go from outside with the pool's context did not wait for room")
		default:
		}
		g.release()
		assert.NoError(t, <-returned)
		require.NoError(t, w.Wait())
	})
}

// TestInsideDerivedContext submits from inside with a context derived from
// the task's: the child sees its values, is not cancelled when its
// submitter returns, and is cancelled when the outside caller's context
// ends.
func TestInsideDerivedContext(t *testing.T) {
	for _, derive := range []bool{false, true} {
		t.Run(fmt.Sprintf("derived=%v", derive), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				w := pool.NewWorkers(bg, 1)
				defer w.Close()
				type key struct{}
				caller, cancel := context.WithCancelCause(context.WithValue(bg, key{}, "request"))
				why := errors.New("client went away")
				childCtx := make(chan context.Context, 1)
				release := make(chan struct{})
				want := "request"
				require.NoError(t, w.Go(caller, func(ctx context.Context) error {
					if derive {
						ctx, want = context.WithValue(ctx, key{}, "derived"), "derived"
					}
					// The worker is busy with this task: the child is
					// queued, and runs after this task returns.
					return w.Go(ctx, func(ctx context.Context) error {
						childCtx <- ctx
						<-release
						return context.Cause(ctx)
					})
				}))
				ctx := <-childCtx
				assert.Equal(t, want, ctx.Value(key{}), "the child sees the values of the context it was submitted with")
				assert.NoError(t, ctx.Err(), "the child is not cancelled because its submitter returned")
				cancel(why)
				<-ctx.Done()
				assert.Same(t, why, context.Cause(ctx), "the outside caller's cause reaches the child")
				close(release)
				err := w.Wait()
				assert.ErrorIs(t, err, why)
			})
		})
	}
}

// TestCallerContextReachesTask checks that the ctx given to Go reaches the
// task: its values, its cancellation and cause, and the pool's; and that
// the task's context is released once the task returns.
func TestCallerContextReachesTask(t *testing.T) {
	type key struct{}
	cases := []struct {
		name string
		// end ends the task's context, from the caller's side or the
		// pool's, and returns the cause the task must see.
		end func(w *pool.Workers, cancelCaller context.CancelCauseFunc) error
	}{
		{"caller cancels", func(w *pool.Workers, cancelCaller context.CancelCauseFunc) error {
			why := errors.New("client went away")
			cancelCaller(why)
			return why
		}},
		{"pool closes", func(w *pool.Workers, cancelCaller context.CancelCauseFunc) error {
			go func() { _ = w.Close() }()
			return compendium.ErrClosed
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				w := pool.NewWorkers(bg, 1)
				defer w.Close()
				caller, cancel := context.WithCancelCause(context.WithValue(bg, key{}, "request 7"))
				defer cancel(nil)
				got := make(chan context.Context, 1)
				require.NoError(t, w.Go(caller, func(ctx context.Context) error {
					assert.Equal(t, "request 7", ctx.Value(key{}))
					got <- ctx
					<-ctx.Done()
					return context.Cause(ctx)
				}))
				ctx := <-got
				want := c.end(w, cancel)
				<-ctx.Done()
				assert.ErrorIs(t, context.Cause(ctx), want)
				_ = w.Wait()
			})
		})
	}
	t.Run("released after the task", func(t *testing.T) {
		w := pool.NewWorkers(bg, 1)
		defer w.Close()
		caller, cancel := context.WithCancel(bg)
		defer cancel()
		var taskCtx context.Context
		require.NoError(t, w.Go(caller, func(ctx context.Context) error { taskCtx = ctx; return nil }))
		require.NoError(t, w.Wait())
		assert.ErrorIs(t, taskCtx.Err(), context.Canceled, "the task's context is cancelled once it returns, releasing it")
		assert.NoError(t, caller.Err())
	})
	t.Run("background costs nothing", func(t *testing.T) {
		w := pool.NewWorkers(bg, 1)
		defer w.Close()
		ctxs := make(chan context.Context, 2)
		for _, ctx := range []context.Context{context.Background(), context.TODO()} {
			require.NoError(t, w.Go(ctx, func(ctx context.Context) error { ctxs <- ctx; return nil }))
		}
		require.NoError(t, w.Wait())
		assert.Same(t, <-ctxs, <-ctxs, "both get the pool's one task context")
	})
}

// TestTaskTimeout checks the per-task deadline: it starts when the task
// starts, ends the task's context with DeadlineExceeded and a cause saying
// so, and the task keeps its worker until it returns, so a limit of n
// never sees n+1 running even when tasks ignore their context.
func TestTaskTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const n = 2
		w := pool.NewWorkers(bg, n, pool.TaskTimeout(time.Second))
		defer w.Close()
		var g gauge
		ignores := func(context.Context) error {
			g.enter()
			defer g.exit()
			time.Sleep(10 * time.Second) // far past its deadline
			return nil
		}
		for range 3 * n {
			require.NoError(t, w.Go(bg, ignores))
		}
		start := time.Now()
		var deadline time.Time
		var err, cause error
		require.NoError(t, w.Go(bg, func(ctx context.Context) error {
			deadline, _ = ctx.Deadline()
			<-ctx.Done()
			err, cause = ctx.Err(), context.Cause(ctx)
			return nil
		}))
		require.NoError(t, w.Wait())
		assert.Equal(t, int64(n), g.peak.Load(), "peak running")
		assert.Equal(t, 31*time.Second, time.Since(start), "three rounds of 10s, then the last task's second")
		assert.Equal(t, start.Add(31*time.Second), deadline, "the clock starts when the task starts")
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		assert.ErrorIs(t, cause, context.DeadlineExceeded)
		assert.Contains(t, cause.Error(), "TaskTimeout of 1s")
	})
}

// TestTaskTimeoutWithCallerContext checks that a deadline of the caller's
// that comes first still wins over TaskTimeout.
func TestTaskTimeoutWithCallerContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := pool.NewWorkers(bg, 1, pool.TaskTimeout(time.Hour))
		defer w.Close()
		caller, cancel := context.WithTimeout(bg, time.Second)
		defer cancel()
		start := time.Now()
		require.NoError(t, w.Go(caller, func(ctx context.Context) error { <-ctx.Done(); return nil }))
		require.NoError(t, w.Wait())
		assert.Equal(t, time.Second, time.Since(start))
	})
}

// TestResize grows and shrinks a running pool, and checks the documented
// effect on running and queued tasks.
func TestResize(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := pool.NewWorkers(bg, 2)
		defer w.Close()
		var g gauge
		gates := make([]chan struct{}, 8)
		for i := range gates {
			gates[i] = make(chan struct{})
			require.NoError(t, w.Go(bg, func(context.Context) error {
				g.enter()
				defer g.exit()
				<-gates[i]
				return nil
			}))
		}
		synctest.Wait()
		assert.Equal(t, int64(2), g.now.Load(), "running at limit 2")

		// Growing starts workers at once for the queued tasks.
		w.Resize(5)
		synctest.Wait()
		assert.Equal(t, int64(5), g.now.Load(), "running at limit 5")
		assert.Equal(t, uint64(5), w.Stats().Workers)
		assert.Equal(t, uint64(3), w.Stats().Queued)

		// Shrinking interrupts nothing: the five run on, and as they
		// return, the workers beyond the limit exit.
		w.Resize(1)
		synctest.Wait()
		assert.Equal(t, int64(5), g.now.Load(), "running right after shrinking to 1")
		for i := range 4 {
			close(gates[i])
		}
		synctest.Wait()
		assert.Equal(t, int64(1), g.now.Load(), "running once four have returned")
		assert.Equal(t, uint64(1), w.Stats().Workers, "workers once four have returned")
		g.peak.Store(g.now.Load())
		for i := 4; i < len(gates); i++ {
			close(gates[i])
		}
		require.NoError(t, w.Wait())
		assert.Equal(t, int64(1), g.peak.Load(), "peak after shrinking to 1")
		st := w.Stats()
		assertAccounted(t, st)
		assert.Equal(t, uint64(8), st.Completed)
	})
}

// TestResizeIdle checks that shrinking makes idle workers exit at once,
// and that growing makes room for a blocked submitter.
func TestResizeIdle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := pool.NewWorkers(bg, 4, pool.QueueCapacity(0))
		g := newGate()
		for range 4 {
			require.NoError(t, w.Go(bg, g.task))
		}
		synctest.Wait()
		returned := make(chan error)
		go func() { returned <- w.Go(bg, nop) }()
		synctest.Wait()
		w.Resize(5)
		assert.NoError(t, <-returned, "a blocked Go gets the new worker")
		g.release()
		require.NoError(t, w.Wait())
		synctest.Wait()
		assert.Equal(t, uint64(5), w.Stats().Workers, "idle workers")
		w.Resize(2)
		synctest.Wait()
		assert.Equal(t, uint64(2), w.Stats().Workers, "idle workers beyond the limit exit at once")
		require.NoError(t, w.Go(bg, nop))
		require.NoError(t, w.Wait())
		require.NoError(t, w.Close())
		w.Resize(3) // on a closed pool: recorded, nothing started
		assert.Zero(t, w.Stats().Workers)
	})
}

// TestShutdown checks the graceful stop: every queued task runs, Go is
// refused from the start, and Shutdown returns Close's result.
func TestShutdown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := pool.NewWorkers(bg, 2, pool.QueueCapacity(16))
		var ran atomic.Int64
		for i := range 10 {
			require.NoError(t, w.Go(bg, func(context.Context) error {
				time.Sleep(time.Millisecond)
				ran.Add(1)
				if i == 3 {
					return errTask
				}
				return nil
			}))
		}
		shut := make(chan error)
		go func() { shut <- w.Shutdown(bg) }()
		synctest.Wait()
		assert.ErrorIs(t, w.Go(bg, nop), compendium.ErrClosed, "Go once Shutdown has started")
		err := <-shut
		assert.ErrorIs(t, err, errTask, "Shutdown returns Close's result: the error no Wait returned")
		assert.NotErrorIs(t, err, compendium.ErrClosed, "nothing was cut short")
		assert.Equal(t, int64(10), ran.Load(), "every queued task ran")
		assert.Same(t, err, w.Close(), "Close after Shutdown returns the same")
		st := w.Stats()
		assertAccounted(t, st)
		assert.Zero(t, st.Canceled)
		assert.Zero(t, st.Workers)
	})
}

// TestShutdownContextEnds checks that a Shutdown whose ctx ends before the
// queue drains closes the pool at once and says so.
func TestShutdownContextEnds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := pool.NewWorkers(bg, 1)
		for range 5 {
			require.NoError(t, w.Go(bg, func(ctx context.Context) error {
				select {
				case <-time.After(time.Second):
					return nil
				case <-ctx.Done():
					return ctx.Err()
				}
			}))
		}
		ctx, cancel := context.WithTimeout(bg, 1500*time.Millisecond)
		defer cancel()
		start := time.Now()
		err := w.Shutdown(ctx)
		assert.Equal(t, 1500*time.Millisecond, time.Since(start))
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		assert.ErrorIs(t, err, compendium.ErrClosed, "and the closed error: work was cut short")
		st := w.Stats()
		assertAccounted(t, st)
		assert.Equal(t, uint64(1), st.Completed)
		assert.Equal(t, uint64(1), st.Failed, "the running task was cancelled")
		assert.Equal(t, uint64(3), st.Canceled)
	})
}

// TestShutdownContextEndsCleanly checks that a Shutdown cut short by its
// ctx says so even when Close has nothing to report: the task it waited
// for finished without error, and nothing was queued.
func TestShutdownContextEndsCleanly(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := pool.NewWorkers(bg, 1)
		require.NoError(t, w.Go(bg, func(context.Context) error {
			time.Sleep(time.Second) // ignores its context, and succeeds
			return nil
		}))
		ctx, cancel := context.WithTimeout(bg, time.Millisecond)
		defer cancel()
		err := w.Shutdown(ctx)
		assert.Equal(t, context.DeadlineExceeded, err)
		assert.NoError(t, w.Close(), "Close itself had nothing to report")
	})
}

// TestWaitWhileSubmitting holds the documented limit of Wait: it waits for
// the pool to be idle, so while another goroutine keeps submitting it does
// not return, and it returns once the submitter stops.
func TestWaitWhileSubmitting(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := pool.NewWorkers(bg, 2)
		defer w.Close()
		stop := make(chan struct{})
		submitted := make(chan struct{})
		go func() {
			defer close(submitted)
			for {
				select {
				case <-stop:
					return
				default:
				}
				_ = w.Go(bg, func(context.Context) error { time.Sleep(time.Millisecond); return nil })
				time.Sleep(time.Millisecond / 2)
			}
		}()
		synctest.Wait() // the first task is in
		waited := make(chan error)
		go func() { waited <- w.Wait() }()
		time.Sleep(time.Second)
		select {
		case <-waited:
			t.Fatal("Wait returned while tasks kept coming")
		default:
		}
		close(stop)
		<-submitted
		assert.NoError(t, <-waited, "Wait once the submitter stopped")
	})
}

// TestShutdownIdleWithEndedContext checks that a Shutdown finding nothing
// to drain reports nothing, even with a ctx that has already ended:
// nothing was cut short.
func TestShutdownIdleWithEndedContext(t *testing.T) {
	w := pool.NewWorkers(bg, 1)
	require.NoError(t, w.Go(bg, nop))
	require.NoError(t, w.Wait())
	ctx, cancel := context.WithCancel(bg)
	cancel()
	assert.NoError(t, w.Shutdown(ctx))
}

// TestResizeUpStartsNothingIdle checks that growing a pool with nothing
// queued starts no worker: workers start for tasks, not for the limit.
func TestResizeUpStartsNothingIdle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := pool.NewWorkers(bg, 1)
		defer w.Close()
		require.NoError(t, w.Go(bg, nop))
		require.NoError(t, w.Wait())
		synctest.Wait()
		w.Resize(4)
		synctest.Wait()
		assert.Equal(t, uint64(1), w.Stats().Workers)
	})
}

// TestResizeDownKeepsIdleClocks shrinks a pool of idle workers with an
// IdleTimeout: the workers beyond the limit exit at once, and the others
// are left parked, so they still exit when their own idle time is up
// rather than a full IdleTimeout after the Resize.
func TestResizeDownKeepsIdleClocks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := pool.NewWorkers(bg, 4, pool.IdleTimeout(time.Second))
		defer w.Close()
		g := newGate()
		for range 4 {
			require.NoError(t, w.Go(bg, g.task))
		}
		synctest.Wait()
		g.release()
		require.NoError(t, w.Wait())
		synctest.Wait() // all four parked, their idle clocks started
		time.Sleep(500 * time.Millisecond)
		w.Resize(3)
		synctest.Wait()
		assert.Equal(t, uint64(3), w.Stats().Workers, "one idle worker beyond the limit exited at once")
		time.Sleep(500 * time.Millisecond)
		synctest.Wait()
		assert.Zero(t, w.Stats().Workers, "the others exited a second after they parked")
	})
}

// TestTaskContextReleased checks that a task's context is released when
// the task returns: cancelled, its TaskTimeout's timer stopped, and
// nothing of it kept by the pool's context or the submitter's, so that a
// long-lived pool serving a long-lived context holds nothing per task
// done.
func TestTaskContextReleased(t *testing.T) {
	// Each way a task can end: return, panic, Goexit; on a worker, and
	// inline (caller-runs, n = 1 and no queue).
	ends := []struct {
		name string
		end  func() error
	}{
		{"return", func() error { return nil }},
		{"panic", func() error { panic("end") }},
		{"goexit", func() error { runtime.Goexit(); return nil }},
	}
	for _, e := range ends {
		for _, inline := range []bool{false, true} {
			t.Run(fmt.Sprintf("deadline/%s/inline=%v", e.name, inline), func(t *testing.T) {
				w := pool.NewWorkers(bg, 1, pool.QueueCapacity(0), pool.TaskTimeout(time.Hour))
				defer func() { _ = catch(func() { _ = w.Close() }) }()
				var got context.Context
				task := func(ctx context.Context) error { got = ctx; return e.end() }
				if inline {
					require.NoError(t, w.Go(bg, func(ctx context.Context) error { return w.Go(ctx, task) }))
				} else {
					require.NoError(t, w.Go(bg, task))
				}
				_ = catch(func() { _ = w.Wait() })
				require.NotNil(t, got)
				assert.ErrorIs(t, got.Err(), context.Canceled, "released when the task ended, not at its deadline")
			})
		}
	}
	t.Run("retained", func(t *testing.T) {
		tasks := 20_000
		if raceEnabled {
			tasks = 5_000
		}
		long, cancel := context.WithCancel(bg) // a server's base context
		defer cancel()
		w := pool.NewWorkers(bg, 2)
		defer w.Close()
		type key struct{}
		child := func(context.Context) error { return nil }
		parent := func(ctx context.Context) error {
			// From inside, with a derived context: registered on the
			// origin's context as well as the pool's.
			return w.Go(context.WithValue(ctx, key{}, 1), child)
		}
		run := func(n int) {
			for range n {
				require.NoError(t, w.Go(long, parent))
			}
			require.NoError(t, w.Wait())
		}
		run(100) // warm up: workers, ring, the contexts' maps
		heap := func() uint64 {
			runtime.GC()
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			return m.HeapAlloc
		}
		before := heap()
		run(tasks / 2)
		grown := int64(heap()) - int64(before)
		assert.Less(t, grown, int64(tasks)*16, "bytes retained after %d tasks had returned", tasks)
	})
}

// TestInsideDerivedFromBackground submits from inside, with a context
// derived from the task's, in a line started with context.Background: the
// child runs, sees the values, and is cancelled with the pool.
func TestInsideDerivedFromBackground(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := pool.NewWorkers(bg, 1)
		type key struct{}
		got := make(chan context.Context, 1)
		require.NoError(t, w.Go(bg, func(ctx context.Context) error {
			return w.Go(context.WithValue(ctx, key{}, "v"), func(ctx context.Context) error {
				got <- ctx
				<-ctx.Done()
				return nil
			})
		}))
		ctx := <-got
		assert.Equal(t, "v", ctx.Value(key{}))
		assert.NoError(t, ctx.Err())
		assert.NoError(t, w.Close())
		assert.ErrorIs(t, context.Cause(ctx), compendium.ErrClosed)
	})
}
