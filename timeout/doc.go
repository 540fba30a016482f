// Package timeout provides the signalling and timing patterns of Go's
// channels as small, leak-free functions and types: quit signals, verified
// stop, calls with deadlines, sends and receives with timeouts, first-of-N
// and hedged calls, heartbeats with a watchdog, and idle timers.
//
// They come from the SIGNALLING, select and TIMERS sections of John
// Graham-Cumming's GopherCon 2014 talk "A Channel Compendium", from Rob
// Pike's [Go Concurrency Patterns] (2012) and from Andrew Gerrand's [Timing
// out, moving on] on the Go blog (2010). Several of the talk's slides leak
// or misbehave; each appears here as an Example with its bug fixed and
// named.
//
// # Signalling by close
//
// A receive from a closed channel never blocks and yields the zero value, so
// closing a channel is a broadcast: every goroutine waiting on it, now or
// later, proceeds. That makes close the natural quit signal (the slides'
// "start gun" and "terminate workers"), and [Quit] packages it: [Quit.Done]
// for select, an idempotent [Quit.Quit] (closing twice panics; Quit cannot)
// and [Quit.Fired] for polling. Sending a value instead reaches one receiver
// only, which is why the talk's "verify termination" slide breaks with more
// than one worker: it sends a request on a channel and waits for the reply
// on the same channel, so a request can be taken as a reply. [Stopper] asks
// by closing and verifies by counting returns (ExampleStopper).
//
// # Nil channels
//
// A send or receive on a nil channel blocks forever, so in a select a nil
// channel is a case switched off. [Hedge] uses it: its timer case reads a
// channel variable that becomes nil once every try has started, rather than
// needing a second loop. The same rule means [Recv] on a nil channel waits
// out its timeout, exactly as a select would.
//
// # Timeouts and deadlines
//
// A timeout is a duration that starts when you start waiting; a deadline is
// an instant. The talk's TIMERS slide puts `case <-time.After(d)` inside a
// for-select loop, which creates a timer on every iteration and therefore
// restarts the timeout each time: a per-message timeout. That is right when
// you mean "each message within d" and wrong when you mean "the whole
// exchange within d", which a sender who keeps talking can then stretch
// forever. This package offers both and says which: [Recv] and [Send] take
// a duration (per message); [RecvUntil] and [SendUntil] take a deadline
// computed once before the loop (whole conversation). See
// Example_timeAfterInLoop.
//
// [Call] and [Do] run a function under a timeout and return at the
// deadline even if the function ignores its context: Gerrand's "moving on".
// Go cannot kill a goroutine, so such a function keeps running until it
// returns; its result then goes into a buffered channel nobody reads and its
// goroutine exits. Nothing leaks but the function's own running time.
//
// All durations follow one rule: zero or negative means the deadline has
// already passed, never "wait forever". Call, Do and Hedge's delay act on it
// at once (Call returns the timeout without starting f; Hedge starts every
// try at once); Recv and Send still take a value or a receiver that is
// ready, so d <= 0 is a poll. [NewIdleTimer] and [NewHeartbeat] reject a d
// that is not positive, since an idle timeout of zero would fire on every
// event.
//
// Our own timeouts return an error matching [ErrTimeout] and
// [context.DeadlineExceeded], naming the call and the duration; when the
// caller's ctx ends first, the functions return ctx.Err(), which does not
// match ErrTimeout. [Recv] adds a third, distinct outcome: [ErrClosed].
//
// # First of N and hedging
//
// The talk's "first of N" slide asks several replicas and keeps the first
// answer, but sends the answers on an unbuffered channel: once the winner is
// read, every loser blocks on its send forever, a goroutine leak per call.
// [First] gives the answers a channel with room for all of them and cancels
// the losers' contexts; [Hedge] starts the next try only if no answer came
// within a delay ("The Tail at Scale", Dean and Barroso), trading a little
// latency for much less duplicate work. Both return every error, joined, if
// every function fails.
//
// # Heartbeats and idle timers
//
// A heartbeat tells a supervisor that a worker is alive. The channel version
// (the worker does a non-blocking send per beat; a monitor goroutine resets
// a timer per beat) costs a goroutine, a channel operation and a timer Reset
// per beat. [Heartbeat] records each beat with one atomic store and lets a
// single timer check, when it fires, whether a beat came since: if one did,
// the timer re-arms for the time remaining; if not, [Heartbeat.Missed]
// reports the stall. [IdleTimer] is the same mechanism with a callback: the
// fix for the time.After on every loop iteration of the recycler in
// Cloudflare's [Recycling memory buffers in Go], which allocated a timer per
// event. A Touch costs 29 ns and no allocation, against 41 ns for a
// Timer.Reset per event and 130 ns and three allocations for a time.After
// per event (BenchmarkIdle; numbers from one run on a 2-core AMD EPYC,
// GOMAXPROCS=2, Go 1.26, as are all below).
//
// # Panics
//
// A panic in a function this package runs on its own goroutine is recovered
// with its stack and re-raised on the caller's goroutine as a *[PanicError]:
// by Call, Do, First and Hedge if it happens before they return, and by
// [Stopper.Stop] for a worker. A panic that happens after Call, First or
// Hedge returned has nobody to go to; it is re-raised on its own goroutine
// and crashes the program, as an unrecovered panic in any goroutine would.
// So does a panic in an [IdleTimer]'s f, as in a [time.AfterFunc]'s. It is
// never swallowed.
//
// # When context.Context alone is the better tool
//
// Often. If the work honours its context and nothing must return before it
// does, context.WithTimeout and a direct call do everything Call does for
// a quarter to a third of the cost (340 to 410 ns against 1.45 µs per call)
// and start no goroutine.
// If one function should stop several goroutines and nobody needs the
// "verified" part of a stop, a context's cancel is a quit signal you already
// have. Call earns its goroutine when f may ignore its context (a library
// without one, a syscall) and the caller must move on regardless. Quit earns
// its place where there is no context to hang it on, as a field of a
// long-lived struct; it costs 60% of context.WithCancel (91 ns against 159
// for a whole lifecycle, best of ten runs, 2 allocations against 4), about
// what a sync.Once closing a channel costs (79 ns), and, polled from two
// goroutines at once, Fired costs 0.8 ns where ctx.Err costs 2.1, a select
// with a default case 3.3 and a mutex-guarded flag 7.7 (BenchmarkSignal).
// If nobody needs to wait on the signal, only to poll it, a flag is cheaper
// still: the mutex flag's whole lifecycle is 26 ns, the channel being most
// of a Quit's cost.
//
// Recv costs 31 ns when a value is waiting, because it tries the channel
// before it arms a timer, where a select with a time.After case costs 252
// ns and three allocations every time; when it has to wait, 451 ns against
// 695 (BenchmarkRecv). For errors that stop a group of workers,
// golang.org/x/sync/errgroup remains the tool; Stopper is for loops that run
// until told to stop.
//
// [Go Concurrency Patterns]: https://go.dev/talks/2012/concurrency.slide
// [Timing out, moving on]: https://go.dev/blog/concurrency-timeouts
// [Recycling memory buffers in Go]: https://blog.cloudflare.com/recycling-memory-buffers-in-go/
package timeout
