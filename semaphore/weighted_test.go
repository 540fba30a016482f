package semaphore_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
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

// weightedReleasedMore is Weighted.Release's panic for k with held held.
func weightedReleasedMore(k, held int64) string {
	return fmt.Sprintf("semaphore: Weighted.Release: released more than held, got %d with %d held", k, held)
}

// countingReleasedMore is Counting.Release's panic on a semaphore of n.
func countingReleasedMore(n int) string {
	return fmt.Sprintf("semaphore: Counting.Release: released more than held, got 0 of %d held", n)
}

func TestWeightedReleaseMoreThanHeldPanics(t *testing.T) {
	w := semaphore.NewWeighted(4)
	assert.PanicsWithValue(t, weightedReleasedMore(1, 0), func() { w.Release(1) }, "Release(1) on a fresh semaphore")
	require.True(t, w.TryAcquire(2))
	assert.PanicsWithValue(t, weightedReleasedMore(3, 2), func() { w.Release(3) }, "Release(3) holding 2")
	w.Release(2)
	assert.True(t, w.TryAcquire(4), "the failed Release changed the state")
	w.Release(4)
}

// TestWeightedReleaseMoreThanHeldPanicsWithWaiters covers the slow path,
// where Release holds the internal lock: the panic must give it back.
func TestWeightedReleaseMoreThanHeldPanicsWithWaiters(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := semaphore.NewWeighted(4)
		require.True(t, w.TryAcquire(3))
		ctx, cancel := context.WithCancel(context.Background())
		errc := make(chan error, 1)
		go func() { errc <- w.Acquire(ctx, 2) }()
		synctest.Wait() // the waiter is queued

		assert.PanicsWithValue(t, weightedReleasedMore(4, 3), func() { w.Release(4) }, "Release(4) holding 3 with a waiter")
		cancel()
		assert.ErrorIs(t, <-errc, context.Canceled, "the queued Acquire after cancel")
		w.Release(3)
		assert.True(t, w.TryAcquire(4), "a token was lost")
	})
}

// TestWeightedOversizeErrorsAtOnce runs in a bubble so that an Acquire
// that waited instead of failing would end the test as a deadlock rather
// than hang it. It fails at once even with a waiter queued and the weight
// all held.
func TestWeightedOversizeErrorsAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := semaphore.NewWeighted(5)
		// context.Background never ends: x/sync's Acquire would block forever.
		err := w.Acquire(context.Background(), 6)
		assert.ErrorIs(t, err, semaphore.ErrTooLarge)
		assert.EqualError(t, err, "semaphore: weight exceeds the semaphore's size: 6 > 5")
		assert.ErrorIs(t, w.Acquire(context.Background(), math.MaxInt64), semaphore.ErrTooLarge)
		assert.False(t, w.TryAcquire(6), "TryAcquire(6) of 5")
		assert.False(t, w.TryAcquire(math.MaxInt64), "TryAcquire(MaxInt64) must not overflow")

		require.True(t, w.TryAcquire(4))
		queued := waitFor(context.Background(), w, 5)
		assert.ErrorIs(t, w.Acquire(context.Background(), 6), semaphore.ErrTooLarge, "with a waiter queued")
		w.Release(4)
		require.NoError(t, <-queued)
		w.Release(5)
		assert.True(t, w.TryAcquire(5), "the semaphore is unchanged")
	})
}

func TestWeightedDoneContextNeverAcquires(t *testing.T) {
	w := semaphore.NewWeighted(3)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, k := range []int64{0, 1, 3} {
		assert.ErrorIs(t, w.Acquire(ctx, k), context.Canceled, "Acquire(done, %d)", k)
	}
	assert.True(t, w.TryAcquire(3), "Acquire with a done context took weight")
}

func TestWeightedLimitReachedNeverExceeded(t *testing.T) {
	for _, size := range []int64{1, 4, 64} {
		synctest.Test(t, func(t *testing.T) {
			w := semaphore.NewWeighted(size)
			var g gauge
			var wg sync.WaitGroup
			for range goroutines {
				wg.Go(func() {
					if !assert.NoError(t, w.Acquire(context.Background(), 1)) {
						return
					}
					defer w.Release(1)
					g.add(1)
					time.Sleep(hold)
					g.add(-1)
				})
			}
			wg.Wait()
			assert.Equal(t, size, g.peak.Load(), "peak weight in flight with size %d", size)
			assert.True(t, w.TryAcquire(size), "weight lost")
		})
	}
}

// TestWeightedMixedWeightsNeverExceeded runs random weights on real
// goroutines (no bubble, so the scheduler interleaves them freely) and
// checks the weight in flight never passes the size.
func TestWeightedMixedWeightsNeverExceeded(t *testing.T) {
	const size = 10
	w := semaphore.NewWeighted(size)
	var g gauge
	var wg sync.WaitGroup
	for i := range goroutines {
		k := int64(1 + i%size)
		wg.Go(func() {
			if !assert.NoError(t, w.Acquire(context.Background(), k)) {
				return
			}
			g.add(k)
			runtime.Gosched() // let others try to overlap while k is held
			g.add(-k)
			w.Release(k)
		})
	}
	wg.Wait()
	assert.LessOrEqual(t, g.peak.Load(), int64(size))
	assert.True(t, w.TryAcquire(size), "weight lost")
}

// TestWeightedNoDeadlockBetweenHeavyAcquirers is the case k calls to a
// counting semaphore get wrong: two goroutines that each need 3 of 4 can
// each take 2 and wait forever for the third. Weighted takes all k at once.
// Inside a bubble, a deadlock would fail the test instead of hanging it.
func TestWeightedNoDeadlockBetweenHeavyAcquirers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := semaphore.NewWeighted(4)
		var wg sync.WaitGroup
		for range 2 {
			wg.Go(func() {
				for range 1000 {
					if !assert.NoError(t, w.Acquire(context.Background(), 3)) {
						return
					}
					w.Release(3)
				}
			})
		}
		wg.Wait()
		assert.True(t, w.TryAcquire(4))
	})
}

// waitFor starts Acquire(ctx, k) on a goroutine and returns the channel its
// result arrives on, after synctest.Wait has let it queue.
func waitFor(ctx context.Context, w *semaphore.Weighted, k int64) <-chan error {
	errc := make(chan error, 1)
	go func() { errc <- w.Acquire(ctx, k) }()
	synctest.Wait()
	return errc
}

// ready reports whether a result has arrived, without blocking.
func ready(errc <-chan error) bool {
	return len(errc) > 0
}

func TestWeightedFIFO(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := semaphore.NewWeighted(10)
		require.NoError(t, w.Acquire(context.Background(), 10))

		// Queue in this order, each after the previous has blocked.
		a := waitFor(context.Background(), w, 6)
		b := waitFor(context.Background(), w, 6)
		c := waitFor(context.Background(), w, 1)
		assert.False(t, ready(a) || ready(b) || ready(c), "a waiter acquired from a full semaphore")

		w.Release(10)
		synctest.Wait()
		assert.True(t, ready(a), "A (6), the head, not granted with 10 free")
		assert.False(t, ready(b), "B (6) granted with only 4 free")
		// C would fit in the 4 that are free, but B is ahead of it: a
		// stream of small requests must not starve a large one.
		assert.False(t, ready(c), "C (1) overtook B (6)")
		assert.False(t, w.TryAcquire(1), "TryAcquire(1) barged past the queued B and C")

		w.Release(6) // A is done
		synctest.Wait()
		assert.True(t, ready(b), "B not granted once A released")
		assert.True(t, ready(c), "C not granted along with B")
		for _, errc := range []<-chan error{a, b, c} {
			assert.NoError(t, <-errc)
		}
		w.Release(7)
		assert.True(t, w.TryAcquire(10))
	})
}

// TestWeightedLargeNotStarved keeps two small acquirers cycling and checks
// that a request for the whole semaphore still gets it promptly.
func TestWeightedLargeNotStarved(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := semaphore.NewWeighted(2)
		var stop atomic.Bool
		var wg sync.WaitGroup
		for range 2 {
			wg.Go(func() {
				for i := 0; i < 1000 && !stop.Load(); i++ {
					if !assert.NoError(t, w.Acquire(context.Background(), 1)) {
						return
					}
					time.Sleep(hold)
					w.Release(1)
				}
			})
		}
		time.Sleep(10 * hold)
		start := time.Now()
		require.NoError(t, w.Acquire(context.Background(), 2))
		assert.LessOrEqual(t, time.Since(start), hold, "the large request waited for more than one round of small ones")
		stop.Store(true)
		w.Release(2)
		wg.Wait()
	})
}

func TestWeightedCancelAtHeadWakesThoseBehind(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := semaphore.NewWeighted(4)
		require.True(t, w.TryAcquire(3))

		ctx, cancel := context.WithCancel(context.Background())
		head := waitFor(ctx, w, 2)                    // needs 2, 1 free: waits
		behind := waitFor(context.Background(), w, 1) // fits, but queued behind head
		assert.False(t, ready(behind), "the second waiter overtook the head")

		cancel()
		synctest.Wait()
		assert.ErrorIs(t, <-head, context.Canceled)
		assert.True(t, ready(behind), "the waiter behind a cancelled head was not woken")
		assert.NoError(t, <-behind)
		w.Release(4)
		assert.True(t, w.TryAcquire(4), "weight lost")
	})
}

func TestWeightedCancelBehindHeadLeavesQueue(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := semaphore.NewWeighted(4)
		require.True(t, w.TryAcquire(3))

		head := waitFor(context.Background(), w, 2)
		ctx, cancel := context.WithCancel(context.Background())
		behind := waitFor(ctx, w, 2)
		last := waitFor(context.Background(), w, 1)

		cancel()
		synctest.Wait()
		assert.ErrorIs(t, <-behind, context.Canceled)
		assert.False(t, ready(head), "the head was granted without a Release")
		assert.False(t, ready(last), "the last waiter overtook the head")

		w.Release(3)
		synctest.Wait()
		assert.NoError(t, <-head)
		assert.NoError(t, <-last)
		w.Release(3)
		assert.True(t, w.TryAcquire(4), "weight lost")
	})
}

func TestWeightedAcquireTimesOutLeavingStateUnchanged(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := semaphore.NewWeighted(2)
		require.True(t, w.TryAcquire(2))
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		start := time.Now()
		assert.ErrorIs(t, w.Acquire(ctx, 1), context.DeadlineExceeded)
		assert.Equal(t, time.Second, time.Since(start))
		assert.False(t, w.TryAcquire(1), "a failed Acquire freed weight")
		w.Release(2)
		assert.True(t, w.TryAcquire(2), "a failed Acquire kept weight")
	})
}

func TestWeightedZeroWeight(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := semaphore.NewWeighted(1)
		assert.NoError(t, w.Acquire(context.Background(), 0), "Acquire(0) on a free semaphore")
		assert.True(t, w.TryAcquire(0))
		require.True(t, w.TryAcquire(1))
		assert.True(t, w.TryAcquire(0), "TryAcquire(0) on a full semaphore with no waiters")

		big := waitFor(context.Background(), w, 1)
		zero := waitFor(context.Background(), w, 0)
		assert.False(t, ready(zero), "Acquire(0) overtook a queued waiter")
		assert.False(t, w.TryAcquire(0), "TryAcquire(0) barged past a queued waiter")
		w.Release(0)
		w.Release(1)
		synctest.Wait()
		assert.NoError(t, <-big)
		assert.NoError(t, <-zero)
		w.Release(1)
	})
}

// TestWeightedCancelRacingRelease races a queued waiter's cancellation
// against the Release that would grant it, 10^4 times, on real goroutines.
// The waiter is queued before the race starts (TryAcquire(0) fails once it
// is), so that each try races the cancel path against the grant rather
// than a Release against an Acquire that has not begun; which of cancel
// and Release starts first alternates. Whichever wins, no weight may be
// lost or created: afterwards TryAcquire(size) succeeds, and no more.
func TestWeightedCancelRacingRelease(t *testing.T) {
	const size = 3
	w := semaphore.NewWeighted(size)
	require.True(t, w.TryAcquire(size))
	rng := rand.New(rand.NewPCG(1, 2))
	var granted, cancelled int
	for i := range 10_000 {
		k := 1 + rng.Int64N(size)
		ctx, cancel := context.WithCancel(context.Background())
		errc := make(chan error, 1)
		go func() { errc <- w.Acquire(ctx, k) }()
		for w.TryAcquire(0) {
			runtime.Gosched() // until the waiter is queued
		}
		var wg sync.WaitGroup
		if i%2 == 0 {
			wg.Go(cancel)
			w.Release(size)
		} else {
			wg.Go(func() { w.Release(size) })
			cancel()
		}
		wg.Wait()
		if <-errc == nil {
			granted++
			w.Release(k)
		} else {
			cancelled++
		}
		require.True(t, w.TryAcquire(size), "iteration %d (k=%d): weight lost", i, k)
		require.False(t, w.TryAcquire(1), "iteration %d (k=%d): weight created", i, k)
	}
	t.Logf("granted %d, cancelled %d", granted, cancelled)
}

// TestWeightedAcquireCancelledBeforeFree: as for Counting, a ctx
// cancelled before the weight is released fails the Acquire waiting for it.
func TestWeightedAcquireCancelledBeforeFree(t *testing.T) {
	w := semaphore.NewWeighted(2)
	cancelThenFree(t,
		func() { require.True(t, w.TryAcquire(2)) },
		func(ctx context.Context) error { return w.Acquire(ctx, 2) },
		func() { w.Release(2) },
		func() bool {
			if !w.TryAcquire(2) {
				return true
			}
			w.Release(2)
			return false
		})
}

// TestWeightedSlowPathTakesWeightFreedBeforeItLocks: an Acquire that
// found no room, yielded, and found none again, goes for the lock to
// queue; if the weight is freed before it gets the lock, it takes the
// weight instead of queueing behind nobody, and gives the lock back.
// (Holding the lock is the white-box hook of export_test.go.)
func TestWeightedSlowPathTakesWeightFreedBeforeItLocks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := semaphore.NewWeighted(2)
		require.True(t, w.TryAcquire(2))
		semaphore.LockWeighted(w)
		errc := make(chan error, 1)
		go func() { errc <- w.Acquire(context.Background(), 2) }()
		synctest.Wait() // at the lock, not queued: TryAcquire(0) still works
		require.True(t, w.TryAcquire(0), "the Acquire queued without the lock")
		w.Release(2) // lock-free: nobody is queued
		semaphore.UnlockWeighted(w)
		require.NoError(t, <-errc)
		assert.False(t, w.TryAcquire(1), "the Acquire did not take its 2")

		// The lock was given back: a waiter can queue and be served.
		go func() { errc <- w.Acquire(context.Background(), 1) }()
		synctest.Wait()
		assert.Empty(t, errc, "Acquire(1) with all 2 held")
		w.Release(2)
		assert.NoError(t, <-errc)
		w.Release(1)
		assert.True(t, w.TryAcquire(2), "weight was lost")
	})
}

// TestWeightedBlockingAllocatesNothing holds the promise that waiters
// are recycled: once warm, an Acquire that queues and is granted, or
// queues and gives up, allocates nothing (beyond its ctx's own channel).
// GOMAXPROCS(1) keeps the waiter's recycling on one P's pool.
func TestWeightedBlockingAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops values at random under the race detector")
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	w := semaphore.NewWeighted(1)
	reqs := make(chan context.Context)
	results := make(chan error)
	go func() {
		for ctx := range reqs {
			results <- w.Acquire(ctx, 1)
		}
	}()
	defer close(reqs)
	queue := func(ctx context.Context) {
		require.True(t, w.TryAcquire(1))
		reqs <- ctx
		for w.TryAcquire(0) { // succeeds until the Acquire has queued
			runtime.Gosched()
		}
	}
	granted := func() {
		queue(context.Background())
		w.Release(1)
		if err := <-results; err != nil {
			t.Fatal(err)
		}
		w.Release(1)
	}
	cancelled := func() {
		ctx, cancel := context.WithCancel(context.Background())
		queue(ctx)
		cancel()
		if err := <-results; err == nil {
			t.Fatal("Acquire succeeded with its ctx cancelled and the weight held")
		}
		w.Release(1)
	}
	ctxOnly := func() { // what cancelled allocates for its ctx
		ctx, cancel := context.WithCancel(context.Background())
		_ = ctx.Done()
		cancel()
	}
	granted()
	cancelled()
	assert.Less(t, testing.AllocsPerRun(100, granted), 0.5, "a queued, granted Acquire allocates")
	assert.Less(t, testing.AllocsPerRun(100, cancelled)-testing.AllocsPerRun(100, ctxOnly), 0.5, "a queued, cancelled Acquire allocates")
}
