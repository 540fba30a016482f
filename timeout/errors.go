package timeout

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/go-compendium/compendium/internal/panics"
)

// ErrTimeout is the error behind every deadline this package enforces
// itself: [Call], [Do], [Recv], [Send], [RecvUntil] and [SendUntil] return an
// error for which errors.Is(err, ErrTimeout) holds when their own duration or
// deadline ran out, with a message naming the call and the duration.
//
// The returned error also matches [context.DeadlineExceeded], so code that
// already checks for that keeps working. To tell "my d ran out" from "the
// caller's ctx ran out", check ErrTimeout: when ctx ends first these functions
// return ctx.Err(), which does not match ErrTimeout. The context a [Call]
// gives f ends with ErrTimeout as its [context.Cause].
var ErrTimeout = errors.New("timeout: deadline exceeded")

// ErrClosed is returned by [Recv] and [RecvUntil] when the channel is closed
// (and drained): a third outcome, distinct from a timeout and from a
// cancelled context.
var ErrClosed = errors.New("timeout: channel closed")

// ErrStopped is returned by [Stopper.Go] after [Stopper.Stop] or
// [Stopper.StopContext] has been called: the worker was not started.
var ErrStopped = errors.New("timeout: stopper stopped")

// PanicError is a panic recovered from a function this package ran on a
// goroutine of its own (a [Stopper] worker, the f of [Call] or [Do], one of
// the functions of [First] or [Hedge]). It keeps the panic value and the
// stack of the goroutine that panicked. [Stopper.Stop], Call, Do, First and
// Hedge re-panic with it on the caller's goroutine, so a recover there gets a
// *PanicError, and errors.As and errors.Is see through it to the panic value
// when that value was an error.
type PanicError = panics.Error

// timeoutError is what the functions return when their own deadline ran out:
// it says which call and how long, and matches both ErrTimeout and
// context.DeadlineExceeded. It is built only on the timeout path, so the
// fast path allocates nothing for it.
type timeoutError struct {
	op   string
	what string // "no result", "no value", "no receiver"
	d    time.Duration
}

func (e *timeoutError) Error() string {
	return fmt.Sprintf("timeout: %s: %s within %v: %v", e.op, e.what, e.d, context.DeadlineExceeded)
}

// Is makes errors.Is(err, ErrTimeout) and errors.Is(err,
// context.DeadlineExceeded) both true.
func (e *timeoutError) Is(target error) bool {
	return target == ErrTimeout || target == context.DeadlineExceeded
}

// Timeout reports true, as net.Error does, for code that asks the error
// itself whether it is a timeout.
func (e *timeoutError) Timeout() bool { return true }

// nilFunc is the error for a nil function argument; arg names it ("f",
// "fs[2]").
func nilFunc(op, arg string) error {
	return fmt.Errorf("timeout: %s: %s is nil", op, arg)
}
