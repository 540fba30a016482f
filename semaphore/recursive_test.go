package semaphore_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"runtime"
	"runtime/pprof"
	"strings"
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

// tree is a task tree for the recursive-submission tests: node id has
// children id*fanout+1 ... id*fanout+fanout while they are below size.
type tree struct {
	g      *semaphore.Group
	size   int
	fanout int
	gauge  gauge
	ran    []atomic.Int32 // how many times each node ran
	failed atomic.Value   // the first unexpected Go error
}

// node is the task for node id: it does its work under the gauge, then
// submits its children with the context it received.
func (tr *tree) node(id int) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		tr.ran[id].Add(1)
		tr.gauge.add(1)
		time.Sleep(hold)
		tr.gauge.add(-1)
		for c := id*tr.fanout + 1; c <= id*tr.fanout+tr.fanout && c < tr.size; c++ {
			if err := tr.g.Go(ctx, tr.node(c)); err != nil {
				tr.failed.CompareAndSwap(nil, err)
				return err
			}
		}
		return nil
	}
}

// TestGroupRecursiveTrees grows trees of tasks, each submitting its
// children from inside, at limits 1, 2 and 8 and with no, a small and the
// default pending list. Every node must run exactly once, Wait must
// return only once all have, and the number of tasks doing their work at
// once must reach the limit and never pass it. A deadlock would end the
// bubble with a panic.
func TestGroupRecursiveTrees(t *testing.T) {
	const size, fanout = 400, 3
	for _, limit := range []int{1, 2, 8} {
		for _, pending := range []int{0, 2, -1} { // -1: the default
			name := fmt.Sprintf("limit=%d/pending=%d", limit, pending)
			if pending < 0 {
				name = fmt.Sprintf("limit=%d/pending=default", limit)
			}
			t.Run(name, func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					var opts []semaphore.GroupOption
					if pending >= 0 {
						opts = append(opts, semaphore.MaxPending(pending))
					}
					tr := &tree{size: size, fanout: fanout, ran: make([]atomic.Int32, size)}
					tr.g = semaphore.NewGroup(context.Background(), limit, opts...)
					defer tr.g.Close()
					require.NoError(t, tr.g.Go(context.Background(), tr.node(0)))
					require.NoError(t, tr.g.Wait())
					assert.Nil(t, tr.failed.Load(), "a Go from inside failed")
					for id := range tr.ran {
						require.Equal(t, int32(1), tr.ran[id].Load(), "node %d ran %d times", id, tr.ran[id].Load())
					}
					assert.Equal(t, int64(limit), tr.gauge.peak.Load(), "peak tasks working at once")
					s := tr.g.Stats()
					assert.Equal(t, compendium.TaskStats{Submitted: size, Completed: size}, s.TaskStats)
					if pending == 0 && limit < fanout {
						assert.NotZero(t, s.Inline, "with nothing pending allowed, some children run inline")
					}
				})
			})
		}
	}
}

// TestGroupInsidePolicy pins the order of the policy for a submission from
// inside with every slot taken: the pending list while it has room, then
// the submitting task runs the task itself before Go returns; pending
// tasks run in the order submitted, in the slot their submitter leaves.
func TestGroupInsidePolicy(t *testing.T) {
	g := semaphore.NewGroup(context.Background(), 1, semaphore.MaxPending(2))
	defer g.Close()
	var mu sync.Mutex
	var log []string
	record := func(s string) {
		mu.Lock()
		log = append(log, s)
		mu.Unlock()
	}
	child := func(name string) func(context.Context) error {
		return func(context.Context) error { record(name); return nil }
	}
	require.NoError(t, g.Go(context.Background(), func(ctx context.Context) error {
		for i := 1; i <= 4; i++ {
			name := fmt.Sprintf("c%d", i)
			if err := g.Go(ctx, child(name)); err != nil {
				return err
			}
			record("Go " + name + " returned")
		}
		s := g.Stats()
		assert.Equal(t, uint64(2), s.Queued, "c1 and c2 pending")
		assert.Equal(t, uint64(2), s.Inline, "c3 and c4 ran inline")
		return nil
	}))
	require.NoError(t, g.Wait())
	assert.Equal(t, []string{
		"Go c1 returned", "Go c2 returned", // queued
		"c3", "Go c3 returned", "c4", "Go c4 returned", // run by the submitter, inside Go
		"c1", "c2", // in order, once the submitter's slot is free
	}, log)

	// A pending task that submits while others still wait counts what
	// remains pending, not what has been: c1 runs with c2 pending, so one
	// place is free for d1, and d2 runs inline.
	log = nil
	require.NoError(t, g.Go(context.Background(), func(ctx context.Context) error {
		for _, name := range []string{"c1", "c2"} {
			if err := g.Go(ctx, func(ctx context.Context) error {
				record(name)
				if name != "c1" {
					return nil
				}
				for _, d := range []string{"d1", "d2"} {
					if err := g.Go(ctx, child(d)); err != nil {
						return err
					}
				}
				return nil
			}); err != nil {
				return err
			}
		}
		return nil
	}))
	require.NoError(t, g.Wait())
	assert.Equal(t, []string{"c1", "d2", "c2", "d1"}, log)
	assert.Equal(t, uint64(3), g.Stats().Inline)
}

// TestGroupInsideFreeSlotRunsConcurrently: a submission from inside takes
// a free slot at once, on a goroutine of its own, so the submitter and
// the task it submitted can run at the same time.
func TestGroupInsideFreeSlotRunsConcurrently(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := semaphore.NewGroup(context.Background(), 2, semaphore.MaxPending(0))
		defer g.Close()
		childRunning := make(chan struct{})
		require.NoError(t, g.Go(context.Background(), func(ctx context.Context) error {
			if err := g.Go(ctx, func(context.Context) error { close(childRunning); return nil }); err != nil {
				return err
			}
			<-childRunning // would deadlock if the child ran inline or waited for this slot
			return nil
		}))
		require.NoError(t, g.Wait())
		assert.Zero(t, g.Stats().Inline)
	})
}

// TestGroupOutsideWithGroupContextWaits: Group.Context is not a task's
// context, so a Go made with it from outside waits for a slot as any
// other, rather than running the task on the caller's goroutine.
func TestGroupOutsideWithGroupContextWaits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := semaphore.NewGroup(context.Background(), 1)
		release := make(chan struct{})
		require.NoError(t, g.Go(context.Background(), func(context.Context) error { <-release; return nil }))
		errc := make(chan error, 1)
		go func() { errc <- g.Go(g.Context(), nop) }()
		synctest.Wait()
		assert.Empty(t, errc, "Go(g.Context(), f) from outside returned with the only slot held")
		assert.Equal(t, uint64(1), g.Stats().Waiting)
		close(release)
		assert.NoError(t, <-errc)
		assert.Zero(t, g.Stats().Waiting, "the Go whose task was taken still counts as waiting")
		assert.NoError(t, g.Close())
		assert.Zero(t, g.Stats().Inline)
	})
}

// TestGroupInsideAfterTaskDeadline: a task's own deadline bounds the
// task, not its follow-up work: it may still submit once that deadline
// has passed; only the group's end refuses a submission from inside.
func TestGroupInsideAfterTaskDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := semaphore.NewGroup(context.Background(), 1, semaphore.TaskTimeout(time.Second))
		var childRan atomic.Bool
		require.NoError(t, g.Go(context.Background(), func(ctx context.Context) error {
			<-ctx.Done()
			assert.ErrorIs(t, ctx.Err(), context.DeadlineExceeded)
			return g.Go(ctx, func(context.Context) error { childRan.Store(true); return nil })
		}))
		require.NoError(t, g.Wait())
		assert.True(t, childRan.Load(), "the follow-up submitted after the task's deadline never ran")

		require.NoError(t, g.Close())

		// The group's end does refuse a submission from inside.
		boom := errors.New("boom")
		g = semaphore.NewGroup(context.Background(), 2)
		require.NoError(t, g.Go(context.Background(), func(ctx context.Context) error {
			require.NoError(t, g.Go(ctx, func(context.Context) error { return boom })) // a free slot
			<-ctx.Done()                                                               // the child's failure ended the group
			assert.ErrorIs(t, g.Go(ctx, nop), boom, "Go from inside a failed group")
			return nil
		}))
		assert.ErrorIs(t, g.Wait(), boom)
		assert.ErrorIs(t, g.Close(), boom)
		assert.Equal(t, uint64(1), g.Stats().Rejected)
	})
}

// TestGroupInsideFailures: a task run inline that fails, panics or calls
// runtime.Goexit fails the group as any task does; a Goexit also ends
// the submitting task, whose goroutine it unwinds.
func TestGroupInsideFailures(t *testing.T) {
	boom := errors.New("boom")
	cases := []struct {
		name  string
		child func(context.Context) error
		check func(t *testing.T, g *semaphore.Group, parentReturned bool)
	}{
		{"error", func(context.Context) error { return boom }, func(t *testing.T, g *semaphore.Group, parentReturned bool) {
			assert.True(t, parentReturned)
			assert.ErrorIs(t, g.Close(), boom)
			assert.Equal(t, uint64(1), g.Stats().Failed)
		}},
		{"panic", func(context.Context) error { return panicWith("inline") }, func(t *testing.T, g *semaphore.Group, parentReturned bool) {
			assert.True(t, parentReturned, "the panic stays with the inline task")
			v := recoverPanic(func() { _ = g.Close() })
			require.IsType(t, &compendium.PanicError{}, v)
			assert.Equal(t, "inline", v.(*compendium.PanicError).Value)
			assert.Equal(t, uint64(1), g.Stats().Panicked)
		}},
		{"goexit", func(context.Context) error { runtime.Goexit(); return nil }, func(t *testing.T, g *semaphore.Group, parentReturned bool) {
			assert.False(t, parentReturned, "Goexit unwinds the submitter's goroutine too")
			assert.ErrorIs(t, g.Close(), compendium.ErrGoexit)
			s := g.Stats()
			assert.Equal(t, uint64(2), s.Failed, "the inline task and its submitter")
			assert.Zero(t, s.Running)
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				g := semaphore.NewGroup(context.Background(), 1, semaphore.MaxPending(0))
				var parentReturned atomic.Bool
				require.NoError(t, g.Go(context.Background(), func(ctx context.Context) error {
					err := g.Go(ctx, c.child)
					assert.NoError(t, err, "Go of a task run inline reports acceptance, not the task's error")
					parentReturned.Store(true)
					return nil
				}))
				_ = recoverPanic(func() { _ = g.Wait() })
				assert.Equal(t, uint64(1), g.Stats().Inline)
				c.check(t, g, parentReturned.Load())
			})
		})
	}
}

// TestGroupTaskTimeoutKeepsTheSlot gives tasks a deadline they ignore:
// each runs past it, and keeps its slot until it returns, so a limit of
// n never sees n+1 tasks running, and the next task starts only when one
// returns, not when a deadline passes.
func TestGroupTaskTimeoutKeepsTheSlot(t *testing.T) {
	for _, limit := range []int{1, 3} {
		t.Run(fmt.Sprint("limit=", limit), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				const deadline, work, tasks = 10 * time.Millisecond, 50 * time.Millisecond, 12
				g := semaphore.NewGroup(context.Background(), limit, semaphore.TaskTimeout(deadline))
				var inFlight gauge
				var pastDeadline atomic.Int64
				start := time.Now()
				for range tasks {
					require.NoError(t, g.Go(context.Background(), func(ctx context.Context) error {
						inFlight.add(1)
						defer inFlight.add(-1)
						began := time.Now()
						time.Sleep(work) // ignores ctx
						if errors.Is(ctx.Err(), context.DeadlineExceeded) && time.Since(began) == work {
							if dl, ok := ctx.Deadline(); ok && dl.Equal(began.Add(deadline)) {
								pastDeadline.Add(1)
							}
						}
						return nil
					}))
				}
				require.NoError(t, g.Wait())
				assert.Equal(t, int64(limit), inFlight.peak.Load(), "peak tasks running")
				assert.Equal(t, int64(tasks), pastDeadline.Load(), "each task's context ended deadline after it started")
				rounds := (tasks + limit - 1) / limit
				assert.Equal(t, time.Duration(rounds)*work, time.Since(start), "slots were freed at deadlines, not returns")
				require.NoError(t, g.Close())
			})
		})
	}
}

// TestGroupTaskTimeoutHonoured: a task that honours its context returns
// at its deadline, and the context's error is what it makes of it.
func TestGroupTaskTimeoutHonoured(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := semaphore.NewGroup(context.Background(), 2, semaphore.TaskTimeout(time.Second))
		start := time.Now()
		require.NoError(t, g.Go(context.Background(), func(ctx context.Context) error {
			<-ctx.Done()
			assert.Equal(t, context.DeadlineExceeded, ctx.Err())
			cause := context.Cause(ctx)
			assert.ErrorIs(t, cause, context.DeadlineExceeded)
			assert.EqualError(t, cause, "semaphore: Group task ran past its TaskTimeout of 1s: context deadline exceeded")
			return nil // an expected timeout: not a failure
		}))
		require.NoError(t, g.Wait())
		assert.Equal(t, time.Second, time.Since(start))
		require.NoError(t, g.Go(context.Background(), func(ctx context.Context) error {
			<-ctx.Done()
			return ctx.Err() // a failure like any other
		}))
		assert.ErrorIs(t, g.Wait(), context.DeadlineExceeded)
		assert.ErrorIs(t, g.Close(), context.DeadlineExceeded)
	})
}

// TestGroupSetLimitRaises: raising the limit starts pending tasks and the
// tasks of waiting Go calls at once.
func TestGroupSetLimitRaises(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := semaphore.NewGroup(context.Background(), 1, semaphore.MaxPending(8))
		release := make(chan struct{})
		var inFlight gauge
		hold := func(context.Context) error {
			inFlight.add(1)
			defer inFlight.add(-1)
			<-release
			return nil
		}
		require.NoError(t, g.Go(context.Background(), func(ctx context.Context) error {
			for range 3 {
				if err := g.Go(ctx, hold); err != nil {
					return err
				}
			}
			return hold(ctx)
		}))
		errc := make(chan error, 1)
		go func() { errc <- g.Go(context.Background(), hold) }() // waits: the slot is taken
		synctest.Wait()
		require.Equal(t, int64(1), inFlight.now.Load())
		require.Equal(t, uint64(3), g.Stats().Queued)
		require.Empty(t, errc)

		g.SetLimit(3)
		synctest.Wait()
		assert.Equal(t, int64(3), inFlight.now.Load(), "raised to 3: two pending tasks started")
		assert.Equal(t, uint64(1), g.Stats().Queued)
		assert.Empty(t, errc, "pending tasks go first")

		g.SetLimit(10)
		synctest.Wait()
		assert.Equal(t, int64(5), inFlight.now.Load(), "the last pending task and the waiting Go's started")
		assert.NoError(t, <-errc)
		close(release)
		require.NoError(t, g.Wait())
		require.NoError(t, g.Close())
	})
}

// TestGroupSetLimitLowers: lowering the limit stops no running task, and
// no task starts until fewer than the new limit run.
func TestGroupSetLimitLowers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := semaphore.NewGroup(context.Background(), 4)
		var inFlight gauge
		var order []int
		var mu sync.Mutex
		task := func(i int) func(context.Context) error {
			return func(context.Context) error {
				inFlight.add(1)
				defer inFlight.add(-1)
				mu.Lock()
				order = append(order, i)
				mu.Unlock()
				time.Sleep(time.Duration(i%4+1) * time.Second)
				return nil
			}
		}
		submitted := make(chan struct{})
		go func() {
			defer close(submitted)
			for i := range 8 {
				assert.NoError(t, g.Go(context.Background(), task(i)))
			}
		}()
		synctest.Wait()
		require.Equal(t, int64(4), inFlight.now.Load())

		g.SetLimit(2)
		synctest.Wait()
		assert.Equal(t, int64(4), inFlight.now.Load(), "lowering the limit stopped running tasks")
		time.Sleep(time.Second) // task 0 ends: 3 run, above 2
		synctest.Wait()
		assert.Equal(t, int64(3), inFlight.now.Load(), "a task started above the new limit")
		time.Sleep(time.Second) // task 1 ends: 2 run, at the limit
		synctest.Wait()
		assert.Equal(t, int64(2), inFlight.now.Load())
		time.Sleep(time.Second) // task 2 ends: 1 runs, so task 4 starts
		synctest.Wait()
		assert.Equal(t, int64(2), inFlight.now.Load(), "below the new limit, the waiting Go's task started")
		<-submitted
		require.NoError(t, g.Wait())
		assert.Equal(t, int64(4), inFlight.peak.Load())
		assert.Len(t, order, 8)
		require.NoError(t, g.Close())
	})
}

// TestGroupCloseDropsPendingAndWaiters: Close cancels the running tasks,
// drops the pending ones (counted Canceled, once, though two tasks end
// after the cancellation), refuses the waiting Go with the closed error,
// and joins.
func TestGroupCloseDropsPendingAndWaiters(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := semaphore.NewGroup(context.Background(), 2, semaphore.MaxPending(3))
		var ran atomic.Int64
		require.NoError(t, g.Go(context.Background(), func(ctx context.Context) error {
			if err := g.Go(ctx, blockUntilDone); err != nil { // the free slot
				return err
			}
			for range 3 {
				if err := g.Go(ctx, func(context.Context) error { ran.Add(1); return nil }); err != nil {
					return err
				}
			}
			<-ctx.Done()
			return ctx.Err() // after Close: a consequence, not a failure
		}))
		synctest.Wait()
		require.Equal(t, uint64(3), g.Stats().Queued)
		errc := make(chan error, 1)
		go func() { errc <- g.Go(context.Background(), nop) }()
		synctest.Wait() // the Go waits: both slots are taken

		assert.NoError(t, g.Close())
		assert.ErrorIs(t, <-errc, compendium.ErrClosed, "the waiting Go after Close")
		assert.Zero(t, ran.Load(), "a pending task ran after Close")
		s := g.Stats()
		assert.Equal(t, compendium.TaskStats{Submitted: 5, Rejected: 1, Completed: 1, Failed: 1, Canceled: 3}, s.TaskStats)
		assert.NoError(t, g.Close())
	})
}

// TestGroupStatsIdentityUnderConcurrency reads Stats while outside
// submitters, TryGo callers and tasks that submit from inside (queued and
// inline) run, and checks the TaskStats identity in every snapshot; a
// failure at the end cancels what is pending.
func TestGroupStatsIdentityUnderConcurrency(t *testing.T) {
	g := semaphore.NewGroup(context.Background(), 3, semaphore.MaxPending(2))
	boom := errors.New("boom")
	var leaf atomic.Int64
	task := func(ctx context.Context) error {
		for range 3 {
			_ = g.Go(ctx, func(context.Context) error { leaf.Add(1); runtime.Gosched(); return nil })
		}
		return nil
	}
	stop := make(chan struct{})
	var readers sync.WaitGroup
	readers.Go(func() {
		for {
			s := g.Stats()
			if s.Submitted != s.Queued+s.Running+s.Completed+s.Failed+s.Panicked+s.Canceled {
				t.Errorf("identity broken: %+v", s)
				return
			}
			select {
			case <-stop:
				return
			default:
			}
		}
	})
	var submitters sync.WaitGroup
	for range 3 {
		submitters.Go(func() {
			for range 300 {
				_ = g.Go(context.Background(), task)
				g.TryGo(task)
			}
		})
	}
	submitters.Wait()
	_ = g.Go(context.Background(), func(context.Context) error { return boom })
	assert.ErrorIs(t, g.Wait(), boom)
	close(stop)
	readers.Wait()
	s := g.Stats()
	assert.Equal(t, s.Submitted, s.Completed+s.Failed+s.Canceled, "quiet: nothing queued or running: %+v", s)
	assert.Equal(t, uint64(1), s.Failed)
	assert.NotZero(t, s.Rejected, "TryGo on a full group")
	assert.ErrorIs(t, g.Close(), boom)
}

// TestGroupGoroutinesCarryLabels: the goroutines that run tasks carry the
// pprof labels compendium=semaphore and type=Group, over the labels of
// the context the group was made from.
func TestGroupGoroutinesCarryLabels(t *testing.T) {
	var parent context.Context
	pprof.Do(context.Background(), pprof.Labels("request", "r7"), func(ctx context.Context) { parent = ctx })
	g := semaphore.NewGroup(parent, 1)
	running := make(chan struct{})
	release := make(chan struct{})
	require.NoError(t, g.Go(context.Background(), func(context.Context) error {
		close(running)
		<-release
		return nil
	}))
	<-running
	var buf bytes.Buffer
	require.NoError(t, pprof.Lookup("goroutine").WriteTo(&buf, 1))
	close(release)
	require.NoError(t, g.Close())
	var line string
	for _, l := range strings.Split(buf.String(), "\n") {
		if strings.Contains(l, `"compendium":"semaphore"`) {
			line = l
		}
	}
	require.NotEmpty(t, line, "no goroutine labelled compendium=semaphore in:\n%s", buf.String())
	assert.Contains(t, line, `"type":"Group"`)
	assert.Contains(t, line, `"request":"r7"`)
}

// TestGroupInsideGoexitOnHelperGoroutine: a task's own helper goroutine
// that submits with the task's context submits from inside; if the task
// it then runs inline calls runtime.Goexit, the helper goroutine ends,
// and the group records the failure all the same.
func TestGroupInsideGoexitOnHelperGoroutine(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := semaphore.NewGroup(context.Background(), 1, semaphore.MaxPending(0))
		require.NoError(t, g.Go(context.Background(), func(ctx context.Context) error {
			helperDone := make(chan struct{})
			go func() {
				defer close(helperDone)
				_ = g.Go(ctx, func(context.Context) error { runtime.Goexit(); return nil })
			}()
			<-helperDone
			return nil
		}))
		assert.ErrorIs(t, g.Wait(), compendium.ErrGoexit)
		s := g.Stats()
		assert.Equal(t, uint64(1), s.Inline)
		assert.Equal(t, uint64(1), s.Failed)
		assert.Equal(t, uint64(1), s.Completed, "the task whose helper it was")
		assert.ErrorIs(t, g.Close(), compendium.ErrGoexit)
	})
}
