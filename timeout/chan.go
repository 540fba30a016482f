package timeout

import (
	"context"
	"time"

	"github.com/go-compendium/compendium/internal/lifecycle"
)

// Recv receives a value from ch, waiting at most d: the select with a
// time.After case from the talk's TIMERS section, as a function with three
// distinguishable failures:
//
//   - no value within d: an error matching [ErrTimeout] and
//     [context.DeadlineExceeded];
//   - ctx ended first: ctx.Err();
//   - ch is closed and drained: [ErrChannelClosed].
//
// d is a per-message timeout: every call starts its own d, so a loop of
// Recv calls can run forever as long as each message arrives within d. That
// is what the slide's `case <-time.After(d)` inside a `for` loop does, and
// it is wrong when you meant a limit on the whole conversation: for that,
// use [RecvUntil] with one deadline computed before the loop.
//
// A value that is already waiting is taken without starting a timer, so d
// <= 0 (a deadline already passed) is a poll: it takes a ready value or
// reports the timeout at once. A ctx that is already done returns ctx.Err()
// without receiving. A nil ch is never ready, as in a select, so Recv waits
// out d (or ctx). A nil ctx panics. Recv starts no goroutine.
//
// Cost: with a value ready, a receive and no timer; otherwise one timer,
// stopped before Recv returns. See timeout.Recv in bench/RESULTS.md,
// beside a select with a time.After case.
func Recv[T any](ctx context.Context, ch <-chan T, d time.Duration) (T, error) {
	lifecycle.Context("timeout", "Recv", ctx)
	return recv(ctx, "Recv", ch, d, false)
}

// RecvUntil is [Recv] with an absolute deadline instead of a duration:
// calls in a loop that pass the same deadline share it, so the loop as a
// whole ends by then however the messages are spaced (a whole-conversation
// deadline). The errors are Recv's; a deadline in the past is a poll.
//
// A zero deadline panics: to net.Conn's SetDeadline it means "no
// deadline", to a comparison it means the year 1, and guessing which one
// was meant would be wrong half the time. Receive directly (or with ctx)
// to wait without a deadline; call Recv with d = 0 to poll.
func RecvUntil[T any](ctx context.Context, ch <-chan T, deadline time.Time) (T, error) {
	checkUntil("RecvUntil", ctx, deadline)
	return recv(ctx, "RecvUntil", ch, time.Until(deadline), true)
}

// Send sends v on ch, waiting at most d for a receiver or room in the
// buffer. It returns nil once v is sent, an error matching [ErrTimeout] and
// [context.DeadlineExceeded] if d ran out first, or ctx.Err() if ctx ended
// first; v is then not sent. d is a per-message timeout, as in [Recv]; use
// [SendUntil] for a deadline shared by a loop.
//
// As with any send, Send on a closed channel panics: only the channel's
// owner closes it, after its last send (recovering that panic would hide a
// bug, not fix it). A ready receiver or free buffer slot is used without a
// timer, so d <= 0 is a non-blocking send. A ctx that is already done
// returns ctx.Err() without sending. A nil ctx panics.
func Send[T any](ctx context.Context, ch chan<- T, v T, d time.Duration) error {
	lifecycle.Context("timeout", "Send", ctx)
	return send(ctx, "Send", ch, v, d, false)
}

// SendUntil is [Send] with an absolute deadline instead of a duration, for
// a deadline shared by every send of a loop (see [RecvUntil], also for why
// a zero deadline panics).
func SendUntil[T any](ctx context.Context, ch chan<- T, v T, deadline time.Time) error {
	checkUntil("SendUntil", ctx, deadline)
	return send(ctx, "SendUntil", ch, v, time.Until(deadline), true)
}

// checkUntil panics on RecvUntil's and SendUntil's programming errors.
func checkUntil(op string, ctx context.Context, deadline time.Time) {
	lifecycle.Context("timeout", op, ctx)
	if deadline.IsZero() {
		lifecycle.Panicf("timeout", op, "deadline must not be the zero time.Time (use a receive or send without one to wait, or d = 0 to poll), got %v", deadline)
	}
}

// recv is Recv with d the time left; until says it came from a deadline.
func recv[T any](ctx context.Context, op string, ch <-chan T, d time.Duration, until bool) (T, error) {
	var zero T
	if err := ctx.Err(); err != nil {
		return zero, err
	}
	// Fast path: a value (or the close) already waiting needs no timer.
	select {
	case v, ok := <-ch:
		return received(v, ok)
	default:
	}
	if d <= 0 {
		return zero, &timeoutError{op: op, what: "no value", d: d, until: until}
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case v, ok := <-ch:
		return received(v, ok)
	case <-ctx.Done():
		return zero, ctx.Err()
	case <-t.C:
		return zero, &timeoutError{op: op, what: "no value", d: d, until: until}
	}
}

func received[T any](v T, ok bool) (T, error) {
	if !ok {
		return v, ErrChannelClosed
	}
	return v, nil
}

// send is Send with d the time left; until says it came from a deadline.
func send[T any](ctx context.Context, op string, ch chan<- T, v T, d time.Duration, until bool) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	select {
	case ch <- v:
		return nil
	default:
	}
	if d <= 0 {
		return &timeoutError{op: op, what: "no receiver", d: d, until: until}
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case ch <- v:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return &timeoutError{op: op, what: "no receiver", d: d, until: until}
	}
}
