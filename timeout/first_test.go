package timeout_test

import (
	"context"
	"errors"
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

// TestFirstAndHedgeCancelledCtxStartsNothing: a context already done
// returns its error without starting a function. (Bad input, which
// panics, is in TestBadInput.)
func TestFirstAndHedgeCancelledCtxStartsNothing(t *testing.T) {
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	called := false
	spy := func(context.Context) (int, error) { called = true; return 1, nil }
	_, err := timeout.First(cancelled, spy)
	assert.ErrorIs(t, err, context.Canceled)
	_, err = timeout.Hedge(cancelled, time.Millisecond, spy, spy)
	assert.ErrorIs(t, err, context.Canceled)
	assert.False(t, called, "a function was started")
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
		var pe *compendium.PanicError
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
		assert.ErrorIs(t, err, compendium.ErrGoexit)
		assert.EqualError(t, err, "timeout: Hedge: fs[0]: compendium: function called runtime.Goexit\ntimeout: Hedge: fs[1]: compendium: function called runtime.Goexit")
		assert.Zero(t, time.Since(start), "Hedge waited out its delay after a Goexit")
	})
}

// TestFirstAndHedgeReturnWhenCtxEndsWithStubbornFunctions: when ctx ends,
// First and Hedge return ctx.Err() at that instant even if no function
// honours its context (none will ever report), and the functions finish
// later into their buffer.
func TestFirstAndHedgeReturnWhenCtxEndsWithStubbornFunctions(t *testing.T) {
	calls := map[string]func(ctx context.Context, fs ...func(context.Context) (string, error)) (string, error){
		"First": timeout.First[string],
		"Hedge": func(ctx context.Context, fs ...func(context.Context) (string, error)) (string, error) {
			return timeout.Hedge(ctx, time.Millisecond, fs...)
		},
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx, cancel := context.WithCancel(t.Context())
				time.AfterFunc(15*time.Millisecond, cancel)
				r := newReplicas()
				_, err := call(ctx,
					r.fn(0, time.Hour, "", nil, true),
					r.fn(1, time.Hour, "", nil, true),
				)
				assert.Equal(t, context.Canceled, err)
				assert.Equal(t, 15*time.Millisecond, time.Since(r.epoch), "returned after")
				time.Sleep(time.Hour)
				synctest.Wait()
				assert.EqualValues(t, 2, r.returned.Load())
			})
		})
	}
}

// slowDone is a context whose Done method takes 2ms of (virtual) time:
// First and Hedge ask for ctx.Done each time round their select, so while
// the caller is inside Done, its functions run and their outcomes pile up
// in the buffer, and the next select finds more than one waiting. That is
// the one way a black-box test can make outcomes arrive "at the same
// moment" for the caller in a deterministic order.
type slowDone struct{ context.Context }

func (c slowDone) Done() <-chan struct{} {
	time.Sleep(2 * time.Millisecond)
	return c.Context.Done()
}

// TestFirstPanicWithWinnerIsNotDropped: a success and a panic both arrive
// before First reads either; the success is read first, and First still
// re-raises the panic, which happened while First was running and so is
// its caller's to see.
func TestFirstPanicWithWinnerIsNotDropped(t *testing.T) {
	for name, delay := range map[string]time.Duration{"First": 0, "Hedge": -1} {
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx := slowDone{t.Context()}
				win := func(context.Context) (string, error) { return "winner", nil }
				boom := func(context.Context) (string, error) {
					time.Sleep(time.Millisecond) // after win, before the caller's select
					panic(errBoom)
				}
				var v string
				p := recoverPanic(func() {
					if delay == 0 {
						v, _ = timeout.First(ctx, win, boom)
					} else {
						v, _ = timeout.Hedge(ctx, delay, win, boom)
					}
				})
				var pe *compendium.PanicError
				require.ErrorAs(t, p, &pe, "the panic was dropped; First returned %q", v)
				assert.ErrorIs(t, pe, errBoom)
			})
		})
	}
}

// TestFinishTakesFirstOutcomeAndFirstPanic: when a caller ends its race
// with outcomes waiting, it gets the first of them (Call returns a result
// that came with its deadline) and the first panic among them, wherever
// it is in the buffer (First re-raises a panic that came with its winner).
func TestFinishTakesFirstOutcomeAndFirstPanic(t *testing.T) {
	p1 := &compendium.PanicError{Value: 1}
	p2 := &compendium.PanicError{Value: 2}
	cases := []struct {
		name      string
		outs      []timeout.Outcome
		wantFirst timeout.Outcome
		wantOK    bool
		wantPanic *compendium.PanicError
	}{
		{"none", nil, timeout.Outcome{}, false, nil},
		{"one success", []timeout.Outcome{{V: 7}}, timeout.Outcome{V: 7}, true, nil},
		{"failure then success", []timeout.Outcome{{Err: errBoom}, {V: 7}}, timeout.Outcome{Err: errBoom}, true, nil},
		{"success then panic", []timeout.Outcome{{V: 7}, {Panic: p1}}, timeout.Outcome{V: 7}, true, p1},
		{"two panics", []timeout.Outcome{{V: 7}, {Panic: p1}, {V: 8}, {Panic: p2}}, timeout.Outcome{V: 7}, true, p1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			first, ok, p := timeout.Finish(c.outs...)
			assert.Equal(t, c.wantFirst, first)
			assert.Equal(t, c.wantOK, ok)
			assert.Same(t, c.wantPanic, p)
		})
	}
}
