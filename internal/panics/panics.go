// Package panics captures a panic on the goroutine where it happens, with its
// stack, so that the goroutine that owns the work can re-raise it.
//
// Every compendium type that runs caller code on goroutines of its own
// (semaphore.Group, pool.Workers, pipeline stages, fanout workers, timeout
// stoppers) recovers with [Try], cancels its scope, and re-panics with the
// *[Error] on the owner's goroutine from Wait or Close. Each public package
// names the type with an alias (for example semaphore.PanicError), so callers
// can recover it and use errors.As without importing this package.
package panics

import (
	"fmt"
	"runtime/debug"
)

// Error is a panic recovered from a goroutine: the value passed to panic and
// the stack of the goroutine that panicked, captured in the deferred recover
// so that it still shows the frames that panicked.
//
// Re-panicking with an *Error keeps both: the runtime prints Error's message,
// which holds the original value and stack, and a recover on the owner's
// goroutine gets the *Error back. If the value was an error, Unwrap returns
// it, so errors.Is and errors.As see through the panic. A panic(nil) arrives
// as a *runtime.PanicNilError, as recover reports it since Go 1.21.
type Error struct {
	// Value is the value the goroutine passed to panic.
	Value any
	// Stack is the stack of the goroutine that panicked, as debug.Stack
	// formats it.
	Stack []byte
}

// Error returns the panic value followed by the stack of the goroutine that
// panicked.
func (e *Error) Error() string {
	return fmt.Sprintf("panic: %v [recovered]\n\ngoroutine that panicked:\n%s", e.Value, e.Stack)
}

// Unwrap returns Value if it is an error, and nil otherwise.
func (e *Error) Unwrap() error {
	err, _ := e.Value.(error)
	return err
}

// Try calls f and returns the panic it raised, or nil if f returned normally.
//
// If f calls runtime.Goexit, Try does not return: the goroutine exits, as it
// would without Try, running its deferred calls. Callers therefore keep their
// bookkeeping (WaitGroup.Done, releasing a token) in a defer, as errgroup
// does, so that a task that calls t.FailNow cannot hang Wait.
func Try(f func()) (p *Error) {
	// normal distinguishes "f returned" from "f panicked with nil" on Go
	// versions or GODEBUG settings (panicnil=1) where recover returns nil.
	normal := false
	defer func() {
		if normal {
			return
		}
		v := recover()
		if v == nil {
			// Either f called runtime.Goexit, in which case the goroutine
			// goes on exiting and p is never seen, or f called panic(nil)
			// under GODEBUG=panicnil=1, where recover cannot tell us the
			// value. Report the latter as a panic all the same: silently
			// swallowing it would be worse.
			v = "panic(nil) with GODEBUG=panicnil=1"
		}
		p = &Error{Value: v, Stack: debug.Stack()}
	}()
	f()
	normal = true
	return nil
}
