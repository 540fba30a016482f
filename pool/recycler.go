package pool

import (
	"fmt"
	"math/bits"
	"reflect"
	"runtime"
	"sync/atomic"
	"unsafe"
)

// RecyclerStats counts what a [Recycler], an [AgingRecycler] or a [Bytes]
// did since it was made. The counts add up: Gets = Hits + Misses, and
// Puts = Kept + Drops + Rejects; once the recycler is quiet,
// Idle = Kept - Hits - Expired.
//
// Stats reads each counter atomically but not all of them at one instant:
// while other goroutines call Get and Put, a snapshot may be off by the
// operations in flight (a Recycler derives Hits and Kept, so that its Get
// counts nothing on its fast path; they may then run ahead by a few Puts).
type RecyclerStats struct {
	// Gets is the number of calls to Get.
	Gets uint64
	// Hits is the number of Gets served with an idle value.
	Hits uint64
	// Misses is the number of Gets that made a new value, because no value
	// was idle (or, for an AgingRecycler, after Close; for Bytes, for a
	// length over the largest size class).
	Misses uint64
	// Puts is the number of calls to Put.
	Puts uint64
	// Kept is the number of Puts whose value was kept idle.
	Kept uint64
	// Drops is the number of Puts dropped for lack of room: every idle
	// slot was taken (or, for an AgingRecycler, the byte bound was reached
	// or the recycler was closed).
	Drops uint64
	// Rejects is the number of Puts refused: nil values, values the
	// [KeepIf] rule refused, and, for Bytes, slices whose capacity is not
	// a size class.
	Rejects uint64
	// Expired is the number of idle values an AgingRecycler released to
	// the garbage collector because they stayed idle a whole TTL, or
	// because it was closed.
	Expired uint64
	// Idle is the number of values idle now.
	Idle int
	// IdleBytes and ExpiredBytes are the sizes of the idle values and of
	// the expired ones, for an AgingRecycler made with [MaxIdleBytes].
	IdleBytes, ExpiredBytes int64
}

// add returns the sum of two snapshots (for Bytes, which sums its classes).
func (s RecyclerStats) add(o RecyclerStats) RecyclerStats {
	return RecyclerStats{
		Gets: s.Gets + o.Gets, Hits: s.Hits + o.Hits, Misses: s.Misses + o.Misses,
		Puts: s.Puts + o.Puts, Kept: s.Kept + o.Kept, Drops: s.Drops + o.Drops,
		Rejects: s.Rejects + o.Rejects, Expired: s.Expired + o.Expired, Idle: s.Idle + o.Idle,
		IdleBytes: s.IdleBytes + o.IdleBytes, ExpiredBytes: s.ExpiredBytes + o.ExpiredBytes,
	}
}

// Recycler is a bounded leaky free list: Effective Go's leaky buffer and the
// buffered-channel recycler of John Graham-Cumming's talk, generic and
// sharded. Up to size values wait idle in buffered channels (and, for
// pointer-shaped T, one per shard in an atomic slot in front of its
// channel); Get takes one or, if none is idle, calls the new function; Put
// keeps a value if there is room and otherwise drops it for the garbage
// collector. Neither ever blocks, and a Recycler starts no goroutine, so it
// needs no Close.
//
// Unlike a [sync.Pool], a Recycler keeps its idle values across garbage
// collections (up to size of them, for as long as the Recycler lives), so
// with a steady supply of Puts a Get always hits; and it keeps no more than
// size, so a burst cannot pin unbounded memory. Use an [AgingRecycler] if
// idle values should be released after a while.
//
// Make one with [NewRecycler]; the zero value is not usable. A Recycler must
// not be copied after first use. It is safe for concurrent use. Put
// synchronizes before the Get that returns the same value. A value must not
// be used after it was given to Put, and must be Put at most once per Get:
// Putting a value twice lets two Gets return it to two goroutines at once,
// a bug the recycler cannot detect.
//
// Cost (BenchmarkRecycle, 2 cores, *[]byte buffers): a Get+Put takes 15 to
// 18 ns serially and 8 to 9 ns per operation in parallel, 1.05x to 1.25x a
// sync.Pool, with no allocation; with runtime.GC every 1,000 operations it
// makes no new buffer where a sync.Pool remakes one every other collection.
// For T not pointer-shaped (slices, strings, structs, interfaces) every Get
// and Put is a channel operation and costs what BenchmarkRecycle's
// one-channel free list does (impl=chanlist): about 31 ns per Get+Put
// serially, twice a sync.Pool. See the package documentation for the
// numbers.
type Recycler[T any] struct {
	// The idle values are spread over a power-of-two number of shards, a
	// slot and a buffered channel each, whose capacities add up to size.
	// One channel is one lock that every processor would fight over under
	// parallel load (40 to 71 ns per Get+Put on 2 cores, against
	// sync.Pool's 8); starting each goroutine's operations on a shard of
	// its own (see start) removes that contention.
	shards []shard[T]
	mask   uint32
	newFn  func() T
	cfg    config[T]
	// nilable says T is a pointer, slice, map, channel, function or
	// interface type, whose nil values Put rejects.
	nilable bool
	// slotted says T is one pointer word (a pointer, map, channel or
	// function type), so that each shard keeps one of its values in a
	// slot that atomics can swap (see shard).
	slotted bool
}

// shard is one slot and one channel of a Recycler, and the counters of
// the operations that started on it.
//
// The slot is the shard's fast path, for pointer-shaped T: one value kept
// in a word that Get empties with an atomic swap and Put fills with a
// compare-and-swap, as sync.Pool keeps one private value per processor in
// front of its shared list. A channel operation takes the channel's lock
// (an atomic to lock, another to unlock, plus the bookkeeping of a
// buffered channel): a Get+Put through a channel costs about twice a
// sync.Pool (BenchmarkRecycle's impl=chanlist), where the slot costs about
// as much as sync.Pool. The channel holds the shard's other values, so the
// pattern is still the leaky buffer's: a bounded free list that never
// blocks.
//
// The counters are per shard, not per Recycler, so that parallel Gets and
// Puts, each starting on its goroutine's own shard, do not contend on one
// cache line of counters; padding keeps neighbouring shards off each
// other's cache lines.
//
// Only puts, misses, drops and rejects are counted: a hit costs no counter
// at all, being derived in Stats as kept - idle, with kept = puts - drops -
// rejects. That saves an atomic add per Get on the fast path (about 2 ns of
// 35), and costs Stats nothing in exactness once the recycler is quiet.
type shard[T any] struct {
	slot                         unsafe.Pointer // a T, or nil; accessed atomically
	ch                           chan T
	puts, misses, drops, rejects atomic.Uint64
	_                            [128 - 6*8]byte
}

// take removes an idle value from the shard, the slot's first, and
// reports whether there was one.
func (s *shard[T]) take(slotted bool) (v T, ok bool) {
	// Load before Swap: an empty slot costs a read, and the cache line
	// stays shared instead of bouncing between cores that all find it
	// empty.
	if slotted && atomic.LoadPointer(&s.slot) != nil {
		if p := atomic.SwapPointer(&s.slot, nil); p != nil {
			return *(*T)(unsafe.Pointer(&p)), true
		}
	}
	// A receive on an empty channel with select/default returns without
	// taking the channel's lock, so trying an empty shard is cheap.
	select {
	case v = <-s.ch:
		return v, true
	default:
		return v, false
	}
}

// keep stores v, not nil, in the shard, the slot if it is empty, and
// reports whether there was room.
func (s *shard[T]) keep(v T, slotted bool) bool {
	if slotted && atomic.LoadPointer(&s.slot) == nil &&
		atomic.CompareAndSwapPointer(&s.slot, nil, *(*unsafe.Pointer)(unsafe.Pointer(&v))) {
		return true
	}
	// As in take, a send to a full channel fails without the lock.
	select {
	case s.ch <- v:
		return true
	default:
		return false
	}
}

// idle returns the number of values idle in the shard.
func (s *shard[T]) idle() int {
	n := len(s.ch)
	if atomic.LoadPointer(&s.slot) != nil {
		n++
	}
	return n
}

// NewRecycler returns a Recycler that keeps at most size idle values and
// makes new ones with newFn. Options: [ResetWith], [KeepIf].
//
// The channels' buffers are allocated up front: size slots of a T.
//
// NewRecycler panics if size < 1, newFn is nil or an option is nil.
func NewRecycler[T any](size int, newFn func() T, opts ...RecyclerOption[T]) *Recycler[T] {
	if size < 1 {
		panic(fmt.Sprintf("pool: size must be at least 1, got %d", size))
	}
	if newFn == nil {
		panic("pool: NewRecycler needs a new function, got nil")
	}
	n := shardCount(size)
	r := &Recycler[T]{
		shards:  make([]shard[T], n),
		mask:    uint32(n - 1),
		newFn:   newFn,
		cfg:     newConfig[T]("NewRecycler", opts),
		nilable: isNilable[T](),
		slotted: isPointerShaped[T](),
	}
	for i := range r.shards {
		// Spread size over the shards, the first size%n one larger, so
		// that the capacities add up to exactly size, each slot counting
		// as one. A channel of capacity 0 holds nothing: select/default
		// sends and receives on it never meet.
		c := size / n
		if i < size%n {
			c++
		}
		if r.slotted {
			c--
		}
		r.shards[i].ch = make(chan T, c)
	}
	return r
}

// shardCount returns the number of shards for a Recycler of the given
// size: a power of two, eight per processor (GOMAXPROCS at construction)
// so that two goroutines running at once rarely start on the same shard,
// at most 64, and never more than size (each shard holds at least one
// value). More shards cost only a Get that misses or a Put that drops,
// which try every shard: an empty or full channel answers a
// select/default in a nanosecond or two, without its lock.
func shardCount(size int) int {
	n := 1 << bits.Len(uint(8*runtime.GOMAXPROCS(0)-1))
	n = min(n, 64)
	for n > size {
		n /= 2
	}
	return n
}

// start returns the shard where an operation begins: the caller's own,
// chosen by hashing the address of a local variable, that is, by where the
// calling goroutine's stack lies. Go offers no processor or goroutine id,
// but stacks are disjoint (at least 2 KiB apart, hence the shift), so
// different goroutines tend to start on different shards and one
// goroutine's Get and Put on the same shard: its values stay on its shard,
// and its channel's lock and buffer stay in its core's cache. The shard is
// only where the search begins, so a collision or a moved stack costs
// speed, never correctness. Rejected: a random shard per call
// (math/rand/v2, 5 ns), which scatters a goroutine's values over every
// shard so that all cores touch all channels (85 ns per Get+Put in
// parallel, against 33, both measured before shards had slots); and a
// shared rotating counter, one contended cache line.
func (r *Recycler[T]) start() uint32 {
	var marker byte
	h := uint64(uintptr(unsafe.Pointer(&marker))>>11) * 0x9E3779B97F4A7C15
	return uint32(h>>32) & r.mask
}

// Get returns an idle value if there is one and otherwise a new value from
// the new function. It never blocks. Which idle value it returns is
// unspecified (the caller's shard's first); an [AgingRecycler] returns the
// newest. It tries every shard before making a value, so it makes one only
// when it saw every shard empty.
func (r *Recycler[T]) Get() T {
	i := r.start()
	if v, ok := r.shards[i].take(r.slotted); ok {
		return v
	}
	for j := range len(r.shards) - 1 {
		if v, ok := r.shards[(i+uint32(j)+1)&r.mask].take(r.slotted); ok {
			return v
		}
	}
	r.shards[i].misses.Add(1)
	return r.newFn()
}

// Put offers v for reuse. It rejects v if v is nil (for pointer, slice,
// map, channel, function and interface types; other types have no nil and
// are always offered) or the [KeepIf] rule refuses it; otherwise it applies
// the [ResetWith] function (rejecting a nil result) and keeps v if one of
// the size places is free, or drops it. It never blocks. Every outcome is counted in
// [RecyclerStats].
func (r *Recycler[T]) Put(v T) {
	v, ok := r.cfg.admit(v, r.nilable)
	i := r.start()
	s := &r.shards[i]
	// Counted before v can be seen by a Get, so that Stats' derived
	// Kept never falls below the values actually kept; and after admit,
	// whose caller code may panic, so that a Put that never finished is
	// not counted as kept (and, through Kept - Idle, as a hit).
	s.puts.Add(1)
	if !ok {
		s.rejects.Add(1)
		return
	}
	if s.keep(v, r.slotted) {
		return
	}
	for j := range len(r.shards) - 1 {
		if r.shards[(i+uint32(j)+1)&r.mask].keep(v, r.slotted) {
			return
		}
	}
	s.drops.Add(1)
}

// Stats returns the recycler's counters. It is safe to call concurrently
// with Get and Put; see [RecyclerStats] for what a snapshot guarantees.
func (r *Recycler[T]) Stats() RecyclerStats {
	var st RecyclerStats
	// Idle first, then the counters, Puts last: every value counted idle
	// was counted in Puts before it was sent, and every drop or reject
	// read was counted in Puts before it, so Kept >= Idle and the derived
	// Hits cannot go negative however Gets and Puts interleave.
	for i := range r.shards {
		st.Idle += r.shards[i].idle()
	}
	for i := range r.shards {
		s := &r.shards[i]
		st.Misses += s.misses.Load()
		st.Drops += s.drops.Load()
		st.Rejects += s.rejects.Load()
	}
	for i := range r.shards {
		st.Puts += r.shards[i].puts.Load()
	}
	st.Kept = st.Puts - st.Drops - st.Rejects
	st.Hits = st.Kept - uint64(st.Idle)
	st.Gets = st.Hits + st.Misses
	return st
}

// isNilable reports whether T's zero value is nil: pointers, slices, maps,
// channels, functions, interfaces and unsafe pointers. Generic code cannot
// compare a T with nil, and boxing it in an interface would allocate (and
// say nothing of a nil pointer inside a non-nil interface), so the kind is
// looked up once per recycler and isNil reads the first word of the value.
func isNilable[T any]() bool {
	switch reflect.TypeFor[T]().Kind() {
	case reflect.Pointer, reflect.UnsafePointer, reflect.Slice, reflect.Map,
		reflect.Chan, reflect.Func, reflect.Interface:
		return true
	}
	return false
}

// isPointerShaped reports whether T is exactly one pointer word that the
// garbage collector follows: a pointer, map, channel, function or unsafe
// pointer. Such a T can be stored in an unsafe.Pointer and back.
func isPointerShaped[T any]() bool {
	switch reflect.TypeFor[T]().Kind() {
	case reflect.Pointer, reflect.UnsafePointer, reflect.Map, reflect.Chan, reflect.Func:
		return true
	}
	return false
}

// isNil reports whether v, of a kind for which isNilable holds, is nil. The
// first word of each of those kinds is a pointer that is nil exactly when
// the value is nil: the pointer itself, a slice's array, a map's or a
// channel's header, a function's closure, an interface's type. (A
// non-nil empty slice such as []byte{} has a non-nil array pointer, so it
// is not nil; reject it with [KeepIf] if it is not worth keeping.)
func isNil[T any](v T) bool {
	return *(*unsafe.Pointer)(unsafe.Pointer(&v)) == nil
}
