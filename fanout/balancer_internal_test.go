package fanout

// White-box tests of two interleavings of the Balancer that no black-box
// test can force: a Submit caught between taking its slot and placing its
// request when the Balancer is cancelled, and a stall report that arrives
// after the handler it was about has returned. They call the unexported
// steps directly (as gate_internal_test.go does for the gate); everything
// else about the Balancer is tested from outside, in package fanout_test.

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestBalancerFinalDrainWaitsForSubmitInGate: a Submit that holds its slot
// when the Balancer is cancelled still gets its request answered: the
// workers wait for it to leave the gate before their final drain, so the
// request it then places is found and answered with the cause, not left
// in a queue nobody reads.
func TestBalancerFinalDrainWaitsForSubmitInGate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancelCause(context.Background())
		b := NewBalancer(ctx, 2, 1, func(_ context.Context, v int) (int, error) { return v, nil })
		// submit, cut in two: the slot taken and the gate entered ...
		require.NoError(t, b.admit(context.Background()))
		cancel(context.Canceled)
		synctest.Wait() // the workers see the end and wait in gate.shut
		// ... then the request placed, and the gate left.
		reply := make(chan Result[int, int], 1)
		b.counts.Submit()
		b.place(request[int, int]{ctx: context.Background(), req: 7, reply: reply})
		b.gate.leave()
		r := <-reply // never comes if a worker drained before the send
		assert.Equal(t, 7, r.Req)
		assert.ErrorIs(t, r.Err, context.Canceled)
		require.NoError(t, b.Close())
		assert.Equal(t, uint64(1), b.Stats().Canceled)
	})
}

// TestBalancerStaleStallReportIgnored: a stall report about a worker that
// is not running a handler (its call returned before the report was read)
// does not mark it stalled, or it would never heal: healing happens when a
// handler returns. A report about a running worker marks it.
func TestBalancerStaleStallReportIgnored(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		b := NewBalancer(context.Background(), 2, 1, func(_ context.Context, v int) (int, error) {
			if v == 1 {
				<-release
			}
			return v, nil
		}, StallAfter(time.Hour))
		reply := make(chan Result[int, int], 2)
		require.NoError(t, b.Submit(context.Background(), 0, reply))
		<-reply
		require.NoError(t, b.Submit(context.Background(), 1, reply))
		synctest.Wait()
		running := -1
		for i, p := range b.Stats().Pending {
			if p == 1 {
				running = i
			}
		}
		require.GreaterOrEqual(t, running, 0)
		b.stall(1 - running) // idle: stale
		assert.Equal(t, []bool{false, false}, b.Stats().Stalled, "an idle worker marked stalled")
		b.stall(running)
		b.stall(running) // twice: still one mark
		want := []bool{false, false}
		want[running] = true
		assert.Equal(t, want, b.Stats().Stalled)
		close(release)
		<-reply
		synctest.Wait()
		assert.Equal(t, []bool{false, false}, b.Stats().Stalled, "the worker did not heal when its handler returned")
		require.NoError(t, b.Close())
	})
}
