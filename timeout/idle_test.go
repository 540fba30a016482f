package timeout_test

import (
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
			// An expiry that lost the race to Stop left both timers
			// usable: a later Close neither hangs nor finds work.
			require.NoError(t, it.Close())
			require.NoError(t, touched.Close())
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
func TestIdleTimerStopReportsRearmPendingAfterF(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fs := newFirings()
		release := make(chan struct{})
		it := timeout.NewIdleTimer(10*ms, func() { fs.f(); <-release })
		time.Sleep(15 * ms) // f runs from 10ms, blocked on release
		it.Touch()          // during f: an expiry is due d after f returns
		done := make(chan bool)
		go func() { done <- it.Stop() }()
		synctest.Wait()
		close(release)
		assert.True(t, <-done, "Stop prevented the expiry the Touch scheduled, so it must report true")
		time.Sleep(time.Second)
		assert.Equal(t, []time.Duration{10 * ms}, fs.times())
	})
}

func TestIdleTimerStopAfterQuietRearm(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fs := newFirings()
		it := timeout.NewIdleTimer(50*ms, fs.f)
		time.Sleep(20 * ms)
		it.Touch()          // the timer wakes at 50ms and re-arms for 70ms
		time.Sleep(40 * ms) // 60ms: armed again, not resting
		assert.True(t, it.Stop(), "Stop() after a re-arm = false")
		time.Sleep(time.Second)
		assert.Empty(t, fs.times())
	})
}

// TestIdleTimerPanicInFReRaisedByStopAndClose: a panic in f is recovered
// on the timer's goroutine (the program goes on), stops the timer for good,
// and every Stop and Close re-panics with the same *compendium.PanicError.
func TestIdleTimerPanicInFReRaisedByStopAndClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var runs atomic.Int32
		it := timeout.NewIdleTimer(10*ms, func() {
			runs.Add(1)
			panic(errBoom)
		})
		time.Sleep(10 * ms)
		synctest.Wait()
		it.Touch() // a stopped timer does not re-arm
		time.Sleep(time.Second)
		assert.EqualValues(t, 1, runs.Load(), "f ran again after its panic")
		var first *compendium.PanicError
		for _, stop := range []func(){func() { it.Stop() }, func() { _ = it.Close() }, func() { _ = it.Close() }} {
			var pe *compendium.PanicError
			require.ErrorAs(t, recoverPanic(stop), &pe)
			assert.ErrorIs(t, pe, errBoom)
			assert.Contains(t, string(pe.Stack), "idle_test.go", "the stack is f's")
			if first == nil {
				first = pe
			}
			assert.Same(t, first, pe)
		}
	})
}

// TestIdleTimerGoexitInFIsAFailure: an f that calls runtime.Goexit stops
// the timer, and Close returns the failure.
func TestIdleTimerGoexitInFIsAFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var runs atomic.Int32
		it := timeout.NewIdleTimer(10*ms, func() {
			runs.Add(1)
			runtime.Goexit()
		})
		time.Sleep(10 * ms)
		synctest.Wait()
		it.Touch()
		time.Sleep(time.Second)
		assert.EqualValues(t, 1, runs.Load(), "f ran again after its Goexit")
		assert.False(t, it.Stop(), "a failed timer is not armed")
		for range 2 {
			err := it.Close()
			assert.ErrorIs(t, err, compendium.ErrGoexit)
			assert.EqualError(t, err, "timeout: IdleTimer: f: compendium: function called runtime.Goexit")
		}
	})
}

// TestIdleTimerCloseWaitsForF: Close, like Stop, returns only after a
// running f has returned, and nothing runs afterwards.
func TestIdleTimerCloseWaitsForF(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		var finished atomic.Bool
		it := timeout.NewIdleTimer(10*ms, func() {
			<-release
			finished.Store(true)
		})
		time.Sleep(10 * ms)
		synctest.Wait()
		closed := make(chan error)
		go func() { closed <- it.Close() }()
		synctest.Wait()
		it.Touch() // while f runs and Close waits: no re-arm afterwards
		close(release)
		assert.NoError(t, <-closed)
		assert.True(t, finished.Load(), "Close returned before f")
		assert.NoError(t, it.Close(), "Close is idempotent")
		assert.False(t, it.Stop())
	})
}

// TestIdleTimerGoexitDuringCloseIsReported: an f that calls runtime.Goexit
// while Close waits for it has still failed: Close reports it.
func TestIdleTimerGoexitDuringCloseIsReported(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		it := timeout.NewIdleTimer(10*ms, func() {
			<-release
			runtime.Goexit()
		})
		time.Sleep(10 * ms)
		synctest.Wait() // f is running
		closed := make(chan error)
		go func() { closed <- it.Close() }()
		synctest.Wait() // Close has stopped the timer and waits for f
		close(release)
		assert.ErrorIs(t, <-closed, compendium.ErrGoexit)
		assert.ErrorIs(t, it.Close(), compendium.ErrGoexit, "every Close reports it")
	})
}

// TestIdleTimerStopAfterTouchFromRest: a Touch after f has run re-arms
// the resting timer, and Stop then reports the expiry it prevents.
func TestIdleTimerStopAfterTouchFromRest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fs := newFirings()
		it := timeout.NewIdleTimer(10*ms, fs.f)
		time.Sleep(50 * ms) // f ran at 10ms; the timer rests
		synctest.Wait()
		it.Touch() // re-arms for 60ms
		time.Sleep(5 * ms)
		assert.True(t, it.Stop(), "Stop() of a timer re-armed by a Touch = false")
		time.Sleep(time.Second)
		assert.Equal(t, []time.Duration{10 * ms}, fs.times())
	})
}

// TestIdleTimerFNeverOverlapsItself: a Touch while a slow f runs does not
// start another f while the first runs: the next expiry comes once f has
// returned (at once, if d has passed since the Touch by then).
func TestIdleTimerFNeverOverlapsItself(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fs := newFirings()
		var running, overlaps atomic.Int32
		it := timeout.NewIdleTimer(10*ms, func() {
			if running.Add(1) > 1 {
				overlaps.Add(1)
			}
			defer running.Add(-1)
			fs.f()
			time.Sleep(50 * ms) // a slow f: runs from 10ms to 60ms
		})
		time.Sleep(15 * ms)
		it.Touch() // during f; d has passed since it when f returns
		time.Sleep(200 * ms)
		synctest.Wait()
		assert.Zero(t, overlaps.Load(), "f ran twice at once")
		assert.Equal(t, []time.Duration{10 * ms, 60 * ms}, fs.times(), "f ran at")
		assert.NoError(t, it.Close())
	})
}
