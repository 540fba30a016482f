package fanout

// White-box tests of gate, the unexported type that orders a Balancer's
// queue sends against its workers' final drain. The package's tests are
// otherwise black-box (package fanout_test); gate has no exported surface
// to test through, and the interleavings that matter (a caller inside
// while shut waits, an enter refused while others are inside) cannot be
// forced from the outside, so these tests drive it directly.

import (
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// shutAsync calls g.shut on a new goroutine and returns a flag that is set
// when it has returned.
func shutAsync(g *gate) *atomic.Bool {
	var done atomic.Bool
	go func() {
		g.shut()
		done.Store(true)
	}()
	return &done
}

// TestGateShutWaitsForEveryCallerInside: shut returns only once the last
// caller inside has left, not when the first one does.
func TestGateShutWaitsForEveryCallerInside(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := newGate()
		require.True(t, g.enter())
		require.True(t, g.enter())
		done := shutAsync(&g)
		synctest.Wait()
		assert.False(t, done.Load(), "shut returned with two callers inside")
		g.leave()
		synctest.Wait()
		assert.False(t, done.Load(), "shut returned with one caller still inside")
		g.leave()
		synctest.Wait()
		assert.True(t, done.Load(), "shut still waits with nobody inside")
	})
}

// TestGateRefusedEnterLeavesNoTrace: an enter refused because the gate is
// shut must not count as a caller inside, or shut would wait forever for
// it to leave.
func TestGateRefusedEnterLeavesNoTrace(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := newGate()
		require.True(t, g.enter())
		done := shutAsync(&g)
		synctest.Wait()
		for range 3 {
			assert.False(t, g.enter(), "entered a shut gate")
		}
		g.leave()
		synctest.Wait() // deadlocks here if a refused enter stayed counted
		assert.True(t, done.Load())
	})
}

// TestGateLeaveWithoutShutDoesNotQuiet: callers coming and going before
// any shut leave the gate open, and a later shut still waits for the
// callers inside at that time.
func TestGateLeaveWithoutShutDoesNotQuiet(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := newGate()
		for range 3 {
			require.True(t, g.enter())
			g.leave()
		}
		require.True(t, g.enter())
		done := shutAsync(&g)
		synctest.Wait()
		assert.False(t, done.Load(), "shut returned with a caller inside: an earlier leave quieted the gate")
		g.leave()
		synctest.Wait()
		assert.True(t, done.Load())
	})
}

// TestGateShutWhenEmptyIsImmediateAndIdempotent: with nobody inside, shut
// returns at once, any number of times and from any number of goroutines,
// and the gate stays shut.
func TestGateShutWhenEmptyIsImmediateAndIdempotent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := newGate()
		g.shut()
		g.shut()
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(g.shut)
		}
		wg.Wait()
		assert.False(t, g.enter())
	})
}

// TestGateConcurrentShutsAllWait: several goroutines shutting while a
// caller is inside all wait for it, and all return once it leaves.
func TestGateConcurrentShutsAllWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := newGate()
		require.True(t, g.enter())
		dones := []*atomic.Bool{shutAsync(&g), shutAsync(&g), shutAsync(&g)}
		synctest.Wait()
		for _, d := range dones {
			assert.False(t, d.Load())
		}
		g.leave()
		synctest.Wait()
		for _, d := range dones {
			assert.True(t, d.Load())
		}
	})
}
