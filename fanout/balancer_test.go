package fanout_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/go-compendium/compendium"
	"github.com/go-compendium/compendium/fanout"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func echo(_ context.Context, v int) (int, error) { return v, nil }

func TestBalancerExactlyOnce(t *testing.T) {
	const n, producers = 100_000, 4
	var calls [n]atomic.Int32
	b := fanout.NewBalancer(context.Background(), 4, 8, func(_ context.Context, v int) (int, error) {
		calls[v].Add(1)
		return v, nil
	})
	defer b.Close()
	// The talk's shape: requests carry a reply channel, here one shared by
	// all, with room for every request so no worker ever waits on it.
	replies := make(chan fanout.Result[int, int], n)
	var wg sync.WaitGroup
	for p := range producers {
		wg.Go(func() {
			for v := p; v < n; v += producers {
				if err := b.Submit(context.Background(), v, replies); err != nil {
					t.Errorf("Submit(%d) = %v", v, err)
					return
				}
			}
		})
	}
	wg.Wait()
	seen := make([]bool, n)
	for range n {
		r := <-replies
		require.NoError(t, r.Err)
		require.Equal(t, r.Req, r.Value, "a Result carries its own request")
		require.False(t, seen[r.Value], "reply for %d twice", r.Value)
		seen[r.Value] = true
	}
	for v := range calls {
		if c := calls[v].Load(); c != 1 {
			t.Fatalf("request %d handled %d times; want 1", v, c)
		}
	}
	s := b.Stats()
	assert.Equal(t, uint64(n), s.Submitted)
	assert.Equal(t, uint64(n), s.Completed)
}

// gated is a handler whose calls block until released one at a time, so a
// test can hold the Balancer in any state it wants.
type gated struct {
	release chan struct{}
	running atomic.Int32
	peak    atomic.Int32
}

func newGated() *gated { return &gated{release: make(chan struct{})} }

func (g *gated) handle(ctx context.Context, v int) (int, error) {
	n := g.running.Add(1)
	defer g.running.Add(-1)
	for p := g.peak.Load(); n > p && !g.peak.CompareAndSwap(p, n); p = g.peak.Load() {
	}
	select {
	case <-g.release:
		return v, nil
	case <-ctx.Done():
		return 0, context.Cause(ctx)
	}
}

func spread(pending []uint64) uint64 { return slices.Max(pending) - slices.Min(pending) }

// TestBalancerDepthAndBackpressure: with every handler blocked, the
// Balancer accepts exactly workers*depth requests, at most depth per
// worker, and leaves the rest blocked in Submit, waiting for a slot
// (backpressure). Releasing one handler at a time, every worker's queue is
// full again each time the balancer settles: no worker idles while
// requests wait, and no queue ever exceeds depth.
func TestBalancerDepthAndBackpressure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const workers, depth, requests = 3, 2, 20
		g := newGated()
		b := fanout.NewBalancer(context.Background(), workers, depth, g.handle)
		var answered atomic.Int32
		var wg sync.WaitGroup
		for v := range requests {
			wg.Go(func() {
				_, err := b.Do(context.Background(), v)
				assert.NoError(t, err)
				answered.Add(1)
			})
		}
		for released := 0; released < requests; released++ {
			synctest.Wait()
			s := b.Stats()
			backlog := requests - int(s.Submitted)
			for w, p := range s.Pending {
				require.LessOrEqual(t, p, uint64(depth), "worker %d over depth: %v", w, s.Pending)
				if backlog > 0 {
					require.Equal(t, uint64(depth), p, "worker %d not full with %d requests waiting: %v", w, backlog, s.Pending)
				}
			}
			if backlog > 0 {
				require.Equal(t, workers*depth, int(s.Submitted)-released, "accepted beyond the queues")
			}
			require.LessOrEqual(t, int(g.peak.Load()), workers)
			require.Equal(t, released, int(answered.Load()))
			g.release <- struct{}{}
		}
		wg.Wait()
		require.NoError(t, b.Close())
	})
}

// TestBalancerLeastLoaded: requests arriving while every handler is
// blocked are spread so that no two workers' loads differ by more than 1.
func TestBalancerLeastLoaded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const workers, depth = 4, 3
		g := newGated()
		b := fanout.NewBalancer(context.Background(), workers, depth, g.handle)
		replies := make(chan fanout.Result[int, int], workers*depth)
		for v := range workers * depth {
			require.NoError(t, b.Submit(context.Background(), v, replies))
			synctest.Wait()
			assert.LessOrEqual(t, spread(b.Stats().Pending), uint64(1), "after %d requests: %v", v+1, b.Stats().Pending)
		}
		close(g.release) // let everything finish
		require.NoError(t, b.Close())
	})
}

// TestBalancerShortTasksAvoidLongOne: with one worker busy on a long task,
// short tasks go to the other worker and never wait behind it, as they
// would one time in two under round robin.
func TestBalancerShortTasksAvoidLongOne(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := fanout.NewBalancer(context.Background(), 2, 4, sleeper)
		long := make(chan fanout.Result[time.Duration, time.Duration], 1)
		require.NoError(t, b.Submit(context.Background(), time.Hour, long))
		for range 10 {
			start := time.Now()
			_, err := b.Do(context.Background(), time.Second)
			require.NoError(t, err)
			assert.Equal(t, time.Second, time.Since(start), "a short task waited")
		}
		require.NoError(t, b.Close())
		assert.ErrorIs(t, (<-long).Err, context.Canceled, "Close ends the long task's context")
	})
}

// sleeper is a handler that takes d of virtual time, or less if its
// context ends first.
func sleeper(ctx context.Context, d time.Duration) (time.Duration, error) {
	select {
	case <-time.After(d):
		return d, nil
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

// TestBalancerCloseCancelsAndRejects: Close ends the running handlers'
// contexts, answers the queued requests with its closed error without
// running them, refuses later requests with an error matching
// compendium.ErrClosed, and returns nil, every time.
func TestBalancerCloseCancelsAndRejects(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := newGated()
		b := fanout.NewBalancer(context.Background(), 2, 2, g.handle)
		replies := make(chan fanout.Result[int, int], 4)
		// Requests 0 and 1 run; 2 and 3 wait. 0 and 2 come with contexts
		// of their own, which Close must end too.
		own, cancel := context.WithCancel(context.Background())
		defer cancel()
		for v := range 4 {
			ctx := context.Background()
			if v%2 == 0 {
				ctx = own
			}
			require.NoError(t, b.Submit(ctx, v, replies))
		}
		synctest.Wait() // two running, two queued
		require.NoError(t, b.Close())
		for range 4 {
			r := <-replies
			// The running handlers return their context's cause, which is
			// Close's error too.
			assert.ErrorIs(t, r.Err, compendium.ErrClosed, "request %d", r.Req)
			assert.Equal(t, "fanout: Balancer is closed", r.Err.Error())
		}
		assert.Equal(t, int32(2), g.peak.Load())
		_, err := b.Do(context.Background(), 9)
		assert.ErrorIs(t, err, compendium.ErrClosed)
		assert.ErrorIs(t, b.Submit(context.Background(), 9, replies), compendium.ErrClosed)
		assert.NoError(t, b.Close(), "Close is idempotent")
		s := b.Stats()
		assert.Equal(t, uint64(2), s.Rejected)
		assert.Equal(t, uint64(2), s.Canceled, "queued requests are answered without running")
		assert.Equal(t, uint64(2), s.Failed, "running handlers see their context end")
	})
}

// TestBalancerSubmitRacesClose: Submit racing Close returns nil or
// ErrClosed, never panics, and every nil has its answer.
func TestBalancerSubmitRacesClose(t *testing.T) {
	b := fanout.NewBalancer(context.Background(), 2, 2, echo)
	replies := make(chan fanout.Result[int, int], 1000)
	var ok atomic.Int32
	var wg sync.WaitGroup
	for p := range 4 {
		wg.Go(func() {
			for v := range 250 {
				switch err := b.Submit(context.Background(), p*250+v, replies); {
				case err == nil:
					ok.Add(1)
				case errors.Is(err, compendium.ErrClosed):
					return
				default:
					t.Errorf("Submit = %v", err)
					return
				}
			}
		})
	}
	require.NoError(t, b.Close())
	wg.Wait()
	assert.Len(t, replies, int(ok.Load()))
}

// TestBalancerCancelAnswersQueued: when the Balancer's context ends, a
// blocked Submit returns its cause, the running request sees it, the
// queued ones are answered with it without running, and the workers exit.
func TestBalancerCancelAnswersQueued(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancelCause(context.Background())
		g := newGated()
		b := fanout.NewBalancer(ctx, 1, 3, g.handle)
		replies := make(chan fanout.Result[int, int], 3)
		for v := range 3 {
			require.NoError(t, b.Submit(context.Background(), v, replies))
		}
		blocked := make(chan error)
		go func() { blocked <- b.Submit(context.Background(), 3, replies) }()
		synctest.Wait()
		stop := errors.New("stop")
		cancel(stop)
		assert.ErrorIs(t, <-blocked, stop, "Submit blocked on a full Balancer")
		for range 3 {
			assert.ErrorIs(t, (<-replies).Err, stop) // running one sees ctx end; queued ones skipped
		}
		// No Close: the workers return on their own once ctx ends (the
		// talk's never do), and synctest.Test fails if one is left blocked.
		synctest.Wait()
		s := b.Stats()
		assert.Equal(t, uint64(2), s.Canceled)
		assert.Equal(t, uint64(1), s.Failed, "the running one returned its context's error")
		assert.Equal(t, uint64(1), s.Rejected)
		assert.Equal(t, s.Submitted, s.Failed+s.Canceled)
		assert.Equal(t, []uint64{0}, s.Pending)
		assert.NoError(t, b.Close(), "a cancelled parent is not the Balancer's failure")
	})
}

// TestBalancerRequestContext: a queued request whose requester gave up
// does not run, is answered with its context's cause and counted
// Canceled; a running handler sees its request's context end.
func TestBalancerRequestContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := newGated()
		b := fanout.NewBalancer(context.Background(), 1, 2, g.handle)
		defer b.Close()
		replies := make(chan fanout.Result[int, int], 2)
		require.NoError(t, b.Submit(context.Background(), 1, replies))
		ctx, cancel := context.WithCancelCause(context.Background())
		require.NoError(t, b.Submit(ctx, 2, replies))
		gaveUp := errors.New("gave up")
		cancel(gaveUp) // request 2 is queued behind 1: it must not run
		g.release <- struct{}{}
		assert.Equal(t, 1, (<-replies).Value)
		r := <-replies
		assert.Equal(t, 2, r.Req)
		assert.ErrorIs(t, r.Err, gaveUp, "answered with its context's cause")
		assert.Equal(t, int32(1), g.peak.Load())
		synctest.Wait()
		s := b.Stats()
		assert.Equal(t, uint64(1), s.Canceled)
		assert.Equal(t, uint64(1), s.Completed)
		assert.Zero(t, s.Running+s.Queued)

		// A running handler sees its request's context end.
		ctx2, cancel2 := context.WithCancel(context.Background())
		done := make(chan error)
		go func() { _, err := b.Do(ctx2, 3); done <- err }()
		synctest.Wait()
		cancel2()
		assert.ErrorIs(t, <-done, context.Canceled)
		synctest.Wait()
		assert.Zero(t, g.running.Load(), "handler still running after its request was cancelled")
		assert.Equal(t, uint64(1), b.Stats().Failed)
	})
}

func TestBalancerPanicReachesRequesterAndOwner(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		b := fanout.NewBalancer(context.Background(), 2, 2, func(ctx context.Context, v int) (int, error) {
			switch v {
			case 13:
				<-release
				panic("unlucky")
			case 1:
				<-ctx.Done() // running when the panic cancels the Balancer
				return 0, context.Cause(ctx)
			}
			return v, nil
		})
		replies := make(chan fanout.Result[int, int], 2)
		require.NoError(t, b.Submit(context.Background(), 13, replies))
		require.NoError(t, b.Submit(context.Background(), 1, replies))
		synctest.Wait()
		close(release)
		var pe *compendium.PanicError
		for range 2 {
			r := <-replies
			require.ErrorAs(t, r.Err, &pe, "request %d", r.Req)
		}
		assert.Equal(t, "unlucky", pe.Value)
		assert.Contains(t, string(pe.Stack), "balancer_test.go")
		_, err := b.Do(context.Background(), 2)
		assert.ErrorIs(t, err, pe, "a panicked Balancer refuses with the panic")
		s := b.Stats()
		assert.Equal(t, uint64(1), s.Panicked)
		assert.Equal(t, uint64(1), s.Failed)
		for range 2 {
			func() {
				defer func() {
					got, ok := recover().(*compendium.PanicError)
					require.True(t, ok, "Close did not re-panic with a *compendium.PanicError")
					assert.Same(t, pe, got)
				}()
				_ = b.Close()
			}()
		}
	})
}

func TestBalancerHandlerGoexit(t *testing.T) {
	b := fanout.NewBalancer(context.Background(), 1, 2, func(_ context.Context, v int) (int, error) {
		if v == 0 {
			runtime.Goexit()
		}
		return v, nil
	})
	_, err := b.Do(context.Background(), 0)
	assert.ErrorIs(t, err, compendium.ErrGoexit)
	v, err := b.Do(context.Background(), 7) // the worker was replaced
	assert.NoError(t, err)
	assert.Equal(t, 7, v)
	assert.NoError(t, b.Close(), "a Goexit fails its request, not the Balancer")
}

// TestBalancerBadArguments holds every entry point to the one policy: a
// programming error panics at the call, naming the function, before any
// goroutine starts (goleak would see one left behind).
func TestBalancerBadArguments(t *testing.T) {
	var nilCtx context.Context
	bg := context.Background()
	b := fanout.NewBalancer(bg, 1, 1, echo)
	defer b.Close()
	cases := []struct {
		name string
		f    func()
		want string
	}{
		{"NewBalancer nil ctx", func() { fanout.NewBalancer(nilCtx, 1, 1, echo) }, "fanout: NewBalancer: ctx must not be nil, got nil (use context.Background or context.TODO)"},
		{"NewBalancer workers=0", func() { fanout.NewBalancer(bg, 0, 1, echo) }, "fanout: NewBalancer: workers must be at least 1, got 0"},
		{"NewBalancer workers<0", func() { fanout.NewBalancer(bg, -1, 1, echo) }, "fanout: NewBalancer: workers must be at least 1, got -1"},
		{"NewBalancer depth=0", func() { fanout.NewBalancer(bg, 1, 0, echo) }, "fanout: NewBalancer: depth must be at least 1, got 0"},
		{"NewBalancer depth<0", func() { fanout.NewBalancer(bg, 1, math.MinInt, echo) }, fmt.Sprintf("fanout: NewBalancer: depth must be at least 1, got %d", math.MinInt)},
		{"NewBalancer depth=MaxInt", func() { fanout.NewBalancer(bg, 1, math.MaxInt, echo) },
			"fanout: NewBalancer: workers*depth 9223372036854775807 would allocate more than 16 EiB up front, more than the 1 GiB limit"},
		{"NewBalancer workers*depth overflows", func() { fanout.NewBalancer(bg, 4, math.MaxInt/2, echo) },
			fmt.Sprintf("fanout: NewBalancer: workers*depth must fit in an int, got 4*%d", math.MaxInt/2)},
		{"NewBalancer 4*2^30", func() { fanout.NewBalancer(bg, 4, 1<<30, echo) },
			"fanout: NewBalancer: workers*depth 4294967296 would allocate ..."}, // GiB: as many as a request has bytes
		{"NewBalancer workers=MaxInt", func() { fanout.NewBalancer(bg, math.MaxInt, 1, echo) },
			"fanout: NewBalancer: workers*depth 9223372036854775807 would allocate more than 16 EiB up front, more than the 1 GiB limit"},
		{"NewBalancer workers=2^24", func() { fanout.NewBalancer(bg, 1<<24, 1, echo) },
			"fanout: NewBalancer: workers 16777216 would allocate 32 GiB up front, more than the 1 GiB limit"},
		{"NewBalancer nil handle", func() { fanout.NewBalancer[int, int](bg, 1, 1, nil) }, "fanout: NewBalancer: handle must not be nil, got nil"},
		{"NewBalancer nil option", func() { fanout.NewBalancer(bg, 1, 1, echo, nil) }, "fanout: NewBalancer: option must not be nil, got nil"},
		{"StallAfter 0", func() { fanout.StallAfter(0) }, "fanout: StallAfter: d must be positive, got 0s"},
		{"StallAfter <0", func() { fanout.StallAfter(-time.Nanosecond) }, "fanout: StallAfter: d must be positive, got -1ns"},
		{"StallAfter MinInt64", func() { fanout.StallAfter(math.MinInt64) }, "fanout: StallAfter: d must be positive, got -2562047h47m16.854775808s"},
		{"Submit nil ctx", func() { _ = b.Submit(nilCtx, 1, make(chan fanout.Result[int, int], 1)) }, "fanout: Balancer.Submit: ctx must not be nil, got nil (use context.Background or context.TODO)"},
		{"Submit nil reply", func() { _ = b.Submit(bg, 1, nil) }, "fanout: Balancer.Submit: reply must not be nil, got nil"},
		{"Do nil ctx", func() { _, _ = b.Do(nilCtx, 1) }, "fanout: Balancer.Do: ctx must not be nil, got nil (use context.Background or context.TODO)"},
		{"Serve nil ctx", func() { b.Serve(nilCtx, make(chan int)) }, "fanout: Balancer.Serve: ctx must not be nil, got nil (use context.Background or context.TODO)"},
		{"Serve nil in", func() { b.Serve(bg, nil) }, "fanout: Balancer.Serve: in must not be nil, got nil"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			prefix, cut := strings.CutSuffix(c.want, "...")
			if !cut {
				assert.PanicsWithValue(t, c.want, c.f)
				return
			}
			v := catch(c.f)
			msg, _ := v.(string)
			assert.True(t, strings.HasPrefix(msg, prefix), "panicked with %#v; want %q", v, c.want)
		})
	}
	// The boundaries themselves are fine: the smallest Balancer, and a
	// StallAfter of one nanosecond.
	assert.NotPanics(t, func() {
		_ = fanout.NewBalancer(bg, 1, 1, echo, fanout.StallAfter(time.Nanosecond)).Close()
	})
	s := b.Stats()
	assert.Zero(t, s.Submitted+s.Rejected, "a refused call is not counted: it never reached the Balancer")
}

// TestBalancerCancelUnderLoad cancels the Balancer's context while many
// callers are submitting: every Do returns, every accepted request is
// answered exactly once, and no goroutine is left (goleak).
func TestBalancerCancelUnderLoad(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var ran atomic.Int32
	b := fanout.NewBalancer(ctx, 3, 2, func(_ context.Context, v int) (int, error) {
		ran.Add(1)
		return v, nil
	})
	var ok, failed atomic.Int32
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for v := range 500 {
				if v == 250 {
					cancel()
				}
				if _, err := b.Do(context.Background(), v); err != nil {
					assert.ErrorIs(t, err, context.Canceled)
					failed.Add(1)
				} else {
					ok.Add(1)
				}
			}
		})
	}
	wg.Wait()
	require.NoError(t, b.Close())
	s := b.Stats()
	assert.Equal(t, int32(8*500), ok.Load()+failed.Load())
	assert.Equal(t, ok.Load(), ran.Load(), "handled requests that did not answer, or answered without running")
	assert.Equal(t, uint64(ok.Load()), s.Completed)
	assert.Equal(t, s.Submitted, s.Completed+s.Canceled)
	assert.Equal(t, uint64(failed.Load()), s.Canceled+s.Rejected)
	assert.Positive(t, failed.Load())
}

// TestBalancerLoadGauge measures each worker's load from outside the
// Balancer, without trusting its Stats. Every handler blocks until the test
// releases it, and the test takes one step at a time: submit one more
// request, or release one running request. A request that starts after a
// release was queued on the released request's worker; one that starts
// after a submission went to an idle worker. That gives every request its
// worker; with the steps at which its Submit returned and at which it was
// released, the test rebuilds every worker's load (queued or running)
// after every step and checks the Balancer's promises:
//
//   - no worker ever holds more than depth requests;
//   - each step lets at most one request in, so no more than workers*depth
//     are accepted and unanswered (backpressure);
//   - while a Submit waits, every worker holds depth requests: no worker
//     idles while work waits to be accepted;
//   - each request goes to a worker whose load was least when it came.
//
// The steps follow a fixed pseudo-random script that alternates bursts
// (Submits pile up) with lulls (workers go idle).
func TestBalancerLoadGauge(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const workers, depth, requests = 3, 2, 60
		const never = 1 << 30
		release := make([]chan struct{}, requests)
		var started [requests]atomic.Bool
		var acceptedAt [requests]atomic.Int32
		for v := range requests {
			release[v] = make(chan struct{})
			acceptedAt[v].Store(never)
		}
		b := fanout.NewBalancer(context.Background(), workers, depth, func(_ context.Context, v int) (int, error) {
			started[v].Store(true)
			<-release[v]
			return v, nil
		})
		defer b.Close()
		replies := make(chan fanout.Result[int, int], requests)
		submittedAt := make([]int, requests)

		var step atomic.Int32               // written by the test only between synctest.Wait calls
		worker := make([]int, requests)     // -1 until the request starts
		releasedAt := make([]int, requests) // never until released
		for v := range requests {
			worker[v], releasedAt[v] = -1, never
		}
		running := []int{-1, -1, -1} // per worker, the request it runs; -1 if idle
		rng := rand.New(rand.NewPCG(1, 2))
		submitted := 0
		for s := 1; ; s++ {
			var busy []int
			for _, v := range running {
				if v >= 0 {
					busy = append(busy, v)
				}
			}
			burst := s/20%2 == 0
			odds := 1 // in 8, that this step submits rather than releases
			if burst {
				odds = 6
			}
			submit := submitted < requests && (len(busy) == 0 || rng.IntN(8) < odds)
			if !submit && len(busy) == 0 {
				break
			}
			step.Store(int32(s))
			from := -1 // the worker whose queue a new start comes from; -1 for an idle one
			if submit {
				v := submitted
				submitted++
				submittedAt[v] = s
				go func() {
					if assert.NoError(t, b.Submit(context.Background(), v, replies)) {
						acceptedAt[v].Store(step.Load())
					}
				}()
			} else {
				r := busy[rng.IntN(len(busy))]
				from = worker[r]
				releasedAt[r], running[from] = s, -1
				close(release[r])
			}
			synctest.Wait()
			for v := range submitted {
				if !started[v].Load() || worker[v] >= 0 {
					continue
				}
				w := from
				if w < 0 {
					w = slices.Index(running, -1) // idle workers are alike: any will do
				}
				require.True(t, w >= 0 && running[w] == -1, "step %d: request %d started with no worker free for it: %v", s, v, running)
				worker[v], running[w] = w, v
			}
		}
		for v := range requests {
			require.NoError(t, (<-replies).Err)
			require.GreaterOrEqual(t, worker[v], 0, "request %d never ran", v)
		}

		// Rebuild the loads after each step and check them.
		steps := int(step.Load())
		load := func(s int) (loads []int, waiting int) {
			loads = make([]int, workers)
			for v := range requests {
				switch {
				case submittedAt[v] > s:
				case int(acceptedAt[v].Load()) > s:
					waiting++
				case releasedAt[v] > s:
					loads[worker[v]]++
				}
			}
			return loads, waiting
		}
		sawWaiting, sawIdle := false, false
		for s := 1; s <= steps; s++ {
			loads, waiting := load(s)
			for w, l := range loads {
				require.LessOrEqual(t, l, depth, "step %d: worker %d over depth: %v", s, w, loads)
				if waiting > 0 {
					require.Equal(t, depth, l, "step %d: worker %d not full while %d requests wait: %v", s, w, waiting, loads)
				}
			}
			sawWaiting = sawWaiting || waiting > 0
			sawIdle = sawIdle || slices.Contains(loads, 0) && slices.Max(loads) > 0
			// The loads as they stood when step s let a request in: after
			// the previous step, less the request released at this one.
			before, _ := load(s - 1)
			for v := range requests {
				if releasedAt[v] == s {
					before[worker[v]]--
				}
			}
			var in []int
			for v := range requests {
				if int(acceptedAt[v].Load()) == s {
					in = append(in, v)
				}
			}
			require.LessOrEqual(t, len(in), 1, "step %d let %v in", s, in)
			for _, v := range in {
				assert.Equal(t, slices.Min(before), before[worker[v]], "step %d: request %d went to worker %d with loads %v", s, v, worker[v], before)
			}
		}
		assert.True(t, sawWaiting && sawIdle, "the script never made Submits wait (%v) or a worker idle (%v)", sawWaiting, sawIdle)
	})
}

// TestBalancerStatsAddUp: every accepted request is counted once: a
// handler that returned nil in Completed, one that returned an error or
// called runtime.Goexit in Failed.
func TestBalancerStatsAddUp(t *testing.T) {
	b := fanout.NewBalancer(context.Background(), 1, 2, func(_ context.Context, v int) (int, error) {
		switch v {
		case 0:
			runtime.Goexit()
		case 1:
			return 0, errors.New("fail")
		}
		return v, nil
	})
	for v := range 3 {
		_, _ = b.Do(context.Background(), v)
	}
	require.NoError(t, b.Close())
	s := b.Stats()
	assert.Equal(t, compendium.TaskStats{Submitted: 3, Completed: 1, Failed: 2}, s.TaskStats)
}

// TestBalancerCloseUnreadReply: nothing a user leaves unread can hang
// Close. A reply channel with no room, never read, held Close forever when
// Close waited for every answer to be delivered before cancelling.
func TestBalancerCloseUnreadReply(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := fanout.NewBalancer(context.Background(), 1, 2, echo)
		unread := make(chan fanout.Result[int, int]) // no room, never read
		require.NoError(t, b.Submit(context.Background(), 5, unread))
		full := make(chan fanout.Result[int, int], 1)
		full <- fanout.Result[int, int]{} // room for none
		require.NoError(t, b.Submit(context.Background(), 6, full))
		synctest.Wait() // the worker is waiting to deliver 5
		require.NoError(t, b.Close())
		assert.Len(t, full, 1, "the answer with no room was dropped, not waited for")
		s := b.Stats()
		assert.Equal(t, uint64(1), s.Completed, "5 ran")
		assert.Equal(t, uint64(1), s.Canceled, "6 was still queued behind it")
	})
}

// TestBalancerFullReplyDoesNotHoldWorker: a worker whose reply channel has
// no room waits for room only while the requester can still read it: when
// the request's context ends, the worker drops the answer and goes on with
// its queue.
func TestBalancerFullReplyDoesNotHoldWorker(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := fanout.NewBalancer(context.Background(), 1, 2, echo)
		defer b.Close()
		ctx, cancel := context.WithCancel(context.Background())
		full := make(chan fanout.Result[int, int], 1)
		full <- fanout.Result[int, int]{Req: -1} // the requester stopped reading
		require.NoError(t, b.Submit(ctx, 1, full))
		next := make(chan fanout.Result[int, int], 1)
		require.NoError(t, b.Submit(context.Background(), 2, next))
		synctest.Wait()
		assert.Empty(t, next, "the worker answered request 2 while stuck on 1's answer")
		cancel()
		r := <-next
		assert.Equal(t, 2, r.Value, "the worker went on once 1's requester gave up")
		assert.Equal(t, -1, (<-full).Req, "1's answer was dropped, not delivered late")
	})
}

// TestBalancerWorkerIndex checks that every handler call on worker i sees
// i, whichever context the request came with, that the indexes cover
// 0..workers-1 under load, and that a worker's tasks match its own
// counters: a handler that notes the index it runs on can never run
// concurrently with another that notes the same one.
func TestBalancerWorkerIndex(t *testing.T) {
	const workers, n = 4, 10_000
	var (
		running [workers]atomic.Int32
		handled [workers]atomic.Int64
	)
	b := fanout.NewBalancer(context.Background(), workers, 2, func(ctx context.Context, v int) (int, error) {
		i, ok := fanout.WorkerIndex(ctx)
		if !ok || i < 0 || i >= workers {
			return 0, fmt.Errorf("WorkerIndex = %v, %v", i, ok)
		}
		if running[i].Add(1) != 1 {
			return 0, fmt.Errorf("two handlers at once on worker %d", i)
		}
		defer running[i].Add(-1)
		handled[i].Add(1)
		if v%7 == 0 {
			runtime.Gosched() // let the loads differ
		}
		return i, nil
	})
	defer b.Close()
	type key struct{}
	var wg sync.WaitGroup
	for c := range 8 {
		wg.Go(func() {
			ctx := context.Background()
			if c%2 == 1 { // a context of its own: the handler's is a merge
				ctx = context.WithValue(ctx, key{}, c)
			}
			for v := range n / 8 {
				_, err := b.Do(ctx, v)
				assert.NoError(t, err)
			}
		})
	}
	wg.Wait()
	total := int64(0)
	for i := range handled {
		assert.Positive(t, handled[i].Load(), "worker %d never ran a handler", i)
		total += handled[i].Load()
	}
	assert.Equal(t, int64(n), total)
}

// TestBalancerWorkerIndexIsTheWorkers checks, with tasks that do not
// finish, that the index a handler sees is the worker the Balancer placed
// its request on: one request per worker, each blocked, leaves every
// worker's load at one and every index seen once.
func TestBalancerWorkerIndexIsTheWorkers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const workers = 3
		release := make(chan struct{})
		seen := make(chan int, workers)
		b := fanout.NewBalancer(context.Background(), workers, 2, func(ctx context.Context, _ int) (int, error) {
			i, _ := fanout.WorkerIndex(ctx)
			seen <- i
			<-release
			return i, nil
		})
		defer b.Close()
		replies := make(chan fanout.Result[int, int], workers)
		for v := range workers {
			require.NoError(t, b.Submit(context.Background(), v, replies))
		}
		synctest.Wait()
		assert.Equal(t, []uint64{1, 1, 1}, b.Stats().Pending)
		got := make([]int, 0, workers)
		for range workers {
			got = append(got, <-seen)
		}
		slices.Sort(got)
		assert.Equal(t, []int{0, 1, 2}, got)
		close(release)
		for range workers {
			r := <-replies
			assert.NoError(t, r.Err)
		}
	})
}

// TestBalancerWorkerIndexAfterGoexit checks that the goroutine that takes
// over a worker whose handler called runtime.Goexit keeps its index.
func TestBalancerWorkerIndexAfterGoexit(t *testing.T) {
	b := fanout.NewBalancer(context.Background(), 1, 2, func(ctx context.Context, v int) (int, error) {
		i, ok := fanout.WorkerIndex(ctx)
		if v == 0 {
			runtime.Goexit()
		}
		if !ok {
			return -1, nil
		}
		return i, nil
	})
	defer b.Close()
	for range 3 {
		_, err := b.Do(context.Background(), 0)
		assert.ErrorIs(t, err, compendium.ErrGoexit)
		i, err := b.Do(context.Background(), 1)
		require.NoError(t, err)
		assert.Equal(t, 0, i, "the replacement worker lost its index")
	}
}

// TestWorkerIndexOutsideBalancer checks that a context that did not come
// from a Balancer's handler reports no worker, and that one derived from a
// handler's keeps it.
func TestWorkerIndexOutsideBalancer(t *testing.T) {
	i, ok := fanout.WorkerIndex(context.Background())
	assert.False(t, ok)
	assert.Zero(t, i)
	type otherKey struct{}
	ctx, cancel := context.WithCancel(context.WithValue(context.Background(), otherKey{}, 0))
	defer cancel()
	_, ok = fanout.WorkerIndex(ctx)
	assert.False(t, ok)

	type res struct {
		i  int
		ok bool
	}
	b := fanout.NewBalancer(context.Background(), 1, 1, func(ctx context.Context, _ int) (res, error) {
		ctx, cancel := context.WithTimeout(ctx, time.Hour)
		defer cancel()
		i, ok := fanout.WorkerIndex(ctx)
		return res{i, ok}, nil
	})
	defer b.Close()
	got, err := b.Do(context.Background(), 0)
	require.NoError(t, err)
	assert.Equal(t, res{0, true}, got)
}

// TestWorkerIndexAllocs checks that the index costs a request made with
// context.Background no allocation, and logs what one made with a context
// of its own costs (the merge: WithCancelCause, AfterFunc and the WithValue
// that carries the index; 6 with Go 1.26, as many as before the index).
func TestWorkerIndexAllocs(t *testing.T) {
	b := fanout.NewBalancer(context.Background(), 2, 2, func(ctx context.Context, _ int) (int, error) {
		i, _ := fanout.WorkerIndex(ctx)
		return i, nil
	})
	defer b.Close()
	bg := testing.AllocsPerRun(1000, func() { _, _ = b.Do(context.Background(), 0) })
	assert.Zero(t, bg, "allocations per Do with context.Background")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	own := testing.AllocsPerRun(1000, func() { _, _ = b.Do(ctx, 0) })
	t.Logf("allocations per Do: %v with context.Background, %v with a context of its own", bg, own)
}

// TestBalancerLoadDropsBeforeReply: once Do has its answer, the worker's
// load no longer counts that request, so a caller who submits again at
// once is placed by the loads as they are, not as they were. Were the load
// lowered after the reply, the caller could find the worker it just used
// still busy, tie it with one that is, and wait behind a long task.
func TestBalancerLoadDropsBeforeReply(t *testing.T) {
	b := fanout.NewBalancer(context.Background(), 1, 1, func(_ context.Context, v int) (int, error) { return v, nil })
	defer b.Close()
	for i := range 20_000 {
		_, err := b.Do(context.Background(), i)
		require.NoError(t, err)
		require.Equal(t, []uint64{0}, b.Stats().Pending, "after answer %d", i)
	}
}

// TestBalancerRefusesEndedContext: a Submit or Do whose context has
// already ended is refused with its cause, every time, even with free
// slots that a random select could pick; nothing is accepted or run.
func TestBalancerRefusesEndedContext(t *testing.T) {
	var ran atomic.Int32
	b := fanout.NewBalancer(context.Background(), 2, 8, func(_ context.Context, v int) (int, error) {
		ran.Add(1)
		return v, nil
	})
	ctx, cancel := context.WithCancelCause(context.Background())
	why := errors.New("gave up")
	cancel(why)
	reply := make(chan fanout.Result[int, int], 1)
	for range 200 {
		require.ErrorIs(t, b.Submit(ctx, 1, reply), why)
		_, err := b.Do(ctx, 1)
		require.ErrorIs(t, err, why)
	}
	require.NoError(t, b.Close())
	s := b.Stats()
	assert.Equal(t, uint64(400), s.Rejected)
	assert.Zero(t, s.Submitted)
	assert.Zero(t, ran.Load())
}

// TestBalancerRefusesOnceCancelled: once the Balancer's context has ended,
// Submit refuses with its cause, every time, even while the workers are
// still busy (so the gate is not yet shut) and slots are free.
func TestBalancerRefusesOnceCancelled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancelCause(context.Background())
		release := make(chan struct{})
		b := fanout.NewBalancer(ctx, 1, 64, func(_ context.Context, v int) (int, error) {
			<-release // ignores its context: the worker stays busy
			return v, nil
		})
		reply := make(chan fanout.Result[int, int], 64)
		require.NoError(t, b.Submit(context.Background(), 0, reply))
		synctest.Wait()
		why := errors.New("shutting down")
		cancel(why)
		for v := range 50 {
			require.ErrorIs(t, b.Submit(context.Background(), v, reply), why)
		}
		close(release)
		assert.NoError(t, (<-reply).Err, "the request accepted before is answered")
		require.NoError(t, b.Close())
		s := b.Stats()
		assert.Equal(t, uint64(50), s.Rejected)
		assert.Equal(t, uint64(1), s.Submitted)
	})
}

// TestBalancerDoAllocatesNothing: a Do made with context.Background
// allocates nothing, answered or refused: its reply channel is recycled
// either way.
func TestBalancerDoAllocatesNothing(t *testing.T) {
	b := fanout.NewBalancer(context.Background(), 2, 2, echo)
	assert.Zero(t, testing.AllocsPerRun(1000, func() { _, _ = b.Do(context.Background(), 1) }), "answered")
	require.NoError(t, b.Close())
	assert.Zero(t, testing.AllocsPerRun(1000, func() { _, _ = b.Do(context.Background(), 1) }), "refused after Close")
}

// TestBalancerRequestContextsReleased: the context a handler gets for a
// request made with a context of its own is released when the request is
// answered, so that a long-lived request context (a server's) or the
// Balancer's own does not keep one per request: the heap does not grow
// with the number of requests.
func TestBalancerRequestContextsReleased(t *testing.T) {
	const n = 20_000
	b := fanout.NewBalancer(context.Background(), 2, 2, echo)
	ctx, cancel := context.WithCancel(context.Background()) // lives across all the requests
	defer cancel()
	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	for range 100 { // warm up the pools
		_, _ = b.Do(ctx, 1)
	}
	before := heap()
	for v := range n {
		_, err := b.Do(ctx, v)
		require.NoError(t, err)
	}
	after := heap()
	require.NoError(t, b.Close())
	grew := int64(after) - int64(before)
	assert.Less(t, grew, int64(n*16), "the heap grew by %d bytes over %d requests: contexts kept", grew, n)
}

// catch calls f and returns what it panicked with, or nil.
func catch(f func()) (v any) {
	defer func() { v = recover() }()
	f()
	return nil
}
