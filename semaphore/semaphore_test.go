package semaphore_test

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-compendium/compendium/semaphore"
)

// gauge counts what is in flight and remembers the peak, as errgroup's
// TestGoLimit does.
type gauge struct {
	now, peak atomic.Int64
}

// add moves the gauge by d and records a new peak.
func (g *gauge) add(d int64) {
	n := g.now.Add(d)
	for {
		p := g.peak.Load()
		if n <= p || g.peak.CompareAndSwap(p, n) {
			return
		}
	}
}

// hold is the work done under the limit in the gauge tests: long enough in
// virtual time that every goroutine that can get a slot has one before any
// lets go, which is what makes "the limit is reached" deterministic.
const hold = time.Millisecond

// goroutines is how many goroutines compete in the limit tests.
const goroutines = 1000

func TestSemaphoreLimitReachedNeverExceeded(t *testing.T) {
	for _, limit := range []int{1, 4, 64} {
		synctest.Test(t, func(t *testing.T) {
			s := semaphore.NewCounting(limit)
			var g gauge
			var wg sync.WaitGroup
			for range goroutines {
				wg.Go(func() {
					if !assert.NoError(t, s.Acquire(context.Background())) {
						return
					}
					defer s.Release()
					g.add(1)
					time.Sleep(hold)
					g.add(-1)
				})
			}
			wg.Wait()
			assert.Equal(t, int64(limit), g.peak.Load(), "peak in flight with limit %d", limit)
			assert.Equal(t, 0, s.Len(), "Len() after all released")
		})
	}
}

func TestSemaphoreAcquireBlocksUntilRelease(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := semaphore.NewCounting(2)
		require.NoError(t, s.Acquire(context.Background()))
		require.True(t, s.TryAcquire())
		assert.False(t, s.TryAcquire(), "TryAcquire() on a full semaphore")

		var acquired atomic.Bool
		go func() {
			assert.NoError(t, s.Acquire(context.Background()))
			acquired.Store(true)
		}()
		synctest.Wait()
		assert.False(t, acquired.Load(), "Acquire returned while every slot was held")

		s.Release()
		synctest.Wait()
		assert.True(t, acquired.Load(), "Acquire still blocked after Release")
		assert.Equal(t, 2, s.Len())
		s.Release()
		s.Release()
	})
}

func TestSemaphoreAcquireCancelLeavesStateUnchanged(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := semaphore.NewCounting(1)
		require.NoError(t, s.Acquire(context.Background()))

		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		start := time.Now()
		err := s.Acquire(ctx)
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Equal(t, time.Second, time.Since(start), "Acquire gave up before its deadline")
		assert.Equal(t, 1, s.Len(), "Len() after a failed Acquire")
		s.Release()
	})
}

func TestSemaphoreDoneContextNeverAcquires(t *testing.T) {
	s := semaphore.NewCounting(3)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for range 100 {
		assert.ErrorIs(t, s.Acquire(ctx), context.Canceled)
	}
	assert.Equal(t, 0, s.Len(), "Len() after Acquire with a done context")
}

func TestSemaphoreReleasePanics(t *testing.T) {
	s := semaphore.NewCounting(2)
	want := countingReleasedMore(2)
	assert.PanicsWithValue(t, want, s.Release, "Release() on a fresh semaphore")
	require.True(t, s.TryAcquire())
	s.Release()
	assert.PanicsWithValue(t, want, s.Release, "second Release() after one acquire")
	assert.Equal(t, 0, s.Len())
}

func TestSemaphoreAcquirerComposesWithSelect(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := semaphore.NewCounting(1)
		other := make(chan int, 1)

		// A free slot: the send wins (other is empty).
		select {
		case s.Acquirer() <- struct{}{}:
		case <-other:
			t.Fatal("received from an empty channel")
		}
		assert.Equal(t, 1, s.Len(), "Len() after a send on Acquirer")

		// Full: the other channel wins, and no slot is taken.
		other <- 7
		select {
		case s.Acquirer() <- struct{}{}:
			t.Fatal("acquired a slot from a full semaphore")
		case v := <-other:
			assert.Equal(t, 7, v)
		}

		// Full and nothing else ready: a timer ends the wait.
		select {
		case s.Acquirer() <- struct{}{}:
			t.Fatal("acquired a slot from a full semaphore")
		case <-time.After(time.Second):
		}
		assert.Equal(t, 1, s.Len())

		// Release pairs with the send.
		s.Release()
		assert.Equal(t, 0, s.Len())
		assert.Equal(t, 1, s.Cap())
	})
}

func TestSemaphoreLenCap(t *testing.T) {
	s := semaphore.NewCounting(3)
	assert.Equal(t, 3, s.Cap())
	for want := 1; want <= 3; want++ {
		require.True(t, s.TryAcquire())
		assert.Equal(t, want, s.Len())
	}
	assert.False(t, s.TryAcquire())
	assert.Equal(t, 3, s.Cap(), "Cap() does not change with use")
}

// TestSemaphoreCancelRacingRelease races a waiter's cancellation against
// the Release that would wake it, 10^4 times, and checks that no slot is
// lost or created: afterwards the full capacity can be taken again, and no
// more. A blocked send cannot be observed from outside, so the waiter
// announces that it is about to Acquire and the race starts a few yields
// later (most tries find it parked); which of cancel and Release starts
// first alternates.
func TestSemaphoreCancelRacingRelease(t *testing.T) {
	const size = 2
	s := semaphore.NewCounting(size)
	for range size {
		require.True(t, s.TryAcquire())
	}
	var granted, cancelled int
	for i := range 10_000 {
		ctx, cancel := context.WithCancel(context.Background())
		starting := make(chan struct{})
		errc := make(chan error, 1)
		go func() {
			close(starting)
			errc <- s.Acquire(ctx)
		}()
		<-starting
		for range 3 {
			runtime.Gosched()
		}
		var wg sync.WaitGroup
		if i%2 == 0 {
			wg.Go(cancel)
			s.Release()
		} else {
			wg.Go(s.Release)
			cancel()
		}
		wg.Wait()
		if <-errc == nil {
			granted++
			s.Release()
		} else {
			cancelled++
		}
		require.Equal(t, size-1, s.Len(), "iteration %d: slots held", i)
		require.True(t, s.TryAcquire(), "iteration %d: a slot was lost", i)
		require.False(t, s.TryAcquire(), "iteration %d: a slot was created", i)
	}
	t.Logf("granted %d, cancelled %d", granted, cancelled)
}

// cancelThenFree checks, tries times, that a blocking call whose ctx is
// cancelled before the slot it waits for is freed fails with ctx.Err()
// and takes nothing. hold fills the slots; call is the blocking call under
// test; free frees one slot; held reports whether anything is still held
// after a round. Another goroutine cancels and then frees while the call
// yields before parking, which is the window this guards; GOMAXPROCS(1)
// keeps that goroutine from running before the call has looked at its
// ctx, so the interleaving is the same every time.
func cancelThenFree(t *testing.T, hold func(), call func(context.Context) error, free func(), held func() bool) {
	t.Helper()
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	for i := range 1000 {
		hold()
		ctx, cancel := context.WithCancel(context.Background())
		freed := make(chan struct{})
		go func() {
			cancel()
			free()
			close(freed)
		}()
		err := call(ctx)
		<-freed
		require.ErrorIs(t, err, context.Canceled, "iteration %d: the call succeeded though ctx was done before the slot was freed", i)
		require.False(t, held(), "iteration %d: a failed call kept a slot", i)
	}
}

// TestSemaphoreAcquireCancelledBeforeFree: a waiter whose ctx is
// cancelled before the slot is released fails, even when it finds the slot
// free on its retry after yielding.
func TestSemaphoreAcquireCancelledBeforeFree(t *testing.T) {
	s := semaphore.NewCounting(1)
	cancelThenFree(t,
		func() { require.True(t, s.TryAcquire()) },
		s.Acquire,
		s.Release,
		func() bool { return s.Len() != 0 })
}
