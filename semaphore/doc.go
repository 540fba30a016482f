// Package semaphore provides counting and weighted semaphores built on
// channels, and a Group that runs tasks on at most n goroutines at once,
// tasks that submit more tasks included.
//
//	need                                      type      cost       instead, when
//	a limit you can wait for in a select      Counting  channel    sync.Mutex for a limit of 1 and no ctx
//	a limit; k of n units, all or nothing     Weighted  atomic     x/sync's Weighted for a size of 0 or over 2^62
//	tasks, n at a time, first failure cancels Group     goroutine  errgroup to let a panic crash from its task
//
// The costs behind each word are semaphore.Acquire and semaphore.Group in
// bench/RESULTS.md.
//
// # Lifecycle
//
// This package follows the module's lifecycle contract, written out in
// package [compendium]: Close is idempotent, cancels, joins every goroutine
// it started and returns the first failure, and nothing left unread can make
// it hang; a panic in your code is re-raised as the same
// *[compendium.PanicError] by every Wait and Close; runtime.Goexit in your
// code is a failure with [compendium.ErrGoexit]; work offered after Close
// gets an error matching [compendium.ErrClosed]; a programming error panics
// at the call with "pkg: Func: what, got v"; counters are uint64 and use the
// vocabulary of [compendium.TaskStats].
//
// # The pattern
//
// A buffered channel of capacity n is a counting semaphore: sending a token
// takes a slot, blocking while all n are taken, and receiving one frees it.
// Effective Go shows it bounding how many requests a server handles at
// once, and John Graham-Cumming's "A Channel Compendium" (GopherCon 2014)
// uses the same buffered-channel depth to limit concurrency. [Counting] is
// that channel, with an Acquire that honours a context, and
// [Counting.Acquirer], the channel itself, to send on inside your own
// select: one select can then wait for a slot and for a result, a quit
// channel, a timer or a second semaphore, which a semaphore built on a
// mutex (or x/sync's) cannot do without a helper goroutine. [Weighted]
// shares out a size in weights, all or nothing, in FIFO order, like
// golang.org/x/sync/semaphore.
//
// Bryan C. Mills' "Rethinking Classical Concurrency Patterns" (GopherCon
// 2018) adds the rule [Group] follows: acquire the slot before starting
// the goroutine, so that a limit of n means n goroutines, not n running
// and thousands blocked.
//
// # Work that discovers work
//
// A crawler's pages yield more pages; a tree walk's nodes yield nodes. A
// task of a Group may submit such follow-up work to its own group, with
// the context it received, at any limit, and Wait returns once all of it
// is done (examples/crawler is the Go Tour's crawler built this way). The
// design comes from four anchors:
//
//   - Mills' "acquire before go" stays the rule for submissions from
//     outside: Go waits for a slot, so the submitter runs at the pace of
//     the work and there are never more than n goroutines.
//   - errgroup's Go with SetLimit, and conc's pool with
//     WithMaxGoroutines, also wait for a slot, from inside too: with every
//     slot held by a task waiting to submit, nothing frees one, and the
//     group deadlocks. errgroup's TryGo leaves the choice to the caller,
//     and calling f itself when TryGo fails ("if !g.TryGo(f) { f() }")
//     runs the work on the caller's goroutine, in the slot the caller
//     holds (caller-runs).
//   - pond's task groups put follow-up work on the pool's queue, which is
//     unbounded by default; bounded, a full queue either blocks (the same
//     deadlock) or refuses, leaving the task with work and nowhere to put
//     it.
//
// Group takes the bounded queue from pond and caller-runs from that use
// of TryGo: a submission from inside never waits; it takes a free slot, or
// joins a pending list of at most [MaxPending] tasks, or, when that is
// full, the submitting task runs the new one itself before Go returns.
// So no submission deadlocks or is lost, at most n tasks run, and the
// memory held by waiting work is the user's to bound. The one thing a
// task may not do is wait for a task it submitted while holding its slot
// (with every slot taken, the child runs after it, or inside its Go): a
// tree of tasks submits and returns; a parent that needs its children's
// results collects them in a second Group of its own.
//
// # Deadlines that keep their slot
//
// A call that gives up at a deadline while the function it called runs on
// (timeout.Call does this) releases a limiter's slot while the work still
// runs, so a limit of n no longer bounds anything. [TaskTimeout] puts the
// deadline on the task's context instead: the task keeps its slot until
// it returns, whether or not it honours the deadline.
//
// # When something else is the better tool
//
//   - A limit of 1 and no context is a [sync.Mutex]: the cheapest
//     acquire when nobody waits, and the simplest. Use a semaphore of 1
//     to honour a ctx, to select on the acquire, or where many goroutines
//     queue for a critical section that does real work, where the mutex
//     did not stay ahead (semaphore.Acquire, mode=parallel).
//   - [Weighted]'s acquire is a compare-and-swap, [Counting]'s a channel
//     send and receive: with an empty critical section Weighted is the
//     cheaper counting semaphore. With work inside it and goroutines
//     waiting at a limit of 1, Counting did better, since Weighted's
//     waiters queue behind one another. Choose Counting for its Acquirer
//     or under a contended limit of 1 with work inside, Weighted for
//     weights or a cheap critical section, and measure your own case
//     with semaphore.Acquire's cases.
//   - golang.org/x/sync/semaphore is the better tool if you rely on a
//     size of 0 or above 2^62, or on an oversized Acquire blocking until
//     ctx ends; our Weighted has its FIFO guarantees and is cheaper when
//     goroutines wait (x/sync allocates a waiter per blocked Acquire).
//   - A sync.Cond counter barges (a releasing goroutine can take the slot
//     again before the one it signalled runs): fast, but a waiter can
//     starve, and it cannot honour a ctx while it waits.
//   - errgroup.Group is the right tool if you want a task's panic to
//     crash the program from the task's own goroutine (errgroup's source
//     explains why it does not carry panics to Wait), or a zero-value
//     group with no limit.
//
// # A deliberate difference from x/sync
//
// [Weighted.Acquire] with a weight larger than the semaphore's size
// returns an error wrapping [ErrTooLarge] at once. x/sync's Acquire waits
// until ctx is done and returns ctx.Err(), so a sizing bug reads as a
// timeout, or hangs forever under context.Background. Sizes below 1 and
// negative weights panic instead of being clamped.
//
// # Sources
//
//   - Effective Go, "Channels": https://go.dev/doc/effective_go#channels
//   - John Graham-Cumming, "A Channel Compendium", GopherCon 2014.
//   - Bryan C. Mills, "Rethinking Classical Concurrency Patterns",
//     GopherCon 2018.
//   - golang.org/x/sync/semaphore and golang.org/x/sync/errgroup, whose
//     semantics Weighted and Group follow where this documentation does not
//     say otherwise; github.com/sourcegraph/conc's pool and
//     github.com/alitto/pond's task groups, for submission from inside.
package semaphore
