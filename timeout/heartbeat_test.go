package timeout_test

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/go-compendium/compendium/timeout"
	"github.com/stretchr/testify/assert"
	"go.uber.org/goleak"
)

// TestHeartbeatReportsStallAtDeadline: a worker beats every 10ms for 100ms
// and then stalls; the watchdog (d = 30ms) reports it at exactly 130ms, once.
func TestHeartbeatReportsStallAtDeadline(t *testing.T) {
	defer goleak.VerifyNone(t) // after the bubble: nothing of ours outlives the test
	synctest.Test(t, func(t *testing.T) {
		hb := timeout.NewHeartbeat(30 * ms)
		defer hb.Close()
		start := time.Now()
		go func() {
			for range 10 {
				time.Sleep(10 * ms)
				hb.Beat()
			}
			// stalled from here on
		}()
		<-hb.Missed()
		assert.Equal(t, 130*ms, time.Since(start), "stall reported after")
		time.Sleep(time.Second)
		assert.False(t, received(hb.Missed()), "a stall that goes on is reported once, not every d")
	})
}

// TestHeartbeatSupervisorRestarts is the supervisor loop: on each missed
// beat it restarts the worker (here: beats on its behalf, then a new worker
// that beats for a while), and the watchdog keeps watching.
func TestHeartbeatSupervisorRestarts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hb := timeout.NewHeartbeat(50 * ms)
		defer hb.Close()
		start := time.Now()
		var reports []time.Duration
		for generation := range 3 {
			<-hb.Missed()
			reports = append(reports, time.Since(start))
			hb.Beat() // the restart counts as a beat
			go func() {
				for range generation * 2 { // each generation lives a little longer
					time.Sleep(20 * ms)
					hb.Beat()
				}
			}()
		}
		// 50ms: the first worker (none) never beats; 100ms: generation 0
		// never beats; generation 1 beats at 120, 140: reported at 190.
		assert.Equal(t, []time.Duration{50 * ms, 100 * ms, 190 * ms}, reports)
		time.Sleep(time.Second)
	})
}

func TestHeartbeatBeatsKeepWatchdogQuiet(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hb := timeout.NewHeartbeat(30 * ms)
		for range 100 {
			time.Sleep(29 * ms)
			hb.Beat()
		}
		assert.NoError(t, hb.Close())
		time.Sleep(time.Second)
		assert.False(t, received(hb.Missed()), "a beat every 29ms missed a 30ms deadline, or Close did not stop")
	})
}

func TestHeartbeatUnreadReportIsNotDoubled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hb := timeout.NewHeartbeat(10 * ms)
		defer hb.Close()
		for range 5 { // five stalls, nobody reading
			time.Sleep(20 * ms)
			hb.Beat()
		}
		time.Sleep(20 * ms)
		synctest.Wait()
		<-hb.Missed()
		assert.False(t, received(hb.Missed()), "reports queued up")
	})
}
