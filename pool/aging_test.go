package pool_test

import (
	"runtime"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/go-compendium/compendium/pool"
)

const ttl = time.Second

// aging returns an AgingRecycler of *buf with the test's ttl, closed when
// the test ends (which, inside a synctest bubble, must happen before the
// bubble ends: callers defer Close themselves there).
func aging(size int, opts ...pool.AgingOption[*buf]) *pool.AgingRecycler[*buf] {
	return pool.NewAgingRecycler(size, ttl, newBuf, opts...)
}

func TestAgingExpiresAtTTL(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := aging(4)
		defer a.Close()
		a.Put(newBuf())

		time.Sleep(ttl - time.Nanosecond)
		synctest.Wait()
		st := a.Stats()
		assert.Equal(t, 1, st.Idle, "idle a nanosecond before its TTL")
		assert.Zero(t, st.Expired)

		time.Sleep(time.Nanosecond)
		synctest.Wait()
		st = a.Stats()
		assert.Zero(t, st.Idle, "idle at its TTL")
		assert.Equal(t, uint64(1), st.Expired)
		checkStats(t, st)
	})
}

func TestAgingValueInUseNeverExpires(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := aging(4)
		defer a.Close()
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
// expires at its TTL, the newer half a TTL later, each exactly on time.
func TestAgingOldestExpiresFirst(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := aging(4)
		defer a.Close()
		old, young := newBuf(), newBuf()
		a.Put(old)
		time.Sleep(ttl / 2)
		a.Put(young)
		time.Sleep(ttl / 2)
		synctest.Wait()
		assert.Equal(t, uint64(1), a.Stats().Expired, "at the first value's TTL")
		time.Sleep(ttl/2 - time.Nanosecond)
		synctest.Wait()
		assert.Equal(t, 1, a.Stats().Idle, "just before the second value's TTL")
		time.Sleep(time.Nanosecond)
		synctest.Wait()
		assert.Equal(t, uint64(2), a.Stats().Expired, "at the second value's TTL")
	})
}

// TestAgingPurgesUnderSteadyTraffic is the Cloudflare post's bug: its
// purge ran in a select's timeout case, re-armed on every loop, so under
// traffic more frequent than the timeout it never ran. Here one value
// circulates every TTL/10 while a second sits idle underneath it; the idle
// one must still expire at its TTL.
func TestAgingPurgesUnderSteadyTraffic(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := aging(4)
		defer a.Close()
		cold, hot := newBuf(), newBuf()
		a.Put(cold)
		a.Put(hot)
		for range 10 {
			time.Sleep(ttl / 10)
			b := a.Get()
			require.Same(t, hot, b, "LIFO: the hot value circulates")
			a.Put(b)
		}
		synctest.Wait()
		st := a.Stats()
		assert.Equal(t, uint64(1), st.Expired, "the cold value expired under steady traffic")
		assert.Equal(t, 1, st.Idle)
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
		assert.Equal(t, 2, st.Idle, "two of 4 bytes fit under 10")
		assert.Equal(t, int64(8), st.IdleBytes)
		assert.Equal(t, uint64(1), st.Drops)
		time.Sleep(ttl)
		synctest.Wait()
		st = a.Stats()
		assert.Equal(t, int64(8), st.ExpiredBytes)
		assert.Zero(t, st.IdleBytes)
		checkStats(t, st)
	})
}

func TestAgingClose(t *testing.T) {
	a := aging(4)
	kept := newBuf()
	a.Put(kept)

	var wg sync.WaitGroup
	for range 3 {
		wg.Go(a.Close) // concurrent and repeated Close: all return
	}
	wg.Wait()
	a.Close()

	st := a.Stats()
	assert.Equal(t, uint64(1), st.Expired, "Close releases the idle value")
	assert.Zero(t, st.Idle)

	assert.NotSame(t, kept, a.Get(), "Get after Close makes a value")
	a.Put(kept)
	st = a.Stats()
	assert.Equal(t, pool.RecyclerStats{Gets: 1, Misses: 1, Puts: 2, Kept: 1, Drops: 1, Expired: 1}, st,
		"after Close, Get counts a miss and Put a drop")
	checkStats(t, st)
}

// TestAgingStatsSeeOwnOperations checks that Stats counts every Get and
// Put that returned before it, although the owner goroutine does the
// counting.
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

// TestAgingForgottenCloseLeaksNothing drops an AgingRecycler without
// Close: its cleanup must stop the owner goroutine once the garbage
// collector finds the recycler unreachable.
func TestAgingForgottenCloseLeaksNothing(t *testing.T) {
	forget := func() {
		a := aging(4)
		a.Put(a.Get())
	}
	forget()
	runtime.GC() // runs the cleanup, which closes quit; goleak retries until the owner is gone
	goleak.VerifyNone(t)
}

// TestAgingNegativeSize checks that a MaxIdleBytes size function returning
// a negative size is reported as the caller's bug, on the caller's
// goroutine, rather than silently loosening the byte bound.
func TestAgingNegativeSize(t *testing.T) {
	a := aging(10, pool.MaxIdleBytes(8, func(*buf) int { return -4 }))
	defer a.Close()
	assert.PanicsWithValue(t, "pool: MaxIdleBytes size function must not return a negative size, got -4",
		func() { a.Put(newBuf()) })
	assert.Equal(t, pool.RecyclerStats{}, a.Stats(), "a Put that panicked counts nothing")
}
