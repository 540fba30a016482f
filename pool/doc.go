// Package pool provides reuse, of memory and of goroutines:
//
//	need                                      type           cost     instead, when
//	reuse values, kept across GCs, bounded    Recycler       atomic   sync.Pool, if losing idle values at a GC is fine
//	the same, idle values released after ttl  AgingRecycler  mutex    Recycler, if idle memory may stay pinned
//	byte slices of any length                 Bytes          atomic   Recycler, if every buffer has one size
//	a fixed set of workers taking tasks       Workers        channel  semaphore.Group, if tasks are long
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
// # Recyclers
//
// The recyclers come from John Graham-Cumming's talk "A Channel
// Compendium" and his post "Recycling memory buffers in Go": before
// [sync.Pool], Railgun's recycler goroutine handed out idle buffers over
// one channel, took them back over another and freed those idle too long;
// its simpler form is Effective Go's leaky buffer, a buffered channel used
// as a bounded free list. The slide's recycler keeps every buffer it is
// given, makes a timer per loop, never purges under steady traffic, and
// costs two hand-offs to its goroutine per Get+Put. [Recycler] and
// [AgingRecycler] keep a bounded number, count everything
// ([RecyclerStats]), and hand nothing through a goroutine.
//
// Use sync.Pool by default: it needs no size and lets idle values go at
// the next collections, as most caches of temporary objects should. Use a
// Recycler when its promises matter: idle values survive garbage
// collection; at most size are idle, and [KeepIf] refuses values grown too
// large (sync.Pool keeps them, golang/go#23199). Use an AgingRecycler for
// large values in bursty programs, whose idle memory should go back after
// a while. A mutex around a slice is cheaper for a free list used by one
// goroutine at a time. Costs: pool.Recycle, pool.RecycleGC and pool.Burst
// in bench/RESULTS.md.
//
// A recycler holds pointers, *E. Put synchronizes before the Get that
// returns the same value; Put(nil) is rejected and counted. A value must
// not be used after Put, and must be Put at most once per Get: Putting it
// twice lets two Gets hand it to two goroutines at once, which no recycler
// can detect.
//
// # Worker pools
//
// [Workers] is the worker pool of the talk's load balancer: at most n
// long-lived goroutines take tasks from one bounded queue. A producer
// faster than the workers is slowed down ([Workers.Go] blocks, within its
// ctx; [Workers.TryGo] refuses) instead of growing memory without limit.
// It is built for long-lived pools in servers as well as batch jobs: the
// ctx given to Go reaches the task; a task's error goes to [Workers.Wait]
// and the pool keeps serving ([CancelOnError] gives errgroup's rule
// instead); a task may submit follow-up work to its own pool without
// deadlock; [Workers.Shutdown] drains the queue, [Workers.Close] skips it.
//
// Bryan C. Mills argues against the pattern ("Rethinking Classical
// Concurrency Patterns", GopherCon 2018): a pool of idle workers is state
// to size, start and shut down, with lifetimes apart from the work. His
// alternative, a goroutine per task started once a semaphore slot is
// acquired (semaphore.Group, errgroup.SetLimit), is the better default.
// Use Workers where the cost per task matters (many small tasks: the pool
// starts no goroutine and allocates nothing per task), where a long-lived
// worker keeps something warm, or for a hard bound on the work queued
// ahead of a fixed number of goroutines. Once a task's work dwarfs the
// cost of starting a goroutine, both cost the same: see pool.Workers in
// bench/RESULTS.md.
//
// # Rules
//
// Every type here is safe for concurrent use, must be made with its
// constructor (the zero value is not usable), and must not be copied.
//
// Submitting a task to Workers synchronizes before the task runs, and the
// task's return before the Wait or Close that waits for it.
package pool
