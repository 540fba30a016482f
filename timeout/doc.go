// Package timeout provides the signalling and timing patterns of Go's
// channels as small, leak-free functions and types: quit signals, verified
// stop, calls with deadlines, sends and receives with timeouts, first-of-N
// and hedged calls, heartbeats and idle timers.
//
//	need                                    use                   cost        instead, when
//	a signal many goroutines wait on        Quit                  channel     a context's cancel, if there is a context
//	long-lived workers, stopped verifiably  Stopper               goroutine   semaphore.Group or errgroup, if workers return errors
//	a call that returns at its deadline     Call, Do              goroutine   context.WithTimeout, if f honours ctx
//	the first of N answers                  First                 goroutines  one call, if one replica is enough
//	a hedged call against a slow tail       Hedge                 goroutines  First, for the least latency at N times the load
//	a receive or send with a timeout        Recv, Send            timer       a select with a case of your own timer
//	one deadline for a whole loop of them   RecvUntil, SendUntil  timer       a context with a deadline, if you have one
//	an expiry that activity pushes back     IdleTimer             atomic      Timer.Reset, if events are rare
//	a watchdog over one worker's progress   Heartbeat             atomic      IdleTimer, to act in a callback
//
// They come from the SIGNALLING, select and TIMERS sections of John
// Graham-Cumming's GopherCon 2014 talk "A Channel Compendium", from Rob
// Pike's [Go Concurrency Patterns] (2012) and from Andrew Gerrand's [Timing
// out, moving on] on the Go blog (2010). Several of the talk's slides leak
// or misbehave; each appears here as an Example with its bug fixed and
// named. bench/RESULTS.md holds the measured cost behind each row
// (timeout.Signal, Call, Idle, Recv).
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
// Here the owners are [Stopper], [IdleTimer] and [Heartbeat], and the two
// methods that stop without Close's error re-raise a panic too:
// [Stopper.StopContext], which bounds the wait, and [IdleTimer.Stop],
// which reports whether it prevented an expiry. [Call], [Do], [First] and
// [Hedge] have no owner but their caller: they re-raise a panic that
// happens before they return on the caller's goroutine; one that happens
// after they returned (a loser, an f that ran past its deadline) has
// nobody to go to and crashes the program from its own goroutine, as an
// unrecovered panic in any goroutine would. Nothing is swallowed.
//
// Programming errors here are a nil ctx, a nil function, an empty list for
// First or Hedge, an idle timeout or heartbeat of zero or less, and a
// zero time.Time as a deadline. A zero or negative timeout for Call, Do,
// Recv or Send, or a delay for Hedge, is not one: see below.
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
// goroutine exits. Nothing leaks but the function's own running time, and
// that time is outside any limit the caller was counted against: a task of
// semaphore.Group or pool.Workers that wraps its work in Call gives back
// its slot at the deadline while the work goes on (see Call).
//
// All durations follow one rule: zero or negative means the deadline has
// already passed, never "wait forever", and the largest duration means
// "never". Call, Do and Hedge's delay act on it at once (Call returns the
// timeout without starting f; Hedge starts every try at once); Recv and
// Send still take a value or a receiver that is ready, so d <= 0 is a
// poll. [NewIdleTimer] and [NewHeartbeat] panic on a d that is not
// positive, since an idle timeout of zero would fire on every event.
//
// Our own timeouts return an error matching [ErrTimeout] and
// [context.DeadlineExceeded], naming the call; when the caller's ctx ends
// first, the functions return ctx.Err(), which does not match ErrTimeout.
// [Recv] adds a third, distinct outcome: [ErrChannelClosed].
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
// event (timeout.Idle in bench/RESULTS.md compares the three).
//
// # When context.Context alone is the better tool
//
// Often. If the work honours its context and nothing must return before it
// does, context.WithTimeout and a direct call do everything Call does for a
// fraction of the cost and start no goroutine (timeout.Call in
// bench/RESULTS.md). Call earns its goroutine when f may ignore its context
// (a library without one, a syscall) and the caller must move on
// regardless. If one function should stop several goroutines and nobody
// needs the "verified" part of a stop, a context's cancel is a quit signal
// you already have; Quit earns its place where there is no context to hang
// it on, as a field of a long-lived struct, and if nobody needs to wait on
// the signal, only to poll it, an atomic.Bool is cheaper still
// (timeout.Signal). For errors that stop a group of workers,
// semaphore.Group or golang.org/x/sync/errgroup remains the tool; Stopper
// is for loops that run until told to stop.
//
// [Go Concurrency Patterns]: https://go.dev/talks/2012/concurrency.slide
// [Timing out, moving on]: https://go.dev/blog/concurrency-timeouts
// [Recycling memory buffers in Go]: https://blog.cloudflare.com/recycling-memory-buffers-in-go/
package timeout
