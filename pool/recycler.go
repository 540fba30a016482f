package pool

import (
	"math/bits"
	"runtime"
	"sync/atomic"
	"unsafe"

	"github.com/go-compendium/compendium/internal/lifecycle"
)

// RecyclerStats counts what a [Recycler], an [AgingRecycler] or a [Bytes]
// did since it was made. Every snapshot satisfies
//
//	Gets = Hits + Misses
//	Puts = Kept + Dropped + Rejected
//	Kept = Hits + Expired + Idle
//
// also while other goroutines call Get and Put: the snapshot is assembled
// shard by shard, not at one instant, but the fields that the identities
// tie together are read or derived so that they hold.
type RecyclerStats struct {
	// Gets is the number of calls to Get.
	Gets uint64
	// Hits is the number of Gets served with an idle value.
	Hits uint64
	// Misses is the number of Gets that made a new value: none was idle
	// (or, for Bytes, the length was over the largest size class).
	Misses uint64
	// Puts is the number of calls to Put.
	Puts uint64
	// Kept is the number of Puts whose value was kept idle.
	Kept uint64
	// Dropped is the number of Puts dropped for lack of room: every idle
	// place was taken, or (for an AgingRecycler) the byte bound was
	// reached or the recycler was closed.
	Dropped uint64
	// Rejected is the number of Puts refused: nil values, values the
	// [KeepIf] rule refused, and, for Bytes, slices whose capacity is not
	// a size class.
	Rejected uint64
	// Expired is the number of idle values an AgingRecycler released to
	// the garbage collector because they stayed idle a whole TTL, or
	// because it was closed.
	Expired uint64
	// Idle is the number of values idle now.
	Idle uint64
	// IdleBytes and ExpiredBytes are the sizes of the idle values and of
	// the expired ones, for an AgingRecycler made with [MaxIdleBytes].
	IdleBytes, ExpiredBytes uint64
}

// add returns the sum of two snapshots (for Bytes, which sums its classes).
func (s RecyclerStats) add(o RecyclerStats) RecyclerStats {
	return RecyclerStats{
		Gets: s.Gets + o.Gets, Hits: s.Hits + o.Hits, Misses: s.Misses + o.Misses,
		Puts: s.Puts + o.Puts, Kept: s.Kept + o.Kept, Dropped: s.Dropped + o.Dropped,
		Rejected: s.Rejected + o.Rejected, Expired: s.Expired + o.Expired, Idle: s.Idle + o.Idle,
		IdleBytes: s.IdleBytes + o.IdleBytes, ExpiredBytes: s.ExpiredBytes + o.ExpiredBytes,
	}
}

// Recycler is a bounded leaky free list of *E: Effective Go's leaky buffer
// and the buffered-channel recycler of John Graham-Cumming's talk, generic,
// sharded, with a few atomic slots in front of each shard's channel. Up to size values wait idle; Get takes one or, if none is
// idle, calls the new function; Put keeps its value if there is room and
// otherwise drops it for the garbage collector. Neither ever blocks, and a
// Recycler starts no goroutine, so it needs no Close.
//
// Unlike a [sync.Pool], a Recycler keeps its idle values across garbage
// collections, for as long as it lives, and never more than size of them.
// Use an [AgingRecycler] if idle values should be released after a while.
//
// Make one with [NewRecycler]; the zero value is not usable. A Recycler
// must not be copied after first use. It is safe for concurrent use. Put
// synchronizes before the Get that returns the same value. A value must
// not be used after it was given to Put, and must be Put at most once per
// Get: Putting a value twice lets two Gets return it to two goroutines at
// once, a bug the recycler cannot detect.
//
// Cost: see pool.Recycle in bench/RESULTS.md.
type Recycler[E any] struct {
	// The idle values are spread over a power-of-two number of shards, so
	// that parallel goroutines, each starting on a shard of its own (see
	// home), do not all fight over one lock or one cache line, as they
	// do over one channel (impl=chanlist in pool.Recycle).
	shards []shard[E]
	home   home
	newFn  func() *E
	cfg    config[E]
}

// shardSlots is the most values a shard keeps in atomic slots, in front of
// its channel: one cache line of pointers.
const shardSlots = 8

// shard is up to shardSlots atomic slots and one buffered channel of a
// Recycler, and the counters of the operations that started on it.
//
// The slots are the fast path: values kept in words that Get empties with
// a swap and Put fills with a compare-and-swap, as sync.Pool keeps a
// private value per processor in front of its shared list. A channel
// operation takes the channel's lock, which costs more (impl=chanlist in
// pool.Recycle is a channel alone), so the channel only holds what does
// not fit in the slots; and with it the pattern is still the leaky
// buffer's: a bounded free list that never blocks.
//
// Put synchronizes before the Get that returns its value either way: the
// Swap that takes a value from a slot observes the CompareAndSwap that
// stored it, and so is synchronized after it (the memory model's rule for
// atomics); a receive completes after the send it receives from. An
// atomic.Pointer[E] slot needs no unsafe: an earlier slot of unsafe.Pointer,
// for any pointer-shaped T, measured no faster.
//
// Only puts, misses, drops and rejects are counted: a hit is derived in
// Stats (hits = kept - idle), which saves an atomic add per Get. The
// counters are per shard, not per Recycler, so that goroutines on shards
// of their own do not contend on one line of counters; the padding keeps
// neighbouring shards off each other's cache lines.
type shard[E any] struct {
	slots [shardSlots]atomic.Pointer[E]
	n     uint32 // slots in use: the shard's places, at most shardSlots
	// hint is where a Get that found this shard empty last found a value:
	// the next such Get looks there before scanning every shard. It makes
	// a goroutine whose Puts land on another shard than its Gets (a
	// consumer Putting what a producer got, or one goroutine whose Get and
	// Put start on different shards, see home) pay one extra probe, not a
	// scan.
	hint                         atomic.Uint32
	ch                           chan *E
	puts, misses, drops, rejects atomic.Uint64
	_                            [128 - 8*shardSlots - 48]byte
}

// take removes an idle value from the shard, the slots' first, or returns
// nil. lost says that another goroutine emptied a slot between this one's
// look and its swap: a sign of a second goroutine on the shard.
func (s *shard[E]) take() (v *E, lost bool) {
	for i := range s.n {
		// Load before Swap: an empty slot costs a read, and the cache
		// line stays shared instead of bouncing between cores that all
		// find it empty.
		if p := &s.slots[i]; p.Load() != nil {
			if v := p.Swap(nil); v != nil {
				return v, lost
			}
			lost = true
		}
	}
	// A receive on an empty channel with select/default returns without
	// taking the channel's lock, so trying an empty shard is cheap.
	select {
	case v = <-s.ch:
	default:
	}
	return v, lost
}

// keep stores v in the shard, in a slot if one is empty, and reports
// whether there was room. lost is as for take.
func (s *shard[E]) keep(v *E) (ok, lost bool) {
	for i := range s.n {
		if p := &s.slots[i]; p.Load() == nil {
			if p.CompareAndSwap(nil, v) {
				return true, lost
			}
			lost = true
		}
	}
	// As in take, a send to a full channel fails without the lock.
	select {
	case s.ch <- v:
		return true, lost
	default:
		return false, lost
	}
}

// idle returns the number of values idle in the shard.
func (s *shard[E]) idle() uint64 {
	n := uint64(len(s.ch))
	for i := range s.n {
		if s.slots[i].Load() != nil {
			n++
		}
	}
	return n
}

// NewRecycler returns a Recycler that keeps at most size idle values and
// makes new ones with newFn. Options: [ResetWith], [KeepIf]. The shards'
// channels are allocated now: about size pointers.
//
// NewRecycler panics if size < 1, size would allocate more than 1 GiB up
// front, newFn is nil or an option is nil.
func NewRecycler[E any](size int, newFn func() *E, opts ...RecyclerOption[E]) *Recycler[E] {
	const fn = "NewRecycler"
	lifecycle.Min("pool", fn, "size", size, 1)
	lifecycle.UpFront[*E]("pool", fn, "size", size)
	lifecycle.NotNil("pool", fn, "newFn", newFn == nil)
	n := shardCount(size, 1)
	r := &Recycler[E]{
		shards: make([]shard[E], n),
		home:   home{mask: uint32(n - 1)},
		newFn:  newFn,
		cfg:    newConfig[E](fn, opts),
	}
	for i := range r.shards {
		// The first size%n shards have one place more, so that the places
		// add up to exactly size: slots first, the channel the rest. A
		// channel of capacity 0 holds nothing: select/default sends and
		// receives on it never meet.
		places := size/n + b2i(i < size%n)
		r.shards[i].n = uint32(min(places, shardSlots))
		r.shards[i].ch = make(chan *E, places-int(r.shards[i].n))
		r.shards[i].hint.Store(uint32(i))
	}
	return r
}

// b2i returns 1 for true and 0 for false.
func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// shardCount returns the number of shards for a recycler of the given
// size: a power of two, two per processor (GOMAXPROCS at construction),
// at most 64, and never so many that a shard holds fewer than per values.
//
// Two per processor, not one, so that a goroutine that collides with
// another has a free shard to move to (see home); and not more, because
// values handed across goroutines spread over more shards the more there
// are, and their Gets scan further for them. The -cpu 1,2,4,8 sweep of
// multipliers 1, 2, 8 and 32 in the commit that set it showed the serial
// and parallel modes of pool.Recycle flat across them, and mode=cross
// slower with each step up from 2.
func shardCount(size, per int) int {
	n := 1 << bits.Len(uint(2*runtime.GOMAXPROCS(0)-1))
	n = min(n, 64)
	for n > 1 && n*per > size {
		n /= 2
	}
	return n
}

// home picks the shard where a goroutine's operations start. Go offers no
// processor or goroutine id, but goroutine stacks are disjoint, so the
// address of a local variable, hashed by 2 KiB block (the smallest stack),
// spreads goroutines over the shards and keeps one goroutine's values on
// its own shard, in its core's cache. The start is where the search
// begins, so a poor start costs speed, never correctness. Rejected: a
// random shard per call, which scatters every goroutine's values over
// every shard, so that all cores touch all shards; and a shared rotating
// counter, one contended cache line.
//
// Two goroutines running at once whose stacks hash to the same shard
// would contend on it for as long as they run, which made the cost of a
// parallel benchmark jump from one run to the next. moved breaks such a
// tie: a goroutine that loses a race for its start shard's slot
// (the sign of a second goroutine there) adds an odd step, drawn from its
// own hash, to the offset of its entry in moved, and so moves away from
// the other (which keeps its entry, most likely a different one).
type home struct {
	mask  uint32
	moved [64]atomic.Uint32
}

// start returns the calling goroutine's start shard and its entry in
// moved, for [home.collided].
func (h *home) start() (uint32, *atomic.Uint32) {
	var marker byte
	// unsafe only turns the local's address into a number: nothing is
	// stored or dereferenced through it.
	x := uint64(uintptr(unsafe.Pointer(&marker))>>11) * 0x9E3779B97F4A7C15
	m := &h.moved[x>>58]
	return (uint32(x>>32) + m.Load()) & h.mask, m
}

// collided moves the calling goroutine, and those that share its entry m,
// to another start shard, by a step drawn from its own hash, so that two
// goroutines that collided do not move in step.
func (h *home) collided(m *atomic.Uint32) {
	var marker byte
	x := uint64(uintptr(unsafe.Pointer(&marker))>>11) * 0x9E3779B97F4A7C15
	m.Add(uint32(x>>40) | 1)
}

// Get returns an idle value if there is one and otherwise a new value from
// the new function. It never blocks. Which idle value it returns is
// unspecified. It makes a value only when it found every shard empty.
func (r *Recycler[E]) Get() *E {
	i, m := r.home.start()
	s := &r.shards[i]
	v, lost := s.take()
	if lost {
		r.home.collided(m)
	}
	if v != nil {
		return v
	}
	// The start shard is empty: look where the last such Get found a
	// value, then everywhere else.
	hint := s.hint.Load()
	for j := range uint32(len(r.shards)) {
		k := (hint + j) & r.home.mask
		if k == i {
			continue
		}
		if v, _ := r.shards[k].take(); v != nil {
			if j != 0 {
				s.hint.Store(k)
			}
			return v
		}
	}
	s.misses.Add(1)
	return r.newFn()
}

// Put offers v for reuse. It rejects v if v is nil or the [KeepIf] rule
// refuses it; otherwise it applies the [ResetWith] function and keeps v if
// one of the size places is free, or drops it. It never blocks. Every
// outcome is counted in [RecyclerStats].
func (r *Recycler[E]) Put(v *E) {
	ok := r.cfg.admit(v)
	i, m := r.home.start()
	s := &r.shards[i]
	// Counted before v can be seen by a Get, so that Stats' derived Kept
	// never falls below the values actually kept; and after admit, whose
	// caller code may panic, so that a Put that never finished is not
	// counted.
	s.puts.Add(1)
	if !ok {
		s.rejects.Add(1)
		return
	}
	kept, lost := s.keep(v)
	if lost {
		r.home.collided(m)
	}
	for j := uint32(1); !kept && j < uint32(len(r.shards)); j++ {
		kept, _ = r.shards[(i+j)&r.home.mask].keep(v)
	}
	if kept {
		return
	}
	s.drops.Add(1)
}

// Stats returns the recycler's counters. It is safe to call concurrently
// with Get and Put.
func (r *Recycler[E]) Stats() RecyclerStats {
	var st RecyclerStats
	// Idle first, then the counters, Puts last: every value seen idle was
	// counted in Puts before it was kept, and every drop or reject read
	// was counted in Puts before it, so Kept >= Idle, and the derived Hits
	// cannot wrap around, however Gets and Puts interleave.
	for i := range r.shards {
		st.Idle += r.shards[i].idle()
	}
	for i := range r.shards {
		s := &r.shards[i]
		st.Misses += s.misses.Load()
		st.Dropped += s.drops.Load()
		st.Rejected += s.rejects.Load()
	}
	for i := range r.shards {
		st.Puts += r.shards[i].puts.Load()
	}
	st.Kept = st.Puts - st.Dropped - st.Rejected
	st.Hits = st.Kept - st.Idle
	st.Gets = st.Hits + st.Misses
	return st
}
