package fanout_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"runtime"
	"runtime/pprof"
	"runtime/trace"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/go-compendium/compendium"
	"github.com/go-compendium/compendium/fanout"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestBalancerStatsIdentityUnderConcurrency takes snapshots while many
// callers submit requests that complete, fail, call runtime.Goexit or give
// up (queued or running): in every snapshot the counters add up and no
// worker holds more than depth.
func TestBalancerStatsIdentityUnderConcurrency(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const workers, depth, callers, each = 3, 2, 6, 300
		b := fanout.NewBalancer(context.Background(), workers, depth, func(ctx context.Context, v int) (int, error) {
			select {
			case <-time.After(time.Duration(v%4) * time.Millisecond):
			case <-ctx.Done():
				return 0, ctx.Err()
			}
			switch v % 7 {
			case 1:
				return 0, errors.New("failed")
			case 2:
				runtime.Goexit() // fails the request; the worker is replaced
			}
			return v, nil
		})
		var wg sync.WaitGroup
		for c := range callers {
			wg.Go(func() {
				for v := c; v < callers*each; v += callers {
					ctx, cancel := context.WithTimeout(context.Background(), time.Duration(v%3)*time.Millisecond)
					if v%3 == 2 {
						cancel()
						ctx = context.Background()
					}
					_, _ = b.Do(ctx, v)
					cancel()
				}
			})
		}
		stop := make(chan struct{})
		snaps := 0
		go func() {
			defer close(stop)
			for {
				s := b.Stats()
				ts := s.TaskStats
				require.Equal(t, ts.Submitted, ts.Queued+ts.Running+ts.Completed+ts.Failed+ts.Panicked+ts.Canceled, "%+v", ts)
				for i, p := range s.Pending {
					require.LessOrEqual(t, p, uint64(depth), "worker %d: %v", i, s.Pending)
				}
				snaps++
				if ts.Submitted+ts.Rejected == callers*each && ts.Queued+ts.Running == 0 {
					return
				}
				time.Sleep(100 * time.Microsecond)
			}
		}()
		wg.Wait()
		<-stop
		require.NoError(t, b.Close())
		s := b.Stats()
		assert.Equal(t, uint64(callers*each), s.Submitted+s.Rejected)
		assert.Positive(t, s.Completed)
		assert.Positive(t, s.Failed)
		assert.Positive(t, s.Canceled+s.Rejected, "no request gave up: the test tests less than it says")
		assert.Greater(t, snaps, 10)
	})
}

// TestBalancerGoroutinesCarryLabels reads the goroutine profile while the
// Balancer's goroutines wait: each worker is labelled compendium=fanout
// type=Balancer worker=<i>, over the labels of the caller of NewBalancer;
// the supervisor and Serve's goroutine carry their roles.
func TestBalancerGoroutinesCarryLabels(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var ctx context.Context
		pprof.Do(context.Background(), pprof.Labels("service", "checkout"), func(c context.Context) { ctx = c })
		b := fanout.NewBalancer(ctx, 3, 1, echo, fanout.StallAfter(time.Hour))
		in := make(chan int)
		out := b.Serve(context.Background(), in)
		synctest.Wait() // every goroutine started, labelled, and waiting
		var buf bytes.Buffer
		require.NoError(t, pprof.Lookup("goroutine").WriteTo(&buf, 1))
		close(in)
		for range out {
		}
		require.NoError(t, b.Close())
		found := map[string]bool{}
		for _, line := range strings.Split(buf.String(), "\n") {
			// Only this test's goroutines: the profile is the process's,
			// and another test's may still be on its way out.
			if !strings.Contains(line, `"service":"checkout"`) {
				continue
			}
			assert.Contains(t, line, `"compendium":"fanout"`)
			assert.Contains(t, line, `"type":"Balancer"`)
			for i := range 3 {
				if strings.Contains(line, fmt.Sprintf(`"worker":"%d"`, i)) {
					found[fmt.Sprint("worker ", i)] = true
				}
			}
			for _, role := range []string{"supervisor", "serve"} {
				if strings.Contains(line, fmt.Sprintf(`"role":"%s"`, role)) {
					found[role] = true
				}
			}
		}
		for _, want := range []string{"worker 0", "worker 1", "worker 2", "supervisor", "serve"} {
			assert.True(t, found[want], "no goroutine labelled %s with the caller's labels in:\n%s", want, buf.String())
		}
	})
}

// TestBalancerTraceRegion captures an execution trace around a request
// and finds the request's region, named "fanout.Balancer", in it; a trace
// of a Balancer that answered nothing has no such region.
func TestBalancerTraceRegion(t *testing.T) {
	capture := func(f func()) []byte {
		var buf bytes.Buffer
		require.NoError(t, trace.Start(&buf))
		f()
		trace.Stop()
		return buf.Bytes()
	}
	b := fanout.NewBalancer(context.Background(), 1, 1, echo)
	idle := capture(func() { _ = b.Stats() })
	busy := capture(func() {
		_, err := b.Do(context.Background(), 1)
		require.NoError(t, err)
	})
	require.NoError(t, b.Close())
	assert.False(t, bytes.Contains(idle, []byte("fanout.Balancer")), "a region with no request: the check below proves nothing")
	assert.True(t, bytes.Contains(busy, []byte("fanout.Balancer")), "no fanout.Balancer region in the trace of a request")
}

// TestBalancerPanicRefusesWithIt: after a panic the Balancer is
// cancelled with the panic as the cause; Submit refuses with it, and the
// owner finds it in Close, on every call.
func TestBalancerPanicRefusesWithIt(t *testing.T) {
	b := fanout.NewBalancer(context.Background(), 1, 1, func(context.Context, int) (int, error) { panic("boom") })
	_, err := b.Do(context.Background(), 1)
	var pe *compendium.PanicError
	require.ErrorAs(t, err, &pe)
	err = b.Submit(context.Background(), 2, make(chan fanout.Result[int, int], 1))
	assert.Same(t, pe, err)
	assert.PanicsWithValue(t, pe, func() { _ = b.Close() })
	assert.PanicsWithValue(t, pe, func() { _ = b.Close() })
}
