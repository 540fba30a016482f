package fanout_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"testing/synctest"

	"github.com/go-compendium/compendium"
	"github.com/go-compendium/compendium/fanout"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestBalancerServeAnswersEveryRequest: every request received from in is
// answered once on the output, carrying its request, and the output
// closes once in is closed and the last answer is out.
func TestBalancerServeAnswersEveryRequest(t *testing.T) {
	const n = 20_000
	b := fanout.NewBalancer(context.Background(), 4, 4, func(_ context.Context, v int) (int, error) {
		if v%10 == 0 {
			return 0, errors.New("tens fail")
		}
		return -v, nil
	})
	in := make(chan int)
	go func() {
		defer close(in)
		for v := range n {
			in <- v
		}
	}()
	seen := make([]bool, n)
	failed := 0
	for r := range b.Serve(context.Background(), in) {
		require.False(t, seen[r.Req], "request %d answered twice", r.Req)
		seen[r.Req] = true
		if r.Err != nil {
			failed++
			continue
		}
		require.Equal(t, -r.Req, r.Value)
	}
	assert.NotContains(t, seen, false, "a request was not answered")
	assert.Equal(t, n/10, failed)
	require.NoError(t, b.Close())
	s := b.Stats()
	assert.Equal(t, compendium.TaskStats{Submitted: n, Completed: n - n/10, Failed: n / 10}, s.TaskStats)
}

// TestBalancerServeBackpressure: with every handler blocked and nobody
// reading, Serve takes from in only what the queues and its one waiting
// Submit hold; reading the output and releasing the handlers lets it take
// the rest.
func TestBalancerServeBackpressure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const workers, depth, n = 2, 2, 50
		g := newGated()
		b := fanout.NewBalancer(context.Background(), workers, depth, g.handle)
		defer b.Close()
		var taken atomic.Int32
		in := make(chan int)
		go func() {
			defer close(in)
			for v := range n {
				in <- v
				taken.Add(1)
			}
		}()
		out := b.Serve(context.Background(), in)
		synctest.Wait()
		assert.Equal(t, int32(workers*depth+1), taken.Load(), "Serve read past what the queues and its one waiting Submit hold: no backpressure")
		// Release handlers without reading: the output's buffer (one per
		// worker) fills, then the workers wait, then the queues fill again.
		close(g.release)
		synctest.Wait()
		assert.Equal(t, int32(workers+workers+workers*depth+1), taken.Load(),
			"answers in the output's buffer, answers waiting in workers, full queues, one in Submit")
		got := 0
		for range out {
			got++
		}
		assert.Equal(t, n, got)
	})
}

// TestBalancerServeEndsWithCtx: cancelling Serve's ctx stops it reading,
// ends the handlers it started, and closes the output even if nobody reads
// it any more; the Balancer goes on serving others.
func TestBalancerServeEndsWithCtx(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := newGated()
		b := fanout.NewBalancer(context.Background(), 2, 2, g.handle)
		ctx, cancel := context.WithCancel(context.Background())
		in := make(chan int) // never closed
		go func() {
			for v := 0; ; v++ {
				select {
				case in <- v:
				case <-ctx.Done():
					return
				}
			}
		}()
		out := b.Serve(ctx, in)
		synctest.Wait()
		cancel()
		for r := range out {
			assert.ErrorIs(t, r.Err, context.Canceled, "request %d", r.Req)
		}
		synctest.Wait()
		assert.Zero(t, g.running.Load(), "a handler Serve started still runs")
		go func() { g.release <- struct{}{} }()
		v, err := b.Do(context.Background(), 7)
		assert.NoError(t, err)
		assert.Equal(t, 7, v)
		require.NoError(t, b.Close())
	})
}

// TestBalancerServeCloseWithUnreadOutput: Close does not wait for anyone
// to read Serve's output; it joins Serve's goroutine, which closes the
// output, and every request Serve took is accounted for.
func TestBalancerServeCloseWithUnreadOutput(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := fanout.NewBalancer(context.Background(), 2, 2, echo)
		in := make(chan int, 100)
		for v := range 100 {
			in <- v
		}
		out := b.Serve(context.Background(), in) // never read
		synctest.Wait()
		require.NoError(t, b.Close())
		n := 0
		for range out {
			n++
		}
		assert.Equal(t, 2, n, "the output's buffer held one answer per worker")
		s := b.Stats()
		ts := s.TaskStats
		assert.Equal(t, ts.Submitted, ts.Completed+ts.Canceled, "%+v", ts)
		assert.Zero(t, ts.Queued+ts.Running)
	})
}

// TestBalancerServeRefusalAnswered: a request Serve has received but the
// Balancer refuses (here: its parent context ends while Serve waits for
// room) is answered on the output with the refusal when there is room,
// and counted Rejected; the requests it submitted are still answered
// before the output closes.
func TestBalancerServeRefusalAnswered(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancelCause(context.Background())
		release := make(chan struct{})
		b := fanout.NewBalancer(ctx, 1, 1, func(_ context.Context, v int) (int, error) {
			<-release // ignores its context: its answer comes when the test says
			return v, nil
		})
		in := make(chan int, 2)
		in <- 1
		in <- 2 // waits in Submit behind 1
		out := b.Serve(context.Background(), in)
		synctest.Wait()
		assert.Empty(t, in, "Serve has not received both")
		stop := errors.New("shutting down")
		cancel(stop)
		r := <-out
		assert.Equal(t, 2, r.Req)
		assert.ErrorIs(t, r.Err, stop, "the refusal carries why")
		close(release)
		r = <-out
		assert.Equal(t, 1, r.Req)
		assert.NoError(t, r.Err, "1 was accepted before the end: it is answered")
		_, open := <-out
		assert.False(t, open)
		require.NoError(t, b.Close())
		s := b.Stats()
		assert.Equal(t, compendium.TaskStats{Submitted: 1, Rejected: 1, Completed: 1}, s.TaskStats)
	})
}

// TestBalancerServeAfterClose: Serve on a closed Balancer starts nothing
// and returns a closed channel.
func TestBalancerServeAfterClose(t *testing.T) {
	b := fanout.NewBalancer(context.Background(), 1, 1, echo)
	require.NoError(t, b.Close())
	in := make(chan int, 1)
	in <- 1
	_, open := <-b.Serve(context.Background(), in)
	assert.False(t, open)
	assert.Len(t, in, 1, "Serve read from in after Close")
}

// TestBalancerServeBalancerCancelled: when the Balancer's parent context
// ends, Serve stops and closes its output without Close.
func TestBalancerServeBalancerCancelled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		b := fanout.NewBalancer(ctx, 1, 1, echo)
		in := make(chan int) // never sends, never closed
		out := b.Serve(context.Background(), in)
		cancel()
		_, open := <-out
		assert.False(t, open)
		require.NoError(t, b.Close())
	})
}

// TestBalancerServeIdleEndsWithCtx: a Serve waiting for a request ends
// when its ctx ends, closing its output without an answer to anything.
func TestBalancerServeIdleEndsWithCtx(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := fanout.NewBalancer(context.Background(), 1, 1, echo)
		ctx, cancel := context.WithCancel(context.Background())
		out := b.Serve(ctx, make(chan int)) // nothing ever comes
		synctest.Wait()
		cancel()
		for r := range out {
			t.Errorf("an answer to a request never made: %+v", r)
		}
		require.NoError(t, b.Close())
		assert.Zero(t, b.Stats().Submitted+b.Stats().Rejected)
	})
}
