package pool_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-compendium/compendium"
	"github.com/go-compendium/compendium/pool"
)

// nop is a task that does nothing.
func nop(context.Context) error { return nil }

var (
	bg      = context.Background()
	errTask = errors.New("task failed")
)

// identity reports whether st satisfies the identity WorkersStats promises.
func identity(st pool.WorkersStats) bool {
	return st.Submitted == st.Queued+st.Running+st.Completed+st.Failed+st.Panicked+st.Canceled
}

// assertAccounted checks the identity, and that nothing is left queued or
// running.
func assertAccounted(t *testing.T, st pool.WorkersStats) {
	t.Helper()
	assert.Zero(t, st.Queued, "Queued")
	assert.Zero(t, st.Running, "Running")
	assert.True(t, identity(st), "Submitted = Queued + Running + Completed + Failed + Panicked + Canceled; stats %+v", st)
}

// catch calls f and returns what it panicked with, or nil.
func catch(f func()) (v any) {
	defer func() { v = recover() }()
	f()
	return nil
}

// gauge counts the tasks in flight and keeps the high-water mark, as
// errgroup's TestGoLimit does.
type gauge struct{ now, peak atomic.Int64 }

func (g *gauge) enter() {
	now := g.now.Add(1)
	for old := g.peak.Load(); now > old && !g.peak.CompareAndSwap(old, now); old = g.peak.Load() {
	}
}

func (g *gauge) exit() { g.now.Add(-1) }

// gate is a task that blocks until release is called, or its context ends.
type gate struct {
	started chan struct{}
	ch      chan struct{}
	err     error
	once    sync.Once
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

func (g *gate) release() { g.once.Do(func() { close(g.ch) }) }

func TestWorkersBadInput(t *testing.T) {
	w := pool.NewWorkers(bg, 1)
	defer w.Close()
	var nilCtx context.Context
	const ctxMsg = "ctx must not be nil, got nil (use context.Background or context.TODO)"
	cases := []struct {
		name string
		f    func()
		want string
	}{
		{"NewWorkers nil ctx", func() { pool.NewWorkers(nilCtx, 1) }, "pool: NewWorkers: " + ctxMsg},
		{"NewWorkers zero", func() { pool.NewWorkers(bg, 0) }, "pool: NewWorkers: n must be at least 1, got 0"},
		{"NewWorkers negative", func() { pool.NewWorkers(bg, -3) }, "pool: NewWorkers: n must be at least 1, got -3"},
		{"NewWorkers MinInt", func() { pool.NewWorkers(bg, math.MinInt) }, fmt.Sprintf("pool: NewWorkers: n must be at least 1, got %d", math.MinInt)},
		{"QueueCapacity negative", func() { pool.QueueCapacity(-1) }, "pool: QueueCapacity: q must be at least 0, got -1"},
		{"IdleTimeout zero", func() { pool.IdleTimeout(0) }, "pool: IdleTimeout: d must be positive, got 0s"},
		{"IdleTimeout negative", func() { pool.IdleTimeout(-time.Second) }, "pool: IdleTimeout: d must be positive, got -1s"},
		{"TaskTimeout zero", func() { pool.TaskTimeout(0) }, "pool: TaskTimeout: d must be positive, got 0s"},
		{"TaskTimeout negative", func() { pool.TaskTimeout(-time.Nanosecond) }, "pool: TaskTimeout: d must be positive, got -1ns"},
		{"Go nil ctx", func() { _ = w.Go(nilCtx, nop) }, "pool: Workers.Go: " + ctxMsg},
		{"Go nil task", func() { _ = w.Go(bg, nil) }, "pool: Workers.Go: task must not be nil, got nil"},
		{"TryGo nil ctx", func() { w.TryGo(nilCtx, nop) }, "pool: Workers.TryGo: " + ctxMsg},
		{"TryGo nil task", func() { w.TryGo(bg, nil) }, "pool: Workers.TryGo: task must not be nil, got nil"},
		{"Resize zero", func() { w.Resize(0) }, "pool: Workers.Resize: n must be at least 1, got 0"},
		{"Resize negative", func() { w.Resize(-1) }, "pool: Workers.Resize: n must be at least 1, got -1"},
		{"Shutdown nil ctx", func() { _ = w.Shutdown(nilCtx) }, "pool: Workers.Shutdown: " + ctxMsg},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { assert.PanicsWithValue(t, c.want, c.f) })
	}
	t.Run("nil option", func(t *testing.T) {
		v := catch(func() { pool.NewWorkers(bg, 1, nil) })
		require.IsType(t, "", v)
		assert.True(t, strings.HasPrefix(v.(string), "pool: NewWorkers"), "panic %q names the function", v)
		assert.Contains(t, v, "nil")
	})
	assert.Equal(t, pool.WorkersStats{}, w.Stats(), "a refused call leaves no trace")
}

// TestWorkersHugeSizes checks that sizes far beyond any real load are
// accepted and allocate nothing up front: a pool bounded only by its
// queue, or by nothing, is legitimate, and must not die of out-of-memory.
func TestWorkersHugeSizes(t *testing.T) {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	w := pool.NewWorkers(bg, math.MaxInt, pool.QueueCapacity(math.MaxInt))
	w.Resize(1 << 31)
	w31 := pool.NewWorkers(bg, 1<<31) // issue 16's sweep: once 16 GiB up front
	runtime.ReadMemStats(&after)
	require.NoError(t, w31.Close())
	assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(1<<20), "bytes allocated up front")

	g := newGate()
	for range 100 {
		require.NoError(t, w.Go(bg, g.task))
	}
	for range 100 {
		<-g.started
	}
	assert.Equal(t, uint64(100), w.Stats().Workers, "one worker per task, the limit being out of reach")
	g.release()
	require.NoError(t, w.Wait())
	require.NoError(t, w.Close())
	assertAccounted(t, w.Stats())
}

// TestWorkersBound runs many tasks that overlap in virtual time and checks
// with an in-flight gauge that no more than n ever run at once, and that n
// do.
func TestWorkersBound(t *testing.T) {
	for _, n := range []int{1, 3, 8} {
		t.Run(fmt.Sprintf("n=%d", n), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				w := pool.NewWorkers(bg, n, pool.QueueCapacity(2))
				defer w.Close()
				const tasks = 600
				var g gauge
				task := func(context.Context) error {
					g.enter()
					defer g.exit()
					time.Sleep(time.Millisecond)
					return nil
				}
				for range tasks {
					require.NoError(t, w.Go(bg, task))
					assert.LessOrEqual(t, w.Stats().Workers, uint64(n), "worker goroutines")
				}
				require.NoError(t, w.Wait())
				assert.Equal(t, int64(n), g.peak.Load(), "peak tasks in flight")
				st := w.Stats()
				assertAccounted(t, st)
				assert.Equal(t, uint64(tasks), st.Completed)
			})
		})
	}
}

func TestGoBlocksWhileFull(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := pool.NewWorkers(bg, 1, pool.QueueCapacity(1))
		defer w.Close()
		g := newGate()
		require.NoError(t, w.Go(bg, g.task)) // on the worker
		require.NoError(t, w.Go(bg, g.task)) // in the queue
		synctest.Wait()

		returned := make(chan error)
		go func() { returned <- w.Go(bg, nop) }()
		synctest.Wait()
		select {
		case err := <-returned:
			t.Fatalf("Go on a full pool returned %v; want it blocked", err)
		default:
		}
		assert.Equal(t, uint64(1), w.Stats().Queued)

		g.release()
		assert.NoError(t, <-returned, "Go once there is room")
		require.NoError(t, w.Wait())
		st := w.Stats()
		assertAccounted(t, st)
		assert.Equal(t, uint64(3), st.Completed)
	})
}

// TestGoWakesAtHalf checks the documented hysteresis: a Go blocked on a
// full queue of capacity 4 is woken when the queue is down to 2, not at the
// first free slot.
func TestGoWakesAtHalf(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := pool.NewWorkers(bg, 1, pool.QueueCapacity(4))
		defer w.Close()
		// Five tasks, each held until its own release: one runs, four
		// fill the queue.
		releases := make([]chan struct{}, 5)
		for i := range releases {
			releases[i] = make(chan struct{})
			require.NoError(t, w.Go(bg, func(context.Context) error {
				<-releases[i]
				return nil
			}))
		}
		returned := make(chan error)
		go func() { returned <- w.Go(bg, nop) }()
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

// TestRingBeforeListening makes a worker ring for a blocked Go in the
// moment after the Go counted itself as waiting and before it listens,
// with nothing to ring again afterwards (the worker is then busy with a
// task that waits): the ring must be kept for it.
func TestRingBeforeListening(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := pool.NewWorkers(bg, 1, pool.QueueCapacity(1))
		defer w.Close()
		first, second := newGate(), newGate()
		var once atomic.Bool
		pool.SetBlockedHook(w, func() {
			if once.CompareAndSwap(false, true) {
				first.release()
				synctest.Wait() // the worker took second's task, rang, and waits in it
			}
		})
		require.NoError(t, w.Go(bg, first.task))  // on the worker
		require.NoError(t, w.Go(bg, second.task)) // in the queue
		synctest.Wait()
		assert.NoError(t, w.Go(bg, nop), "the Go that found the queue full")
		second.release()
		require.NoError(t, w.Wait())
		assertAccounted(t, w.Stats())
	})
}

// TestGoBlockedThenStopped checks that Gos blocked on a full queue return
// when the pool stops taking tasks: the closed error after Close or
// Shutdown, and the first error when a task fails with CancelOnError.
// Three wait, so that each refused one must wake the next.
func TestGoBlockedThenStopped(t *testing.T) {
	cases := []struct {
		name string
		stop func(w *pool.Workers, g *gate)
		want error
	}{
		{"closed", func(w *pool.Workers, g *gate) { _ = w.Close() }, compendium.ErrClosed},
		{"shutdown", func(w *pool.Workers, g *gate) {
			// The running task goes on, and Shutdown waits for it; the
			// blocked Go is refused at once.
			go func() { _ = w.Shutdown(bg) }()
			synctest.Wait()
		}, compendium.ErrClosed},
		{"task failed", func(w *pool.Workers, g *gate) { g.err = errTask; g.release() }, errTask},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				w := pool.NewWorkers(bg, 1, pool.QueueCapacity(0), pool.CancelOnError())
				defer w.Close()
				g := newGate()
				require.NoError(t, w.Go(bg, g.task))
				const blocked = 3
				returned := make(chan error)
				for range blocked {
					go func() { returned <- w.Go(bg, nop) }()
				}
				synctest.Wait()
				c.stop(w, g)
				for i := range blocked {
					assert.ErrorIs(t, <-returned, c.want, "blocked Go #%d", i)
				}
				assert.Equal(t, uint64(blocked), w.Stats().Rejected)
				g.release()
			})
		})
	}
}

func TestGoContextEnds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := pool.NewWorkers(bg, 1, pool.QueueCapacity(1))
		defer w.Close()
		g := newGate()
		require.NoError(t, w.Go(bg, g.task))
		require.NoError(t, w.Go(bg, g.task))

		ctx, cancel := context.WithTimeout(bg, time.Second)
		defer cancel()
		start := time.Now()
		err := w.Go(ctx, nop)
		assert.ErrorIs(t, err, context.DeadlineExceeded, "Go on a full pool with a deadline")
		assert.Equal(t, time.Second, time.Since(start), "Go returned after")
		st := w.Stats()
		assert.Equal(t, uint64(1), st.Rejected)
		assert.Equal(t, uint64(2), st.Submitted, "a refused task is not submitted")

		// A context that has already ended is refused even with room.
		g.release()
		require.NoError(t, w.Wait())
		assert.ErrorIs(t, w.Go(ctx, nop), context.DeadlineExceeded, "Go with an ended ctx")
		assert.False(t, w.TryGo(ctx, nop), "TryGo with an ended ctx")
		assert.Equal(t, uint64(3), w.Stats().Rejected)
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
				w := pool.NewWorkers(bg, n, pool.QueueCapacity(c.queue))
				defer w.Close()
				g := newGate()
				for i := range n + c.queue {
					assert.True(t, w.TryGo(bg, g.task), "TryGo #%d, with room", i)
				}
				synctest.Wait()
				assert.False(t, w.TryGo(bg, nop), "TryGo on a full pool")
				g.release()
				synctest.Wait()
				// Every worker is idle again, so there is room even for
				// a hand-off.
				assert.True(t, w.TryGo(bg, nop), "TryGo after the tasks finished")
				require.NoError(t, w.Wait())
				st := w.Stats()
				assertAccounted(t, st)
				assert.Equal(t, uint64(n+c.queue+1), st.Completed)
				assert.Equal(t, uint64(1), st.Rejected)
			})
		})
	}
}

// TestCloseRacingSubmitters closes the pool while thousands of goroutines
// submit: no send on a closed channel, every submission either accepted
// and accounted for or refused with the closed error.
func TestCloseRacingSubmitters(t *testing.T) {
	submitters, rounds := 2_000, 2
	if raceEnabled {
		submitters, rounds = 1_000, 3
	}
	w := pool.NewWorkers(bg, 4, pool.QueueCapacity(8))
	var start, done sync.WaitGroup
	var accepted atomic.Uint64
	start.Add(1)
	for i := range submitters {
		done.Add(1)
		go func() {
			defer done.Done()
			start.Wait()
			for r := range rounds {
				if (i+r)%2 == 1 {
					if w.TryGo(bg, nop) { // false when full or closed
						accepted.Add(1)
					}
					continue
				}
				switch err := w.Go(bg, nop); {
				case err == nil:
					accepted.Add(1)
				case !errors.Is(err, compendium.ErrClosed):
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
				assert.ErrorIs(t, err, compendium.ErrClosed, "Close")
			}
		}()
	}
	closers.Wait()
	done.Wait()
	assert.ErrorIs(t, w.Go(bg, nop), compendium.ErrClosed, "Go after Close")
	assert.False(t, w.TryGo(bg, nop), "TryGo after Close")

	st := w.Stats()
	assertAccounted(t, st)
	assert.Zero(t, st.Workers, "workers after Close")
	assert.Equal(t, accepted.Load(), st.Submitted)
	assert.Equal(t, uint64(submitters*rounds)+2, st.Submitted+st.Rejected, "every submission counted once")
}

func TestPanic(t *testing.T) {
	errBoom := errors.New("boom")
	cases := []struct {
		name  string
		task  func(context.Context) error
		check func(t *testing.T, p *compendium.PanicError)
	}{
		{"value", func(context.Context) error { panic("oops") }, func(t *testing.T, p *compendium.PanicError) {
			assert.Equal(t, "oops", p.Value)
			assert.Nil(t, p.Unwrap())
		}},
		{"error", func(context.Context) error { panic(errBoom) }, func(t *testing.T, p *compendium.PanicError) {
			assert.ErrorIs(t, p, errBoom, "the *PanicError unwraps to the panic's error")
		}},
		{"nil", func(context.Context) error { panic(nil) }, func(t *testing.T, p *compendium.PanicError) {
			var pe *runtime.PanicNilError
			assert.ErrorAs(t, p, &pe, "panic(nil) is reported as a *runtime.PanicNilError")
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := pool.NewWorkers(bg, 2)
			require.NoError(t, w.Go(bg, c.task))
			v := catch(func() { _ = w.Wait() })
			p, ok := v.(*compendium.PanicError)
			require.True(t, ok, "Wait panicked with %T (%v); want *compendium.PanicError", v, v)
			c.check(t, p)
			assert.Contains(t, string(p.Stack), "TestPanic", "the stack is the worker's, where the task panicked")
			for i, f := range []func() error{w.Wait, w.Close, w.Close, w.Wait} {
				assert.Same(t, p, catch(func() { _ = f() }), "call %d after the first Wait re-raises the same panic", i)
			}
			assert.ErrorIs(t, w.Go(bg, nop), compendium.ErrClosed)
			st := w.Stats()
			assert.Equal(t, uint64(1), st.Panicked)
			assertAccounted(t, st)
		})
	}
}

// TestPanicCancelsPool checks that a panic cancels the pool, with the
// *PanicError as the cause, and that Close without a Wait re-raises it.
func TestPanicCancelsPool(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := pool.NewWorkers(bg, 2)
		g := newGate()
		require.NoError(t, w.Go(bg, g.task))
		require.NoError(t, w.Go(bg, func(context.Context) error { panic("in task") }))
		synctest.Wait()
		p, ok := context.Cause(w.Context()).(*compendium.PanicError)
		require.True(t, ok, "the cause of the pool's context is the panic, got %v", context.Cause(w.Context()))
		assert.Equal(t, "in task", p.Value)
		assert.Same(t, p, catch(func() { _ = w.Close() }), "Close without a Wait re-raises")
		st := w.Stats()
		assert.Equal(t, uint64(1), st.Failed, "the gated task saw the cancellation")
		assert.Equal(t, uint64(1), st.Panicked)
	})
}

// TestPanicSlotSurvives panics two tasks in a pool of two: the panics are
// recovered where they happen, so the two worker goroutines live on (none
// died, none was replaced) and still answer Close. It identifies the
// worker goroutines by their ids rather than counting the process's
// goroutines, which another test's leftovers can change.
func TestPanicSlotSurvives(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := pool.NewWorkers(bg, 2, pool.QueueCapacity(10))
		release := make(chan struct{})
		var started atomic.Int64
		ids := make(chan uint64, 10)
		for i := range 10 {
			require.NoError(t, w.Go(bg, func(context.Context) error {
				started.Add(1)
				ids <- goroutineID()
				<-release
				panic(fmt.Sprint("task ", i))
			}))
		}
		synctest.Wait()
		require.Equal(t, int64(2), started.Load(), "tasks running before the panics")
		close(release)
		v := catch(func() { _ = w.Wait() })
		require.IsType(t, &compendium.PanicError{}, v)
		synctest.Wait()
		st := w.Stats()
		assertAccounted(t, st)
		// The two tasks that were running when the gate opened both
		// panic; the pool is cancelled by the first, so the rest are
		// skipped.
		assert.Equal(t, uint64(2), st.Panicked)
		assert.Equal(t, uint64(8), st.Canceled)
		assert.Equal(t, uint64(2), st.Workers, "worker goroutines after the panics")
		close(ids)
		for id := range ids {
			assert.True(t, goroutineAlive(id), "worker goroutine %d survived its task's panic", id)
		}
		assert.Equal(t, int64(2), started.Load(), "tasks started")
		assert.IsType(t, &compendium.PanicError{}, catch(func() { _ = w.Close() }))
	})
}

// goroutineID returns the calling goroutine's id, read from its stack
// header ("goroutine 42 [running]:").
func goroutineID() uint64 {
	var buf [64]byte
	n := runtime.Stack(buf[:], false)
	var id uint64
	_, _ = fmt.Sscanf(string(buf[:n]), "goroutine %d ", &id)
	return id
}

// goroutineAlive reports whether the goroutine id exists.
func goroutineAlive(id uint64) bool {
	buf := make([]byte, 1<<20)
	n := runtime.Stack(buf, true)
	return strings.Contains(string(buf[:n]), fmt.Sprintf("goroutine %d [", id))
}

// TestGoexit runs a task that calls runtime.Goexit, as t.FailNow does:
// Wait does not hang, the task is a failure with compendium.ErrGoexit, and
// its worker is replaced, so the pool still runs tasks and Close joins.
func TestGoexit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := pool.NewWorkers(bg, 1)
		require.NoError(t, w.Go(bg, func(context.Context) error {
			runtime.Goexit()
			return errors.New("unreachable")
		}))
		assert.ErrorIs(t, w.Wait(), compendium.ErrGoexit, "Wait after a task called runtime.Goexit")

		ran := false
		require.NoError(t, w.Go(bg, func(context.Context) error { ran = true; return nil }))
		assert.NoError(t, w.Wait(), "the Goexit was reported once")
		assert.True(t, ran, "a task after the Goexit ran")
		st := w.Stats()
		assertAccounted(t, st)
		assert.Equal(t, uint64(1), st.Completed)
		assert.Equal(t, uint64(1), st.Failed)
		assert.Equal(t, uint64(1), st.Workers)
		assert.NoError(t, w.Close())
		assert.Zero(t, w.Stats().Workers, "workers after Close")
	})
}

// TestGoexitWhileClosing makes the only worker's task call Goexit as Close
// cancels it, with tasks still queued: the replacement skips them, so a
// Wait after Close does not hang on a queue nobody serves.
func TestGoexitWhileClosing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := pool.NewWorkers(bg, 1)
		require.NoError(t, w.Go(bg, func(ctx context.Context) error {
			<-ctx.Done()
			runtime.Goexit()
			return nil
		}))
		for range 3 {
			require.NoError(t, w.Go(bg, nop))
		}
		synctest.Wait()
		err := w.Close()
		assert.ErrorIs(t, err, compendium.ErrClosed)
		assert.ErrorIs(t, w.Wait(), compendium.ErrClosed, "Wait after Close returns")
		st := w.Stats()
		assertAccounted(t, st)
		assert.Equal(t, uint64(3), st.Canceled)
		assert.Equal(t, uint64(1), st.Failed)
		assert.Zero(t, st.Workers)
	})
}

// TestCancelQueued cancels a pool with tasks still queued, three ways, and
// checks that the queued tasks are skipped, counted, and reported by Wait.
func TestCancelQueued(t *testing.T) {
	cases := []struct {
		name string
		opts []pool.WorkersOption
		// cancel ends the pool's context while one task runs (g) and five
		// wait in the queue, and returns the error Wait must return.
		cancel func(w *pool.Workers, g *gate, cancelParent context.CancelFunc) error
	}{
		{"parent cancelled", nil, func(w *pool.Workers, g *gate, cancelParent context.CancelFunc) error {
			cancelParent()
			return context.Canceled
		}},
		{"task failed", []pool.WorkersOption{pool.CancelOnError()}, func(w *pool.Workers, g *gate, cancelParent context.CancelFunc) error {
			g.err = errTask
			g.release()
			return errTask
		}},
		{"closed", nil, func(w *pool.Workers, g *gate, cancelParent context.CancelFunc) error {
			assert.ErrorIs(t, w.Close(), compendium.ErrClosed, "Close with queued tasks")
			return compendium.ErrClosed
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx, cancel := context.WithCancel(bg)
				defer cancel()
				w := pool.NewWorkers(ctx, 1, c.opts...)
				defer w.Close()
				g := newGate()
				require.NoError(t, w.Go(bg, g.task))
				var ran atomic.Int64
				for range 5 {
					require.NoError(t, w.Go(bg, func(context.Context) error {
						ran.Add(1)
						return nil
					}))
				}
				synctest.Wait()
				want := c.cancel(w, g, cancel)
				assert.ErrorIs(t, w.Wait(), want, "Wait")
				assert.ErrorIs(t, w.Wait(), want, "Wait again: the pool stays cancelled")
				assert.ErrorIs(t, context.Cause(w.Context()), want, "the cause of the pool's context")
				assert.ErrorIs(t, w.Go(bg, nop), want, "Go on a cancelled pool")
				assert.False(t, w.TryGo(bg, nop), "TryGo on a cancelled pool")

				st := w.Stats()
				assertAccounted(t, st)
				assert.Zero(t, ran.Load(), "queued tasks that ran")
				assert.Equal(t, uint64(6), st.Submitted)
				assert.Equal(t, uint64(5), st.Canceled)
				assert.Equal(t, uint64(1), st.Failed, "the running task fails, one way or another")
				assert.Equal(t, uint64(2), st.Rejected)
			})
		})
	}
}

func TestWaitReuse(t *testing.T) {
	w := pool.NewWorkers(bg, 3)
	require.NoError(t, w.Wait(), "Wait with nothing submitted")
	var sum atomic.Int64
	for round := 1; round <= 3; round++ {
		for i := range 100 {
			require.NoError(t, w.Go(bg, func(context.Context) error {
				sum.Add(int64(i))
				return nil
			}))
		}
		require.NoError(t, w.Wait(), "Wait in round %d", round)
		assert.Equal(t, int64(round*4950), sum.Load(), "sum after round %d", round)
		st := w.Stats()
		assertAccounted(t, st)
		assert.Equal(t, uint64(round*100), st.Completed)
	}
	require.NoError(t, w.Close())
	require.NoError(t, w.Close(), "second Close")
	assert.NoError(t, w.Wait(), "Wait after Close")
}

// TestErrorsKeepServing checks the default rule, for long-lived pools: a
// task's error cancels nothing, the pool keeps serving, and each Wait
// returns the errors of the tasks it waited for, once.
func TestErrorsKeepServing(t *testing.T) {
	w := pool.NewWorkers(bg, 2)
	errA, errB := errors.New("a"), errors.New("b")
	rounds := [][]error{{errA}, nil, {errA, errB}}
	for i, errs := range rounds {
		for _, err := range errs {
			require.NoError(t, w.Go(bg, func(context.Context) error { return err }))
		}
		require.NoError(t, w.Go(bg, nop), "round %d: the pool still takes tasks", i)
		err := w.Wait()
		if len(errs) == 0 {
			assert.NoError(t, err, "Wait in round %d", i)
			continue
		}
		for _, e := range errs {
			assert.ErrorIs(t, err, e, "Wait in round %d", i)
		}
		assert.Equal(t, len(errs), strings.Count(err.Error(), "\n")+1, "round %d: each error once: %q", i, err)
	}
	assert.NoError(t, context.Cause(w.Context()), "errors do not cancel the pool")
	st := w.Stats()
	assert.Equal(t, uint64(3), st.Failed)
	assert.Equal(t, uint64(3), st.Completed)
	assert.NoError(t, w.Close(), "Close after the last Wait returned its errors")
}

// TestErrorsBounded fails far more tasks than a Wait keeps: the first 8
// are returned whole, the rest counted, and Stats counts them all.
func TestErrorsBounded(t *testing.T) {
	w := pool.NewWorkers(bg, 1)
	defer w.Close()
	const failures = 1000
	for i := range failures {
		require.NoError(t, w.Go(bg, func(context.Context) error { return fmt.Errorf("task %d", i) }))
	}
	err := w.Wait()
	require.Error(t, err)
	lines := strings.Split(err.Error(), "\n")
	require.Len(t, lines, 9, "8 errors kept, then the count")
	for i, l := range lines[:8] {
		assert.Equal(t, fmt.Sprintf("task %d", i), l, "the first errors are kept, in order")
	}
	assert.Equal(t, "and 992 more errors, not kept", lines[8])
	assert.Equal(t, uint64(failures), w.Stats().Failed)
	assert.NoError(t, w.Wait(), "the errors are returned once")
}

// TestCancelOnError checks errgroup's rule: the first error cancels the
// running tasks' context, with the error as its cause, and every Wait and
// Close returns that error alone.
func TestCancelOnError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		errFirst := errors.New("first")
		w := pool.NewWorkers(bg, 2, pool.CancelOnError())
		var cause error
		require.NoError(t, w.Go(bg, func(ctx context.Context) error {
			<-ctx.Done()
			cause = context.Cause(ctx)
			return ctx.Err()
		}))
		synctest.Wait()
		require.NoError(t, w.Go(bg, func(context.Context) error { return errFirst }))
		assert.Equal(t, errFirst, w.Wait(), "Wait returns the first error only")
		assert.Equal(t, errFirst, w.Wait(), "every Wait")
		assert.Equal(t, errFirst, cause, "the cause of the tasks' context")
		assert.Equal(t, uint64(2), w.Stats().Failed)
		assert.ErrorIs(t, w.Go(bg, nop), errFirst, "Go after the failure")
		assert.Equal(t, errFirst, w.Close())
		assert.Equal(t, errFirst, w.Close(), "every Close")
	})
}

// TestCancelOnErrorGoexit checks that a Goexit is a failure under
// errgroup's rule too: it cancels the pool.
func TestCancelOnErrorGoexit(t *testing.T) {
	w := pool.NewWorkers(bg, 1, pool.CancelOnError())
	require.NoError(t, w.Go(bg, func(context.Context) error { runtime.Goexit(); return nil }))
	assert.ErrorIs(t, w.Wait(), compendium.ErrGoexit)
	assert.ErrorIs(t, context.Cause(w.Context()), compendium.ErrGoexit)
	assert.ErrorIs(t, w.Close(), compendium.ErrGoexit)
}

func TestClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := pool.NewWorkers(bg, 1)
		g := newGate()
		require.NoError(t, w.Go(bg, g.task))
		require.NoError(t, w.Go(bg, nop))
		synctest.Wait()
		results := make(chan error, 3)
		for range 3 {
			go func() { results <- w.Close() }()
		}
		first := <-results
		assert.ErrorIs(t, first, compendium.ErrClosed, "Close that skipped a task says so")
		assert.Equal(t, "pool: Workers is closed", context.Cause(w.Context()).Error())
		for range 2 {
			assert.Same(t, first, <-results, "concurrent Closes return the same")
		}
		assert.Same(t, first, w.Close(), "a later Close returns the same")
		assert.Same(t, first, w.Wait(), "Wait after Close returns the same")
		err := w.Go(bg, nop)
		assert.ErrorIs(t, err, compendium.ErrClosed)
		assert.Equal(t, "pool: Workers is closed", err.Error())
		st := w.Stats()
		assertAccounted(t, st)
		assert.Equal(t, uint64(1), st.Canceled)
		assert.Equal(t, uint64(1), st.Rejected)
	})
}

// TestCloseReportsUnwaitedErrors checks that Close returns the errors no
// Wait has returned, on every call.
func TestCloseReportsUnwaitedErrors(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := pool.NewWorkers(bg, 1)
		require.NoError(t, w.Go(bg, func(context.Context) error { return errTask }))
		synctest.Wait()
		err := w.Close()
		assert.ErrorIs(t, err, errTask)
		assert.NotErrorIs(t, err, compendium.ErrClosed, "nothing was cut short")
		assert.Same(t, err, w.Close())
		assert.Same(t, err, w.Wait())
	})
}

func TestIdleTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const n = 4
		w := pool.NewWorkers(bg, n, pool.IdleTimeout(time.Second))
		defer w.Close()
		assert.Zero(t, w.Stats().Workers, "workers before the first task")

		g := newGate()
		for range n {
			require.NoError(t, w.Go(bg, g.task))
		}
		synctest.Wait()
		assert.Equal(t, uint64(n), w.Stats().Workers, "workers with n tasks")
		g.release()
		require.NoError(t, w.Wait())

		// A light load: one short task every half second. The worker
		// that parked last takes each, so it stays, and the other
		// three time out after a second.
		for range 6 {
			time.Sleep(500 * time.Millisecond)
			require.NoError(t, w.Go(bg, nop))
			require.NoError(t, w.Wait())
		}
		synctest.Wait()
		assert.Equal(t, uint64(1), w.Stats().Workers, "workers under a light load")

		time.Sleep(999 * time.Millisecond)
		synctest.Wait()
		assert.Equal(t, uint64(1), w.Stats().Workers, "workers just before the idle timeout")
		time.Sleep(time.Millisecond)
		synctest.Wait()
		assert.Zero(t, w.Stats().Workers, "workers after the idle timeout")

		// And they come back on demand.
		require.NoError(t, w.Go(bg, nop))
		require.NoError(t, w.Wait())
		st := w.Stats()
		assert.Equal(t, uint64(1), st.Workers)
		assertAccounted(t, st)
		assert.Equal(t, uint64(n+7), st.Completed)
	})
}

// TestIdleExpiryRacesSubmit submits a task at the moment a worker's idle
// timer has fired but before the worker has retired: the submitter takes
// it off the idle stack and hands it the task, which it must run, and the
// pool's count of workers on their way must come back to zero, or the
// queue's bound would drift.
func TestIdleExpiryRacesSubmit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := pool.NewWorkers(bg, 1, pool.QueueCapacity(1), pool.IdleTimeout(time.Second))
		defer w.Close()
		var raced atomic.Bool
		ran := make(chan struct{})
		pool.SetIdleExpiredHook(w, func() {
			if raced.CompareAndSwap(false, true) {
				// On the worker's own goroutine: the submitter's wake
				// must not wait for this worker to receive it.
				require.NoError(t, w.Go(bg, func(context.Context) error { close(ran); return nil }))
			}
		})
		require.NoError(t, w.Go(bg, nop))
		require.NoError(t, w.Wait())
		time.Sleep(time.Second) // the worker's idle timer fires
		<-ran
		require.NoError(t, w.Wait())
		synctest.Wait()
		st := w.Stats()
		assert.Equal(t, uint64(1), st.Workers, "the worker took the task instead of retiring")
		assert.Equal(t, uint64(2), st.Completed)

		// The bound holds: one task running, one queued, and no more.
		g := newGate()
		assert.True(t, w.TryGo(bg, g.task), "for the worker")
		synctest.Wait()
		assert.True(t, w.TryGo(bg, g.task), "for the queue")
		assert.False(t, w.TryGo(bg, g.task), "beyond the queue's capacity")
		g.release()
		require.NoError(t, w.Wait())
	})
}

// TestIdleExpiryRacesClose closes the pool at the moment a worker's idle
// timer has fired: Close must not hang, and the worker must exit.
func TestIdleExpiryRacesClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := pool.NewWorkers(bg, 2, pool.IdleTimeout(time.Second))
		closed := make(chan error, 1)
		var once atomic.Bool
		pool.SetIdleExpiredHook(w, func() {
			if once.CompareAndSwap(false, true) {
				go func() { closed <- w.Close() }()
				synctest.Wait() // Close has woken this worker and waits for it
			}
		})
		g := newGate()
		require.NoError(t, w.Go(bg, g.task))
		require.NoError(t, w.Go(bg, g.task))
		synctest.Wait()
		g.release()
		require.NoError(t, w.Wait())
		time.Sleep(time.Second) // the workers' idle timers fire
		assert.NoError(t, <-closed)
		assert.Zero(t, w.Stats().Workers)
	})
}

// TestSoak runs many tiny tasks and checks that the worker goroutines stay
// within the limit while memory is reused.
func TestSoak(t *testing.T) {
	tasks := 200_000
	if raceEnabled {
		tasks = 20_000
	}
	const n = 8
	w := pool.NewWorkers(bg, n)
	defer w.Close()
	var sum atomic.Int64
	task := func(context.Context) error { sum.Add(1); return nil }
	var peak uint64
	for i := range tasks {
		require.NoError(t, w.Go(bg, task))
		if i%1_000 == 0 {
			peak = max(peak, w.Stats().Workers)
		}
	}
	require.NoError(t, w.Wait())
	assert.Equal(t, int64(tasks), sum.Load())
	assert.LessOrEqual(t, peak, uint64(n), "worker goroutines during the soak")
	assertAccounted(t, w.Stats())
}

// TestWorkersZeroAllocs checks that submitting allocates nothing once the
// workers have started: Go and TryGo on a warm pool, with the queue
// filling up, draining and Go blocking in between.
func TestWorkersZeroAllocs(t *testing.T) {
	const n = 4
	w := pool.NewWorkers(bg, n, pool.QueueCapacity(16))
	defer w.Close()
	var sum atomic.Int64
	task := func(context.Context) error { sum.Add(1); return nil }
	cases := []struct {
		name   string
		submit func()
	}{
		{"Go", func() { _ = w.Go(bg, task) }},
		{"TryGo", func() { w.TryGo(bg, task) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for range 1000 { // start every worker, grow the queue
				c.submit()
			}
			require.NoError(t, w.Wait())
			assert.Zero(t, testing.AllocsPerRun(1000, c.submit), "allocs per %s", c.name)
			require.NoError(t, w.Wait())
		})
	}
}

// FuzzWorkers drives a pool with a sequence of operations read from the
// input (submissions of tasks that succeed, fail, sleep, call Goexit or
// submit from inside; TryGo; Wait; Resize; time passing) on virtual time,
// and checks the accounting: every accepted task either ran once or was
// counted as canceled, the identity holds, and Close joins every worker.
func FuzzWorkers(f *testing.F) {
	f.Add([]byte{2, 1, 0, 0, 0, 3, 3, 3, 4, 5, 0})
	f.Add([]byte{0, 0, 2, 2, 2, 2, 6, 2, 4, 8, 8, 8})
	f.Add([]byte{3, 2, 3, 3, 3, 3, 3, 3, 3, 5, 1, 4, 0, 9, 2, 2})
	f.Add([]byte{1, 4, 7, 7, 7, 3, 5, 5, 5, 5, 5, 10, 2, 2, 11})
	f.Fuzz(fuzzWorkers)
}

func fuzzWorkers(t *testing.T, ops []byte) {
	if len(ops) < 2 {
		return
	}
	n, q := int(ops[0]%4)+1, int(ops[1]%4)
	ops = ops[2:]
	synctest.Test(t, func(t *testing.T) {
		w := pool.NewWorkers(bg, n, pool.QueueCapacity(q), pool.IdleTimeout(3*time.Millisecond))
		var ran atomic.Uint64
		var g gauge
		tasks := []func(context.Context) error{
			func(context.Context) error { ran.Add(1); return nil },
			func(context.Context) error { ran.Add(1); return errTask },
			func(context.Context) error {
				ran.Add(1)
				g.enter()
				defer g.exit()
				time.Sleep(2 * time.Millisecond)
				return nil
			},
			func(context.Context) error { ran.Add(1); runtime.Goexit(); return nil },
		}
		var accepted, inside atomic.Uint64
		parent := func(ctx context.Context) error {
			ran.Add(1)
			for range 3 {
				if w.Go(ctx, tasks[2]) == nil {
					inside.Add(1)
				}
			}
			return nil
		}
		for _, op := range ops {
			switch op % 12 {
			case 0, 1, 2, 3:
				ctx, cancel := context.WithTimeout(bg, time.Millisecond)
				if w.Go(ctx, tasks[op%4]) == nil {
					accepted.Add(1)
				}
				cancel()
			case 4:
				if w.TryGo(bg, tasks[2]) {
					accepted.Add(1)
				}
			case 5:
				_ = w.Wait()
			case 6, 7:
				time.Sleep(time.Duration(op%12) * time.Millisecond)
			case 8:
				if w.Go(bg, parent) == nil {
					accepted.Add(1)
				}
			case 9, 10, 11:
				w.Resize(int(op/12)%4 + 1)
			}
			st := w.Stats()
			require.True(t, identity(st), "identity: %+v", st)
		}
		_ = w.Wait()
		st := w.Stats()
		assertAccounted(t, st)
		assert.Equal(t, accepted.Load()+inside.Load(), st.Submitted)
		assert.Equal(t, ran.Load(), st.Completed+st.Failed, "tasks that ran")
		assert.Zero(t, st.Canceled, "nothing cancels this pool")
		assert.LessOrEqual(t, g.peak.Load(), int64(4), "peak running, at most the largest limit")
		assert.NoError(t, func() error { _ = w.Close(); return nil }())
		assert.Zero(t, w.Stats().Workers, "workers after Close")
	})
}

// TestOrder checks that one worker takes tasks in the order they were
// submitted, also after the pool shrank to it.
func TestOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := pool.NewWorkers(bg, 3)
		defer w.Close()
		g := newGate()
		for range 3 {
			require.NoError(t, w.Go(bg, g.task))
		}
		synctest.Wait()
		w.Resize(1)
		var order []int
		for i := range 10 {
			require.NoError(t, w.Go(bg, func(context.Context) error { order = append(order, i); return nil }))
		}
		g.release()
		require.NoError(t, w.Wait())
		assert.Equal(t, []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, order)
	})
}

// TestLaterOptionWins checks that of two options of the same kind, the
// later one applies.
func TestLaterOptionWins(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := pool.NewWorkers(bg, 1, pool.QueueCapacity(0), pool.QueueCapacity(1))
		defer w.Close()
		g := newGate()
		assert.True(t, w.TryGo(bg, g.task), "for the worker")
		assert.True(t, w.TryGo(bg, g.task), "for a queue of 1")
		assert.False(t, w.TryGo(bg, g.task), "beyond it")
		g.release()
		require.NoError(t, w.Wait())
	})
}

// TestHandOff checks a queue of 0: a Go waits until the busy worker is
// idle again, and then hands its task over.
func TestHandOff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := pool.NewWorkers(bg, 1, pool.QueueCapacity(0))
		defer w.Close()
		g := newGate()
		require.NoError(t, w.Go(bg, g.task))
		synctest.Wait()
		returned := make(chan error)
		go func() { returned <- w.Go(bg, nop) }()
		synctest.Wait()
		select {
		case <-returned:
			t.Fatal("Go handed a task to a busy worker")
		default:
		}
		g.release()
		assert.NoError(t, <-returned)
		require.NoError(t, w.Wait())
		st := w.Stats()
		assertAccounted(t, st)
		assert.Equal(t, uint64(2), st.Completed)
		assert.Equal(t, uint64(1), st.Workers)
	})
}

// TestGoBlockedWhileBusy cancels the pool's parent while its only worker
// runs a task that ignores the cancellation: no worker will pop or park
// to ring the doorbell, yet the blocked Go returns at once with the
// parent's error.
func TestGoBlockedWhileBusy(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		parent, cancel := context.WithCancel(bg)
		w := pool.NewWorkers(parent, 1, pool.QueueCapacity(0))
		release := make(chan struct{})
		require.NoError(t, w.Go(bg, func(context.Context) error { <-release; return nil }))
		returned := make(chan error)
		go func() { returned <- w.Go(bg, nop) }()
		synctest.Wait()
		cancel()
		assert.ErrorIs(t, <-returned, context.Canceled, "the blocked Go, while the task still runs")
		close(release)
		assert.NoError(t, w.Close())
	})
}

// TestCloseWithRingPending closes the pool while a ring for a blocked Go
// is on its way (rung, not yet heard): Close must not wait to ring again,
// and the Go is refused.
func TestCloseWithRingPending(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := pool.NewWorkers(bg, 1, pool.QueueCapacity(1))
		first, second := newGate(), newGate()
		closed := make(chan error, 1)
		var once atomic.Bool
		pool.SetBlockedHook(w, func() {
			if once.CompareAndSwap(false, true) {
				first.release()
				synctest.Wait() // the worker took second's task and rang
				go func() { closed <- w.Close() }()
				synctest.Wait() // Close waits for the worker
			}
		})
		require.NoError(t, w.Go(bg, first.task))
		require.NoError(t, w.Go(bg, second.task))
		synctest.Wait()
		assert.ErrorIs(t, w.Go(bg, nop), compendium.ErrClosed, "the Go that heard the ring after Close")
		assert.ErrorIs(t, <-closed, context.Canceled, "Close reports the task it cancelled")
	})
}

// TestStopsRingTwiceBeforeGoListens checks a Go that found no room and is
// about to wait when Shutdown and then Close both ring for it: the second
// ring finds the doorbell still full and must not wait for room in it
// (which, holding the pool's lock, would hang Close and every Go with it).
// The Go is refused, and Shutdown and Close return.
func TestStopsRingTwiceBeforeGoListens(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := pool.NewWorkers(bg, 1, pool.QueueCapacity(0))
		ended, cancel := context.WithCancel(bg)
		cancel()
		shut := errors.New("hook not run")
		pool.SetBlockedHook(w, func() {
			// Shutdown rings, and, its ctx having ended with a task still
			// running, closes the pool, which rings again.
			shut = w.Shutdown(ended)
		})
		g := newGate()
		require.NoError(t, w.Go(bg, g.task))
		assert.ErrorIs(t, w.Go(bg, nop), compendium.ErrClosed, "the Go blocked across Shutdown and Close")
		assert.ErrorIs(t, shut, context.Canceled, "Shutdown's ctx ended")
		closeErr := w.Close()
		assert.ErrorIs(t, shut, closeErr, "Shutdown returned Close's result, which every Close returns")
		st := w.Stats()
		assertAccounted(t, st)
		assert.Equal(t, uint64(1), st.Rejected)
	})
}
