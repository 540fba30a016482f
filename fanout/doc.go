// Package fanout provides the channel patterns that join and split streams
// of work: fan-in, copying to every reader, splitting by key, a
// least-loaded load balancer and a multiplexer that lets many goroutines
// share one resource.
//
//	need                                  type         cost      instead, when
//	many channels into one                Merge        low       MergeSelect when goroutines are what you count
//	the same, one goroutine per 4 inputs  MergeSelect  moderate  Merge when time per item matters more
//	every value to every reader           Broadcast    moderate  one channel per reader when readers may lag
//	per-key order, keys in parallel       Partition    low       a shared channel when order does not matter
//	requests to workers that own things   Balancer     low       a shared channel (pool.Workers) when workers are alike
//	many writers, one resource            Multiplexer  low       your own goroutine when the resource must stay on one
//
// The costs are measured in bench/RESULTS.md (fanout.Merge,
// fanout.Balancer, fanout.Multiplexer), against the Go blog's versions, the
// talk's, mutexes and reflect.Select. [Merge], [MergeSelect], [Broadcast],
// [Partition], [Balancer] and [Multiplexer] say what each promises.
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
// # Where the patterns come from
//
// They come from the EXAMPLES and NIL CHANNELS sections of John
// Graham-Cumming's talk "A Channel Compendium" (GopherCon 2014) and from
// the Go blog's [Pipelines and cancellation], with the slides' bugs fixed:
// every goroutine here has an exit, every queue has a bound, and every
// blocking send also selects on ctx.Done, so cancelling the context frees
// everything even when a reader has stopped reading.
//
// # Fan-in: Merge
//
// The Go blog's merge starts a goroutine per input that copies it to one
// output, and one more goroutine that closes the output once they have all
// returned. [Merge] is that shape, with two changes: every goroutine also
// watches ctx (the blog's first version leaks its goroutines when the
// reader stops), and the output is buffered, so a forwarder hands a value
// over without waiting for the reader (BenchmarkMerge has the blog's merge
// both ways).
//
// The talk's NIL CHANNELS slide merges two channels in one goroutine with
// a select loop, and switches an input off when it closes by setting it to
// nil: a receive from a nil channel blocks forever, so its case never
// fires again. [MergeSelect] is that loop, one goroutine per four inputs.
// It saves goroutines but not time, since a five-case select costs more
// than the blog's two-case one; a single reflect.Select over all inputs,
// the usual answer for "select over a slice", costs far more as inputs
// grow.
//
// # Fan-out: share the channel
//
// To give each value to exactly one of several consumers, whichever is
// free first, this package has no function: the channel already does it.
// "Multiple functions can read from the same channel until that channel is
// closed" (the Go blog): start the consumers, have each range over the one
// channel, and close it once for all of them (Example_shareTheChannel).
// Receivers competing on one channel is exactly "first ready", costs one
// hand-off per value, and lets a slow or stopped consumer hold up nothing
// but itself. A dispatcher handing values to n channels of their own would
// need reflect.Select, or park a value on a busy reader while another
// waits.
//
// [Broadcast] gives every value to every reader; the slowest reader sets
// the pace, since the alternative is a buffer that grows without bound.
// [Partition] sends values with equal keys to the same reader, in order, so
// that independent streams (per user, per connection) can be processed in
// parallel without reordering any one of them.
//
// # The load balancer
//
// The talk's HTTP load balancer gives each request to the least-loaded of
// n workers, each with its own queue, and a request carries the channel
// its answer goes to ("passing a response channel"). Its workers never
// exit, and nothing bounds the work in flight. [Balancer] fixes both:
// Close and the context end every goroutine, and each queue holds at most
// depth requests, so when all are full Submit blocks and the burst waits
// in its callers instead of growing memory. It also moves the choice of
// worker from a balancer goroutine to the caller, because that goroutine
// has to be scheduled for every request and every completion, and when the
// workers keep the CPUs busy it waits behind them (impl=talk in
// BenchmarkBalancer). A handler learns from [WorkerIndex] which worker
// runs it, so each worker can own a resource (a backend, a connection, a
// cache) that only its handlers use; examples/loadbalancer gives worker i
// backend i. Under [StallAfter], a [timeout.Watchdog] names a worker whose
// handler hangs, and the requests queued behind it move to the others.
// [Balancer.Serve] drives a Balancer from a channel of requests to a
// channel of answers, each carrying its request.
//
// # The multiplexer
//
// The talk's network multiplexor lets many goroutines send on one
// connection by giving the connection to a single goroutine and the
// senders a channel to it. [Multiplexer] keeps the promise (one write at a
// time, no lock in the resource) without the goroutine: a producer that
// finds no write in progress writes its item itself, and the items that
// arrive meanwhile go out together in the next write, as in a group-commit
// log. It adds what a caller needs: Send returns the write's error, and
// Close writes everything accepted before it, so no item is lost without
// its sender being told.
//
// The talk's other EXAMPLES, first-of-N and timeouts, live in package
// timeout.
//
// # When something simpler is better
//
// A sync.Mutex around the resource is as simple as it gets and, for a
// cheap write, about as fast as the Multiplexer (BenchmarkMultiplexer); the
// Multiplexer pays off when each write has a fixed cost that batching
// spreads, or when producers must learn their write's error. A resource
// that must stay on one goroutine (or thread) belongs in a goroutine of
// yours reading a channel. A pool of interchangeable workers reading one
// shared channel is as fast as the Balancer and has no per-worker queues
// to balance; use the Balancer when workers own something (see
// [WorkerIndex]). And when the fan-out is a fixed set of tasks that each
// return an error, errgroup (golang.org/x/sync) says it in fewer lines
// than a shared channel and Merge.
//
// [Pipelines and cancellation]: https://go.dev/blog/pipelines
package fanout
