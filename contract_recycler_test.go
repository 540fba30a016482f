package compendium_test

import (
	"runtime"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/go-compendium/compendium/pool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// pool.AgingRecycler is not one of the subjects of TestLifecycleContract:
// that test's cases submit work that runs on goroutines the owner started,
// so that a panic or a Goexit there must come back through Close, and an
// AgingRecycler runs none of your code on its goroutines (its timer only
// releases idle values; the new function and the options run on the
// goroutine that calls Get or Put). TestAgingRecyclerLifecycle holds it to
// the parts of the contract that apply.
func TestAgingRecyclerLifecycle(t *testing.T) {
	const ttl = time.Second
	newInt := func() *int { return new(int) }

	t.Run("close-twice-and-concurrently", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			a := pool.NewAgingRecycler(8, ttl, newInt)
			a.Put(new(int))
			var wg sync.WaitGroup
			for range 3 {
				wg.Go(func() { assert.NoError(t, a.Close()) })
			}
			wg.Wait()
			assert.NoError(t, a.Close(), "Close is idempotent")
		})
	})
	t.Run("close-joins-the-timer", func(t *testing.T) {
		// Close while the timer ticks, at every phase of a tick: the
		// bubble ends only if nothing of the recycler is left running or
		// armed.
		synctest.Test(t, func(t *testing.T) {
			for i := range 8 {
				a := pool.NewAgingRecycler(8, ttl, newInt)
				a.Put(new(int))
				time.Sleep(time.Duration(i) * ttl / 8)
				assert.NoError(t, a.Close())
				st := a.Stats()
				assert.Zero(t, st.Idle, "Close releases every idle value")
				assert.Equal(t, uint64(1), st.Expired)
			}
		})
	})
	t.Run("panic-in-your-code-surfaces-at-the-call", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			a := pool.NewAgingRecycler(8, ttl, func() *int { panic("in newFn") },
				pool.KeepIf(func(*int) bool { panic("in KeepIf") }))
			assert.PanicsWithValue(t, "in newFn", func() { a.Get() }, "on the caller's goroutine")
			assert.PanicsWithValue(t, "in KeepIf", func() { a.Put(new(int)) })
			assert.NoError(t, a.Close(), "the panics were the caller's: Close has none to report")
			st := a.Stats()
			assert.Equal(t, st.Gets, st.Hits+st.Misses)
			assert.Zero(t, st.Puts, "a Put that panicked in KeepIf counts nothing")
		})
	})
	t.Run("goexit-in-your-code", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			a := pool.NewAgingRecycler(8, ttl, func() *int { runtime.Goexit(); return nil })
			done := make(chan struct{})
			go func() {
				defer close(done)
				a.Get()
				t.Error("Get returned although newFn called runtime.Goexit")
			}()
			<-done
			a.Put(new(int))
			assert.NotNil(t, a.Get(), "the recycler still works")
			assert.NoError(t, a.Close())
		})
	})
	t.Run("work-after-close", func(t *testing.T) {
		// Get and Put have no error to return: after Close, Get makes a
		// value and Put drops its value, each counted.
		a := pool.NewAgingRecycler(8, ttl, newInt)
		require.NoError(t, a.Close())
		a.Put(a.Get())
		assert.Equal(t, pool.RecyclerStats{Gets: 1, Misses: 1, Puts: 1, Dropped: 1}, a.Stats())
	})
	t.Run("programming-errors-panic-at-the-call", func(t *testing.T) {
		for name, f := range map[string]func(){
			"size":  func() { pool.NewAgingRecycler(0, ttl, newInt) },
			"ttl":   func() { pool.NewAgingRecycler(1, -ttl, newInt) },
			"newFn": func() { pool.NewAgingRecycler[int](1, ttl, nil) },
		} {
			v := catchPanic(f)
			msg, _ := v.(string)
			assert.True(t, strings.HasPrefix(msg, "pool: NewAgingRecycler: "+name+" must "), "%s: panicked with %v", name, v)
		}
	})
}
