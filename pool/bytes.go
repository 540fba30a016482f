package pool

import (
	"math/bits"
	"sync/atomic"

	"github.com/go-compendium/compendium/internal/lifecycle"
)

// The size classes of Bytes: the powers of two from 512 B to 4 MiB.
const (
	minClassShift = 9  // 512 B
	maxClassShift = 22 // 4 MiB
	numClasses    = maxClassShift - minClassShift + 1
)

// Bytes recycles byte slices by power-of-two size class, from 512 B to
// 4 MiB: one [Recycler] per class, so a request for 3 KiB is served from
// the 4 KiB class and a small request never pins a large buffer. Get(n)
// returns a slice of length n whose capacity is n rounded up to a class
// size; Put files a slice by its capacity.
//
// Make one with [NewBytes]; the zero value is not usable. A Bytes must not
// be copied after first use. It is safe for concurrent use. Put
// synchronizes before the Get that returns the same array. The rules of
// [Recycler] hold: a slice must not be used after Put (nor any slice
// sharing its array), and must be Put at most once per Get.
//
// Cost: see pool.Recycle in bench/RESULTS.md (a Recycler's, plus finding
// the class).
type Bytes struct {
	classes [numClasses]sizeClass
	// Operations that no class sees: Gets over the largest class, and
	// Puts of nil or of capacities that are not a class size.
	oversize, foreign atomic.Uint64
}

// sizeClass is one size class: a Recycler of arrays of the class's size.
type sizeClass interface {
	get(n int) []byte
	put(buf []byte) // len(buf) is the class's size
	stats() RecyclerStats
}

// arrayClass recycles *A, A being [size]byte: a pointer to an array is a
// pointer, which a Recycler keeps in its slots, and it converts to and
// from a []byte without package unsafe (which Bytes used to keep arrays
// as unsafe.Pointer, for no measurable gain).
type arrayClass[A any] struct {
	r     *Recycler[A]
	slice func(*A) []byte
	array func([]byte) *A
}

func (c *arrayClass[A]) get(n int) []byte     { return c.slice(c.r.Get())[:n] }
func (c *arrayClass[A]) put(buf []byte)       { c.r.Put(c.array(buf)) }
func (c *arrayClass[A]) stats() RecyclerStats { return c.r.Stats() }

func newClass[A any](idle int, slice func(*A) []byte, array func([]byte) *A) sizeClass {
	return &arrayClass[A]{r: NewRecycler(idle, func() *A { return new(A) }), slice: slice, array: array}
}

// NewBytes returns a Bytes that keeps at most idle slices of each size
// class (so at most idle * 8 MiB in all, if every class fills up).
//
// NewBytes panics if idle < 1 or would allocate more than 1 GiB up front.
func NewBytes(idle int) *Bytes {
	lifecycle.Min("pool", "NewBytes", "idle", idle, 1)
	lifecycle.UpFront[[numClasses]*byte]("pool", "NewBytes", "idle", idle)
	// One line per class: Go's generics cannot slice an array whose
	// length is a type parameter, so each class says its own size.
	return &Bytes{classes: [numClasses]sizeClass{
		newClass(idle, func(p *[1 << 9]byte) []byte { return p[:] }, func(b []byte) *[1 << 9]byte { return (*[1 << 9]byte)(b) }),
		newClass(idle, func(p *[1 << 10]byte) []byte { return p[:] }, func(b []byte) *[1 << 10]byte { return (*[1 << 10]byte)(b) }),
		newClass(idle, func(p *[1 << 11]byte) []byte { return p[:] }, func(b []byte) *[1 << 11]byte { return (*[1 << 11]byte)(b) }),
		newClass(idle, func(p *[1 << 12]byte) []byte { return p[:] }, func(b []byte) *[1 << 12]byte { return (*[1 << 12]byte)(b) }),
		newClass(idle, func(p *[1 << 13]byte) []byte { return p[:] }, func(b []byte) *[1 << 13]byte { return (*[1 << 13]byte)(b) }),
		newClass(idle, func(p *[1 << 14]byte) []byte { return p[:] }, func(b []byte) *[1 << 14]byte { return (*[1 << 14]byte)(b) }),
		newClass(idle, func(p *[1 << 15]byte) []byte { return p[:] }, func(b []byte) *[1 << 15]byte { return (*[1 << 15]byte)(b) }),
		newClass(idle, func(p *[1 << 16]byte) []byte { return p[:] }, func(b []byte) *[1 << 16]byte { return (*[1 << 16]byte)(b) }),
		newClass(idle, func(p *[1 << 17]byte) []byte { return p[:] }, func(b []byte) *[1 << 17]byte { return (*[1 << 17]byte)(b) }),
		newClass(idle, func(p *[1 << 18]byte) []byte { return p[:] }, func(b []byte) *[1 << 18]byte { return (*[1 << 18]byte)(b) }),
		newClass(idle, func(p *[1 << 19]byte) []byte { return p[:] }, func(b []byte) *[1 << 19]byte { return (*[1 << 19]byte)(b) }),
		newClass(idle, func(p *[1 << 20]byte) []byte { return p[:] }, func(b []byte) *[1 << 20]byte { return (*[1 << 20]byte)(b) }),
		newClass(idle, func(p *[1 << 21]byte) []byte { return p[:] }, func(b []byte) *[1 << 21]byte { return (*[1 << 21]byte)(b) }),
		newClass(idle, func(p *[1 << 22]byte) []byte { return p[:] }, func(b []byte) *[1 << 22]byte { return (*[1 << 22]byte)(b) }),
	}}
}

// class returns the index of the smallest class that holds n bytes, or -1
// if n is larger than the largest class.
func class(n int) int {
	if n <= 1<<minClassShift {
		return 0
	}
	c := bits.Len(uint(n-1)) - minClassShift
	if c >= numClasses {
		return -1
	}
	return c
}

// Get returns a slice of length n and capacity n rounded up to the next
// power of two, at least 512: a recycled one if its class has one idle,
// otherwise a new one. A recycled slice holds whatever its last user
// wrote: Get does not clear it. For n over 4 MiB, Get returns a new slice
// of capacity n, counted as a miss, which Put will reject.
//
// Get panics if n < 0 or n is over 1 GiB.
func (b *Bytes) Get(n int) []byte {
	lifecycle.Min("pool", "Bytes.Get", "n", n, 0)
	c := class(n)
	if c < 0 {
		lifecycle.UpFront[byte]("pool", "Bytes.Get", "n", n)
		b.oversize.Add(1)
		return make([]byte, n)
	}
	return b.classes[c].get(n)
}

// Put offers buf for reuse, filed by its capacity. It rejects nil and any
// slice whose capacity is not exactly a class size (slices Get did not
// return, or oversize ones), counting them in [RecyclerStats].Rejected,
// and drops buf if its class already holds idle slices.
func (b *Bytes) Put(buf []byte) {
	c := cap(buf)
	k := bits.TrailingZeros(uint(c))
	if c == 0 || c&(c-1) != 0 || k < minClassShift || k > maxClassShift {
		b.foreign.Add(1)
		return
	}
	b.classes[k-minClassShift].put(buf[:c])
}

// Stats returns the counters of every class added up, plus the oversize
// Gets (as misses) and the foreign Puts (as rejects).
func (b *Bytes) Stats() RecyclerStats {
	st := RecyclerStats{Misses: b.oversize.Load(), Rejected: b.foreign.Load()}
	st.Gets, st.Puts = st.Misses, st.Rejected
	for _, c := range b.classes {
		st = st.add(c.stats())
	}
	return st
}
