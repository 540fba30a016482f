package timeout_test

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/go-compendium/compendium"
	"github.com/go-compendium/compendium/timeout"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

// lingerer returns a worker that, once told to quit, takes d to clean up,
// and counts itself out in done.
func lingerer(d time.Duration, done *atomic.Int32) func(<-chan struct{}) {
	return func(quit <-chan struct{}) {
		<-quit
		time.Sleep(d)
		done.Add(1)
	}
}

func TestStopperCloseWaitsForEveryWorker(t *testing.T) {
	defer goleak.VerifyNone(t) // after the bubble: nothing of ours outlives the test
	synctest.Test(t, func(t *testing.T) {
		var s timeout.Stopper // the zero value is ready
		var done atomic.Int32
		for _, d := range []time.Duration{10, 30, 20} {
			require.NoError(t, s.Go(lingerer(d*time.Millisecond, &done)))
		}
		time.Sleep(time.Second)
		require.Zero(t, done.Load(), "a worker returned before Close")
		start := time.Now()
		require.NoError(t, s.Close())
		assert.EqualValues(t, 3, done.Load(), "workers returned when Close returned")
		assert.Equal(t, 30*time.Millisecond, time.Since(start), "Close returned after")
	})
}

func TestStopperCloseIsIdempotentAndConcurrent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := timeout.NewStopper()
		var done atomic.Int32
		require.NoError(t, s.Go(lingerer(10*time.Millisecond, &done)))
		var wg sync.WaitGroup
		for range 5 {
			wg.Go(func() {
				assert.NoError(t, s.Close())
				assert.EqualValues(t, 1, done.Load(), "a Close returned before the worker")
			})
		}
		wg.Wait()
		assert.NoError(t, s.Close())
		assert.NoError(t, s.StopContext(t.Context()))
	})
}

func TestStopperCloseWithNoWorkers(t *testing.T) {
	s := timeout.NewStopper()
	assert.NoError(t, s.Close())
	assert.NoError(t, s.Close())
	assert.True(t, received(s.Stopping()))
}

func TestStopperGoAfterClose(t *testing.T) {
	s := timeout.NewStopper()
	require.NoError(t, s.Close())
	ran := false
	err := s.Go(func(<-chan struct{}) { ran = true })
	assert.ErrorIs(t, err, compendium.ErrClosed)
	assert.EqualError(t, err, "timeout: Stopper is closed")
	assert.ErrorIs(t, s.GoNamed("late", func(<-chan struct{}) { ran = true }), compendium.ErrClosed)
	assert.False(t, ran)
	assert.Empty(t, s.Running())
}

func TestStopperStopContextNamesStragglers(t *testing.T) {
	defer goleak.VerifyNone(t) // after the bubble: nothing of ours outlives the test
	synctest.Test(t, func(t *testing.T) {
		s := timeout.NewStopper()
		var done atomic.Int32
		require.NoError(t, s.Go(lingerer(10*time.Millisecond, &done)))          // worker 1
		require.NoError(t, s.GoNamed("flusher", lingerer(time.Second, &done)))  // slow
		require.NoError(t, s.Go(lingerer(5*time.Millisecond, &done)))           // worker 3
		require.NoError(t, s.GoNamed("poller", lingerer(2*time.Second, &done))) // slower
		assert.Equal(t, []string{"worker 1", "flusher", "worker 3", "poller"}, s.Running())

		ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
		defer cancel()
		start := time.Now()
		err := s.StopContext(ctx)
		assert.Equal(t, 100*time.Millisecond, time.Since(start), "StopContext returned after")
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		assert.EqualError(t, err, "timeout: Stopper: 2 still running (flusher, poller): context deadline exceeded")
		assert.Equal(t, []string{"flusher", "poller"}, s.Running())

		require.NoError(t, s.Close()) // waits for the stragglers
		assert.Equal(t, 2*time.Second, time.Since(start))
		assert.EqualValues(t, 4, done.Load())
		assert.Empty(t, s.Running())
	})
}

// TestStopperRunningDropsReturnedWorkers: a worker that returns on its own
// leaves Running at the instant it returns; the others keep their start
// order (ExampleStopper_Running cannot wait for that instant without a
// poll).
func TestStopperRunningDropsReturnedWorkers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := timeout.NewStopper()
		require.NoError(t, s.GoNamed("reader", func(quit <-chan struct{}) { <-quit }))
		require.NoError(t, s.GoNamed("job", func(<-chan struct{}) { time.Sleep(10 * time.Millisecond) }))
		require.NoError(t, s.GoNamed("writer", func(quit <-chan struct{}) { <-quit }))
		time.Sleep(10*time.Millisecond - time.Nanosecond)
		synctest.Wait()
		assert.Equal(t, []string{"reader", "job", "writer"}, s.Running(), "Running() just before the job returns")
		time.Sleep(time.Nanosecond)
		synctest.Wait()
		assert.Equal(t, []string{"reader", "writer"}, s.Running(), "Running() once the job returned")
		require.NoError(t, s.Close())
		assert.Empty(t, s.Running())
	})
}

func TestStopperPanicStopsOthersAndSurfacesInClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, start := timeout.NewStopper(), time.Now()
		var done atomic.Int32
		require.NoError(t, s.Go(lingerer(10*time.Millisecond, &done)))
		require.NoError(t, s.GoNamed("bad", func(<-chan struct{}) {
			time.Sleep(5 * time.Millisecond)
			panic(errBoom)
		}))
		<-s.Stopping() // the panic starts the stop
		assert.Equal(t, 5*time.Millisecond, time.Since(start), "quit closed after")
		assert.ErrorIs(t, s.Go(func(<-chan struct{}) {}), compendium.ErrClosed, "Go after a panic")

		var first *compendium.PanicError
		for range 2 { // every Close re-panics: no caller thinks all went well
			p := recoverPanic(func() { _ = s.Close() })
			var pe *compendium.PanicError
			require.ErrorAs(t, p, &pe, "Close must re-panic with the worker's panic")
			assert.ErrorIs(t, pe, errBoom)
			assert.Contains(t, string(pe.Stack), "stopper_test.go")
			if first == nil {
				first = pe
			}
			assert.Same(t, first, pe, "every Close re-panics with the same *PanicError")
		}
		assert.EqualValues(t, 1, done.Load(), "the other worker was stopped and waited for")
		p := recoverPanic(func() { _ = s.StopContext(t.Context()) })
		assert.ErrorIs(t, p, errBoom, "StopContext re-panics too")
	})
}

// TestStopperWorkerGoexit: a worker that calls runtime.Goexit has failed:
// it is counted out, the others are stopped, and every Close returns the
// failure, naming the worker.
func TestStopperWorkerGoexit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := timeout.NewStopper()
		var done atomic.Int32
		require.NoError(t, s.Go(lingerer(time.Millisecond, &done)))
		require.NoError(t, s.GoNamed("quitter", func(<-chan struct{}) { runtime.Goexit() }))
		synctest.Wait()
		assert.True(t, received(s.Stopping()), "a Goexit stops the other workers")
		time.Sleep(time.Millisecond)
		synctest.Wait()
		assert.Empty(t, s.Running(), "a worker that called Goexit is counted out")
		for range 2 {
			err := s.Close()
			assert.ErrorIs(t, err, compendium.ErrGoexit)
			assert.EqualError(t, err, "timeout: Stopper: quitter: compendium: function called runtime.Goexit")
		}
		assert.EqualValues(t, 1, done.Load())
		assert.ErrorIs(t, s.StopContext(t.Context()), compendium.ErrGoexit)
	})
}

// TestStopperGoRacingClose: workers started while Close runs are either
// refused with the closed error or waited for by Close; none outlives it.
func TestStopperGoRacingClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := timeout.NewStopper()
		var accepted, returned atomic.Int32
		var wg sync.WaitGroup
		for range 20 {
			wg.Go(func() {
				for range 10 {
					err := s.Go(func(quit <-chan struct{}) {
						defer returned.Add(1)
						<-quit
						time.Sleep(time.Millisecond)
					})
					if err == nil {
						accepted.Add(1)
					} else if !assert.ErrorIs(t, err, compendium.ErrClosed) {
						return
					}
				}
			})
		}
		require.NoError(t, s.Close())
		atClose := returned.Load()
		wg.Wait()
		time.Sleep(time.Second)
		synctest.Wait()
		assert.Equal(t, atClose, returned.Load(), "a worker ran after Close returned")
		assert.Equal(t, accepted.Load(), atClose, "every accepted worker returned before Close did")
	})
}

// TestStopperStopContextAlreadyDone: a ctx that is already done still
// starts the stop (quit is closed, Go is refused) and reports at once the
// workers that have not returned; a worker that returns on quit is waited
// for by the Close that follows.
func TestStopperStopContextAlreadyDone(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := timeout.NewStopper()
		var done atomic.Int32
		require.NoError(t, s.GoNamed("stubborn", lingerer(time.Second, &done)))
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		start := time.Now()
		err := s.StopContext(ctx)
		assert.Zero(t, time.Since(start), "StopContext waited with a done ctx")
		assert.ErrorIs(t, err, context.Canceled)
		assert.EqualError(t, err, "timeout: Stopper: 1 still running (stubborn): context canceled")
		assert.True(t, received(s.Stopping()), "quit not closed")
		assert.ErrorIs(t, s.Go(func(<-chan struct{}) {}), compendium.ErrClosed)
		require.NoError(t, s.Close())
		assert.Equal(t, time.Second, time.Since(start))
		assert.EqualValues(t, 1, done.Load())
	})
}

// TestStopperPanicDuringClose: a worker that panics on its way out, while
// Close already waits, still makes that Close re-panic once the others are
// done.
func TestStopperPanicDuringClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := timeout.NewStopper()
		var done atomic.Int32
		require.NoError(t, s.Go(lingerer(20*time.Millisecond, &done)))
		require.NoError(t, s.GoNamed("bad cleanup", func(quit <-chan struct{}) {
			<-quit
			time.Sleep(10 * time.Millisecond)
			panic(errBoom)
		}))
		start := time.Now()
		p := recoverPanic(func() { _ = s.Close() })
		assert.ErrorIs(t, p, errBoom, "Close must re-panic with the cleanup's panic")
		assert.Equal(t, 20*time.Millisecond, time.Since(start), "Close re-panicked before the other worker returned")
		assert.EqualValues(t, 1, done.Load())
	})
}

// TestStopperStopContextReportsFailureAndStragglers: a StopContext cut
// short reports both what failed and who is still running.
func TestStopperStopContextReportsFailureAndStragglers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := timeout.NewStopper()
		release := make(chan struct{})
		// stubborn first: the quitter's failure stops the Stopper, after
		// which Go refuses new workers.
		require.NoError(t, s.GoNamed("stubborn", func(<-chan struct{}) { <-release }))
		require.NoError(t, s.GoNamed("quitter", func(<-chan struct{}) { runtime.Goexit() }))
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		err := s.StopContext(ctx)
		assert.ErrorIs(t, err, compendium.ErrGoexit)
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		assert.EqualError(t, err, "timeout: Stopper: quitter: compendium: function called runtime.Goexit\ntimeout: Stopper: 1 still running (stubborn): context deadline exceeded")
		close(release)
		assert.ErrorIs(t, s.Close(), compendium.ErrGoexit)
	})
}

// TestStopperGoexitDuringCloseIsReported: a worker that calls
// runtime.Goexit in its cleanup, after quit, has failed all the same.
func TestStopperGoexitDuringCloseIsReported(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := timeout.NewStopper()
		require.NoError(t, s.GoNamed("flusher", func(quit <-chan struct{}) {
			<-quit
			runtime.Goexit() // say, t.FailNow in a test helper's cleanup
		}))
		for range 2 {
			err := s.Close()
			assert.ErrorIs(t, err, compendium.ErrGoexit)
			assert.EqualError(t, err, "timeout: Stopper: flusher: compendium: function called runtime.Goexit")
		}
	})
}

// TestStopperStopContextReturnsWhenWorkersDo: StopContext returns as soon
// as the last worker has returned, long before its ctx ends, and at once
// when there are none.
func TestStopperStopContextReturnsWhenWorkersDo(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), time.Hour)
		defer cancel()
		start := time.Now()
		assert.NoError(t, timeout.NewStopper().StopContext(ctx), "no workers")
		assert.Zero(t, time.Since(start), "StopContext with no workers waited")

		s := timeout.NewStopper()
		var done atomic.Int32
		require.NoError(t, s.Go(lingerer(10*time.Millisecond, &done)))
		require.NoError(t, s.Go(lingerer(20*time.Millisecond, &done)))
		assert.NoError(t, s.StopContext(ctx))
		assert.Equal(t, 20*time.Millisecond, time.Since(start), "StopContext returned after")
		assert.EqualValues(t, 2, done.Load())
	})
}

// TestStopperZeroValueStoppingFirst: the quit channel a zero Stopper hands
// out before anything else is the one Close closes.
func TestStopperZeroValueStoppingFirst(t *testing.T) {
	var s timeout.Stopper
	stopping := s.Stopping()
	assert.False(t, received(stopping))
	require.NoError(t, s.Close())
	assert.True(t, received(stopping), "the first Stopping channel was not closed by Close")
}
