package timeout_test

import (
	"context"
	"math"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/go-compendium/compendium/timeout"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestBadInputPanics holds every function and constructor of the package
// to the module's rule for programming errors: a nil ctx, a nil function,
// an empty list of functions, a duration that can mean nothing (an idle
// timeout or heartbeat of zero or less) and a zero deadline panic at the
// call, on the caller's goroutine, with "timeout: Func: what, got v",
// before anything starts (the spy function never runs; goleak checks that
// no goroutine was left).
func TestBadInputPanics(t *testing.T) {
	var nilCtx context.Context
	ctx := context.Background()
	var called atomic.Bool
	spy := func(context.Context) (int, error) { called.Store(true); return 1, nil }
	spyDo := func(context.Context) error { called.Store(true); return nil }
	ch := make(chan int, 1)
	const nilCtxMsg = "ctx must not be nil, got nil (use context.Background or context.TODO)"
	zeroTimeMsg := func(op string) string {
		return "timeout: " + op + ": deadline must not be the zero time.Time (use a receive or send without one to wait, or d = 0 to poll), got 0001-01-01 00:00:00 +0000 UTC"
	}
	cases := []struct {
		name string
		f    func()
		want string
	}{
		{"Call nil ctx", func() { _, _ = timeout.Call(nilCtx, time.Second, spy) }, "timeout: Call: " + nilCtxMsg},
		{"Call nil f", func() { _, _ = timeout.Call[int](ctx, time.Second, nil) }, "timeout: Call: f must not be nil, got nil"},
		{"Do nil ctx", func() { _ = timeout.Do(nilCtx, time.Second, spyDo) }, "timeout: Do: " + nilCtxMsg},
		{"Do nil f", func() { _ = timeout.Do(ctx, time.Second, nil) }, "timeout: Do: f must not be nil, got nil"},
		{"First nil ctx", func() { _, _ = timeout.First(nilCtx, spy) }, "timeout: First: " + nilCtxMsg},
		{"First no functions", func() { _, _ = timeout.First[int](ctx) }, "timeout: First: len(fs) must be at least 1, got 0"},
		{"First nil function", func() { _, _ = timeout.First(ctx, spy, spy, nil) }, "timeout: First: fs[2] must not be nil, got nil"},
		{"Hedge nil ctx", func() { _, _ = timeout.Hedge(nilCtx, time.Second, spy) }, "timeout: Hedge: " + nilCtxMsg},
		{"Hedge no functions", func() { _, _ = timeout.Hedge[int](ctx, time.Second) }, "timeout: Hedge: len(fs) must be at least 1, got 0"},
		{"Hedge nil function", func() { _, _ = timeout.Hedge(ctx, 0, nil, spy) }, "timeout: Hedge: fs[0] must not be nil, got nil"},
		{"Recv nil ctx", func() { _, _ = timeout.Recv(nilCtx, ch, time.Second) }, "timeout: Recv: " + nilCtxMsg},
		{"RecvUntil nil ctx", func() { _, _ = timeout.RecvUntil(nilCtx, ch, time.Now()) }, "timeout: RecvUntil: " + nilCtxMsg},
		{"RecvUntil zero deadline", func() { _, _ = timeout.RecvUntil(ctx, ch, time.Time{}) }, zeroTimeMsg("RecvUntil")},
		{"Send nil ctx", func() { _ = timeout.Send(nilCtx, ch, 1, time.Second) }, "timeout: Send: " + nilCtxMsg},
		{"SendUntil nil ctx", func() { _ = timeout.SendUntil(nilCtx, ch, 1, time.Now()) }, "timeout: SendUntil: " + nilCtxMsg},
		{"SendUntil zero deadline", func() { _ = timeout.SendUntil(ctx, ch, 1, time.Time{}) }, zeroTimeMsg("SendUntil")},
		{"Stopper.Go nil f", func() { _ = new(timeout.Stopper).Go(nil) }, "timeout: Stopper.Go: f must not be nil, got nil"},
		{"Stopper.GoNamed nil f", func() { _ = timeout.NewStopper().GoNamed("x", nil) }, "timeout: Stopper.GoNamed: f must not be nil, got nil"},
		{"Stopper.StopContext nil ctx", func() {
			s := timeout.NewStopper()
			_ = s.Go(func(quit <-chan struct{}) { <-quit })
			defer s.Close()
			_ = s.StopContext(nilCtx)
		}, "timeout: Stopper.StopContext: " + nilCtxMsg},
		{"NewIdleTimer zero d", func() { timeout.NewIdleTimer(0, func() { called.Store(true) }) }, "timeout: NewIdleTimer: d must be positive, got 0s"},
		{"NewIdleTimer negative d", func() { timeout.NewIdleTimer(-time.Second, func() {}) }, "timeout: NewIdleTimer: d must be positive, got -1s"},
		{"NewIdleTimer min d", func() { timeout.NewIdleTimer(math.MinInt64, func() {}) }, "timeout: NewIdleTimer: d must be positive, got -2562047h47m16.854775808s"},
		{"NewIdleTimer nil f", func() { timeout.NewIdleTimer(time.Second, nil) }, "timeout: NewIdleTimer: f must not be nil, got nil"},
		{"NewHeartbeat zero d", func() { timeout.NewHeartbeat(0) }, "timeout: NewHeartbeat: d must be positive, got 0s"},
		{"NewHeartbeat negative d", func() { timeout.NewHeartbeat(-1) }, "timeout: NewHeartbeat: d must be positive, got -1ns"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			called.Store(false)
			assert.PanicsWithValue(t, c.want, c.f)
			assert.False(t, called.Load(), "a function ran")
			assert.Empty(t, ch, "a value was sent")
		})
	}
}

// TestEdgeInputs is the other half of the rule: durations and deadlines
// that mean something are runtime conditions, not programming errors.
// Zero or negative means "already passed" (a poll, or a timeout at once
// with nothing started), the largest duration means "never" (not an
// overflow into the past), and a deadline in the past is a poll. Each case
// says what it returns and when, on a virtual clock.
func TestEdgeInputs(t *testing.T) {
	const forever = time.Duration(math.MaxInt64)
	never := func(ctx context.Context) (int, error) { <-ctx.Done(); return 0, ctx.Err() }
	soon := func(context.Context) (int, error) { time.Sleep(time.Hour); return 1, nil }
	cases := []struct {
		name    string
		f       func(ctx context.Context) error
		wantErr error // nil: success
		wantAt  time.Duration
	}{
		{"Call zero d", func(ctx context.Context) error { _, err := timeout.Call(ctx, 0, soon); return err }, timeout.ErrTimeout, 0},
		{"Call negative d", func(ctx context.Context) error { _, err := timeout.Call(ctx, -time.Hour, soon); return err }, timeout.ErrTimeout, 0},
		{"Call min d", func(ctx context.Context) error { _, err := timeout.Call(ctx, math.MinInt64, soon); return err }, timeout.ErrTimeout, 0},
		{"Call max d", func(ctx context.Context) error { _, err := timeout.Call(ctx, forever, soon); return err }, nil, time.Hour},
		{"Do zero d", func(ctx context.Context) error {
			return timeout.Do(ctx, 0, func(context.Context) error { panic("started") })
		}, timeout.ErrTimeout, 0},
		{"Do max d", func(ctx context.Context) error {
			return timeout.Do(ctx, forever, func(context.Context) error { time.Sleep(time.Hour); return nil })
		}, nil, time.Hour},
		{"Hedge zero delay", func(ctx context.Context) error { _, err := timeout.Hedge(ctx, 0, never, soon); return err }, nil, time.Hour},
		{"Hedge negative delay", func(ctx context.Context) error { _, err := timeout.Hedge(ctx, -time.Hour, never, soon); return err }, nil, time.Hour},
		{"Hedge max delay", func(ctx context.Context) error { _, err := timeout.Hedge(ctx, forever, soon, soon); return err }, nil, time.Hour},
		{"First one function", func(ctx context.Context) error { _, err := timeout.First(ctx, soon); return err }, nil, time.Hour},
		{"Recv zero d", func(ctx context.Context) error { _, err := timeout.Recv(ctx, make(chan int), 0); return err }, timeout.ErrTimeout, 0},
		{"Recv negative d", func(ctx context.Context) error { _, err := timeout.Recv(ctx, make(chan int), -1); return err }, timeout.ErrTimeout, 0},
		{"Recv max d", func(ctx context.Context) error {
			ch := make(chan int)
			time.AfterFunc(time.Hour, func() { ch <- 1 })
			_, err := timeout.Recv(ctx, ch, forever)
			return err
		}, nil, time.Hour},
		{"Recv nil channel", func(ctx context.Context) error { _, err := timeout.Recv[int](ctx, nil, time.Hour); return err }, timeout.ErrTimeout, time.Hour},
		{"RecvUntil past", func(ctx context.Context) error {
			_, err := timeout.RecvUntil(ctx, make(chan int), time.Unix(1, 0))
			return err
		}, timeout.ErrTimeout, 0},
		{"RecvUntil far future", func(ctx context.Context) error {
			ch := make(chan int, 1)
			time.AfterFunc(time.Hour, func() { ch <- 1 })
			_, err := timeout.RecvUntil(ctx, ch, time.Now().Add(forever))
			return err
		}, nil, time.Hour},
		{"Send zero d", func(ctx context.Context) error { return timeout.Send(ctx, make(chan int), 1, 0) }, timeout.ErrTimeout, 0},
		{"Send max d", func(ctx context.Context) error {
			ch := make(chan int)
			time.AfterFunc(time.Hour, func() { <-ch })
			return timeout.Send(ctx, ch, 1, forever)
		}, nil, time.Hour},
		{"SendUntil past", func(ctx context.Context) error { return timeout.SendUntil(ctx, make(chan int), 1, time.Unix(1, 0)) }, timeout.ErrTimeout, 0},
		{"NewIdleTimer max d", func(context.Context) error {
			fired := false
			it := timeout.NewIdleTimer(forever, func() { fired = true })
			time.Sleep(time.Hour)
			if fired || !it.Stop() {
				return errBoom
			}
			return nil
		}, nil, time.Hour},
		{"NewHeartbeat max d", func(context.Context) error {
			hb := timeout.NewHeartbeat(forever)
			time.Sleep(time.Hour)
			if received(hb.Missed()) {
				return errBoom
			}
			return hb.Close()
		}, nil, time.Hour},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				start := time.Now()
				err := c.f(t.Context())
				assert.Equal(t, c.wantAt, time.Since(start), "returned after")
				if c.wantErr == nil {
					require.NoError(t, err)
					return
				}
				assert.ErrorIs(t, err, c.wantErr)
				time.Sleep(2 * time.Hour) // anything started by mistake ends inside the bubble
			})
		})
	}
}
