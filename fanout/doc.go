// Package fanout provides the channel patterns that join and split streams
// of work: fan-in ([Merge], [MergeSelect]), copying to every reader
// ([Broadcast]), splitting by key with per-key order
// ([Partition]), a least-loaded load balancer ([Balancer]) and a
// multiplexer that lets many goroutines share one resource
// ([Multiplexer]).
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
// returned. [Merge] is that shape, with two changes: every send and
// receive selects on ctx.Done (the blog's first version leaks its
// goroutines when the reader stops), and the output is buffered, which in
// BenchmarkMerge (k producers on unbuffered channels, one reader, 2 cores)
// makes it faster than the blog's unbuffered version at every k:
//
//	ns/item         k=2   k=8   k=64
//	Merge           205   215    278
//	MergeSelect     242   342    391
//	blog's merge    289   325    634
//	mutex queue     349   363    327
//	reflect.Select  475  1485   6738
//
// (Runs vary by ±20% on this shared machine, and the blog's merge at k=64
// by more: 340-630; the mutex queue beats Merge at k=64 in some runs, and
// loses at small k.)
//
// The talk's NIL CHANNELS slide merges two channels in one goroutine with
// a select loop, and switches an input off when it closes by setting it to
// nil: a receive from a nil channel blocks forever, so its case never
// fires again. [MergeSelect] is that loop, one goroutine per four inputs.
// The benchmarks chose the default: the select loop saves goroutines but
// not time, since a five-case select costs more than the blog's two-case
// one, so Merge keeps a goroutine per input and MergeSelect is there for
// when goroutines are what you count. A single reflect.Select loop over
// all inputs, the usual answer for "select over a slice", is 20x slower
// at k=64.
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
// has to be scheduled for every request and every completion, and when
// the workers keep the CPUs busy it waits behind them: in
// BenchmarkBalancer (8 clients, 4 workers, queues of 2, one task in 8
// costing 20x the others, 1.3 to 26 µs), the median latency is 1.7 µs here
// and 11-28 µs with the talk's shape; the 99th percentile is 23-26 µs here
// and 150-300 µs with round robin over the same queues. A handler's panic fails
// its request with a [PanicError] and is re-raised by Close. A handler
// learns from [WorkerIndex] which worker runs it, so each worker can own a
// resource (a backend, a connection, a cache) that only its handlers use;
// examples/loadbalancer gives worker i backend i.
//
// # The multiplexer
//
// The talk's network multiplexor lets many goroutines send on one
// connection by giving the connection to a single goroutine and the
// senders a channel to it. [Multiplexer] adds what a caller needs: Send
// returns the write's error, writes are batched (every item queued while
// the previous write ran goes out in the next call), and Close writes
// everything accepted before it, so no item is lost without its sender
// being told.
//
// The talk's other EXAMPLES, first-of-N and timeouts, live in package
// timeout.
//
// # When something simpler is better
//
// A sync.Mutex around the resource is simpler than a Multiplexer and, when
// a write is cheap, 15-40x faster (BenchmarkMultiplexer: 13-43 ns per item
// against 320-980 for a free write); the Multiplexer pays off when each
// write has a fixed cost that batching spreads (typically 4-6x faster
// than the mutex for a 3 µs write with 16 producers), or when the resource
// must stay on one goroutine. A pool of interchangeable workers reading one
// shared channel is as fast as the Balancer and has no per-worker queues
// to balance; use the Balancer when workers own something (see
// [WorkerIndex]). And when the
// fan-out is a fixed set of tasks that each return an error, errgroup
// (golang.org/x/sync) says it in fewer lines than a shared channel and Merge.
//
// [Pipelines and cancellation]: https://go.dev/blog/pipelines
package fanout
