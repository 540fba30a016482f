package compendium

import (
	"errors"
	"fmt"
)

// ErrClosed is the error every compendium type returns, wrapped in a message
// naming the type, when it is asked to take new work after its Close (or
// Stop) has been called: this object was closed. Check it with
// [errors.Is]. It never means that a channel of yours was closed.
var ErrClosed = errors.New("compendium: closed")

// ErrGoexit is the error recorded for user code that called
// [runtime.Goexit] (as t.FailNow and t.SkipNow do in a test) instead of
// returning. Such code produced no result, so it counts as failed, never
// as succeeded: a task's error, a request's error, a stage's failure,
// each according to its type's rule for errors.
var ErrGoexit = errors.New("compendium: function called runtime.Goexit")

// PanicError is a panic recovered from user code that a compendium type ran
// on a goroutine of its own: the value passed to panic and the stack of the
// goroutine that panicked, captured where it panicked.
//
// The type that recovered it cancels its work at once and re-panics with
// the same *PanicError on the goroutine that calls its Wait or Close (every
// such call, not only the first), so the panic is neither lost nor
// stripped of the stack that explains it. Recover it with a type
// assertion, or find it in an error with [errors.As]; when the panic value
// was an error, [PanicError.Unwrap] returns it, so errors.Is and errors.As
// see through the panic. A panic(nil) arrives as a [*runtime.PanicNilError].
type PanicError struct {
	// Value is the value the goroutine passed to panic.
	Value any
	// Stack is the stack of the goroutine that panicked, as
	// [runtime/debug.Stack] formats it, taken before the stack unwound.
	Stack []byte
}

// Error returns the panic value followed by the stack of the goroutine that
// panicked, so that a re-raised panic that nobody recovers prints both.
func (e *PanicError) Error() string {
	return fmt.Sprintf("panic: %v [recovered]\n\ngoroutine that panicked:\n%s", e.Value, e.Stack)
}

// Unwrap returns Value if it is an error, and nil otherwise.
func (e *PanicError) Unwrap() error {
	err, _ := e.Value.(error)
	return err
}
