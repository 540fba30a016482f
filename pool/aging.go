package pool

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-compendium/compendium/internal/lifecycle"
)

// agingTicks is how many ticks of its expiry timer make an AgingRecycler's
// TTL: a value expires between ttl and about ttl + ttl/agingTicks after it
// became idle. More ticks would be more precise and wake the timer more
// often.
const agingTicks = 4

// AgingRecycler is the recycler of John Graham-Cumming's talk and of the
// Cloudflare post "Recycling memory buffers in Go", with its bugs fixed and
// no goroutine to hand values through: a bounded free list of *E whose
// idle values expire.
//
//   - Get returns the newest idle value (LIFO) of the shard it starts on
//     (a recycler of fewer than 16 values has one shard), so that the same
//     warm values circulate and the cold ones sink and expire.
//   - A value idle for ttl is released to the garbage collector within
//     about ttl/4 more, by one timer that ticks every ttl/4 while values
//     are idle and is stopped otherwise; it ticks under steady traffic too.
//   - At most size values (and, with [MaxIdleBytes], at most that many
//     bytes) are idle; a Put beyond the bound is dropped and counted.
//
// The timer runs none of your code: the new function and the options'
// functions run on the goroutine that calls Get or Put, so their panics
// surface there.
//
// Make one with [NewAgingRecycler]; the zero value is not usable. An
// AgingRecycler must not be copied after first use. It is safe for
// concurrent use. Put synchronizes before the Get that returns the same
// value. The rules of [Recycler] on using a value after Put hold. A
// forgotten Close leaks nothing for long: once its values have expired,
// nothing refers to the recycler.
//
// Cost: see pool.Recycle in bench/RESULTS.md.
type AgingRecycler[E any] struct {
	// Each shard is a stack under a mutex, so that parallel goroutines,
	// each starting on a shard of its own (see home), rarely share a lock.
	// One owner goroutine serving every Get and Put over channels, as the
	// talk's recycler does, costs two hand-offs per Get+Put (impl=talk in
	// pool.Recycle) and starves behind a busy server's handlers.
	shards []agingShard[E]
	home   home
	newFn  func() *E
	cfg    config[E]

	// Values are stamped with the epoch, the number of timer ticks so far:
	// a time.Now per Put would be the largest cost of a Get+Put.
	epoch atomic.Uint64
	tick  time.Duration
	ticks uint64 // ticks that make ttl: agingTicks, fewer for a ttl of a few ns
	// idleBytes is the sum of the idle values' sizes, for the MaxIdleBytes
	// bound: never above cfg.maxBytes.
	idleBytes atomic.Int64
	rejects   atomic.Uint64
	// closed is set by Close, under mu; Put reads it under a shard's
	// lock, arm under mu.
	closed atomic.Bool

	// mu orders arming the timer against its ticks and Close.
	mu    sync.Mutex
	armed atomic.Bool // the timer is set and its tick has not begun; written under mu
	timer *time.Timer // made on the first arming
	// life joins the ticks: each arming counts one goroutine, which the
	// tick ends, or Close if it stops the timer before the tick begins.
	life     lifecycle.Owner
	hookTick func() // tests only: runs as a tick begins
}

// agingShard is one stack of an AgingRecycler, in a ring so that expiry can
// take the oldest values from the bottom, and the counters of what
// happened on it, all under mu.
type agingShard[E any] struct {
	mu     sync.Mutex
	ring   []idleValue[E]
	bottom int // ring[bottom] is the oldest idle value
	n      int // idle values
	// count is n, for a look without the lock: Get skips empty shards
	// and Put full ones.
	count atomic.Int64
	hint  atomic.Uint32 // as shard.hint

	hits, misses, kept, drops, expired uint64
	idleBytes, expiredBytes            uint64
	_                                  [64]byte
}

// idleValue is one idle value, the epoch when it became idle, and its size
// for MaxIdleBytes.
type idleValue[E any] struct {
	v     *E
	epoch uint64
	size  int
}

// NewAgingRecycler returns an AgingRecycler that keeps at most size idle
// values, each for about ttl, and makes new ones with newFn. Options:
// [ResetWith], [KeepIf], [MaxIdleBytes]. It starts no goroutine: the
// timer is armed by the first Put. The stacks are allocated now: size
// slots of three words.
//
// NewAgingRecycler panics if size < 1, size would allocate more than
// 1 GiB up front, ttl <= 0, newFn is nil or an option is nil.
func NewAgingRecycler[E any](size int, ttl time.Duration, newFn func() *E, opts ...AgingOption[E]) *AgingRecycler[E] {
	const fn = "NewAgingRecycler"
	lifecycle.Min("pool", fn, "size", size, 1)
	lifecycle.UpFront[idleValue[E]]("pool", fn, "size", size)
	lifecycle.Positive("pool", fn, "ttl", ttl)
	lifecycle.NotNil("pool", fn, "newFn", newFn == nil)
	// At least eight values per shard: LIFO order means little on a
	// shard of one, and small recyclers keep one stack, exactly LIFO.
	n := shardCount(size, 8)
	a := &AgingRecycler[E]{
		shards: make([]agingShard[E], n),
		home:   home{mask: uint32(n - 1)},
		newFn:  newFn,
		cfg:    newConfig[E](fn, opts),
		// Rounded up, so that a tick is never 0; ticks is then what makes
		// ttl, agingTicks unless ttl is a few nanoseconds.
		tick: ttl/agingTicks + time.Duration(b2i(ttl%agingTicks != 0)),
	}
	a.ticks = uint64(ttl / a.tick)
	if ttl%a.tick != 0 {
		a.ticks++
	}
	for i := range a.shards {
		a.shards[i].ring = make([]idleValue[E], size/n+b2i(i < size%n))
		a.shards[i].hint.Store(uint32(i))
	}
	a.life.Init(context.Background(), "pool", "AgingRecycler")
	return a
}

// at returns the index in the ring of the k-th idle value from the bottom,
// k <= len(ring): a compare, where % would be a division per operation.
func (s *agingShard[E]) at(k int) int {
	if i := s.bottom + k; i < len(s.ring) {
		return i
	}
	return s.bottom + k - len(s.ring)
}

// pop removes and returns the newest idle value of the shard, or nil.
// lost says the lock was held by another goroutine.
func (s *agingShard[E]) pop(a *AgingRecycler[E]) (v *E, lost bool) {
	if s.count.Load() == 0 {
		return nil, false
	}
	if !s.mu.TryLock() {
		lost = true
		s.mu.Lock()
	}
	if s.n > 0 {
		s.n--
		e := &s.ring[s.at(s.n)]
		v = e.v
		s.hits++
		s.idleBytes -= uint64(e.size)
		a.unreserve(e.size)
		*e = idleValue[E]{} // the ring must not keep the value alive
		s.count.Store(int64(s.n))
	}
	s.mu.Unlock()
	return v, lost
}

// push keeps v on the shard if it has room and the recycler is open, and
// reports whether it did and whether the lock was contended. A Put that
// finds the recycler closed is counted here as dropped (and reported as
// kept, so that Put looks no further).
func (s *agingShard[E]) push(a *AgingRecycler[E], v *E, size int) (kept, lost bool) {
	if s.count.Load() == int64(len(s.ring)) {
		return false, false
	}
	if !s.mu.TryLock() {
		lost = true
		s.mu.Lock()
	}
	defer s.mu.Unlock()
	switch {
	case a.closed.Load():
		// Checked under the lock that Close's release takes after setting
		// closed: a value pushed before that is released, one after it
		// is dropped, and none is left behind in a closed recycler.
		s.drops++
		a.unreserve(size)
	case s.n == len(s.ring):
		return false, lost
	default:
		s.ring[s.at(s.n)] = idleValue[E]{v: v, epoch: a.epoch.Load(), size: size}
		s.n++
		s.kept++
		s.idleBytes += uint64(size)
		s.count.Store(int64(s.n))
	}
	return true, lost
}

// release drops the oldest idle value of the shard, locked, counting it
// as expired.
func (s *agingShard[E]) release(a *AgingRecycler[E]) {
	e := &s.ring[s.bottom]
	s.expired++
	s.expiredBytes += uint64(e.size)
	s.idleBytes -= uint64(e.size)
	a.unreserve(e.size)
	*e = idleValue[E]{}
	s.bottom = s.at(1)
	s.n--
	s.count.Store(int64(s.n))
}

// Get returns the newest idle value of the shard it starts on if there is
// one, else an idle value of another shard, and otherwise a new value from
// the new function, made on the calling goroutine. It waits only for
// another operation on the same shard. After Close it makes a new value.
func (a *AgingRecycler[E]) Get() *E {
	i, m := a.home.start()
	s := &a.shards[i]
	v, lost := s.pop(a)
	if lost {
		a.home.collided(m)
	}
	if v != nil {
		return v
	}
	hint := s.hint.Load()
	for j := range uint32(len(a.shards)) {
		k := (hint + j) & a.home.mask
		if k == i {
			continue
		}
		if v, _ := a.shards[k].pop(a); v != nil {
			if j != 0 {
				s.hint.Store(k)
			}
			return v
		}
	}
	s.mu.Lock()
	s.misses++
	s.mu.Unlock()
	return a.newFn()
}

// Put offers v for reuse. It rejects v if v is nil or the [KeepIf] rule
// refuses it; otherwise it applies the [ResetWith] function and keeps v
// unless the count or byte bound is reached or the recycler is closed,
// in which case it drops v. It waits only for another operation on the
// same shard. Every outcome is counted in [RecyclerStats].
func (a *AgingRecycler[E]) Put(v *E) {
	if !a.cfg.admit(v) {
		a.rejects.Add(1)
		return
	}
	size := 0
	if a.cfg.size != nil {
		// Checked on the caller's goroutine: a negative size would lower
		// the total and let the bound be exceeded.
		if size = a.cfg.size(v); size < 0 {
			lifecycle.Panicf("pool", "AgingRecycler.Put", "MaxIdleBytes size must not be negative, got %d", size)
		}
	}
	i, m := a.home.start()
	if a.reserve(size) {
		for j := range uint32(len(a.shards)) {
			kept, lost := a.shards[(i+j)&a.home.mask].push(a, v, size)
			if lost && j == 0 {
				a.home.collided(m)
			}
			if kept {
				a.arm()
				return
			}
		}
		a.unreserve(size) // no room on any shard
	}
	s := &a.shards[i]
	s.mu.Lock()
	s.drops++
	s.mu.Unlock()
}

// reserve adds size to the idle bytes if that keeps them within the
// MaxIdleBytes bound, and reports whether it did. The comparison is
// written so that it cannot overflow: idleBytes never exceeds maxBytes.
func (a *AgingRecycler[E]) reserve(size int) bool {
	if a.cfg.size == nil {
		return true
	}
	for {
		cur := a.idleBytes.Load()
		if int64(size) > a.cfg.maxBytes-cur {
			return false
		}
		if a.idleBytes.CompareAndSwap(cur, cur+int64(size)) {
			return true
		}
	}
}

// unreserve takes size off the idle bytes. Without MaxIdleBytes every size
// is 0, and the shared counter is left alone: an atomic add per operation
// on one cache line is the contention the shards avoid.
func (a *AgingRecycler[E]) unreserve(size int) {
	if size != 0 {
		a.idleBytes.Add(-int64(size))
	}
}

// arm sets the timer if it is not set and the recycler is open.
func (a *AgingRecycler[E]) arm() {
	if a.armed.Load() {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.armed.Load() || a.closed.Load() {
		return
	}
	a.armed.Store(true)
	a.life.Add(1)
	if a.timer == nil {
		a.timer = time.AfterFunc(a.tick, a.expire)
	} else {
		a.timer.Reset(a.tick)
	}
}

// expire is the timer's tick: it advances the epoch, releases the values
// idle for ttl, and sets the timer again if values are still idle.
func (a *AgingRecycler[E]) expire() {
	a.life.Labels().Apply()
	if a.hookTick != nil {
		a.hookTick()
	}
	// Cleared before the shards are looked at: a Put that keeps a value
	// on a shard after this tick has looked at it then sees armed clear
	// and sets the timer itself. (Put keeps, then reads armed; this clears
	// armed, then locks each shard: one of the two sees the other.)
	a.mu.Lock()
	a.armed.Store(false)
	a.mu.Unlock()
	// A value stamped e was put after tick e began; ticks e+1 to
	// e+ticks+1 all came later, each at least a tick after the one
	// before, so by tick e+ticks+1 it has been idle for at least ticks
	// ticks, which is ttl.
	now := a.epoch.Add(1)
	idle := false
	for i := range a.shards {
		s := &a.shards[i]
		s.mu.Lock()
		for s.n > 0 && s.ring[s.bottom].epoch+a.ticks < now {
			s.release(a)
		}
		idle = idle || s.n > 0
		s.mu.Unlock()
	}
	if idle {
		a.arm()
	}
	a.life.Exit()
}

// Close releases every idle value to the garbage collector (counted as
// expired), stops the timer and waits for a tick in progress to end. It
// returns nil: an AgingRecycler runs none of your code on its timer. It
// is idempotent and safe to call concurrently. Get and Put keep working
// after Close, without recycling: Get makes a new value and Put drops its
// value, both counted.
func (a *AgingRecycler[E]) Close() error {
	a.mu.Lock()
	if !a.closed.Load() {
		a.closed.Store(true)
		if a.armed.Load() && a.timer.Stop() {
			// The tick will not run: its place in life is ours to end.
			a.armed.Store(false)
			a.life.Exit()
		}
	}
	a.mu.Unlock()
	for i := range a.shards {
		s := &a.shards[i]
		s.mu.Lock()
		for s.n > 0 {
			s.release(a)
		}
		s.mu.Unlock()
	}
	return a.life.Close()
}

// Stats returns the recycler's counters. It is safe to call concurrently
// with every other method, and after Close. It locks each shard in turn,
// so it counts every Get and Put that returned before it was called.
func (a *AgingRecycler[E]) Stats() RecyclerStats {
	st := RecyclerStats{Rejected: a.rejects.Load()}
	for i := range a.shards {
		s := &a.shards[i]
		s.mu.Lock()
		st = st.add(RecyclerStats{
			Hits: s.hits, Misses: s.misses, Kept: s.kept, Dropped: s.drops,
			Expired: s.expired, Idle: uint64(s.n), IdleBytes: s.idleBytes, ExpiredBytes: s.expiredBytes,
		})
		s.mu.Unlock()
	}
	st.Gets = st.Hits + st.Misses
	st.Puts = st.Kept + st.Dropped + st.Rejected
	return st
}
