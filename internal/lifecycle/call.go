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
	// One defer, which costs little while f returns: returned is set only
	// on the way out of a normal return, so the defer's work is skipped.
	returned := false
	defer func() {
		if returned {
			return
		}
		v := recover()
		if v == nil {
			// A recover of nil means runtime.Goexit, which goes on
			// unwinding the goroutine once this returns, or a panic(nil)
			// under GODEBUG=panicnil=1 (since Go 1.21 a panic(nil)
			// otherwise arrives as a *runtime.PanicNilError), which
			// recover has just stopped. Nothing tells them apart here, so
			// both are reported: the Goexit to goexit, and, should Call
			// return after all, the panic as p. (Two nested defers could
			// tell them apart, at twice the cost of every call, for a
			// setting that only a //go:debug line can choose.)
			if goexit != nil {
				goexit()
			}
			v = "panic(nil) with GODEBUG=panicnil=1"
		}
		p = &compendium.PanicError{Value: v, Stack: debug.Stack()}
	}()
	err = f()
	returned = true
	return nil, err
}
