package timeout_test

import (
	"context"
	"math"
	"testing"
	"testing/synctest"
	"time"

	"github.com/go-compendium/compendium/timeout"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRecvOutcomes: every way a Recv can end, each at its exact virtual
// time, with errors that tell the cases apart.
func TestRecvOutcomes(t *testing.T) {
	cases := []struct {
		name    string
		d       time.Duration
		setup   func(ch chan int, cancel context.CancelFunc) // runs before Recv
		nilChan bool
		want    int
		wantErr error
		notErr  error // an error the result must not match
		wantAt  time.Duration
	}{
		{name: "ready", d: time.Second, setup: func(ch chan int, _ context.CancelFunc) { ch <- 1 }, want: 1},
		{name: "arrives", d: time.Second, setup: func(ch chan int, _ context.CancelFunc) {
			time.AfterFunc(20*time.Millisecond, func() { ch <- 2 })
		}, want: 2, wantAt: 20 * time.Millisecond},
		{name: "timeout", d: 50 * time.Millisecond, setup: func(chan int, context.CancelFunc) {},
			wantErr: timeout.ErrTimeout, notErr: timeout.ErrChannelClosed, wantAt: 50 * time.Millisecond},
		{name: "cancelled", d: time.Second, setup: func(_ chan int, cancel context.CancelFunc) {
			time.AfterFunc(30*time.Millisecond, cancel)
		}, wantErr: context.Canceled, notErr: timeout.ErrTimeout, wantAt: 30 * time.Millisecond},
		{name: "closed", d: time.Second, setup: func(ch chan int, _ context.CancelFunc) {
			time.AfterFunc(40*time.Millisecond, func() { close(ch) })
		}, wantErr: timeout.ErrChannelClosed, notErr: timeout.ErrTimeout, wantAt: 40 * time.Millisecond},
		{name: "closed after value", d: time.Second, setup: func(ch chan int, _ context.CancelFunc) { ch <- 3; close(ch) }, want: 3},
		{name: "poll ready", d: 0, setup: func(ch chan int, _ context.CancelFunc) { ch <- 4 }, want: 4},
		{name: "poll empty", d: 0, setup: func(chan int, context.CancelFunc) {}, wantErr: timeout.ErrTimeout},
		{name: "negative d", d: -time.Second, setup: func(chan int, context.CancelFunc) {}, wantErr: timeout.ErrTimeout},
		{name: "nil channel waits out d", d: 25 * time.Millisecond, setup: func(chan int, context.CancelFunc) {},
			nilChan: true, wantErr: timeout.ErrTimeout, wantAt: 25 * time.Millisecond},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx, cancel := context.WithCancel(t.Context())
				defer cancel()
				ch := make(chan int, 1)
				c.setup(ch, cancel)
				recvFrom := ch
				if c.nilChan {
					recvFrom = nil
				}
				start := time.Now()
				v, err := timeout.Recv(ctx, recvFrom, c.d)
				assert.Equal(t, c.wantAt, time.Since(start), "Recv returned after")
				if c.wantErr == nil {
					require.NoError(t, err)
					assert.Equal(t, c.want, v)
					return
				}
				assert.ErrorIs(t, err, c.wantErr)
				if c.notErr != nil {
					assert.NotErrorIs(t, err, c.notErr)
				}
			})
		})
	}
}

func TestRecvTimeoutMessage(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, err := timeout.Recv(t.Context(), make(chan int), 50*time.Millisecond)
		assert.EqualError(t, err, "timeout: Recv: no value within 50ms: context deadline exceeded")
		assert.ErrorIs(t, err, context.DeadlineExceeded)
	})
}

func TestRecvCancelledCtxTakesNothing(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	ch := make(chan int, 1)
	ch <- 1
	_, err := timeout.Recv(ctx, ch, time.Second)
	assert.ErrorIs(t, err, context.Canceled)
	assert.Len(t, ch, 1, "Recv took a value with a cancelled ctx")
	err = timeout.Send(ctx, make(chan int, 1), 1, time.Second)
	assert.ErrorIs(t, err, context.Canceled)
}

// TestPerMessageVersusConversationDeadline is the slide's time.After in a
// loop: a per-message timeout lets a conversation whose messages keep
// coming run on, while a whole-conversation deadline ends it on time.
func TestPerMessageVersusConversationDeadline(t *testing.T) {
	// chatter sends a message every 30ms, for 300ms.
	chatter := func() <-chan int {
		ch := make(chan int)
		go func() {
			defer close(ch)
			for i := range 10 {
				time.Sleep(30 * time.Millisecond)
				ch <- i
			}
		}()
		return ch
	}
	t.Run("per message", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			ch, start, n := chatter(), time.Now(), 0
			var err error
			for err == nil {
				if _, err = timeout.Recv(t.Context(), ch, 50*time.Millisecond); err == nil {
					n++
				}
			}
			assert.ErrorIs(t, err, timeout.ErrChannelClosed, "no message was ever 50ms late")
			assert.Equal(t, 10, n)
			assert.Equal(t, 300*time.Millisecond, time.Since(start))
		})
	})
	t.Run("whole conversation", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			ch, start, n := chatter(), time.Now(), 0
			deadline := start.Add(100 * time.Millisecond)
			var err error
			for err == nil {
				if _, err = timeout.RecvUntil(t.Context(), ch, deadline); err == nil {
					n++
				}
			}
			assert.ErrorIs(t, err, timeout.ErrTimeout)
			assert.Equal(t, 3, n, "messages at 30, 60 and 90ms")
			assert.Equal(t, 100*time.Millisecond, time.Since(start))
			for range ch { // let the sender finish
			}
		})
	})
}

func TestSendOutcomes(t *testing.T) {
	cases := []struct {
		name    string
		d       time.Duration
		full    bool
		setup   func(ch chan int, cancel context.CancelFunc)
		wantErr error
		wantAt  time.Duration
	}{
		{name: "room", d: time.Second},
		{name: "receiver arrives", d: time.Second, full: true, setup: func(ch chan int, _ context.CancelFunc) {
			time.AfterFunc(20*time.Millisecond, func() { <-ch })
		}, wantAt: 20 * time.Millisecond},
		{name: "timeout", d: 50 * time.Millisecond, full: true, wantErr: timeout.ErrTimeout, wantAt: 50 * time.Millisecond},
		{name: "cancelled", d: time.Second, full: true, setup: func(_ chan int, cancel context.CancelFunc) {
			time.AfterFunc(30*time.Millisecond, cancel)
		}, wantErr: context.Canceled, wantAt: 30 * time.Millisecond},
		{name: "poll room", d: 0},
		{name: "poll full", d: 0, full: true, wantErr: timeout.ErrTimeout},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx, cancel := context.WithCancel(t.Context())
				defer cancel()
				ch := make(chan int, 1)
				if c.full {
					ch <- 0
				}
				if c.setup != nil {
					c.setup(ch, cancel)
				}
				start := time.Now()
				err := timeout.Send(ctx, ch, 9, c.d)
				assert.Equal(t, c.wantAt, time.Since(start), "Send returned after")
				if c.wantErr != nil {
					assert.ErrorIs(t, err, c.wantErr)
					return
				}
				require.NoError(t, err)
				synctest.Wait()
				assert.Equal(t, 9, <-ch)
			})
		})
	}
}

func TestSendUntil(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ch := make(chan int, 2)
		deadline := time.Now().Add(40 * time.Millisecond)
		for i := range 2 {
			require.NoError(t, timeout.SendUntil(t.Context(), ch, i, deadline))
		}
		err := timeout.SendUntil(t.Context(), ch, 2, deadline)
		assert.EqualError(t, err, "timeout: SendUntil: no receiver by the deadline, 40ms after the call: context deadline exceeded")
		assert.Equal(t, deadline, time.Now())
	})
}

// TestSendOnClosedChannelPanics: Send behaves as a plain send does; it does
// not turn the bug into an error. (A close while Send waits panics too, but
// the race detector rightly reports a close racing a send, so that case
// cannot be a test.)
func TestSendOnClosedChannelPanics(t *testing.T) {
	closed := make(chan int)
	close(closed)
	assert.PanicsWithError(t, "send on closed channel", func() { _ = timeout.Send(context.Background(), closed, 1, time.Second) })
	assert.PanicsWithError(t, "send on closed channel", func() { _ = timeout.Send(context.Background(), closed, 1, 0) })
}

// TestUntilWithPastDeadlineIsPoll: a deadline already passed takes what is
// ready and otherwise times out at once, never waits; the error says the
// deadline had passed, not "within -1h".
func TestUntilWithPastDeadlineIsPoll(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		for _, deadline := range []time.Time{time.Now(), time.Now().Add(-time.Hour), time.Unix(0, 0)} {
			start := time.Now()
			ch := make(chan int, 1)
			_, err := timeout.RecvUntil(t.Context(), ch, deadline)
			assert.ErrorIs(t, err, timeout.ErrTimeout, "RecvUntil(%v) on an empty channel", deadline)
			assert.EqualError(t, err, "timeout: RecvUntil: no value by the deadline, which had passed at the call: context deadline exceeded")
			require.NoError(t, timeout.SendUntil(t.Context(), ch, 5, deadline), "SendUntil(%v) with room", deadline)
			err = timeout.SendUntil(t.Context(), ch, 6, deadline)
			assert.ErrorIs(t, err, timeout.ErrTimeout, "SendUntil(%v) on a full channel", deadline)
			v, err := timeout.RecvUntil(t.Context(), ch, deadline)
			require.NoError(t, err, "RecvUntil(%v) with a value waiting", deadline)
			assert.Equal(t, 5, v)
			assert.Zero(t, time.Since(start), "a past deadline waited")
		}
	})
}

// TestHugeDurations: the largest duration is a wait that never ends, not an
// overflow into the past (which would time out at once) nor a panic.
func TestHugeDurations(t *testing.T) {
	const forever = time.Duration(math.MaxInt64)
	synctest.Test(t, func(t *testing.T) {
		ch := make(chan int)
		time.AfterFunc(time.Hour, func() { ch <- 1 })
		v, err := timeout.Recv(t.Context(), ch, forever)
		require.NoError(t, err)
		assert.Equal(t, 1, v)

		time.AfterFunc(time.Hour, func() { <-ch })
		require.NoError(t, timeout.Send(t.Context(), ch, 2, forever))

		time.AfterFunc(time.Hour, func() { ch <- 3 })
		v, err = timeout.RecvUntil(t.Context(), ch, time.Now().Add(forever))
		require.NoError(t, err)
		assert.Equal(t, 3, v)

		v, err = timeout.Call(t.Context(), forever, func(context.Context) (int, error) {
			time.Sleep(time.Hour)
			return 4, nil
		})
		require.NoError(t, err)
		assert.Equal(t, 4, v)

		start := time.Now()
		v, err = timeout.Hedge(t.Context(), forever,
			func(context.Context) (int, error) { time.Sleep(time.Hour); return 5, nil },
			func(context.Context) (int, error) { return 6, nil })
		require.NoError(t, err)
		assert.Equal(t, 5, v, "the second try started before the first answered")
		assert.Equal(t, time.Hour, time.Since(start))

		fired := false
		it := timeout.NewIdleTimer(forever, func() { fired = true })
		time.Sleep(1000 * time.Hour)
		assert.True(t, it.Stop(), "an idle timer of MaxInt64 expired")
		assert.False(t, fired)

		hb := timeout.NewHeartbeat(forever)
		time.Sleep(1000 * time.Hour)
		assert.False(t, received(hb.Missed()), "a heartbeat of MaxInt64 reported")
		assert.NoError(t, hb.Close())
	})
}

// TestPollArmsNoTimer: d <= 0 is a poll, answered from the channel's state
// alone: the only allocation is the timeout error itself, no timer.
func TestPollArmsNoTimer(t *testing.T) {
	ctx := context.Background()
	empty, full := make(chan int), make(chan int)
	for _, d := range []time.Duration{0, -time.Second} {
		assert.Equal(t, 1.0, testing.AllocsPerRun(100, func() { _, _ = timeout.Recv(ctx, empty, d) }), "Recv(d=%v) allocations", d)
		assert.Equal(t, 1.0, testing.AllocsPerRun(100, func() { _ = timeout.Send(ctx, full, 1, d) }), "Send(d=%v) allocations", d)
	}
}
