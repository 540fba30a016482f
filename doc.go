// Package compendium is the root of a module of channel concurrency
// patterns, from John Graham-Cumming's GopherCon 2014 talk "A Channel
// Compendium" and the Go blog, built as small generic packages that are
// leak-free, race-free, context-aware, and benchmarked beside the
// [sync.Pool], [sync.Mutex] and golang.org/x/sync code they could replace.
//
// This package holds what every other package shares: the one lifecycle
// contract below, and the types it speaks in ([PanicError], [ErrClosed],
// [ErrGoexit], [TaskStats]). The patterns live in the subpackages:
//
//	need                                     package      instead, when
//	bound concurrency; a slot in a select    semaphore    sync.Mutex for a limit of 1
//	quit signals, deadlines, first-of-N      timeout      context.WithTimeout when f honours ctx
//	recycled buffers; a bounded worker pool  pool         sync.Pool when losing buffers at GC is fine
//	stages joined by channels                pipeline     a plain loop when work per item is tiny
//	fan-in, fan-out, balancer, multiplexer   fanout       a mutex around a cheap shared resource
//
// bench/RESULTS.md holds the measured costs behind every "instead, when".
//
// # The lifecycle contract
//
// Every type of the module that runs your code on goroutines of its own
// (semaphore.Group, pool.Workers, pipeline.Scope, fanout.Balancer,
// fanout.Multiplexer, timeout.Stopper, timeout.IdleTimer, and the calls
// timeout.Call, First and Hedge) follows one set of rules, implemented
// once and tested over all of them:
//
//   - Lifetime. Whatever starts goroutines is owned by a value whose
//     Close() error is idempotent, cancels what is running, joins every
//     goroutine it started, and returns the first failure; nothing you
//     leave unread (a reply channel, a stream) can make it hang. Where
//     there is a Wait, it joins without refusing new work.
//   - Cancellation. Every call that can block takes a ctx first and
//     returns its error when it ends. Once an owner is cancelled, each of
//     its workers starts at most one more unit of work.
//   - Errors. Work offered after Close is refused with an error matching
//     [ErrClosed]. The first failure is the one reported; errors that
//     merely echo a cancellation are not news. Errors kept for later are
//     bounded.
//   - Panics. A panic in your code is recovered with its stack, cancels
//     its owner, and is re-raised on the caller's goroutine, as the same
//     *[PanicError], by every Wait and Close.
//   - Goexit. runtime.Goexit in your code (t.FailNow in a test) is a
//     failure with [ErrGoexit], never a success: the code produced no
//     result, and treating it as one would hand a zero value on as if it
//     had been computed.
//   - Programming errors (a nil function or context, a size below 1, a
//     negative duration, a size that would allocate more than 1 GiB up
//     front) panic at the call, before any goroutine starts, with the
//     message "pkg: Func: what, got v".
//   - Observability. Counters are uint64 and use one vocabulary
//     ([TaskStats]: Submitted, Rejected, Completed, Failed, Panicked,
//     Canceled); goroutines the module starts carry pprof labels naming
//     the package, the type and the role (compendium=pool type=Workers).
//   - Channels at the edges. A stream, a pool or a balancer can be fed
//     from and read into plain channels, so that it can sit in your own
//     select beside a timer or a quit signal.
package compendium
