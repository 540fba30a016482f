package timeout

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ErrTimeout is the error behind every deadline this package enforces
// itself: [Call], [Do], [Recv], [Send], [RecvUntil] and [SendUntil] return an
// error for which errors.Is(err, ErrTimeout) holds when their own duration or
// deadline ran out, with a message naming the call.
//
// The returned error also matches [context.DeadlineExceeded], so code that
// already checks for that keeps working. To tell "my d ran out" from "the
// caller's ctx ran out", check ErrTimeout: when ctx ends first these functions
// return ctx.Err(), which does not match ErrTimeout. The context a [Call]
// gives f ends with ErrTimeout as its [context.Cause].
var ErrTimeout = errors.New("timeout: deadline exceeded")

// ErrChannelClosed is returned by [Recv] and [RecvUntil] when the channel
// is closed and drained: the sender's end of the conversation, as [io.EOF]
// is a reader's. It is a third outcome, distinct from a timeout and from a
// cancelled context, and it says nothing about a compendium object: a
// Stopper or IdleTimer used after Close returns an error matching
// [compendium.ErrClosed] instead.
var ErrChannelClosed = errors.New("timeout: channel closed")

// timeoutError is what the functions return when their own deadline ran out:
// it says which call and how long, and matches both ErrTimeout and
// context.DeadlineExceeded. It is built only on the timeout path, so the
// fast path allocates nothing for it.
type timeoutError struct {
	op   string
	what string // "no result", "no value", "no receiver"
	d    time.Duration
	// until is set for the calls that take a deadline: d is then the time
	// that was left at the call, which may be negative, and the message
	// speaks of the deadline rather than of a duration nobody passed.
	until bool
}

func (e *timeoutError) Error() string {
	switch {
	case !e.until:
		return fmt.Sprintf("timeout: %s: %s within %v: %v", e.op, e.what, e.d, context.DeadlineExceeded)
	case e.d > 0:
		return fmt.Sprintf("timeout: %s: %s by the deadline, %v after the call: %v", e.op, e.what, e.d, context.DeadlineExceeded)
	default:
		return fmt.Sprintf("timeout: %s: %s by the deadline, which had passed at the call: %v", e.op, e.what, context.DeadlineExceeded)
	}
}

// Is makes errors.Is(err, ErrTimeout) and errors.Is(err,
// context.DeadlineExceeded) both true.
func (e *timeoutError) Is(target error) bool {
	return target == ErrTimeout || target == context.DeadlineExceeded
}

// Timeout reports true, as net.Error does, for code that asks the error
// itself whether it is a timeout.
func (e *timeoutError) Timeout() bool { return true }
