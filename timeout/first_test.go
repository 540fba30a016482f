package timeout_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/go-compendium/compendium/timeout"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

// replicas records, for a set of functions, when each started, how its
// context ended and whether it returned, so that tests can check who ran,
// who was cancelled and that nobody was left behind.
type replicas struct {
	mu       sync.Mutex
	epoch    time.Time
	started  map[int]time.Duration
	causes   map[int]error
	returned atomic.Int32
}

func newReplicas() *replicas {
	return &replicas{epoch: time.Now(), started: map[int]time.Duration{}, causes: map[int]error{}}
}

// fn returns replica i: after d it returns (v, err), unless its context
// ends first. If ignoreCtx, it sleeps out d regardless.
func (r *replicas) fn(i int, d time.Duration, v string, err error, ignoreCtx bool) func(context.Context) (string, error) {
	return func(ctx context.Context) (string, error) {
		defer r.returned.Add(1)
		r.mu.Lock()
		r.started[i] = time.Since(r.epoch)
		r.mu.Unlock()
		if ignoreCtx {
			time.Sleep(d)
			return v, err
		}
		select {
		case <-time.After(d):
			return v, err
		case <-ctx.Done():
			r.mu.Lock()
			r.causes[i] = ctx.Err()
			r.mu.Unlock()
			return "", ctx.Err()
		}
	}
}

func (r *replicas) startTimes() map[int]time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.started
}

func TestFirstFastestWinsLosersCancelled(t *testing.T) {
	defer goleak.VerifyNone(t) // after the bubble: nothing of ours outlives the test
	synctest.Test(t, func(t *testing.T) {
		r := newReplicas()
		v, err := timeout.First(t.Context(),
			r.fn(0, 30*time.Millisecond, "slow", nil, false),
			r.fn(1, 10*time.Millisecond, "fast", nil, false),
			r.fn(2, 20*time.Millisecond, "", errBoom, false),
		)
		require.NoError(t, err)
		assert.Equal(t, "fast", v)
		assert.Equal(t, 10*time.Millisecond, time.Since(r.epoch), "First returned after")
		synctest.Wait()
		assert.EqualValues(t, 3, r.returned.Load(), "functions that returned")
		assert.Equal(t, map[int]error{0: context.Canceled, 2: context.Canceled}, r.causes, "losers' contexts")
	})
}

// TestFirstLosersThatIgnoreCtxDoNotLeak is the slide's bug: losers that
// finish after the winner must not block on their send.
func TestFirstLosersThatIgnoreCtxDoNotLeak(t *testing.T) {
	defer goleak.VerifyNone(t) // after the bubble: nothing of ours outlives the test
	synctest.Test(t, func(t *testing.T) {
		r := newReplicas()
		v, err := timeout.First(t.Context(),
			r.fn(0, 50*time.Millisecond, "slow", nil, true),
			r.fn(1, 10*time.Millisecond, "fast", nil, true),
			r.fn(2, 70*time.Millisecond, "slower", nil, true),
		)
		require.NoError(t, err)
		assert.Equal(t, "fast", v)
		time.Sleep(time.Second)
		synctest.Wait()
		assert.EqualValues(t, 3, r.returned.Load(), "functions that returned")
	})
}

func TestFirstAllFailJoinsErrors(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		errA, errB := errors.New("a failed"), errors.New("b failed")
		r := newReplicas()
		_, err := timeout.First(t.Context(),
			r.fn(0, 20*time.Millisecond, "", errA, false),
			r.fn(1, 10*time.Millisecond, "", errB, false),
		)
		assert.ErrorIs(t, err, errA)
		assert.ErrorIs(t, err, errB)
		assert.EqualError(t, err, "timeout: First: fs[0]: a failed\ntimeout: First: fs[1]: b failed", "errors in the order of fs")
		assert.Equal(t, 20*time.Millisecond, time.Since(r.epoch), "First waited for the last failure")
	})
}

func TestFirstCtxCancelledWhileRunning(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		time.AfterFunc(15*time.Millisecond, cancel)
		r := newReplicas()
		_, err := timeout.First(ctx,
			r.fn(0, time.Hour, "", nil, false),
			r.fn(1, time.Hour, "", nil, true), // ignores ctx: First must not wait for it
		)
		assert.Equal(t, context.Canceled, err, "First() = %v; want ctx.Err()", err)
		assert.Equal(t, 15*time.Millisecond, time.Since(r.epoch))
		time.Sleep(time.Hour) // let the stubborn one return into its buffer
		synctest.Wait()
		assert.EqualValues(t, 2, r.returned.Load())
	})
}

// TestFirstAndHedgeBadInput: nothing is started for an empty list, a nil
// function or a context already done.
func TestFirstAndHedgeBadInput(t *testing.T) {
	ok := func(context.Context) (int, error) { return 1, nil }
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	type call func(ctx context.Context, fs ...func(context.Context) (int, error)) (int, error)
	ops := map[string]call{
		"First": timeout.First[int],
		"Hedge": func(ctx context.Context, fs ...func(context.Context) (int, error)) (int, error) {
			return timeout.Hedge(ctx, time.Millisecond, fs...)
		},
	}
	for op, f := range ops {
		t.Run(op, func(t *testing.T) {
			_, err := f(context.Background())
			assert.EqualError(t, err, fmt.Sprintf("timeout: %s: no functions", op))
			called := false
			spy := func(context.Context) (int, error) { called = true; return 1, nil }
			_, err = f(context.Background(), spy, ok, nil)
			assert.EqualError(t, err, fmt.Sprintf("timeout: %s: fs[2] is nil", op))
			_, err = f(cancelled, spy)
			assert.ErrorIs(t, err, context.Canceled)
			assert.False(t, called, "a function was started")
		})
	}
}

func TestFirstPanicReachesCaller(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newReplicas()
		p := recoverPanic(func() {
			_, _ = timeout.First(t.Context(),
				r.fn(0, time.Hour, "", nil, false),
				func(context.Context) (string, error) { panic(errBoom) },
			)
		})
		var pe *timeout.PanicError
		require.ErrorAs(t, p, &pe)
		assert.ErrorIs(t, pe, errBoom)
		synctest.Wait()
		assert.Equal(t, map[int]error{0: context.Canceled}, r.causes, "a panic must cancel the others")
	})
}

func TestHedgeStartsNextTryAfterDelay(t *testing.T) {
	defer goleak.VerifyNone(t) // after the bubble: nothing of ours outlives the test
	synctest.Test(t, func(t *testing.T) {
		const d = 10 * time.Millisecond
		r := newReplicas()
		v, err := timeout.Hedge(t.Context(), d,
			r.fn(0, 25*time.Millisecond, "try 1", nil, false), // slow
			r.fn(1, 5*time.Millisecond, "try 2", nil, false),  // starts at d, answers at 1.5d
			r.fn(2, time.Millisecond, "try 3", nil, false),    // would start at 2d: never
		)
		require.NoError(t, err)
		assert.Equal(t, "try 2", v)
		assert.Equal(t, 15*time.Millisecond, time.Since(r.epoch), "Hedge returned after")
		synctest.Wait()
		assert.Equal(t, map[int]time.Duration{0: 0, 1: d}, r.startTimes(), "start times")
		assert.Equal(t, map[int]error{0: context.Canceled}, r.causes, "the slow try is cancelled")
	})
}

func TestHedgeFailureStartsNextTryEarly(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const d = 10 * time.Millisecond
		r := newReplicas()
		v, err := timeout.Hedge(t.Context(), d,
			r.fn(0, 3*time.Millisecond, "", errBoom, false), // fails at 3ms: try 2 starts then
			r.fn(1, time.Hour, "", nil, false),              // hangs: try 3 starts d later, at 13ms
			r.fn(2, 2*time.Millisecond, "try 3", nil, false),
		)
		require.NoError(t, err)
		assert.Equal(t, "try 3", v)
		assert.Equal(t, 15*time.Millisecond, time.Since(r.epoch))
		synctest.Wait()
		assert.Equal(t, map[int]time.Duration{0: 0, 1: 3 * time.Millisecond, 2: 13 * time.Millisecond}, r.startTimes())
	})
}

func TestHedgeAllFail(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newReplicas()
		_, err := timeout.Hedge(t.Context(), 10*time.Millisecond,
			r.fn(0, 30*time.Millisecond, "", errBoom, false),
			r.fn(1, 30*time.Millisecond, "", errBoom, false),
		)
		assert.EqualError(t, err, "timeout: Hedge: fs[0]: boom\ntimeout: Hedge: fs[1]: boom")
		assert.Equal(t, 40*time.Millisecond, time.Since(r.epoch), "the last try started at 10ms and failed 30ms later")
	})
}

func TestHedgeZeroDelayIsFirst(t *testing.T) {
	for _, delay := range []time.Duration{0, -time.Second} {
		t.Run(delay.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r := newReplicas()
				v, err := timeout.Hedge(t.Context(), delay,
					r.fn(0, 20*time.Millisecond, "a", nil, false),
					r.fn(1, 10*time.Millisecond, "b", nil, false),
				)
				require.NoError(t, err)
				assert.Equal(t, "b", v)
				assert.Equal(t, map[int]time.Duration{0: 0, 1: 0}, r.startTimes(), "every try starts at once")
			})
		})
	}
}

func TestHedgeOneFunctionNeedsNoTimer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		v, err := timeout.Hedge(t.Context(), time.Millisecond, func(context.Context) (int, error) {
			time.Sleep(time.Second)
			return 7, nil
		})
		require.NoError(t, err)
		assert.Equal(t, 7, v)
	})
}

func TestHedgeCtxCancelledBetweenTries(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		time.AfterFunc(15*time.Millisecond, cancel)
		r := newReplicas()
		_, err := timeout.Hedge(ctx, 10*time.Millisecond,
			r.fn(0, time.Hour, "", nil, false),
			r.fn(1, time.Hour, "", nil, false),
			r.fn(2, time.Hour, "", nil, false), // would start at 20ms
		)
		assert.Equal(t, context.Canceled, err)
		assert.Equal(t, 15*time.Millisecond, time.Since(r.epoch))
		synctest.Wait()
		assert.Equal(t, map[int]time.Duration{0: 0, 1: 10 * time.Millisecond}, r.startTimes(), "no try starts after ctx ended")
		time.Sleep(time.Hour)
		assert.EqualValues(t, 2, r.returned.Load())
	})
}

// TestFirstGoexitIsAFailure: a function that calls runtime.Goexit (a test
// helper's t.FailNow) counts as failed, so First neither hangs on it nor
// takes its zero result for a success.
func TestFirstGoexitIsAFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		goexit := func(context.Context) (string, error) { runtime.Goexit(); return "never", nil }
		late := func(context.Context) (string, error) { time.Sleep(10 * time.Millisecond); return "late", nil }
		v, err := timeout.First(t.Context(), goexit, late)
		require.NoError(t, err)
		assert.Equal(t, "late", v)

		start := time.Now()
		_, err = timeout.Hedge(t.Context(), time.Hour, goexit, goexit)
		assert.EqualError(t, err, "timeout: Hedge: fs[0]: timeout: function called runtime.Goexit\ntimeout: Hedge: fs[1]: timeout: function called runtime.Goexit")
		assert.Zero(t, time.Since(start), "Hedge waited out its delay after a Goexit")
	})
}
