package lifecycle

import (
	"runtime/debug"

	"github.com/go-compendium/compendium"
)

// Call calls f and returns its error, or, if f panicked, the panic as a
// *compendium.PanicError holding the value and the stack of the goroutine
// where it happened, and a nil error.
//
// If f calls runtime.Goexit, Call does not return, since nothing can stop a
// Goexit: goexit (if not nil) runs while the goroutine unwinds, before the
// caller's own deferred calls, so that the caller can record
// compendium.ErrGoexit and, if the goroutine was one of its workers, start
// a replacement. Callers keep the bookkeeping that must happen however f
// ends (WaitGroup.Done, releasing a slot) in a defer, as errgroup does.
func Call(f func() error, goexit func()) (p *compendium.PanicError, err error) {
	// returned tells a Goexit apart from a panic: catch recovers a panic
	// and returns, so only a Goexit reaches the defer with it false. (A
	// deferred recover cannot tell them apart itself: under
	// GODEBUG=panicnil=1 a panic(nil) also recovers nil.)
	returned := false
	defer func() {
		if !returned && goexit != nil {
			goexit()
		}
	}()
	p, err = catch(f)
	returned = true
	return p, err
}

// catch calls f, recovering a panic into p.
func catch(f func() error) (p *compendium.PanicError, err error) {
	normal := false
	defer func() {
		if normal {
			return
		}
		v := recover()
		if v == nil {
			// Either f called runtime.Goexit, in which case the goroutine
			// goes on unwinding and p is never seen, or f called
			// panic(nil) under GODEBUG=panicnil=1, where recover cannot
			// give the value. Report the latter as a panic all the same:
			// swallowing it would be worse.
			v = "panic(nil) with GODEBUG=panicnil=1"
		}
		p = &compendium.PanicError{Value: v, Stack: debug.Stack()}
	}()
	err = f()
	normal = true
	return nil, err
}
