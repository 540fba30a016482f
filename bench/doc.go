// Package bench holds compendium's cross-pattern scenario benchmarks: small
// workloads where a channel pattern from the talk competes with a mutex, an
// atomic or sync.Map on the same job, so that "channel or mutex?" has a
// measured answer. The package has no API; it is its benchmarks, its tests
// and this comment.
//
// Each scenario is one benchmark function whose sub-benchmarks are the
// implementations (impl=...). The implementations live in
// internal/scenario, and this package's tests check that they do the same
// job (unique, gap-free IDs from 1; maps that agree and read back their
// writes; every item handed over once and in order; every goroutine ended by
// Close or its context), so that no implementation wins by cutting a corner.
// The benchmark bodies live in internal/benchmarks, so
//
//	go test -bench . ./bench/
//	go run ./bench/cmd/compare -run 'bench\.'
//
// measure the same code. The figures below are medians from the second
// command at -benchtime=200ms on a 2-core AMD EPYC (linux/amd64, Go 1.26.8,
// GOMAXPROCS=2), a shared machine: read the ratios, which hold from run to
// run, more than the nanoseconds, which move by 20%.
//
// # When not to use channels
//
// A channel operation that has to wake another goroutine costs a scheduler
// hand-off, 150 to 500 ns here; a mutex or atomic costs 2 to 25 ns. So a
// goroutine plus channels is the wrong tool for guarding a counter or a map
// (30x to 100x slower, below), and an unbuffered channel is the slowest way
// to move a stream of items (3x to 6x a buffered one). Channels earn their
// cost when they carry something the alternatives cannot: ownership of a
// value moving between goroutines, an event (done, quit, a result), a select
// over several of those with a context or a timer, or backpressure that a
// producer can give up on. When the job is "many goroutines touch one piece
// of state", use sync.Mutex or sync/atomic; when it is "this goroutine's
// work becomes that goroutine's", use a channel, buffered.
//
// # Unique IDs
//
// BenchmarkIDs is the talk's "hide state" slide: a goroutine owns a counter
// and hands out IDs on a channel. The slide claims its first ID is 1 but
// starts the counter at 0, and its goroutine never exits; the tested version
// (scenario.ChanIDs) starts at 1 and stops on Close or its context.
//
//	                  chan (slide)  chan, buffer 64  sync.Mutex  atomic.Uint64
//	serial, ns/ID          206             89            5.4          2.1
//	parallel, ns/ID        194             76            6.7          4.2
//
// The channel loses by one to two orders of magnitude: 38x a mutex and 97x
// an atomic serially, 29x and 46x in parallel. Buffering halves its cost and
// still leaves it 13x to 40x behind. Every Next is a channel receive, and an
// unbuffered one waits for the generator goroutine to be scheduled; an
// atomic add is one instruction. Use atomic.Uint64 (or a mutex if the ID is
// built from more state than one word). The generator goroutine is worth it
// only when producing the next ID is itself slow or blocking (reading a
// sequence from a database, a clock that must not go backwards), where the
// goroutine can work ahead into a buffer while callers consume.
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
//	read90      506        595           14.7         14.6         25.3
//	write90     215        241           17.2         24.0          108
//
// The owner goroutine is 34x slower than a mutex on reads and 12x on writes.
// A Load costs two hand-offs (request and reply); a Store is sent into a
// 64-slot buffer without waiting for an answer, which keeps it linearizable
// (the channel is FIFO) and halved the write-heavy mix against an unbuffered
// request channel (350 ns). Most write-ups of the pattern make a reply
// channel per request: that costs one allocation of 128 B per Load and
// about 15% more time ("chan, new reply"); scenario.ChanMap makes one per
// goroutine (a Handle) and reuses it. sync.RWMutex does not beat sync.Mutex
// when the critical section is a map lookup: the reader count is itself a
// contended word. sync.Map allocates on every Store (a 48 B entry node, plus
// 8 B to box a key of 256 or more: 1.7 allocations per Store here) and is
// 6x slower than a mutex on the write-heavy mix; it suits maps written once
// and read many times, or goroutines working on disjoint keys, as its
// documentation says.
//
// Use a mutex. The owner goroutine is the right design when the state's
// owner must also wait on other things in the same select (timers, a
// network connection, a subscription's updates: Ajmani's feed reader), or
// when operations are long enough that 200 to 500 ns disappears.
//
// # Producer/consumer hand-off
//
// BenchmarkHandoff moves items from producers to consumers through a
// channel, unbuffered or buffered (64 or 1,024), or a bounded ring buffer
// behind a sync.Mutex with two sync.Cond (1,024 slots). One op is one item,
// so ns/op is ns per item, including the wake-ups of blocked producers and
// consumers.
//
//	ns/item                  chan  chan 64  chan 1024  mutex+cond 1024
//	1 producer, 1 consumer    155     46        45            24
//	4 producers, 4 consumers  206     36        32            28
//
// An unbuffered channel costs a rendezvous per item, 3x to 6x a buffered
// one: buffer a channel that carries a stream, and past a few dozen slots the
// size hardly matters. The mutex+cond queue is as fast as the buffered
// channel or faster, because both are a lock around a ring buffer, and a
// cond queue need not support select. That is its limit, and Bryan Mills'
// point in "Rethinking Classical Concurrency Patterns": a goroutine waiting
// in Cond.Wait cannot also wait for ctx.Done() or a timer, so cancellation
// needs a Broadcast from somewhere else, and every caller of the queue
// inherits that. Use a buffered channel for hand-offs; reach for a cond
// queue only in a measured hot path where nothing needs to cancel a wait.
package bench
