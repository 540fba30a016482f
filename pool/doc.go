// Package pool provides reuse: [Recycler], a bounded leaky free list on
// buffered channels; [AgingRecycler], the recycler goroutine of John
// Graham-Cumming's talk with idle values that expire; [Bytes], byte slices
// by power-of-two size class; and [Workers], a bounded worker pool.
//
// # The story
//
// Cloudflare's Railgun moved HTTP responses through large buffers, and in
// 2013, before [sync.Pool] existed (Go 1.3, 2014), allocating them per
// request made the garbage collector the bottleneck. John Graham-Cumming's
// answer, in the Cloudflare post "Recycling memory buffers in Go" and in
// his GopherCon 2014 talk "A Channel Compendium", was a recycler: a
// goroutine that hands out idle buffers over one channel, takes them back
// over another, and frees the ones idle too long. The simpler form is
// Effective Go's leaky buffer: a buffered channel as the free list, with
// select/default on both sides so that neither Get nor Put ever blocks, and
// an extra buffer left for the garbage collector when the list is full.
//
// Those recyclers have four bugs, which this package fixes:
//
//   - The talk's recycler never frees: every buffer given back is kept.
//   - So its list grows without bound, and so does the post's, which has
//     no bound either: one burst pins its peak for good (or, in the post,
//     for a minute).
//   - The post's purge lives in a select case on a timer made anew on
//     every loop (with a list element per buffer), so the recycler
//     allocates as it recycles.
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
// # Which to use
//
// Use [sync.Pool] by default: it is the fastest here in every mode, with
// per-processor caches that no lock guards. On 2 cores with Go 1.26
// (BenchmarkRecycle, 4 KiB buffers, Get, write a byte, Put):
//
//	                    serial   parallel   allocs
//	sync.Pool            15 ns     8 ns       0
//	slice under a mutex  10 ns    12 ns       0
//	Recycler             35 ns    18-40 ns    0
//	one channel          31 ns    ~80 ns      0
//	AgingRecycler      1000 ns   900 ns       0
//	make([]byte, 4096) 1000 ns  2300 ns       2
//
// A Recycler costs one buffered-channel receive and one send, each taking
// the channel's lock; that is the floor of any channel free list, about
// twice a sync.Pool Get+Put, and the Recycler stays within a few
// nanoseconds of a single channel serially. In parallel a single channel
// is one lock for every processor; the Recycler's shards, one per
// goroutine's stack, remove that contention.
//
// Use a Recycler when what sync.Pool does not promise matters:
//
//   - It survives garbage collection. sync.Pool empties at every
//     collection (since Go 1.13 a victim cache keeps values through one).
//     With runtime.GC every 1,000 operations (BenchmarkRecycleGC),
//     sync.Pool made 0.5 new buffers per 1,000 Get+Put, the Recycler none.
//   - It is bounded: at most size values idle, so a burst cannot pin
//     unbounded memory, and [KeepIf] refuses values not worth keeping,
//     such as buffers grown huge by one request (sync.Pool keeps them:
//     golang/go#23199).
//   - It is predictable and observable: a Put value is reused by the next
//     Get, and [RecyclerStats] counts hits, misses, drops and rejects.
//
// Use an AgingRecycler for large values in bursty programs, where idle
// memory should go back after a while rather than stay pinned (Recycler)
// or vanish at the next collection (sync.Pool). Each Get and Put is a
// handoff to its owner goroutine, about a microsecond, which pays off
// when a value costs more than that to make: a 64 KiB buffer costs about
// 7 µs to allocate and zero. After a burst of 64 buffers of 256 KiB and
// 10 ms idle (BenchmarkBurst, TTL 1 ms), the AgingRecycler held none of
// the 16 MiB, the Recycler all of it, by design, and sync.Pool all of it
// until a second collection emptied its victim cache.
//
// Use [Bytes] for byte slices of varying length: one Recycler per
// power-of-two class from 512 B to 4 MiB, so a small request never pins a
// large buffer.
//
// # Rules
//
// Every recycler here is safe for concurrent use, and Put synchronizes
// before the Get that returns the same value. A value must not be used
// after Put, and must be Put at most once per Get: Putting it twice lets
// two Gets hand it to two goroutines at once, which no recycler can
// detect. Nil values (of pointer, slice, map, channel, function and
// interface types) are rejected by Put and counted, never kept. Invalid
// arguments (a size below 1, a nil function, a TTL not above zero) panic
// with a message "pool: ..., got ...".
//
// # Worker pools
//
// [Workers] runs tasks on a fixed number of goroutines fed by a bounded
// queue; its type documentation describes it.
package pool
