// Package semaphore provides counting and weighted semaphores built on
// channels, and a Group that runs tasks on at most n goroutines at once.
//
// # The pattern
//
// A buffered channel of capacity n is a counting semaphore: sending a token
// takes a slot, blocking while all n are taken, and receiving one frees it.
// Effective Go shows it bounding how many requests a server handles at
// once, and John Graham-Cumming's "A Channel Compendium" (GopherCon 2014)
// uses the same buffered-channel depth to limit concurrency. Bryan C. Mills'
// "Rethinking Classical Concurrency Patterns" (GopherCon 2018) adds the
// rule [Group] follows: acquire the slot before starting the goroutine, so
// that a limit of n means n goroutines, not n running and thousands blocked.
//
// The package has three types:
//
//   - [Counting] is that channel, with an Acquire that honours a context,
//     a TryAcquire, and a channel, [Counting.Acquirer], to send on inside
//     your own select.
//   - [Weighted] shares out a size in weights (k units of memory, k
//     connections) all or nothing, in FIFO order, like
//     golang.org/x/sync/semaphore but built on channels and an atomic fast
//     path.
//   - [Group] is errgroup with a limit, whose Go gives up when its context
//     ends and whose Wait re-raises a task's panic as a [PanicError].
//
// # What the selectable acquire buys
//
// A send on [Counting.Acquirer] is an ordinary channel operation, so one
// select can wait for a slot and for anything else: a result arriving, a
// quit channel, a timer, a second semaphore. With a semaphore built on a
// mutex and condition variable, or x/sync's Weighted, that takes a helper
// goroutine per wait and a way to hand back a slot it got too late. With
// ctx-aware Acquire calls you need it less often, but it remains the only
// way to combine a slot with a channel that is not a context.
//
// # When something else is the better tool
//
// Measured with BenchmarkAcquire (one Acquire+Release; go run
// ./bench/cmd/compare -run semaphore) on a 2-core machine, Go 1.26:
//
//   - A limit of 1 and no context is a [sync.Mutex]: 4.6 ns uncontended
//     against 28 to 30 for Counting and 9 for Weighted, and among the cheapest
//     with 16 goroutines. Use a semaphore of 1 only to honour a ctx or to
//     select on the acquire.
//   - Counting costs what a channel costs: a send and a receive, about
//     28 to 30 ns uncontended, more than twice x/sync's Weighted (12.6 ns).
//     If you do not need the Acquirer channel, [Weighted] with weight 1 is
//     the faster counting semaphore (9 ns). Under contention, Acquire
//     yielding once before it waits keeps Counting cheap: 30 to 50 ns with
//     16 goroutines on 1 or 4 slots, against 260 to 520 ns and 2 to 3
//     allocations for x/sync's Weighted.
//   - golang.org/x/sync/semaphore is the better tool if you rely on an
//     Acquire for more than the size blocking until ctx ends, or on a size
//     of 0 or above 2^62. Our [Weighted] is otherwise a drop-in with the
//     same FIFO guarantees, faster in every case measured: about 9 ns with
//     16 goroutines on 1 slot and 9 to 40 on 4 slots (the case that varies
//     most between runs), where the two cores' compare-and-swaps contend
//     for one cache line.
//   - A sync.Cond counter barges (a releasing goroutine can take the slot
//     again before the one it signalled runs), which is fast but lets a
//     waiter starve, and it cannot honour a ctx while it waits.
//   - errgroup.Group remains the right tool if you want a task's panic to
//     crash the program from the task's own goroutine (errgroup's source
//     explains why it does not carry panics to Wait), or a zero-value group
//     with no limit. It is not faster: [Group] costs 240 to 260 ns per tiny
//     task in BenchmarkGroup, errgroup with SetLimit 320 to 340.
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
//     say otherwise.
package semaphore
