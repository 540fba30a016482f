package pool

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// AgingRecycler is the recycler goroutine of John Graham-Cumming's talk and
// of the Cloudflare post "Recycling memory buffers in Go", with its bugs
// fixed. One owner goroutine keeps the idle values on a stack and serves Get
// and Put over channels:
//
//   - Get returns the newest idle value (LIFO), so under light load the
//     same few warm values circulate and the cold ones sink to the bottom.
//   - A value idle for ttl is released to the garbage collector. One timer,
//     armed for the oldest value's expiry, drives it: it is never
//     re-created per operation (the post's loop made a timer and a list
//     element per iteration), and it fires under steady traffic too (the
//     post's purge ran only after a whole quiet timeout).
//   - At most size values (and, with [MaxIdleBytes], at most that many
//     bytes) are idle; a Put beyond the bound is dropped and counted (the
//     post's list grew without bound).
//
// The owner never runs caller code: the new function, [ResetWith],
// [KeepIf] and the [MaxIdleBytes] size function all run on the goroutine
// that calls Get or Put, so their panics surface there.
//
// Make one with [NewAgingRecycler], which starts the owner goroutine, and
// call [AgingRecycler.Close] to stop it; the zero value is not usable. An
// AgingRecycler must not be copied after first use. It is safe for
// concurrent use. Put synchronizes before the Get that returns the same
// value. A value must not be used after it was given to Put, and must be
// Put at most once per Get: Putting a value twice lets two Gets return it
// to two goroutines at once, a bug the recycler cannot detect.
//
// Cost: every Get and every Put is a channel handoff to the owner
// goroutine, which must be woken: about 1 µs per Get+Put on 2 cores,
// some 60 times a [Recycler] (BenchmarkRecycle); it allocates nothing in
// steady state. It pays off for large values, whose allocation and zeroing
// cost more than the handoff, and wherever idle memory must be handed back.
type AgingRecycler[T any] struct {
	// The state lives apart so that the owner goroutine, which holds only
	// the state, does not keep the AgingRecycler reachable: a recycler
	// dropped without Close is found by the garbage collector, and its
	// cleanup stops the owner (see NewAgingRecycler).
	s *agingState[T]
}

// agingState is everything an AgingRecycler and its owner goroutine share.
type agingState[T any] struct {
	newFn   func() T
	cfg     config[T]
	nilable bool

	// get carries the owner's offer to a Get: the newest idle value, or
	// ok=false meaning "none idle, make one". The owner always has an
	// offer, so a Get waits only while the owner serves someone else.
	get chan offer[T]
	// give carries Put's values to the owner. It is unbuffered, so that a
	// value is either taken by the live owner, which counts it, or
	// dropped by Put after Close, which counts it: a buffer would let a
	// value slip in after the owner's exit and vanish uncounted. A
	// buffered give (16 slots, the owner draining it before each Get) was
	// tried and measured: no faster (990 ns per Get+Put either way), since
	// the cost is the wake-up of the owner that each Get needs anyway.
	give chan offer[T]
	// quit is closed by Close (once); done is closed by the owner on exit.
	// Put and Get never close or send on either: closing give or get
	// instead would make a Put racing Close panic.
	quit      chan struct{}
	done      chan struct{}
	closeOnce sync.Once

	// stats carries Stats' requests to the owner, which answers with its
	// counters: the owner keeps them in plain variables, and a Stats call
	// sees every operation that returned before it.
	stats chan chan RecyclerStats
	// final holds the owner's counters once done is closed.
	final RecyclerStats
	// Counters of what callers do without the owner: rejects, and Gets and
	// Puts after Close.
	rejects, lateMisses, lateDrops atomic.Uint64
}

// offer is a value passing between the owner and a caller: on get, ok says
// whether v is an idle value; on give, size is v's size for MaxIdleBytes.
type offer[T any] struct {
	v    T
	ok   bool
	size int
}

// idleValue is one slot of the owner's stack: a value and the time it
// became idle.
type idleValue[T any] struct {
	v     T
	since time.Time
	size  int
}

// NewAgingRecycler returns an AgingRecycler that keeps at most size idle
// values, each for at most ttl, and makes new ones with newFn. It starts
// the owner goroutine; call Close to stop it. Options: [ResetWith],
// [KeepIf], [MaxIdleBytes].
//
// If the AgingRecycler becomes unreachable without Close, a cleanup
// registered with [runtime.AddCleanup] stops the owner after a garbage
// collection, so a forgotten Close leaks nothing for long. That cannot work
// if the owner itself keeps the AgingRecycler reachable: if newFn, an
// option's function or an idle value refers to it. Call Close all the
// same, which joins the goroutine and releases the idle values at once.
//
// The owner's stack is allocated up front: size slots of a T, a time and
// a size each (T plus 32 bytes on 64-bit platforms).
//
// NewAgingRecycler panics if size < 1, ttl <= 0, newFn is nil or an option
// is nil.
func NewAgingRecycler[T any](size int, ttl time.Duration, newFn func() T, opts ...AgingOption[T]) *AgingRecycler[T] {
	if size < 1 {
		panic(fmt.Sprintf("pool: size must be at least 1, got %d", size))
	}
	if ttl <= 0 {
		panic(fmt.Sprintf("pool: ttl must be positive, got %v", ttl))
	}
	if newFn == nil {
		panic("pool: NewAgingRecycler needs a new function, got nil")
	}
	s := &agingState[T]{
		newFn:   newFn,
		cfg:     newConfig[T]("NewAgingRecycler", opts),
		nilable: isNilable[T](),
		get:     make(chan offer[T]),
		give:    make(chan offer[T]),
		quit:    make(chan struct{}),
		done:    make(chan struct{}),
		stats:   make(chan chan RecyclerStats),
	}
	go s.run(size, ttl)
	a := &AgingRecycler[T]{s: s}
	// The cleanup gets the state, never a itself (which would keep a
	// reachable forever); it only signals, as cleanups must not block.
	runtime.AddCleanup(a, (*agingState[T]).stop, s)
	return a
}

// stop tells the owner to exit, once.
func (s *agingState[T]) stop() {
	s.closeOnce.Do(func() { close(s.quit) })
}

// Get returns the most recently Put idle value if there is one, and
// otherwise a new value from the new function, made on the calling
// goroutine. It waits only for the owner to finish the operation it is
// serving, never for a Put. After Close it always makes a new value,
// counted as a miss.
func (a *AgingRecycler[T]) Get() T {
	select {
	case o := <-a.s.get:
		if o.ok {
			return o.v
		}
		// The owner counted the miss.
	case <-a.s.done:
		a.s.lateMisses.Add(1)
	}
	return a.s.newFn()
}

// Put offers v for reuse. It rejects v if v is nil (for pointer, slice,
// map, channel, function and interface types) or the [KeepIf] rule refuses
// it; otherwise it applies the [ResetWith] function (rejecting a nil
// result) and hands v to the owner, which keeps it unless the count or byte bound is reached. Put
// waits only for the owner to finish the operation it is serving. After
// Close, Put drops v. Every outcome is counted in [RecyclerStats].
func (a *AgingRecycler[T]) Put(v T) {
	v, ok := a.s.cfg.admit(v, a.s.nilable)
	if !ok {
		a.s.rejects.Add(1)
		return
	}
	o := offer[T]{v: v}
	if a.s.cfg.size != nil {
		// Checked here, on the caller's goroutine: a negative size
		// would lower IdleBytes and let the bound be exceeded.
		if o.size = a.s.cfg.size(v); o.size < 0 {
			panic(fmt.Sprintf("pool: MaxIdleBytes size function must not return a negative size, got %d", o.size))
		}
	}
	select {
	case a.s.give <- o:
	case <-a.s.done:
		a.s.lateDrops.Add(1)
	}
}

// Close stops the owner goroutine, releases every idle value to the
// garbage collector (counted as expired) and waits for the owner to exit.
// It is idempotent and safe to call concurrently. Get and Put keep working
// after Close, without recycling: Get makes a new value and Put drops its
// value, both counted.
func (a *AgingRecycler[T]) Close() {
	a.s.stop()
	<-a.s.done
}

// Stats returns the recycler's counters. It is safe to call concurrently
// with every other method, and after Close. It asks the owner goroutine, so
// it counts every Get and Put that returned before it was called.
func (a *AgingRecycler[T]) Stats() RecyclerStats {
	var st RecyclerStats
	reply := make(chan RecyclerStats, 1)
	select {
	case a.s.stats <- reply:
		st = <-reply
	case <-a.s.done:
		st = a.s.final
	}
	st.Rejects += a.s.rejects.Load()
	st.Misses += a.s.lateMisses.Load()
	st.Drops += a.s.lateDrops.Load()
	st.Gets = st.Hits + st.Misses
	st.Puts = st.Kept + st.Drops + st.Rejects
	return st
}

// run is the owner goroutine. The idle values live in a ring of size
// slots used as a stack: Get pops the top (newest), expiry pops the bottom
// (oldest), and since values are pushed in time order the bottom is always
// the next to expire. A preallocated ring, unlike the post's
// container/list, allocates nothing per value.
func (a *agingState[T]) run(size int, ttl time.Duration) {
	ring := make([]idleValue[T], size)
	var (
		bottom int           // the oldest idle value is ring[bottom]
		st     RecyclerStats // the owner's counters; st.Idle values are idle
	)
	defer func() {
		a.final = st
		close(a.done)
	}()
	at := func(k int) *idleValue[T] { return &ring[(bottom+k)%size] }
	// release drops the bottom value, the oldest, for the garbage collector.
	release := func() {
		e := at(0)
		st.Expired++
		st.ExpiredBytes += int64(e.size)
		st.IdleBytes -= int64(e.size)
		*e = idleValue[T]{} // clear the slot so the GC can free the value
		bottom = (bottom + 1) % size
		st.Idle--
	}

	// One timer for the life of the owner, armed while values are idle to
	// fire when the oldest expires. Since Go 1.23, Stop and Reset leave no
	// stale value in timer.C, so the timer is re-armed with Reset and its
	// channel never drained. The timer is left armed when a Get empties
	// the stack: firing once for nothing is cheaper than a Stop per Get.
	timer := time.NewTimer(ttl)
	timer.Stop()
	defer timer.Stop()
	armed := false

	for {
		var o offer[T]
		if st.Idle > 0 {
			o = offer[T]{v: at(st.Idle - 1).v, ok: true}
		}
		select {
		case p := <-a.give:
			if st.Idle == size || (a.cfg.size != nil && st.IdleBytes+int64(p.size) > a.cfg.maxBytes) {
				st.Drops++
				continue
			}
			*at(st.Idle) = idleValue[T]{v: p.v, since: time.Now(), size: p.size}
			st.Idle++
			st.IdleBytes += int64(p.size)
			st.Kept++
			if !armed {
				timer.Reset(ttl)
				armed = true
			}
		case a.get <- o:
			if !o.ok {
				st.Misses++
				continue
			}
			st.Idle--
			e := at(st.Idle)
			st.IdleBytes -= int64(e.size)
			*e = idleValue[T]{}
			st.Hits++
		case <-timer.C:
			armed = false
			now := time.Now()
			for st.Idle > 0 && !now.Before(at(0).since.Add(ttl)) {
				release()
			}
			if st.Idle > 0 {
				timer.Reset(at(0).since.Add(ttl).Sub(now))
				armed = true
			}
		case reply := <-a.stats:
			reply <- st
		case <-a.quit:
			for st.Idle > 0 {
				release()
			}
			return
		}
	}
}
