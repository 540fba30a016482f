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
// [Workers] is the worker pool of the talk's load balancer and of
// Railgun's "a goroutine per connection and some coordinating goroutines":
// n long-lived goroutines take tasks from one bounded queue. The queue is
// bounded, so a producer faster than the workers is slowed down
// ([Workers.Go] blocks, [Workers.TryGo] refuses) instead of growing memory
// without limit; a blocked Go honours its context, so it never blocks
// forever; the first error cancels the other tasks and is returned by
// [Workers.Wait], as in [golang.org/x/sync/errgroup]; a task's panic is
// recovered with its stack on the worker, cancels the pool, and is
// re-raised by Wait on the caller's goroutine as a [*PanicError]; a task
// that calls runtime.Goexit (t.FailNow, t.SkipNow) counts as done, as in
// errgroup, and its worker is replaced; the tasks skipped because the pool
// was cancelled are counted in [Workers.Stats], not lost; and
// [Workers.Close] stops and joins every worker, so nothing leaks.
//
// Bryan C. Mills argues against the pattern ("Rethinking Classical
// Concurrency Patterns", GopherCon 2018): goroutines are cheap, and a pool
// of idle workers is state to size, start and shut down, with lifetimes
// apart from the work. His alternative is a goroutine per task, started
// when the task is there, with a semaphore acquired before the go
// statement to bound how many run: errgroup.SetLimit, or compendium's
// semaphore.Group. That is the better default: there is no queue to size,
// no worker to leak, and each task's goroutine ends with it.
//
// # Workers or a goroutine per task
//
// A worker pool earns its keep when the per-task overhead matters.
// BenchmarkWorkers submits 1,000 tasks to 4 workers and waits for them
// (GOMAXPROCS=2; ranges over several runs on a machine shared with other
// work):
//
//	per task               tiny (atomic add)  ~1µs of CPU    allocs
//	Workers                43-52 ns           0.73-0.84 µs   0
//	semaphore.Group        250-310 ns         1.2-1.3 µs     1
//	errgroup.SetLimit      330-360 ns         0.83-1.2 µs    1
//	goroutine per task     200-230 ns         0.75-1.1 µs    1 (no bound)
//	mutex-guarded slice    20-30 ns           0.73-0.76 µs   0 (no bound)
//
// For tiny tasks the pool is four to seven times cheaper than a goroutine
// per task, gated or not (0.15x errgroup.SetLimit), because it starts no
// goroutine and allocates nothing per task. The bare mutex-guarded slice
// of workers is cheaper still because it does nothing else: no bound on its
// queue, no context, no errors, no panics, no counters. At a microsecond
// of work the pool still leads the goroutine-per-task designs, by up to
// 1.6x but with much noise between runs; at ten microseconds of work
// (measured apart, same machine) Workers, semaphore.Group and errgroup are
// within 4% of one another, and at fifty within 2%: the work dominates,
// and Mills' advice holds.
//
// So use Workers for many small tasks (parsing records, hashing chunks,
// cheap calls fanned out), when a long-lived worker keeps something warm,
// or when you want a hard bound on queued work in front of a fixed number
// of goroutines. Use semaphore.Group or errgroup.SetLimit for tasks of ten
// microseconds or more, where a goroutine per task costs nothing that
// shows and is simpler to reason about, and a plain go statement with a
// sync.WaitGroup when nothing needs bounding.
//
// # Choosing the queue capacity
//
// The queue holds 64 tasks unless [QueueCapacity] says otherwise. A
// producer faster than the workers blocks when the queue is full and is
// woken when it is half empty, so the capacity sets how often it parks.
// The tiny-task benchmark with 4 workers: capacity 0 (hand-off) 150-160 ns
// per task, 4 about 87 ns, 16 about 53 ns, 64 about 43 ns, 1,024 about
// 37 ns. A deeper queue buys little more, costs 8 bytes a slot, and means
// more work accepted ahead of the workers, all of it skipped if the pool is
// cancelled. With [IdleTimeout], workers that wait that long for a task
// exit and start again on demand, so a pool busy only now and then holds
// no goroutines in between.
//
// # Rules
//
// Every type here is safe for concurrent use, must be made with its
// constructor (the zero value is not usable), and must not be copied.
//
// Submitting a task to Workers synchronizes before the task runs, and the
// task's return before the Wait or Close that waits for it.
package pool
