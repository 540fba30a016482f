// Package pool provides reuse, of memory and of goroutines:
//
//   - [Recycler], a bounded leaky free list on buffered channels;
//   - [AgingRecycler], a recycler goroutine whose idle values expire;
//   - [Bytes], byte slices recycled by power-of-two size class;
//   - [Workers], a bounded worker pool with backpressure.
//
// The recyclers and the worker pool come from John Graham-Cumming's
// GopherCon 2014 talk "A Channel Compendium" and from Cloudflare's Railgun,
// which it describes; here they are built the way the talk's slides are
// not: bounded, counted, cancellable, and with every goroutine joined.
//
// # Recycling memory
//
// Railgun moved HTTP responses through large buffers, and in 2013, before
// [sync.Pool] existed (Go 1.3, 2014), allocating them per request made the
// garbage collector the bottleneck. The answer, in the Cloudflare post
// "Recycling memory buffers in Go" and in the talk, was a recycler: a
// goroutine that hands out idle buffers over one channel, takes them back
// over another, and frees the ones idle too long. Its simpler form is
// Effective Go's leaky buffer: a buffered channel as the free list, with
// select/default on both sides so that neither Get nor Put ever blocks, and
// an extra buffer left for the garbage collector when the list is full.
//
// The published recyclers have four bugs, which this package fixes:
//
//   - The talk's recycler never frees: every buffer given back is kept.
//   - So its list grows without bound, and so does the post's: one burst
//     pins its peak for good (or, in the post, for a minute).
//   - The post's purge is a select case on a timer made anew on every loop
//     (with a list element per buffer), so the recycler allocates as it
//     recycles.
//   - Since every operation re-arms that timer, under steady traffic the
//     purge never runs: it waits for a whole quiet minute.
//
// [AgingRecycler] keeps one timer for its whole life, armed for the oldest
// idle value's expiry; bounds its idle values by count and, with
// [MaxIdleBytes], by size; keeps them on a preallocated LIFO stack (newest
// reused first, so cold values sink and expire); and stops and joins its
// goroutine on Close. [Recycler] is the leaky buffer, made generic,
// counted, and sharded so that parallel goroutines do not all fight over
// one channel's lock.
//
// # Recycler or sync.Pool
//
// BenchmarkRecycle gets a 4 KiB buffer, writes a byte and puts it back,
// serially and under b.RunParallel (time per operation). On 2 cores with
// Go 1.26, over several runs of go run ./bench/cmd/compare -run 'pool\.'
// on a quiet machine:
//
//	                         serial   parallel   allocs
//	sync.Pool                 14 ns     7.9 ns      0
//	slice under a mutex        9 ns    12 ns        0
//	Recycler                  15 ns     8.3 ns      0
//	one buffered channel      31 ns    47 ns        0
//	AgingRecycler            930 ns   930 ns        0
//	make([]byte, 4096)       810 ns  1240 ns        2
//
// One buffered channel is the talk's free list as usually written: every
// processor fights over its lock (5x to 8x sync.Pool in parallel). The
// Recycler shards it, each goroutine starting on a shard of its own, and
// for pointer-shaped values keeps one value per shard in an atomic slot in
// front of the channel, as sync.Pool keeps a private value per processor:
// that brings it within 1.05x to 1.25x of sync.Pool. Values of other types
// (slices, structs, interfaces) always go through the channels, at the
// one-channel row's cost serially: recycle pointers to them.
//
// Use sync.Pool by default: it is still the fastest, needs no size, and
// lets idle values go at the next collections, which is what most caches
// of temporary objects want. Use a Recycler when what sync.Pool does not
// promise matters:
//
//   - It survives garbage collection. sync.Pool empties at every collection
//     (since Go 1.13 a victim cache keeps values through one). With
//     runtime.GC every 1,000 operations (BenchmarkRecycleGC), sync.Pool
//     made 0.3 to 0.6 new buffers per 1,000 Get+Put, the Recycler none.
//   - It is bounded: at most size values idle, so a burst cannot pin
//     unbounded memory, and [KeepIf] refuses values not worth keeping, such
//     as buffers grown huge by one request (sync.Pool keeps them:
//     golang/go#23199).
//   - It is predictable and observable: a value Put is there for the next
//     Get, and [RecyclerStats] counts hits, misses, drops and rejects.
//
// A mutex around a slice is faster serially (9 ns) but not in parallel
// (12 ns on 2 cores, one lock for every processor): choose it for a free
// list used by one goroutine at a time, or kept inside one short-lived
// object, where a Recycler's shards are overhead.
//
// # AgingRecycler and Bytes
//
// Use an [AgingRecycler] for large values in bursty programs, where idle
// memory should go back after a while rather than stay pinned (Recycler)
// or vanish at the next collection (sync.Pool). Each Get and Put is a
// handoff to its owner goroutine, about a microsecond for the pair, which
// pays off when a value costs more than that to make: a 64 KiB buffer costs 7 to 12 µs
// to allocate and zero. After a burst of 64 buffers of 256 KiB and 10 ms
// idle (BenchmarkBurst, TTL 1 ms), the AgingRecycler held none of the
// 16 MiB, the Recycler all of it, by design, and sync.Pool all of it until
// a second collection emptied its victim cache.
//
// Use [Bytes] for byte slices of varying length: one Recycler per
// power-of-two class from 512 B to 4 MiB, so a small request never pins a
// large buffer, at a few nanoseconds more than a Recycler per Get+Put.
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
// A recycler's Put synchronizes before the Get that returns the same value.
// A value must not be used after Put, and must be Put at most once per
// Get: Putting it twice lets two Gets hand it to two goroutines at once,
// which no recycler can detect. Nil values (of pointer, slice, map,
// channel, function and interface types) are rejected by Put and counted,
// never kept, and so is a value that the [ResetWith] function turns into
// nil.
//
// Submitting a task to Workers synchronizes before the task runs, and the
// task's return before the Wait or Close that waits for it. An
// AgingRecycler and a Workers own goroutines: Close stops and joins them,
// and may be called any number of times.
//
// Programming errors (a size or worker count below 1, a nil function,
// task or option, a TTL or idle timeout not above zero) panic with a
// message of the form "pool: what was wrong, got value". Failures at run
// time are errors ([ErrClosed], a context's error, a task's error) or, for
// a task's panic, a [*PanicError] re-raised by Wait or Close.
package pool
