// Package bench holds compendium's cross-pattern scenario benchmarks: small
// workloads where a channel pattern from the talk competes with a mutex, an
// atomic, sync.Map or sync.Pool on the same job, so that "channel or
// mutex?" has a measured answer. The package has no API; it is its
// benchmarks, its tests and this comment.
//
// Each scenario is one benchmark function whose sub-benchmarks are the
// implementations (impl=...). The implementations live in
// internal/scenario, and this package's tests check that they do the same
// job (unique, gap-free IDs from 1; maps that agree and read back their
// writes; every item handed over once and in order; every request's output
// inflating back to its body; every goroutine ended by Close or its
// context), so that no implementation wins by cutting a corner. The
// benchmark bodies live in internal/benchmarks, so
//
//	go test -bench . ./bench/
//	go run ./bench/cmd/compare -run 'bench\.'
//
// measure the same code. The tables below are typical figures, medians over
// runs of the second command at -benchtime=200ms (the request path: 1s) on
// a 2-core AMD EPYC, linux/amd64, Go 1.26.8, GOMAXPROCS=2; the verdicts
// under them give the range of the ratios over those runs and the ones in
// bench/RESULTS.md, which the whole module's run made on the same machine.
// The machine was shared: trust the ratios more than the nanoseconds, which
// moved by 20% and more in busy moments.
//
// # When not to use channels
//
// A channel operation that has to wake another goroutine costs a scheduler
// hand-off, 130 to 550 ns here; a mutex or an atomic costs 2 to 27 ns. So a
// goroutine plus channels is the wrong tool for guarding a counter or a map
// (10x to 100x slower, below), and an unbuffered channel is the slowest way
// to move a stream of items (3x to 7x a buffered one). Channels earn their
// cost when they carry something the alternatives cannot: ownership of a
// value moving between goroutines, an event (done, quit, a result), a select
// over several of those with a context or a timer, or backpressure that a
// producer can give up on. When the job is "many goroutines touch one piece
// of state", use sync.Mutex or sync/atomic; when it is "this goroutine's
// work becomes that goroutine's", use a channel, buffered. And when the
// work itself takes microseconds, as a real request does, none of these
// costs shows: choose for clarity and for what happens to memory.
//
// # Unique IDs
//
// BenchmarkIDs is the talk's "hide state" slide: a goroutine owns a counter
// and hands out IDs on a channel. The slide claims its first ID is 1 but
// starts the counter at 0, and its goroutine never exits; the tested version
// (scenario.ChanIDs) starts at 1 and stops on Close or its context.
//
//	ns per ID     chan (slide)  chan, buffer 64  sync.Mutex  atomic.Uint64
//	serial            203             84              5.4          2.2
//	parallel          199             74              6.7          4.2-4.6
//
// The channel loses by one to two orders of magnitude: about 37x a mutex
// and 95x an atomic serially; in parallel, where the mutex and the atomic
// pay for contention too, 30x and 45x. Buffering halves its cost (2x to
// 2.7x) and still leaves it 11x to 40x behind. Every Next is a channel
// receive, and an unbuffered one waits for the generator goroutine to be
// scheduled; an atomic add is one instruction. Use atomic.Uint64 (or a
// mutex if the ID is built from more state than one word). A generator
// goroutine is worth it only when making the next ID is itself slow or
// blocking (reserving a range from a database, a clock that must not go
// backwards), where it can work ahead into a buffer while callers consume.
//
// # Owned state
//
// BenchmarkOwnedState is Sameer Ajmani's owned state ("Advanced Go
// Concurrency Patterns"): one goroutine owns a map and serves Loads and
// Stores sent on a channel, in a for-select loop that also ends on its
// context. Against it: the same map behind a sync.Mutex, behind a
// sync.RWMutex, and a sync.Map; 1,024 keys, b.RunParallel, one Load or Store
// per op, 90% Loads (mix=read90) or 90% Stores (mix=write90).
//
//	ns/op      chan  chan, new reply  sync.Mutex  sync.RWMutex  sync.Map
//	read90      523        642           17.7         15.1         17.2
//	write90     212        227           21.5         26.2         57.5
//
// The owner goroutine is about 30x slower than a mutex on reads (28x to 31x)
// and 10x on writes (9x to 12x). A Load costs two hand-offs (request and
// reply); a Store goes into a 64-slot request buffer without waiting for an
// answer, which keeps it linearizable (the channel is FIFO) and cut the
// write-heavy mix from about 350 ns with an unbuffered request channel. Most
// write-ups of the pattern make a reply channel per request: that costs one
// allocation of 128 B per Load and 10% to 30% more time on reads ("chan, new
// reply"); scenario.ChanMap makes one per goroutine (a Handle) and reuses it.
// sync.RWMutex barely beats sync.Mutex on reads and loses on writes when the
// critical section is a map lookup: its reader count is itself a contended
// word. sync.Map allocates on every Store (a 48 B entry node, plus 8 B to box a
// key of 256 or more: 1.7 allocations per Store here) and was about 3x slower
// than a mutex on the write-heavy mix, though as fast on the read-heavy one; it
// suits maps written once and read many times, or goroutines working on
// disjoint keys, as its documentation says.
//
// Use a mutex. The owner goroutine is the right design when the state's
// owner must also wait on other things in the same select (timers, a
// network connection, a subscription's updates: Ajmani's feed reader), or
// when operations are long enough that a few hundred nanoseconds disappear.
//
// # Producer/consumer hand-off
//
// BenchmarkHandoff moves items from producers to consumers through a
// channel, unbuffered or buffered (64 or 1,024), or a bounded ring buffer
// behind a sync.Mutex with two sync.Cond (1,024 slots). One op is one item,
// so ns/op is ns per item, including the wake-ups of blocked producers and
// consumers.
//
//	ns/item                  chan     chan 64  chan 1024  mutex+cond 1024
//	1 producer, 1 consumer    135        36        33          18-21
//	4 producers, 4 consumers  155-390   38-90     35-60         41-115
//
// With four of each, runs fell into two groups, quiet machine or not: the
// faster one (155, 38, 35, 41 ns), and one two to three times slower,
// presumably as the scheduler spread the eight goroutines over the two
// cores differently. One implementation can land in the slow group while
// the others of the same process do not (bench/RESULTS.md has the cond
// queue at 102 ns beside channels in the fast group). The unbuffered
// channel stayed the slowest throughout.
//
// An unbuffered channel costs a rendezvous per item, 3x to 7x a buffered one:
// buffer a channel that carries a stream, and past a few dozen slots the size
// hardly matters. The mutex+cond queue is up to twice as fast as a buffered
// channel with one producer and one consumer (1.6x to 1.9x), and slower with
// four of each (1.2x to 3x a 1,024-slot channel): both are a lock around a ring
// buffer, the cond queue's without the machinery that lets a channel operation
// sit in a select. That is its limit, and Bryan Mills' point in "Rethinking
// Classical Concurrency Patterns": a goroutine waiting in Cond.Wait cannot also
// wait for ctx.Done() or a timer, so cancelling it needs a Broadcast from
// somewhere else, and every caller of the queue inherits that. Use a buffered
// channel for hand-offs; reach for a cond queue only in a measured hot path
// with one consumer, where nothing needs to cancel a wait.
//
// # Railgun's request path
//
// BenchmarkRequestPath is the workload of John Graham-Cumming's "Recycling
// memory buffers in Go" (Cloudflare's Railgun): read a request body into a
// buffer, compress it (compress/flate, BestSpeed) and write it on
// (io.Discard); 16 KiB bodies, 64 KiB buffers, 4 requests in flight. The
// buffers come from pool.Recycler, pool.AgingRecycler, a sync.Pool, or make;
// the requests run on pool.Workers (4 workers) or on a goroutine each (at
// most 4 at a time). The flate.Writers, about 1 MB each, come from one
// Recycler in every case, made before the timer starts: made per request
// they would dwarf everything else. One op is one request, so ns/op, B/op
// and allocs/op are per request, and GCs/1000req counts collections.
//
//	per request              ns       B  allocs  GCs/1000
//	Workers, Recycler      21,948       4     0       0
//	Workers, Aging         24,092       6     0       0
//	Workers, sync.Pool     21,919       4     0       0
//	Workers, make          30,520  65,560     2      12
//	goroutine, Recycler    24,109      61     2       0.02
//	goroutine, make        30,945  65,616     4      12
//
// Compression dominates: the slowest choice costs 1.4x to 1.65x the
// fastest. Reusing the buffer saves 28% to 40% of the time (clearing 64 KiB
// per request, and 8 to 12 garbage collections per 1,000 requests, fewer
// when the heap is bigger, as in the module's whole run) and all of the
// 64 KiB. Which pool reuses it does not show here: nothing else allocates,
// so no collection empties the sync.Pool, which then does what the
// Recycler does (pool's BenchmarkRecycleGC measures the difference once
// collections run). The AgingRecycler costs 10% to 20% more, because each
// Get and Put waits for its owner goroutine to be scheduled on two cores
// busy compressing; pay that only for what it adds, giving idle buffers
// back after a while. A goroutine per request costs 2 small allocations and
// 5% to 10% more than Workers in our runs (34% in bench/RESULTS.md's).
// Pool what is expensive to make (buffers, and above all compressors),
// bound what is in flight, and choose the pool by what should happen to
// idle memory, not by its nanoseconds.
package bench
