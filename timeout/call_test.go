package timeout_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
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

var errBoom = errors.New("boom")

func TestCallReturnsResult(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		v, err := timeout.Call(t.Context(), 50*time.Millisecond, func(ctx context.Context) (int, error) {
			dl, ok := ctx.Deadline()
			assert.True(t, ok, "f's context has no deadline")
			assert.Equal(t, start.Add(50*time.Millisecond), dl, "f's deadline")
			time.Sleep(10 * time.Millisecond)
			return 42, nil
		})
		require.NoError(t, err)
		assert.Equal(t, 42, v)
		assert.Equal(t, 10*time.Millisecond, time.Since(start), "Call returned after")
	})
}

func TestDoReturnsFError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		calls := 0
		assert.NoError(t, timeout.Do(t.Context(), time.Second, func(context.Context) error { calls++; return nil }))
		assert.ErrorIs(t, timeout.Do(t.Context(), time.Second, func(context.Context) error { calls++; return errBoom }), errBoom)
		assert.Equal(t, 2, calls)
	})
}

func TestCallReturnsFError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, err := timeout.Call(t.Context(), time.Second, func(context.Context) (int, error) { return 0, errBoom })
		assert.ErrorIs(t, err, errBoom)
		assert.NotErrorIs(t, err, timeout.ErrTimeout)
	})
}

// TestCallTimesOutAtDeadline covers both kinds of f: one that ignores its
// context (Call must still return at exactly d, and f's late result must
// not leak anything) and one that honours it (Call must report the
// timeout, not f's own copy of ctx.Err()).
func TestCallTimesOutAtDeadline(t *testing.T) {
	defer goleak.VerifyNone(t) // after the bubble: nothing of ours outlives the test
	cases := []struct {
		name string
		f    func(ctx context.Context) (string, error)
	}{
		{"ignores ctx", func(context.Context) (string, error) {
			time.Sleep(80 * time.Millisecond)
			return "late", nil
		}},
		{"honours ctx", func(ctx context.Context) (string, error) {
			<-ctx.Done()
			assert.ErrorIs(t, context.Cause(ctx), timeout.ErrTimeout, "cause of f's context")
			return "", ctx.Err()
		}},
		{"fails late", func(context.Context) (string, error) {
			time.Sleep(80 * time.Millisecond)
			return "", errBoom
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var returned atomic.Bool
				start := time.Now()
				v, err := timeout.Call(t.Context(), 50*time.Millisecond, func(ctx context.Context) (string, error) {
					defer returned.Store(true)
					return c.f(ctx)
				})
				assert.Equal(t, 50*time.Millisecond, time.Since(start), "Call returned after")
				assert.Empty(t, v)
				assert.ErrorIs(t, err, timeout.ErrTimeout)
				assert.ErrorIs(t, err, context.DeadlineExceeded)
				assert.EqualError(t, err, "timeout: Call: no result within 50ms: context deadline exceeded")
				var te interface{ Timeout() bool }
				if assert.ErrorAs(t, err, &te) {
					assert.True(t, te.Timeout())
				}
				// f finishes later into the buffered channel and exits:
				// the bubble would report a goroutine blocked forever
				// otherwise.
				time.Sleep(time.Second)
				synctest.Wait()
				assert.True(t, returned.Load(), "f never returned")
			})
		})
	}
}

func TestCallParentCancelled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		time.AfterFunc(20*time.Millisecond, cancel)
		start := time.Now()
		_, err := timeout.Call(ctx, time.Second, func(ctx context.Context) (int, error) {
			<-ctx.Done()
			return 0, ctx.Err()
		})
		assert.Equal(t, 20*time.Millisecond, time.Since(start))
		assert.ErrorIs(t, err, context.Canceled)
		assert.NotErrorIs(t, err, timeout.ErrTimeout, "the caller's cancellation is not our timeout")
	})
}

func TestCallParentDeadlineIsNotOurs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
		defer cancel()
		err := timeout.Do(ctx, time.Second, func(ctx context.Context) error {
			<-ctx.Done()
			return ctx.Err()
		})
		assert.Equal(t, context.DeadlineExceeded, err, "Do() = %v; want the caller's ctx.Err()", err)
		assert.NotErrorIs(t, err, timeout.ErrTimeout)
	})
}

// TestCallStartsNothing: bad input and an expired deadline return at once
// without calling f.
func TestCallStartsNothing(t *testing.T) {
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	cases := []struct {
		name    string
		ctx     context.Context
		d       time.Duration
		wantIs  error
		wantMsg string
	}{
		{"zero d", context.Background(), 0, timeout.ErrTimeout, "timeout: Call: no result within 0s: context deadline exceeded"},
		{"negative d", context.Background(), -time.Second, timeout.ErrTimeout, "timeout: Call: no result within -1s: context deadline exceeded"},
		{"cancelled ctx", cancelled, time.Second, context.Canceled, "context canceled"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			called := false
			_, err := timeout.Call(c.ctx, c.d, func(context.Context) (int, error) { called = true; return 1, nil })
			assert.ErrorIs(t, err, c.wantIs)
			assert.EqualError(t, err, c.wantMsg)
			err = timeout.Do(c.ctx, c.d, func(context.Context) error { called = true; return nil })
			assert.ErrorIs(t, err, c.wantIs)
			assert.False(t, called, "f was called")
		})
	}
}

func TestCallPanicBeforeDeadlineReachesCaller(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := recoverPanic(func() {
			_ = timeout.Do(t.Context(), time.Second, func(context.Context) error {
				time.Sleep(10 * time.Millisecond)
				panic(errBoom)
			})
		})
		var pe *compendium.PanicError
		require.ErrorAs(t, p, &pe, "recovered %#v; want a *compendium.PanicError", p)
		assert.Equal(t, errBoom, pe.Value)
		assert.ErrorIs(t, pe, errBoom)
		assert.Contains(t, string(pe.Stack), "call_test.go", "stack must show where f panicked")
	})
}

func TestCallGoexit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		_, err := timeout.Call(t.Context(), time.Second, func(context.Context) (int, error) {
			runtime.Goexit()
			return 0, nil
		})
		assert.ErrorIs(t, err, compendium.ErrGoexit)
		assert.EqualError(t, err, "timeout: Call: compendium: function called runtime.Goexit")
		assert.Zero(t, time.Since(start), "Call waited for the deadline after a Goexit")
	})
}

// TestPanicAfterReturnCrashes checks the one outcome a test cannot
// recover: a panic in a function after the call that ran it returned (f
// after Call's deadline, a loser after First or Hedge had its winner) must
// crash the program (it has nowhere else to go), not vanish into the
// result buffer. It re-runs the test binary with TIMEOUT_CRASH set to the
// case and looks at how that child died.
func TestPanicAfterReturnCrashes(t *testing.T) {
	late := func(context.Context) (int, error) {
		time.Sleep(20 * time.Millisecond)
		panic("late boom")
	}
	fast := func(context.Context) (int, error) { return 1, nil }
	cases := map[string]func(ctx context.Context) (int, error){
		"Call": func(ctx context.Context) (int, error) {
			return timeout.Call(ctx, 10*time.Millisecond, late)
		},
		"First": func(ctx context.Context) (int, error) {
			return timeout.First(ctx, late, fast)
		},
		"Hedge": func(ctx context.Context) (int, error) {
			// late starts first; fast starts 5ms later and wins.
			return timeout.Hedge(ctx, 5*time.Millisecond, late, fast)
		},
	}
	if name := os.Getenv("TIMEOUT_CRASH"); name != "" {
		synctest.Test(t, func(t *testing.T) {
			_, _ = cases[name](t.Context())
			time.Sleep(time.Second)
		})
		t.Fatal("the late panic did not crash the program")
		return
	}
	for name := range cases {
		t.Run(name, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestPanicAfterReturnCrashes$")
			cmd.Env = append(os.Environ(), "TIMEOUT_CRASH="+name)
			out, err := cmd.CombinedOutput()
			var exit *exec.ExitError
			require.ErrorAs(t, err, &exit, "child: %v\n%s", err, out)
			assert.Equal(t, 2, exit.ExitCode(), "a panic exits with status 2\n%s", out)
			assert.Contains(t, string(out), "panic: late boom [recovered]")
			assert.Contains(t, string(out), "call_test.go", "the crash must show f's stack")
		})
	}
}

// TestCallRepeatedTimeoutsStayFlat runs 10^5 Calls that time out and whose
// f returns a little later: the number of f's alive must not grow with the
// number of calls, and no goroutine may be left at the end (one stuck on its
// send makes the bubble fail with a deadlock). The calls run from
// 100 callers at once, so that the bubble advances its clock once per round
// of 100 timeouts rather than once per call. Under -race (CI's -count=5
// run) it does 10^4 calls, not 10^5, to stay cheap: the race detector makes
// each goroutine about ten times dearer.
func TestCallRepeatedTimeoutsStayFlat(t *testing.T) {
	defer goleak.VerifyNone(t) // after the bubble: nothing of ours outlives the test
	synctest.Test(t, func(t *testing.T) {
		const callers = 100
		rounds := 1000
		if raceEnabled {
			rounds = 100
		}
		// A goroutine whose f has returned but which is stuck delivering
		// its result (the slide's unbuffered channel) is invisible to the
		// gauge of live f's below; the bubble catches it instead:
		// synctest.Test fails with a deadlock if any goroutine of the
		// bubble is still blocked when the test function returns.
		var live, peak, timeouts atomic.Int64
		f := func(context.Context) (int, error) {
			defer live.Add(-1)
			storeMax(&peak, live.Add(1))
			time.Sleep(2 * time.Millisecond) // ignores ctx, returns after the caller left
			return 0, nil
		}
		var wg sync.WaitGroup
		for range callers {
			wg.Go(func() {
				for range rounds {
					if _, err := timeout.Call(t.Context(), time.Millisecond, f); errors.Is(err, timeout.ErrTimeout) {
						timeouts.Add(1)
					}
				}
			})
		}
		wg.Wait()
		time.Sleep(time.Second)
		synctest.Wait()
		assert.EqualValues(t, callers*rounds, timeouts.Load(), "calls that timed out")
		// Each caller has at most three f's alive: the ones started 0
		// and 1 ms ago, and, at the instant it starts a new one, the
		// one started 2 ms ago, waking to return.
		assert.LessOrEqual(t, peak.Load(), int64(3*callers), "peak of live f goroutines")
		assert.Zero(t, live.Load(), "f goroutines left after the loop")
	})
}

// storeMax raises hi to n if n is larger, and returns n.
func storeMax(hi *atomic.Int64, n int64) int64 {
	for p := hi.Load(); n > p && !hi.CompareAndSwap(p, n); p = hi.Load() {
	}
	return n
}

// recoverPanic calls f and returns what it panicked with, as an error if
// it was one.
func recoverPanic(f func()) (p error) {
	defer func() {
		switch v := recover().(type) {
		case nil:
		case error:
			p = v
		default:
			p = errors.New("non-error panic")
		}
	}()
	f()
	return nil
}

// TestCallFailureAfterItsContextEndedIsTheTimeout: an f that fails once
// its context has ended most likely failed because it had, so Call reports
// why the context ended (its deadline: ErrTimeout; the caller's ctx: that
// error), never f's echo of it; a success at that instant is still a
// success, and a failure before the end is f's own.
func TestCallFailureAfterItsContextEndedIsTheTimeout(t *testing.T) {
	live := context.Background()
	expired, cancel := context.WithTimeout(live, -1)
	defer cancel()
	callerGone, cancelCaller := context.WithCancel(live)
	cancelCaller()
	cases := []struct {
		name      string
		ctx, fctx context.Context
		v         int
		err       error
		want      int
		wantErr   string
	}{
		{"fails after the deadline", live, expired, 0, context.DeadlineExceeded, 0, "timeout: Call: no result within 1s: context deadline exceeded"},
		{"fails after the caller's ctx ended", callerGone, callerGone, 0, errBoom, 0, "context canceled"},
		{"succeeds at the deadline", live, expired, 7, nil, 7, ""},
		{"fails before the deadline", live, live, 0, errBoom, 0, "boom"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v, err := timeout.SettleCall(c.ctx, c.fctx, time.Second, c.v, c.err)
			assert.Equal(t, c.want, v)
			if c.wantErr == "" {
				assert.NoError(t, err)
				return
			}
			assert.EqualError(t, err, c.wantErr)
		})
	}
}

// TestCallFailureAtTheDeadlineIsTheTimeout is the same rule through Call:
// f honours its context and fails with ctx.Err() at the deadline, while
// Call wakes to it too; whichever Call sees first, it reports its own
// timeout. Run many times, so that both orders occur.
func TestCallFailureAtTheDeadlineIsTheTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		for range 200 {
			err := timeout.Do(t.Context(), time.Millisecond, func(ctx context.Context) error {
				<-ctx.Done()
				return context.Cause(ctx)
			})
			require.EqualError(t, err, "timeout: Do: no result within 1ms: context deadline exceeded")
		}
	})
}
