package pool_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-compendium/compendium/pool"
)

// nop is a task that does nothing.
func nop(context.Context) error { return nil }

// assertAccounted checks the identity WorkersStats promises, and that
// nothing is left queued or running.
func assertAccounted(t *testing.T, st pool.WorkersStats) {
	t.Helper()
	assert.Zero(t, st.Queued, "Queued")
	assert.Zero(t, st.Running, "Running")
	assert.Equal(t, st.Submitted, st.Completed+st.Failed+st.Panicked+st.Cancelled,
		"Submitted = Completed + Failed + Panicked + Cancelled; stats %+v", st)
}

// recoverWait calls w.Wait and returns what it panicked with, or nil.
func recoverWait(w *pool.Workers) (p any, err error) {
	defer func() { p = recover() }()
	return nil, w.Wait()
}

func TestNewWorkersBadInput(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name string
		f    func()
		want string
	}{
		{"zero workers", func() { pool.NewWorkers(ctx, 0) }, "pool: workers must be at least 1, got 0"},
		{"negative workers", func() { pool.NewWorkers(ctx, -3) }, "pool: workers must be at least 1, got -3"},
		{"negative queue", func() { pool.QueueCapacity(-1) }, "pool: queue capacity must be at least 0, got -1"},
		{"zero idle timeout", func() { pool.IdleTimeout(0) }, "pool: idle timeout must be positive, got 0s"},
		{"negative idle timeout", func() { pool.IdleTimeout(-time.Second) }, "pool: idle timeout must be positive, got -1s"},
		{"nil option", func() { pool.NewWorkers(ctx, 1, nil) }, "pool: NewWorkers needs non-nil options, got nil"},
		{"queue + workers overflows", func() { pool.NewWorkers(ctx, 2, pool.QueueCapacity(math.MaxInt)) },
			fmt.Sprintf("pool: queue capacity plus workers must fit in an int, got %d + 2", math.MaxInt)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			assert.PanicsWithValue(t, c.want, c.f)
		})
	}
}

func TestWorkersNilTask(t *testing.T) {
	w := pool.NewWorkers(context.Background(), 1)
	defer w.Close()
	assert.PanicsWithValue(t, "pool: Workers.Go needs a task, got nil", func() { _ = w.Go(context.Background(), nil) })
	assert.PanicsWithValue(t, "pool: Workers.TryGo needs a task, got nil", func() { w.TryGo(nil) })
	assert.Equal(t, pool.WorkersStats{}, w.Stats(), "a nil task must leave no trace")
}

// TestWorkersBound runs many tasks that overlap in virtual time and checks
// with an in-flight gauge that no more than n ever run at once, and that n
// do.
func TestWorkersBound(t *testing.T) {
	for _, n := range []int{1, 3, 8} {
		t.Run(fmt.Sprintf("n=%d", n), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				w := pool.NewWorkers(context.Background(), n, pool.QueueCapacity(2))
				defer w.Close()
				const tasks = 1200
				var inflight, peak atomic.Int64
				task := func(context.Context) error {
					now := inflight.Add(1)
					for old := peak.Load(); now > old && !peak.CompareAndSwap(old, now); old = peak.Load() {
					}
					time.Sleep(time.Millisecond)
					inflight.Add(-1)
					return nil
				}
				for range tasks {
					require.NoError(t, w.Go(context.Background(), task))
					assert.LessOrEqual(t, w.Stats().Workers, n, "worker goroutines")
				}
				require.NoError(t, w.Wait())
				assert.Equal(t, int64(n), peak.Load(), "peak tasks in flight")
				st := w.Stats()
				assertAccounted(t, st)
				assert.Equal(t, int64(tasks), st.Completed)
			})
		})
	}
}

// gate is a task that blocks until release is called, or the pool's
// context ends.
type gate struct {
	started chan struct{}
	ch      chan struct{}
	err     error
}

func newGate() *gate {
	return &gate{started: make(chan struct{}, 1000), ch: make(chan struct{})}
}

func (g *gate) task(ctx context.Context) error {
	g.started <- struct{}{}
	select {
	case <-g.ch:
		return g.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (g *gate) release() { close(g.ch) }

func TestGoBlocksWhileFull(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := pool.NewWorkers(context.Background(), 1, pool.QueueCapacity(1))
		defer w.Close()
		g := newGate()
		require.NoError(t, w.Go(context.Background(), g.task)) // on the worker
		require.NoError(t, w.Go(context.Background(), g.task)) // in the queue
		synctest.Wait()

		returned := make(chan error)
		go func() { returned <- w.Go(context.Background(), nop) }()
		synctest.Wait()
		select {
		case err := <-returned:
			t.Fatalf("Go on a full pool returned %v; want it blocked", err)
		default:
		}
		assert.Equal(t, 1, w.Stats().Queued)

		g.release()
		assert.NoError(t, <-returned, "Go once there is room")
		require.NoError(t, w.Wait())
		st := w.Stats()
		assertAccounted(t, st)
		assert.Equal(t, int64(3), st.Completed)
	})
}

// TestGoWakesAtHalf checks the documented hysteresis: a Go blocked on a
// full queue of capacity 4 is woken when the queue is down to 2, not at the
// first free slot.
func TestGoWakesAtHalf(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := pool.NewWorkers(context.Background(), 1, pool.QueueCapacity(4))
		defer w.Close()
		// Five tasks, each held until its own release: one runs, four
		// fill the queue.
		releases := make([]chan struct{}, 5)
		for i := range releases {
			releases[i] = make(chan struct{})
			require.NoError(t, w.Go(context.Background(), func(context.Context) error {
				<-releases[i]
				return nil
			}))
		}
		returned := make(chan error)
		go func() { returned <- w.Go(context.Background(), nop) }()
		blocked := func() bool {
			synctest.Wait()
			select {
			case err := <-returned:
				require.NoError(t, err)
				return false
			default:
				return true
			}
		}
		require.True(t, blocked(), "Go on a full queue")
		close(releases[0]) // the queue is down to 3
		assert.True(t, blocked(), "Go with the queue at 3 of 4")
		close(releases[1]) // the queue is down to 2
		assert.False(t, blocked(), "Go with the queue at 2 of 4")
		for _, r := range releases[2:] {
			close(r)
		}
		require.NoError(t, w.Wait())
		assertAccounted(t, w.Stats())
	})
}

// TestGoBlockedThenCancelled checks that a Go blocked on a full queue
// returns when the pool stops taking tasks: ErrClosed when it is closed,
// and the first error when a task fails.
func TestGoBlockedThenCancelled(t *testing.T) {
	errTask := errors.New("task failed")
	cases := []struct {
		name string
		stop func(w *pool.Workers, g *gate)
		want error
	}{
		{"closed", func(w *pool.Workers, g *gate) { _ = w.Close() }, pool.ErrClosed},
		{"task failed", func(w *pool.Workers, g *gate) { g.err = errTask; g.release() }, errTask},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				w := pool.NewWorkers(context.Background(), 1, pool.QueueCapacity(0))
				defer w.Close()
				g := newGate()
				require.NoError(t, w.Go(context.Background(), g.task))
				returned := make(chan error)
				go func() { returned <- w.Go(context.Background(), nop) }()
				synctest.Wait()
				c.stop(w, g)
				assert.ErrorIs(t, <-returned, c.want, "the blocked Go")
				assert.Equal(t, int64(1), w.Stats().Rejected)
			})
		})
	}
}

func TestGoContextEnds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := pool.NewWorkers(context.Background(), 1, pool.QueueCapacity(1))
		defer w.Close()
		g := newGate()
		require.NoError(t, w.Go(context.Background(), g.task))
		require.NoError(t, w.Go(context.Background(), g.task))

		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		start := time.Now()
		err := w.Go(ctx, nop)
		assert.ErrorIs(t, err, context.DeadlineExceeded, "Go on a full pool with a deadline")
		assert.Equal(t, time.Second, time.Since(start), "Go returned after")
		st := w.Stats()
		assert.Equal(t, int64(1), st.Rejected)
		assert.Equal(t, int64(2), st.Submitted, "a refused task is not submitted")

		// A context that has already ended is refused even with room.
		g.release()
		require.NoError(t, w.Wait())
		assert.ErrorIs(t, w.Go(ctx, nop), context.DeadlineExceeded, "Go with an ended ctx")
		assert.Equal(t, int64(2), w.Stats().Rejected)
	})
}

func TestTryGo(t *testing.T) {
	cases := []struct {
		name  string
		queue int
	}{
		{"hand-off", 0},
		{"queue=2", 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				const n = 2
				w := pool.NewWorkers(context.Background(), n, pool.QueueCapacity(c.queue))
				defer w.Close()
				g := newGate()
				for i := range n + c.queue {
					assert.True(t, w.TryGo(g.task), "TryGo #%d, with room", i)
				}
				synctest.Wait()
				assert.False(t, w.TryGo(nop), "TryGo on a full pool")
				g.release()
				synctest.Wait()
				// Every worker is idle again, so there is room even for
				// a hand-off.
				assert.True(t, w.TryGo(nop), "TryGo after the tasks finished")
				require.NoError(t, w.Wait())
				st := w.Stats()
				assertAccounted(t, st)
				assert.Equal(t, int64(n+c.queue+1), st.Completed)
				assert.Equal(t, int64(1), st.Rejected)
			})
		})
	}
}

// TestCloseRacingSubmitters closes the pool while thousands of goroutines
// submit: no send on a closed channel, every submission either accepted
// and accounted for or refused with ErrClosed.
func TestCloseRacingSubmitters(t *testing.T) {
	// Under the race detector, which allows 8,128 live goroutines, 4,000
	// submitters submit three times each.
	submitters, rounds := 10_000, 1
	if raceEnabled {
		submitters, rounds = 4_000, 3
	}
	w := pool.NewWorkers(context.Background(), 4, pool.QueueCapacity(8))
	var start, done sync.WaitGroup
	var accepted atomic.Int64
	start.Add(1)
	for i := range submitters {
		done.Add(1)
		go func() {
			defer done.Done()
			start.Wait()
			for r := range rounds {
				if (i+r)%2 == 1 {
					if w.TryGo(nop) { // false when full or closed
						accepted.Add(1)
					}
					continue
				}
				switch err := w.Go(context.Background(), nop); {
				case err == nil:
					accepted.Add(1)
				case !errors.Is(err, pool.ErrClosed):
					t.Errorf("Go = %v; want nil or ErrClosed", err)
				}
			}
		}()
	}
	start.Done()
	var closers sync.WaitGroup
	for range 3 {
		closers.Add(1)
		go func() {
			defer closers.Done()
			runtime.Gosched()
			if err := w.Close(); err != nil {
				assert.ErrorIs(t, err, pool.ErrClosed, "Close")
			}
		}()
	}
	closers.Wait()
	done.Wait()
	assert.ErrorIs(t, w.Go(context.Background(), nop), pool.ErrClosed, "Go after Close")
	assert.False(t, w.TryGo(nop), "TryGo after Close")

	st := w.Stats()
	assertAccounted(t, st)
	assert.Zero(t, st.Workers, "workers after Close")
	assert.Equal(t, accepted.Load(), st.Submitted)
	assert.Equal(t, int64(submitters*rounds)+2, st.Submitted+st.Rejected, "every submission counted once")
}

func TestPanic(t *testing.T) {
	errBoom := errors.New("boom")
	cases := []struct {
		name  string
		task  func(context.Context) error
		check func(t *testing.T, p *pool.PanicError)
	}{
		{"value", func(context.Context) error { panic("oops") }, func(t *testing.T, p *pool.PanicError) {
			assert.Equal(t, "oops", p.Value)
			assert.Nil(t, p.Unwrap())
		}},
		{"error", func(context.Context) error { panic(errBoom) }, func(t *testing.T, p *pool.PanicError) {
			assert.ErrorIs(t, p, errBoom, "the *PanicError unwraps to the panic's error")
		}},
		{"nil", func(context.Context) error { panic(nil) }, func(t *testing.T, p *pool.PanicError) {
			var pe *runtime.PanicNilError
			assert.ErrorAs(t, p, &pe, "panic(nil) is reported as a *runtime.PanicNilError")
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := pool.NewWorkers(context.Background(), 2)
			defer w.Close()
			require.NoError(t, w.Go(context.Background(), c.task))
			v, _ := recoverWait(w)
			p, ok := v.(*pool.PanicError)
			require.True(t, ok, "Wait panicked with %T (%v); want *pool.PanicError", v, v)
			c.check(t, p)
			assert.Contains(t, string(p.Stack), "TestPanic", "the stack is the worker's, where the task panicked")
			assert.Contains(t, p.Error(), "panic: ")

			// Raised once: the next Wait and Close return it as an error.
			_, err := recoverWait(w)
			assert.Same(t, p, err, "second Wait")
			assert.Same(t, p, w.Close(), "Close after Wait")
			assert.Equal(t, int64(1), w.Stats().Panicked)
		})
	}
}

func TestPanicCloseRaises(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := pool.NewWorkers(context.Background(), 1)
		require.NoError(t, w.Go(context.Background(), func(context.Context) error { panic("in task") }))
		synctest.Wait() // else Close would skip the task
		var p any
		func() {
			defer func() { p = recover() }()
			_ = w.Close()
		}()
		require.IsType(t, &pool.PanicError{}, p, "Close without a Wait re-panics")
		assert.Equal(t, "in task", p.(*pool.PanicError).Value)
	})
}

// TestPanicSlotSurvives panics ten tasks in a pool of two: the panics
// are recovered where they happen, so the two worker goroutines live on
// (none died, none had to be replaced) and still answer Close.
func TestPanicSlotSurvives(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := pool.NewWorkers(context.Background(), 2, pool.QueueCapacity(10))
		gate := make(chan struct{})
		for i := range 10 {
			require.NoError(t, w.Go(context.Background(), func(context.Context) error {
				<-gate
				panic(fmt.Sprint("task ", i))
			}))
		}
		synctest.Wait()
		before := runtime.NumGoroutine()
		close(gate)
		v, _ := recoverWait(w)
		require.IsType(t, &pool.PanicError{}, v)
		synctest.Wait()
		st := w.Stats()
		assertAccounted(t, st)
		// The two tasks that were running when the gate opened both
		// panic; the pool is cancelled by the first, so the rest are
		// skipped.
		assert.Equal(t, int64(2), st.Panicked)
		assert.Equal(t, int64(8), st.Cancelled)
		assert.Equal(t, 2, st.Workers, "worker goroutines after the panics")
		assert.Equal(t, before, runtime.NumGoroutine(), "goroutines: none died, none was respawned")
		assert.IsType(t, &pool.PanicError{}, w.Close())
	})
}

// TestGoexit runs a task that calls runtime.Goexit, as t.FailNow does:
// Wait does not hang, the task counts as completed (as in errgroup), and
// its worker is replaced, so the pool still runs tasks and Close joins.
func TestGoexit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := pool.NewWorkers(context.Background(), 1)
		defer w.Close()
		require.NoError(t, w.Go(context.Background(), func(context.Context) error {
			runtime.Goexit()
			return errors.New("unreachable")
		}))
		assert.NoError(t, w.Wait(), "Wait after a task called runtime.Goexit")

		ran := false
		require.NoError(t, w.Go(context.Background(), func(context.Context) error { ran = true; return nil }))
		assert.NoError(t, w.Wait())
		assert.True(t, ran, "a task after the Goexit ran")
		st := w.Stats()
		assertAccounted(t, st)
		assert.Equal(t, int64(2), st.Completed)
		assert.Equal(t, 1, st.Workers)
		assert.NoError(t, w.Close())
		assert.Zero(t, w.Stats().Workers, "workers after Close")
	})
}

// TestCancelQueued cancels a pool with tasks still queued, three ways, and
// checks that the queued tasks are skipped, counted, and reported by Wait.
func TestCancelQueued(t *testing.T) {
	errTask := errors.New("task failed")
	cases := []struct {
		name string
		// cancel ends the pool's context while one task runs (g) and five
		// wait in the queue, and returns the error Wait must return.
		cancel func(w *pool.Workers, g *gate, cancelParent context.CancelFunc) error
	}{
		{"parent cancelled", func(w *pool.Workers, g *gate, cancelParent context.CancelFunc) error {
			cancelParent()
			return context.Canceled
		}},
		{"task failed", func(w *pool.Workers, g *gate, cancelParent context.CancelFunc) error {
			g.err = errTask
			g.release()
			return errTask
		}},
		{"closed", func(w *pool.Workers, g *gate, cancelParent context.CancelFunc) error {
			assert.ErrorIs(t, w.Close(), pool.ErrClosed, "Close with queued tasks")
			return pool.ErrClosed
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				w := pool.NewWorkers(ctx, 1)
				defer w.Close()
				g := newGate()
				require.NoError(t, w.Go(context.Background(), g.task))
				ran := atomic.Int64{}
				for range 5 {
					require.NoError(t, w.Go(context.Background(), func(context.Context) error {
						ran.Add(1)
						return nil
					}))
				}
				synctest.Wait()
				want := c.cancel(w, g, cancel)
				assert.ErrorIs(t, w.Wait(), want, "Wait")
				assert.ErrorIs(t, context.Cause(w.Context()), want, "the cause of the pool's context")
				assert.ErrorIs(t, w.Go(context.Background(), nop), want, "Go on a cancelled pool")
				assert.False(t, w.TryGo(nop), "TryGo on a cancelled pool")

				st := w.Stats()
				assertAccounted(t, st)
				assert.Zero(t, ran.Load(), "queued tasks that ran")
				assert.Equal(t, int64(6), st.Submitted)
				assert.Equal(t, int64(5), st.Cancelled)
				assert.Equal(t, int64(1), st.Failed, "the running task fails, one way or another")
				assert.Equal(t, int64(2), st.Rejected)
			})
		})
	}
}

func TestWaitReuse(t *testing.T) {
	w := pool.NewWorkers(context.Background(), 3)
	defer w.Close()
	require.NoError(t, w.Wait(), "Wait with nothing submitted")
	var sum atomic.Int64
	for round := 1; round <= 3; round++ {
		for i := range 100 {
			require.NoError(t, w.Go(context.Background(), func(context.Context) error {
				sum.Add(int64(i))
				return nil
			}))
		}
		require.NoError(t, w.Wait(), "Wait in round %d", round)
		assert.Equal(t, int64(round*4950), sum.Load(), "sum after round %d", round)
		st := w.Stats()
		assertAccounted(t, st)
		assert.Equal(t, int64(round*100), st.Completed)
	}
	require.NoError(t, w.Close())
	require.NoError(t, w.Close(), "second Close")
	assert.NoError(t, w.Wait(), "Wait after Close")
}

// TestFirstErrorCancels checks errgroup's semantics: the first error
// cancels the running tasks' context, with the error as its cause, and Wait
// returns that error alone.
func TestFirstErrorCancels(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		errFirst := errors.New("first")
		w := pool.NewWorkers(context.Background(), 2)
		defer w.Close()
		var cause error
		require.NoError(t, w.Go(context.Background(), func(ctx context.Context) error {
			<-ctx.Done()
			cause = context.Cause(ctx)
			return ctx.Err()
		}))
		synctest.Wait()
		require.NoError(t, w.Go(context.Background(), func(context.Context) error { return errFirst }))
		assert.Equal(t, errFirst, w.Wait(), "Wait returns the first error only")
		assert.Equal(t, errFirst, cause, "the cause of the tasks' context")
		assert.Equal(t, int64(2), w.Stats().Failed)
	})
}

func TestJoinErrors(t *testing.T) {
	errs := []error{errors.New("a"), errors.New("b"), errors.New("c")}
	w := pool.NewWorkers(context.Background(), 2, pool.JoinErrors())
	defer w.Close()
	for _, err := range errs {
		require.NoError(t, w.Go(context.Background(), func(context.Context) error { return err }))
		require.NoError(t, w.Go(context.Background(), nop))
	}
	err := w.Wait()
	for _, e := range errs {
		assert.ErrorIs(t, err, e, "Wait with JoinErrors")
	}
	st := w.Stats()
	assertAccounted(t, st)
	assert.Equal(t, int64(3), st.Failed)
	assert.Equal(t, int64(3), st.Completed, "errors do not cancel the pool")
}

func TestIdleTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const n = 4
		w := pool.NewWorkers(context.Background(), n, pool.IdleTimeout(time.Second))
		defer w.Close()
		assert.Zero(t, w.Stats().Workers, "workers before the first task")

		g := newGate()
		for range n {
			require.NoError(t, w.Go(context.Background(), g.task))
		}
		synctest.Wait()
		assert.Equal(t, n, w.Stats().Workers, "workers with n tasks")
		g.release()
		require.NoError(t, w.Wait())

		// A light load: one short task every half second. The worker
		// that parked last takes each, so it stays, and the other
		// three time out after a second.
		for range 6 {
			time.Sleep(500 * time.Millisecond)
			require.NoError(t, w.Go(context.Background(), nop))
			require.NoError(t, w.Wait())
		}
		synctest.Wait()
		assert.Equal(t, 1, w.Stats().Workers, "workers under a light load")

		time.Sleep(999 * time.Millisecond)
		synctest.Wait()
		assert.Equal(t, 1, w.Stats().Workers, "workers just before the idle timeout")
		time.Sleep(time.Millisecond)
		synctest.Wait()
		assert.Zero(t, w.Stats().Workers, "workers after the idle timeout")

		// And they come back on demand.
		require.NoError(t, w.Go(context.Background(), nop))
		require.NoError(t, w.Wait())
		st := w.Stats()
		assert.Equal(t, 1, st.Workers)
		assertAccounted(t, st)
		assert.Equal(t, int64(n+7), st.Completed)
	})
}

// TestSoak runs a million tiny tasks (a hundred thousand under the race
// detector) and checks that the goroutine count stays within the workers
// plus a constant.
func TestSoak(t *testing.T) {
	tasks := 1_000_000
	if raceEnabled {
		tasks = 100_000
	}
	const n = 8
	base := runtime.NumGoroutine()
	w := pool.NewWorkers(context.Background(), n)
	defer w.Close()
	var sum atomic.Int64
	task := func(context.Context) error { sum.Add(1); return nil }
	peak := 0
	for i := range tasks {
		require.NoError(t, w.Go(context.Background(), task))
		if i%10_000 == 0 {
			peak = max(peak, runtime.NumGoroutine())
		}
	}
	require.NoError(t, w.Wait())
	assert.Equal(t, int64(tasks), sum.Load())
	assert.LessOrEqual(t, peak, base+n+2, "goroutines during the soak")
	assertAccounted(t, w.Stats())
}

// TestStatsConsistent reads Stats while tasks run: each snapshot must
// satisfy the identity, queued and running tasks included.
func TestStatsConsistent(t *testing.T) {
	w := pool.NewWorkers(context.Background(), 4, pool.JoinErrors())
	defer w.Close()
	errOdd := errors.New("odd")
	var stop atomic.Bool
	done := make(chan struct{})
	go func() {
		defer close(done)
		for !stop.Load() {
			st := w.Stats()
			if st.Submitted != int64(st.Queued+st.Running)+st.Completed+st.Failed+st.Panicked+st.Cancelled {
				t.Errorf("inconsistent snapshot %+v", st)
				return
			}
			runtime.Gosched()
		}
	}()
	for i := range 2000 {
		require.NoError(t, w.Go(context.Background(), func(context.Context) error {
			if i%2 == 1 {
				return errOdd
			}
			return nil
		}))
	}
	assert.ErrorIs(t, w.Wait(), errOdd)
	stop.Store(true)
	<-done
	st := w.Stats()
	assertAccounted(t, st)
	assert.Equal(t, int64(1000), st.Failed)
	assert.Equal(t, int64(1000), st.Completed)
}

// FuzzWorkers drives a pool with a sequence of operations read from the
// input (submissions of tasks that succeed, fail, sleep or call Goexit;
// TryGo; Wait; time passing) on virtual time, and checks the accounting:
// every accepted task either ran once or was counted as cancelled, the
// identity holds, and Close joins every worker.
func FuzzWorkers(f *testing.F) {
	f.Add([]byte{2, 1, 0, 0, 0, 3, 3, 3, 4, 5, 0})
	f.Add([]byte{0, 0, 2, 2, 2, 2, 6, 2, 4})
	f.Add([]byte{3, 2, 3, 3, 3, 3, 3, 3, 3, 5, 1, 4, 0})
	f.Add([]byte{1, 4, 7, 7, 7, 3, 5, 5, 5, 5, 5})
	f.Fuzz(fuzzWorkers)
}

func fuzzWorkers(t *testing.T, ops []byte) {
	if len(ops) < 2 {
		return
	}
	n, q := int(ops[0]%4)+1, int(ops[1]%4)
	ops = ops[2:]
	synctest.Test(t, func(t *testing.T) {
		errTask := errors.New("task failed")
		w := pool.NewWorkers(context.Background(), n,
			pool.QueueCapacity(q), pool.JoinErrors(), pool.IdleTimeout(3*time.Millisecond))
		var ran atomic.Int64
		tasks := []func(context.Context) error{
			func(context.Context) error { ran.Add(1); return nil },
			func(context.Context) error { ran.Add(1); return errTask },
			func(context.Context) error { ran.Add(1); time.Sleep(2 * time.Millisecond); return nil },
			func(context.Context) error { ran.Add(1); runtime.Goexit(); return nil },
		}
		var accepted int64
		for _, op := range ops {
			switch op % 8 {
			case 0, 1, 2, 3:
				ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
				if w.Go(ctx, tasks[op%4]) == nil {
					accepted++
				}
				cancel()
			case 4:
				if w.TryGo(tasks[2]) {
					accepted++
				}
			case 5:
				_ = w.Wait()
			case 6, 7:
				time.Sleep(time.Duration(op) * time.Millisecond)
			}
			st := w.Stats()
			require.LessOrEqual(t, st.Workers, n, "workers")
			require.LessOrEqual(t, st.Queued, q+n, "queued")
		}
		_ = w.Wait()
		st := w.Stats()
		assertAccounted(t, st)
		assert.Equal(t, accepted, st.Submitted)
		assert.Equal(t, ran.Load(), st.Completed+st.Failed, "tasks that ran")
		assert.Zero(t, st.Cancelled, "nothing cancels a JoinErrors pool here")
		assert.NoError(t, func() error { _ = w.Close(); return nil }())
		assert.Zero(t, w.Stats().Workers, "workers after Close")
	})
}

// TestWorkersZeroAllocs checks the promise that submitting allocates
// nothing once the workers have started: Go and TryGo on a warm pool, with
// the queue filling up, draining and Go blocking in between.
func TestWorkersZeroAllocs(t *testing.T) {
	const n = 4
	w := pool.NewWorkers(context.Background(), n, pool.QueueCapacity(16))
	defer w.Close()
	var sum atomic.Int64
	task := func(context.Context) error { sum.Add(1); return nil }
	ctx := context.Background()
	cases := map[string]func(){
		"Go":    func() { _ = w.Go(ctx, task) },
		"TryGo": func() { w.TryGo(task) },
	}
	for name, submit := range cases {
		t.Run(name, func(t *testing.T) {
			for range 1000 { // start every worker
				submit()
			}
			require.NoError(t, w.Wait())
			assert.Zero(t, testing.AllocsPerRun(1000, submit), "allocs per %s", name)
			require.NoError(t, w.Wait())
		})
	}
}

// TestJoinErrorsReuse reuses a JoinErrors pool over several rounds: each
// Wait returns the errors of its own round, once, so that a long-lived
// pool does not keep every error it ever saw and report it again.
func TestJoinErrorsReuse(t *testing.T) {
	w := pool.NewWorkers(context.Background(), 2, pool.JoinErrors())
	errA, errB := errors.New("a"), errors.New("b")
	rounds := []struct {
		errs []error
	}{{[]error{errA}}, {nil}, {[]error{errB}}}
	for i, r := range rounds {
		for _, err := range r.errs {
			require.NoError(t, w.Go(context.Background(), func(context.Context) error { return err }))
		}
		require.NoError(t, w.Go(context.Background(), nop))
		err := w.Wait()
		if len(r.errs) == 0 {
			assert.NoError(t, err, "Wait in round %d", i)
			continue
		}
		assert.Equal(t, errors.Join(r.errs...).Error(), err.Error(), "Wait in round %d", i)
	}
	assert.NoError(t, w.Close(), "Close after the last Wait returned its errors")
}
