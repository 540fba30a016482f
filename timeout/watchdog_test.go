package timeout_test

import (
	"fmt"
	"math"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/go-compendium/compendium/timeout"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// stall is one report as a test saw it: which worker, and when.
type stall struct {
	worker int
	at     time.Duration
}

func (s stall) String() string { return fmt.Sprintf("%d@%v", s.worker, s.at) }

// watch receives every report of w until Close closes Stalled, noting the
// virtual time since start; wait returns them.
func watch(w *timeout.Watchdog, start time.Time) (wait func() []stall) {
	var got []stall
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range w.Stalled() {
			got = append(got, stall{i, time.Since(start)})
		}
	}()
	return func() []stall {
		<-done
		return got
	}
}

// TestWatchdogReportsStallOnceAtDeadline: a busy worker that never beats
// is reported at exactly d after Busy, once, however long it stays stuck.
func TestWatchdogReportsStallOnceAtDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := timeout.NewWatchdog(30*time.Millisecond, 2)
		start := time.Now()
		wait := watch(w, start)
		time.Sleep(10 * time.Millisecond)
		w.Busy(1)
		time.Sleep(time.Hour)
		require.NoError(t, w.Close())
		assert.Equal(t, []stall{{1, 40 * time.Millisecond}}, wait())
	})
}

// TestWatchdogIdleWorkerNeverStalls: a worker that is idle, never busy,
// or went idle before d, is never reported, however long it waits; nor is
// one that Beats while idle.
func TestWatchdogIdleWorkerNeverStalls(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := timeout.NewWatchdog(30*time.Millisecond, 3)
		wait := watch(w, time.Now())
		w.Busy(0)
		time.Sleep(29 * time.Millisecond)
		w.Idle(0) // done just in time
		w.Beat(2) // idle: a beat does not make it busy
		time.Sleep(time.Hour)
		w.Beat(2)
		time.Sleep(time.Hour)
		require.NoError(t, w.Close())
		assert.Empty(t, wait())
	})
}

// TestWatchdogBeatsPushStallBack: beats every 29ms keep a 30ms watchdog
// quiet; the stall comes d after the last beat.
func TestWatchdogBeatsPushStallBack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := timeout.NewWatchdog(30*time.Millisecond, 1)
		start := time.Now()
		wait := watch(w, start)
		w.Busy(0)
		for range 100 {
			time.Sleep(29 * time.Millisecond)
			w.Beat(0)
		}
		time.Sleep(time.Second)
		require.NoError(t, w.Close())
		assert.Equal(t, []stall{{0, 2900*time.Millisecond + 30*time.Millisecond}}, wait())
	})
}

// TestWatchdogNamesTheStalledWorker: of three busy workers, two beat and
// one does not; only that one is reported, at its own deadline, while the
// others' beats go on. The others then stall in turn, each at d after its
// own last beat, in order.
func TestWatchdogNamesTheStalledWorker(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const d = 50 * time.Millisecond
		w := timeout.NewWatchdog(d, 3)
		start := time.Now()
		wait := watch(w, start)
		for i := range 3 {
			w.Busy(i)
		}
		var wg sync.WaitGroup
		for _, i := range []int{0, 2} {
			wg.Go(func() {
				for range 10 * (i + 1) { // worker 0 beats for 100ms, worker 2 for 200ms
					time.Sleep(10 * time.Millisecond)
					w.Beat(i)
				}
			})
		}
		wg.Wait()
		time.Sleep(time.Second)
		require.NoError(t, w.Close())
		assert.Equal(t, []stall{{1, 50 * time.Millisecond}, {0, 150 * time.Millisecond}, {2, 350 * time.Millisecond}}, wait())
	})
}

// TestWatchdogStallsAgainAfterRecovery: a reported worker that beats again
// is watched again, and a new stall is a new report; so is a new Busy.
func TestWatchdogStallsAgainAfterRecovery(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const d = 20 * time.Millisecond
		w := timeout.NewWatchdog(d, 1)
		start := time.Now()
		var got []time.Duration
		w.Busy(0)
		<-w.Stalled()
		got = append(got, time.Since(start)) // 20ms
		time.Sleep(5 * time.Millisecond)
		w.Beat(0) // 25ms: recovered
		<-w.Stalled()
		got = append(got, time.Since(start)) // 45ms
		w.Idle(0)
		time.Sleep(100 * time.Millisecond)
		w.Busy(0) // 145ms: a new unit of work
		<-w.Stalled()
		got = append(got, time.Since(start)) // 165ms
		w.Busy(0)                            // 165ms: another unit, without an Idle between
		<-w.Stalled()
		got = append(got, time.Since(start)) // 185ms
		require.NoError(t, w.Close())
		assert.Equal(t, []time.Duration{20 * time.Millisecond, 45 * time.Millisecond, 165 * time.Millisecond, 185 * time.Millisecond}, got)
	})
}

// TestWatchdogUnreadReportNotDoubledNorLost: nobody reads while worker 0
// stalls five times (beating between stalls) and then every other worker
// stalls: the channel holds one report of each worker, none doubled, none
// dropped for want of room, in the order they stalled.
func TestWatchdogUnreadReportNotDoubledNorLost(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const d, workers = 10 * time.Millisecond, 4
		w := timeout.NewWatchdog(d, workers)
		w.Busy(0)
		for range 5 {
			time.Sleep(2 * d) // stalled at d, unread
			w.Beat(0)
		}
		for i := 1; i < workers; i++ {
			w.Busy(i)
			time.Sleep(2 * d)
		}
		require.NoError(t, w.Close())
		var got []int
		for i := range w.Stalled() {
			got = append(got, i)
		}
		assert.Equal(t, []int{0, 1, 2, 3}, got)
	})
}

// TestWatchdogReportReceivedThenStallsAgain: a report that was received
// no longer counts as waiting: the next stall of the same worker is sent
// even while other reports wait in the channel.
func TestWatchdogReportReceivedThenStallsAgain(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const d = 10 * time.Millisecond
		w := timeout.NewWatchdog(d, 3)
		w.Busy(0)
		time.Sleep(2 * d)
		assert.Equal(t, 0, <-w.Stalled())
		w.Busy(1)
		time.Sleep(2 * d) // 1 waits in the channel
		w.Beat(0)
		time.Sleep(2 * d) // 0 stalls again: behind 1, not merged with it
		w.Busy(2)
		w.Beat(1)
		time.Sleep(2 * d) // 1 stalls again while its first report waits: merged; 2 stalls
		require.NoError(t, w.Close())
		var got []int
		for i := range w.Stalled() {
			got = append(got, i)
		}
		assert.Equal(t, []int{1, 0, 2}, got)
	})
}

// TestWatchdogCloseStopsReports: after Close no report comes, even for a
// worker whose stall was due; Stalled is closed; Close is idempotent; and
// Busy, Beat and Idle after Close do nothing.
func TestWatchdogCloseStopsReports(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := timeout.NewWatchdog(10*time.Millisecond, 2)
		w.Busy(0)
		time.Sleep(5 * time.Millisecond)
		require.NoError(t, w.Close())
		require.NoError(t, w.Close())
		w.Busy(1)
		w.Beat(1)
		w.Beat(0)
		w.Idle(0)
		time.Sleep(time.Second)
		_, open := <-w.Stalled()
		assert.False(t, open, "a report after Close, or Stalled left open")
	})
}

// TestWatchdogRestsWhileNothingIsBusy: with every worker idle, the
// Watchdog arms no timer, so the bubble's only goroutine can sleep for as
// long as it likes with nothing firing (synctest would see a timer fire
// as a goroutine running); a Busy after the rest is watched at once.
func TestWatchdogRestsWhileNothingIsBusy(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := timeout.NewWatchdog(10*time.Millisecond, 2)
		start := time.Now()
		w.Busy(0)
		assert.Equal(t, 0, <-w.Stalled())
		w.Idle(0)
		time.Sleep(time.Hour)
		w.Busy(1)
		assert.Equal(t, 1, <-w.Stalled())
		assert.Equal(t, time.Hour+20*time.Millisecond, time.Since(start))
		// A stalled worker's Beat wakes a resting watchdog.
		w.Beat(1)
		assert.Equal(t, 1, <-w.Stalled())
		assert.Equal(t, time.Hour+30*time.Millisecond, time.Since(start))
		require.NoError(t, w.Close())
	})
}

// TestWatchdogConcurrentWorkers: many workers go busy, beat and go idle at
// once, each on its own schedule, and only the ones that stop beating
// while busy are reported, each once, at its deadline (run with -race).
func TestWatchdogConcurrentWorkers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const d, workers = 10 * time.Millisecond, 16
		w := timeout.NewWatchdog(d, workers)
		start := time.Now()
		wait := watch(w, start)
		var wg sync.WaitGroup
		for i := range workers {
			wg.Go(func() {
				for unit := range 20 {
					w.Busy(i)
					for range 5 {
						time.Sleep(d - time.Millisecond)
						w.Beat(i)
					}
					w.Idle(i)
					time.Sleep(time.Duration(i+unit) * time.Millisecond)
				}
				if i%4 == 0 { // these hang on their last unit
					w.Busy(i)
				}
			})
		}
		wg.Wait()
		end := time.Since(start)
		time.Sleep(time.Second)
		require.NoError(t, w.Close())
		got := wait()
		require.Len(t, got, workers/4, "%v", got)
		for _, s := range got {
			assert.Zero(t, s.worker%4, "worker %d reported: %v", s.worker, got)
			assert.LessOrEqual(t, s.at, end+d, "%v", got)
		}
	})
}

func TestWatchdogBadArguments(t *testing.T) {
	cases := []struct {
		name string
		f    func()
		want string
	}{
		{"d=0", func() { timeout.NewWatchdog(0, 1) }, "timeout: NewWatchdog: d must be positive, got 0s"},
		{"d<0", func() { timeout.NewWatchdog(-time.Second, 1) }, "timeout: NewWatchdog: d must be positive, got -1s"},
		{"workers=0", func() { timeout.NewWatchdog(time.Second, 0) }, "timeout: NewWatchdog: workers must be at least 1, got 0"},
		{"workers<0", func() { timeout.NewWatchdog(time.Second, -3) }, "timeout: NewWatchdog: workers must be at least 1, got -3"},
		{"workers=MaxInt", func() { timeout.NewWatchdog(time.Second, math.MaxInt) },
			"timeout: NewWatchdog: workers 9223372036854775807 would allocate more than 16 EiB up front, more than the 1 GiB limit"},
	}
	w := timeout.NewWatchdog(time.Second, 2)
	defer w.Close()
	for _, m := range []struct {
		name string
		f    func(int)
	}{{"Busy", w.Busy}, {"Beat", w.Beat}, {"Idle", w.Idle}} {
		for _, i := range []int{-1, 2, math.MaxInt, math.MinInt} {
			cases = append(cases, struct {
				name string
				f    func()
				want string
			}{fmt.Sprintf("%s(%d)", m.name, i), func() { m.f(i) }, fmt.Sprintf("timeout: Watchdog.%s: i must be a worker from 0 to 1, got %d", m.name, i)})
		}
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { assert.PanicsWithValue(t, c.want, c.f) })
	}
	assert.NotPanics(t, func() {
		w.Busy(0)
		w.Beat(1)
		w.Idle(1)
	})
}

// TestWatchdogBeatDoesNotAllocate: Busy, Beat and Idle allocate nothing.
func TestWatchdogBeatDoesNotAllocate(t *testing.T) {
	w := timeout.NewWatchdog(time.Hour, 1)
	defer w.Close()
	w.Busy(0)
	assert.Zero(t, testing.AllocsPerRun(1000, func() {
		w.Beat(0)
		w.Busy(0)
		w.Idle(0)
		w.Busy(0)
	}))
}
