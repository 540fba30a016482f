package timeout_test

import (
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/go-compendium/compendium/timeout"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// firings records when an IdleTimer's f ran, relative to epoch.
type firings struct {
	mu    sync.Mutex
	epoch time.Time
	at    []time.Duration
}

func newFirings() *firings { return &firings{epoch: time.Now()} }

func (f *firings) f() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.at = append(f.at, time.Since(f.epoch))
}

func (f *firings) times() []time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.at
}

const ms = time.Millisecond

func TestIdleTimerFiresDAfterLastTouch(t *testing.T) {
	cases := []struct {
		name    string
		touches []time.Duration // when to Touch, from the start
		want    []time.Duration // when f must run
	}{
		{"no touch", nil, []time.Duration{50 * ms}},
		{"touched once", []time.Duration{20 * ms}, []time.Duration{70 * ms}},
		{"burst", []time.Duration{10 * ms, 20 * ms, 30 * ms, 40 * ms, 45 * ms}, []time.Duration{95 * ms}},
		{"touch just before expiry", []time.Duration{49 * ms}, []time.Duration{99 * ms}},
		{"after f, touch re-arms", []time.Duration{200 * ms}, []time.Duration{50 * ms, 250 * ms}},
		{"two idle periods", []time.Duration{30 * ms, 200 * ms, 210 * ms}, []time.Duration{80 * ms, 260 * ms}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				fs := newFirings()
				it := timeout.NewIdleTimer(50*ms, fs.f)
				for _, at := range c.touches {
					time.Sleep(at - time.Since(fs.epoch))
					it.Touch()
				}
				time.Sleep(time.Second) // f runs once per idle period, not every d
				synctest.Wait()
				assert.Equal(t, c.want, fs.times(), "f ran at")
				assert.False(t, it.Stop(), "Stop() of a resting timer = true")
			})
		})
	}
}

func TestIdleTimerStopBeforeExpiry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fs := newFirings()
		it := timeout.NewIdleTimer(50*ms, fs.f)
		time.Sleep(30 * ms)
		assert.True(t, it.Stop(), "Stop() of an armed timer = false")
		assert.False(t, it.Stop(), "second Stop() = true")
		it.Touch() // after Stop: does nothing
		time.Sleep(time.Second)
		synctest.Wait()
		assert.Empty(t, fs.times(), "f ran after Stop")
	})
}

func TestIdleTimerStopWaitsForRunningF(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		var finished atomic.Bool
		it := timeout.NewIdleTimer(10*ms, func() {
			<-release
			finished.Store(true)
		})
		time.Sleep(10 * ms)
		synctest.Wait() // f is running, blocked on release
		stopped := make(chan struct{})
		go func() {
			it.Stop()
			close(stopped)
		}()
		synctest.Wait()
		require.False(t, received(stopped), "Stop returned while f was running")
		close(release)
		<-stopped
		assert.True(t, finished.Load())
	})
}

func TestIdleTimerTouchDuringF(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fs := newFirings()
		release := make(chan struct{}, 1)
		it := timeout.NewIdleTimer(50*ms, func() {
			fs.f()
			time.Sleep(20 * ms) // a slow f
			<-release
		})
		release <- struct{}{}
		time.Sleep(60 * ms) // f started at 50ms and runs until 70ms
		it.Touch()          // at 60ms: f is still running
		release <- struct{}{}
		time.Sleep(time.Second)
		synctest.Wait()
		assert.Equal(t, []time.Duration{50 * ms, 110 * ms}, fs.times(), "a Touch during f re-arms from the Touch")
		it.Stop()
	})
}

func TestIdleTimerConcurrentTouch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fs := newFirings()
		it := timeout.NewIdleTimer(50*ms, fs.f)
		var wg sync.WaitGroup
		for g := range 4 {
			wg.Go(func() {
				for i := range 100 {
					time.Sleep(time.Duration(1+(i+g)%3) * ms)
					it.Touch()
				}
			})
		}
		wg.Wait()
		last := time.Since(fs.epoch)
		time.Sleep(time.Second)
		synctest.Wait()
		assert.Equal(t, []time.Duration{last + 50*ms}, fs.times(), "one expiry, d after the last Touch")
		it.Stop()
	})
}

func TestIdleTimerTouchDoesNotAllocate(t *testing.T) {
	it := timeout.NewIdleTimer(time.Hour, func() {})
	defer it.Stop()
	assert.Zero(t, testing.AllocsPerRun(1000, it.Touch), "allocations per Touch")
}

func TestIdleTimerBadArguments(t *testing.T) {
	assert.PanicsWithValue(t, "timeout: NewIdleTimer: d must be positive, got 0s", func() { timeout.NewIdleTimer(0, func() {}) })
	assert.PanicsWithValue(t, "timeout: NewIdleTimer: d must be positive, got -1s", func() { timeout.NewIdleTimer(-time.Second, func() {}) })
	assert.PanicsWithValue(t, "timeout: NewIdleTimer: f is nil", func() { timeout.NewIdleTimer(time.Second, nil) })
	assert.PanicsWithValue(t, "timeout: NewHeartbeat: d must be positive, got 0s", func() { timeout.NewHeartbeat(0) })
	assert.PanicsWithValue(t, "timeout: NewHeartbeat: d must be positive, got -1ns", func() { timeout.NewHeartbeat(-1) })
}

// TestIdleTimerStopRacingExpiry stops timers at the very instant they
// expire, and touches others at that instant: whichever side wins, Stop
// returns, and nothing runs after it.
func TestIdleTimerStopRacingExpiry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var afterStop atomic.Int32
		for range 100 {
			var stopped atomic.Bool
			it := timeout.NewIdleTimer(10*ms, func() {
				if stopped.Load() {
					afterStop.Add(1)
				}
			})
			touched := timeout.NewIdleTimer(10*ms, func() {})
			time.Sleep(10 * ms) // wakes at the same instant as both expiries
			touched.Touch()
			it.Stop()
			stopped.Store(true)
			time.Sleep(50 * ms)
			touched.Stop()
		}
		assert.Zero(t, afterStop.Load(), "f ran after Stop returned")
	})
}

// TestIdleTimerStopFromFViaGoroutine is the way Stop's doc gives f to stop
// its own timer (a plain Stop from f would wait for itself): the Stop
// returns once f has, and later Touches bring no expiry.
func TestIdleTimerStopFromFViaGoroutine(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fs := newFirings()
		// An atomic, since nothing orders NewIdleTimer's return before
		// f's run (as with time.AfterFunc).
		var self atomic.Pointer[timeout.IdleTimer]
		it := timeout.NewIdleTimer(10*ms, func() {
			fs.f()
			go self.Load().Stop()
		})
		self.Store(it)
		time.Sleep(20 * ms)
		synctest.Wait() // f ran, and its Stop returned
		it.Touch()
		time.Sleep(time.Second)
		assert.Equal(t, []time.Duration{10 * ms}, fs.times(), "f ran at")
		assert.False(t, it.Stop())
	})
}
