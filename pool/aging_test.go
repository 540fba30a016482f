package pool_test

import (
	"runtime"
	"sync"
	"testing"
	"testing/synctest"
	"time"
	"weak"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-compendium/compendium/pool"
)

const ttl = time.Second

// aging returns an AgingRecycler of *buf with the test's ttl. Inside a
// synctest bubble the caller closes it before the bubble ends.
func aging(size int, opts ...pool.AgingOption[buf]) *pool.AgingRecycler[buf] {
	return pool.NewAgingRecycler(size, ttl, newBuf, opts...)
}

// TestAgingExpiresWithinATick checks the TTL's promise: a value is still
// idle a nanosecond before ttl, and released by ttl + ttl/4, wherever in
// the timer's ticks it was put. A first value, put at 0, starts the
// ticks; the value under test, put offset later, is told apart from it by
// its size.
func TestAgingExpiresWithinATick(t *testing.T) {
	for _, offset := range []time.Duration{0, time.Nanosecond, ttl / 8, ttl/4 - time.Nanosecond, ttl / 4, ttl/2 + ttl/8} {
		t.Run(offset.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				a := aging(4, pool.MaxIdleBytes(1000, func(b *buf) int { return b.owner[0] }))
				defer a.Close()
				first, tested := newBuf(), newBuf()
				first.owner[0], tested.owner[0] = 1, 100
				a.Put(first)
				time.Sleep(offset)
				a.Put(tested)

				time.Sleep(ttl - time.Nanosecond)
				synctest.Wait()
				st := a.Stats()
				assert.GreaterOrEqual(t, st.IdleBytes, uint64(100), "idle a nanosecond before its TTL: %+v", st)

				time.Sleep(ttl/4 + time.Nanosecond)
				synctest.Wait()
				st = a.Stats()
				assert.Equal(t, uint64(101), st.ExpiredBytes, "both expired a quarter TTL after: %+v", st)
				checkStats(t, st)
			})
		})
	}
}

// TestAgingOddTTL checks the TTL's promise for TTLs that are not a whole
// number of ticks: never released before ttl, and released by ttl plus a
// tick (ttl/4 rounded up) and the few nanoseconds of rounding.
func TestAgingOddTTL(t *testing.T) {
	for _, ttl := range []time.Duration{1, 2, 3, 5, 7, time.Second + 1, time.Second + 3, time.Second - 1} {
		t.Run(ttl.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				a := pool.NewAgingRecycler(4, ttl, newBuf)
				defer a.Close()
				a.Put(newBuf())
				time.Sleep(ttl - 1)
				synctest.Wait()
				assert.Equal(t, uint64(1), a.Stats().Idle, "a nanosecond before ttl")
				tick := (ttl + 3) / 4
				time.Sleep(1 + tick + 4)
				synctest.Wait()
				assert.Equal(t, uint64(1), a.Stats().Expired, "a tick after ttl")
			})
		})
	}
}

func TestAgingValueInUseNeverExpires(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := aging(4)
		defer a.Close()
		a.Put(newBuf()) // keeps the timer ticking
		b := a.Get()
		time.Sleep(10 * ttl)
		a.Put(b)
		time.Sleep(ttl - time.Nanosecond)
		synctest.Wait()
		assert.Same(t, b, a.Get(), "a value held 10 TTLs, then idle just under one, is reused")
		st := a.Stats()
		assert.Zero(t, st.Expired)
		checkStats(t, st)
	})
}

func TestAgingLIFO(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := aging(4)
		defer a.Close()
		x, y, z := newBuf(), newBuf(), newBuf()
		a.Put(x)
		a.Put(y)
		a.Put(z)
		assert.Same(t, z, a.Get(), "first Get: the newest")
		assert.Same(t, y, a.Get())
		assert.Same(t, x, a.Get(), "last Get: the oldest")
	})
}

// TestAgingOldestExpiresFirst puts two values half a TTL apart: the older
// expires first, the newer half a TTL later, each within its window.
func TestAgingOldestExpiresFirst(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := aging(4)
		defer a.Close()
		old, young := newBuf(), newBuf()
		a.Put(old)
		time.Sleep(ttl / 2)
		a.Put(young)
		time.Sleep(ttl/2 + ttl/4 + time.Nanosecond)
		synctest.Wait()
		st := a.Stats()
		assert.Equal(t, uint64(1), st.Expired, "a quarter TTL after the first value's TTL")
		assert.Same(t, young, a.Get(), "the younger value is the one left")
	})
}

// TestAgingPurgesUnderSteadyTraffic is the Cloudflare post's bug: its
// purge ran in a select's timeout case, re-armed on every loop, so under
// traffic more frequent than the timeout it never ran. Here one value
// circulates every TTL/10 while a second sits idle underneath it; the idle
// one must still expire.
func TestAgingPurgesUnderSteadyTraffic(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := aging(4)
		defer a.Close()
		cold, hot := newBuf(), newBuf()
		a.Put(cold)
		a.Put(hot)
		for range 13 {
			time.Sleep(ttl / 10)
			b := a.Get()
			require.Same(t, hot, b, "LIFO: the hot value circulates")
			a.Put(b)
		}
		synctest.Wait()
		st := a.Stats()
		assert.Equal(t, uint64(1), st.Expired, "the cold value expired under steady traffic")
		assert.Equal(t, uint64(1), st.Idle)
		checkStats(t, st)
	})
}

func TestAgingMaxIdleBytes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := aging(10, pool.MaxIdleBytes(10, func(*buf) int { return 4 }))
		defer a.Close()
		for range 3 {
			a.Put(newBuf())
		}
		st := a.Stats()
		assert.Equal(t, uint64(2), st.Idle, "two of 4 bytes fit under 10")
		assert.Equal(t, uint64(8), st.IdleBytes)
		assert.Equal(t, uint64(1), st.Dropped)

		a.Get()
		st = a.Stats()
		assert.Equal(t, uint64(4), st.IdleBytes, "a Get hit takes its value's bytes off")
		a.Put(newBuf())
		a.Put(newBuf())
		assert.Equal(t, uint64(2), a.Stats().Dropped, "and makes room for one more, not two")

		time.Sleep(ttl + ttl/4)
		synctest.Wait()
		st = a.Stats()
		assert.Equal(t, uint64(8), st.ExpiredBytes)
		assert.Zero(t, st.IdleBytes)
		a.Put(newBuf())
		a.Put(newBuf())
		assert.Equal(t, uint64(8), a.Stats().IdleBytes, "expiry made room")
		checkStats(t, a.Stats())
	})
}

// TestAgingMaxIdleBytesRoomForCount checks that the bytes of a value
// dropped for lack of a place do not stay counted: after many such drops
// of small values, a large one that fits under the limit is kept.
func TestAgingMaxIdleBytesRoomForCount(t *testing.T) {
	a := aging(1, pool.MaxIdleBytes(10, func(b *buf) int { return b.owner[0] }))
	defer a.Close()
	small, large := newBuf(), newBuf()
	small.owner[0], large.owner[0] = 1, 10
	for range 20 {
		a.Put(small) // the first is kept, the others dropped: no place
	}
	a.Get()
	a.Put(large)
	st := a.Stats()
	assert.Equal(t, uint64(10), st.IdleBytes, "the large value fits: %+v", st)
	assert.Equal(t, uint64(19), st.Dropped)
}

// TestAgingMaxIdleBytesZeroSize checks that a size of 0 is a size, not an
// error: such values are kept, and count nothing against the limit.
func TestAgingMaxIdleBytesZeroSize(t *testing.T) {
	a := aging(4, pool.MaxIdleBytes(1, func(*buf) int { return 0 }))
	defer a.Close()
	for range 4 {
		a.Put(newBuf())
	}
	assert.Equal(t, pool.RecyclerStats{Puts: 4, Kept: 4, Idle: 4}, a.Stats())
}

// TestAgingMaxIdleBytesLargerThanLimit checks that a value larger than
// the whole limit is never kept, even into an empty recycler.
func TestAgingMaxIdleBytesLargerThanLimit(t *testing.T) {
	a := aging(4, pool.MaxIdleBytes(10, func(*buf) int { return 11 }))
	defer a.Close()
	a.Put(newBuf())
	assert.Equal(t, pool.RecyclerStats{Puts: 1, Dropped: 1}, a.Stats())
}

func TestAgingClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := aging(4, pool.MaxIdleBytes(100, func(*buf) int { return 10 }))
		kept := newBuf()
		a.Put(kept)

		var wg sync.WaitGroup
		for range 3 {
			wg.Go(func() { assert.NoError(t, a.Close()) }) // concurrent and repeated Close
		}
		wg.Wait()
		assert.NoError(t, a.Close())

		st := a.Stats()
		assert.Equal(t, uint64(1), st.Expired, "Close releases the idle value")
		assert.Equal(t, uint64(10), st.ExpiredBytes)
		assert.Zero(t, st.Idle)
		assert.Zero(t, st.IdleBytes)

		assert.NotSame(t, kept, a.Get(), "Get after Close makes a value")
		a.Put(kept)
		st = a.Stats()
		assert.Equal(t, pool.RecyclerStats{Gets: 1, Misses: 1, Puts: 2, Kept: 1, Dropped: 1, Expired: 1, ExpiredBytes: 10}, st,
			"after Close, Get counts a miss and Put a drop")
		checkStats(t, st)
		time.Sleep(10 * ttl) // no timer left to fire
	})
}

// TestAgingCloseDuringTicks closes recyclers while their timer ticks,
// puts and gets run: Close returns nil, no value stays idle, and the
// bubble ends with nothing left running or armed.
func TestAgingCloseDuringTicks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		for i := range 20 {
			a := aging(16)
			var wg sync.WaitGroup
			for g := range 4 {
				wg.Go(func() {
					for j := range 20 {
						a.Put(a.Get())
						if j%5 == g {
							time.Sleep(ttl / 8)
						}
					}
				})
			}
			time.Sleep(time.Duration(i) * ttl / 16)
			assert.NoError(t, a.Close())
			wg.Wait()
			st := a.Stats()
			assert.Zero(t, st.Idle, "round %d", i)
			checkStats(t, st)
		}
	})
}

// TestAgingStatsSeeOwnOperations checks that Stats counts every Get and
// Put that returned before it.
func TestAgingStatsSeeOwnOperations(t *testing.T) {
	a := aging(4)
	defer a.Close()
	for i := range 100 {
		a.Put(a.Get())
		st := a.Stats()
		require.Equal(t, uint64(i+1), st.Gets)
		require.Equal(t, uint64(i+1), st.Kept)
	}
}

// TestAgingForgottenIsCollected drops an AgingRecycler without Close:
// once its values have expired, its timer has stopped and nothing refers
// to it, so the garbage collector frees it.
func TestAgingForgottenIsCollected(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		forget := func() weak.Pointer[pool.AgingRecycler[buf]] {
			a := aging(4)
			a.Put(a.Get())
			a.Put(newBuf())
			return weak.Make(a)
		}
		w := forget()
		time.Sleep(2 * ttl)
		synctest.Wait()
		runtime.GC()
		assert.Nil(t, w.Value(), "the recycler is still reachable: its timer kept ticking")
	})
}

// TestAgingPutsRacingToArm has goroutines Put into an idle recycler all
// at once, round after round: however many race to set the timer, it is
// set once, so that the ticks end and Close returns.
func TestAgingPutsRacingToArm(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := aging(64)
		for range 50 {
			start := make(chan struct{})
			var wg sync.WaitGroup
			for range 16 {
				wg.Go(func() {
					<-start
					a.Put(newBuf())
				})
			}
			close(start)
			wg.Wait()
			time.Sleep(2 * ttl) // all expire; the timer stops
		}
		assert.NoError(t, a.Close())
		st := a.Stats()
		assert.Equal(t, st.Kept, st.Expired)
	})
}

// TestAgingPutRacingTheLastTick puts a value at the very instant of the
// tick that finds the recycler empty and stops the timer, round after
// round: whichever runs first, the value must still expire.
func TestAgingPutRacingTheLastTick(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := aging(2)
		defer a.Close()
		const tick = ttl / 4
		for range 500 {
			a.Put(newBuf())
			// Expired at the fifth tick, which also stops the timer.
			time.Sleep(5 * tick)
		}
		time.Sleep(2 * ttl)
		synctest.Wait()
		st := a.Stats()
		assert.Zero(t, st.Idle, "a value outlived its TTL: the timer stopped under it")
		assert.Equal(t, st.Kept, st.Expired)
	})
}

// TestAgingExpiryMakesRoom fills a recycler, lets every value expire, and
// fills it again: the places the expired values held are free.
func TestAgingExpiryMakesRoom(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		for _, size := range []int{1, 4, 64} {
			a := aging(size)
			for range size {
				a.Put(newBuf())
			}
			time.Sleep(ttl + ttl/4)
			synctest.Wait()
			require.Equal(t, uint64(size), a.Stats().Expired)
			for range size {
				a.Put(newBuf())
			}
			st := a.Stats()
			assert.Equal(t, uint64(size), st.Idle, "size %d: refilled after expiry", size)
			assert.Zero(t, st.Dropped)
			assert.NoError(t, a.Close())
		}
	})
}

// TestAgingRearmsAfterQuiet checks that the timer, which stops ticking
// once nothing is idle, starts again with the next Put.
func TestAgingRearmsAfterQuiet(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := aging(4)
		defer a.Close()
		for round := range 3 {
			a.Put(newBuf())
			time.Sleep(ttl + ttl/4)
			synctest.Wait()
			assert.Equal(t, uint64(round+1), a.Stats().Expired, "round %d", round)
			time.Sleep(5 * ttl) // quiet: the timer is not ticking
		}
	})
}

// TestAgingPanickingSize checks that a MaxIdleBytes size function that
// panics, or returns a negative size, leaves nothing counted and nothing
// reserved: the next value still fits.
func TestAgingPanickingSize(t *testing.T) {
	size := -1
	a := aging(4, pool.MaxIdleBytes(10, func(*buf) int {
		if size == 0 {
			panic("size")
		}
		return size
	}))
	defer a.Close()
	assert.Panics(t, func() { a.Put(newBuf()) })
	size = 0
	assert.PanicsWithValue(t, "size", func() { a.Put(newBuf()) })
	assert.Equal(t, pool.RecyclerStats{}, a.Stats(), "a Put that panicked counts nothing")
	size = 10
	a.Put(newBuf())
	assert.Equal(t, pool.RecyclerStats{Puts: 1, Kept: 1, Idle: 1, IdleBytes: 10}, a.Stats())
}

// TestAgingCloseWaitsForTick holds a tick in progress and closes the
// recycler: Close returns only once the tick has ended, as it promises
// (it joins every goroutine it started), and releases the idle value.
func TestAgingCloseWaitsForTick(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := aging(4)
		inTick, resume := make(chan struct{}), make(chan struct{})
		pool.SetTickHook(a, func() {
			inTick <- struct{}{}
			<-resume
		})
		a.Put(newBuf())
		<-inTick // the first tick, ttl/4 after the Put, has begun
		closed := make(chan error, 1)
		go func() { closed <- a.Close() }()
		synctest.Wait()
		select {
		case <-closed:
			t.Fatal("Close returned while a tick was in progress")
		default:
		}
		close(resume)
		assert.NoError(t, <-closed)
		st := a.Stats()
		assert.Zero(t, st.Idle)
		assert.Equal(t, uint64(1), st.Expired, "Close released the value")
		checkStats(t, st)
	})
}
