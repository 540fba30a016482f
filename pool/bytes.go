package pool

import (
	"fmt"
	"math/bits"
	"sync/atomic"
	"unsafe"
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
// Cost: a [Recycler] Get and Put on the slot fast path, as a Recycler of
// pointers takes them (BenchmarkRecycle's impl=recycler: 15 to 18 ns per
// Get+Put serially on 2 cores), plus a few nanoseconds to find the class;
// no allocation when warm. A Recycler of []byte, on its channel path,
// would cost about twice as much.
type Bytes struct {
	// Each class recycles the arrays as pointers to their first byte, not
	// as []byte: a pointer takes the Recycler's slot fast path (about half
	// the cost of a channel's) and the class gives the length
	// back. The pointer keeps the whole array alive.
	classes [numClasses]*Recycler[unsafe.Pointer]
	// Operations that no class sees: Gets over the largest class, and
	// Puts of nil or of capacities that are not a class size.
	oversize, foreign atomic.Uint64
}

// NewBytes returns a Bytes that keeps at most idle slices of each size
// class (so at most idle * 8 MiB in all, if every class fills up).
//
// NewBytes panics if idle < 1.
func NewBytes(idle int) *Bytes {
	if idle < 1 {
		panic(fmt.Sprintf("pool: idle must be at least 1, got %d", idle))
	}
	b := &Bytes{}
	for c := range b.classes {
		size := 1 << (c + minClassShift)
		b.classes[c] = NewRecycler(idle, func() unsafe.Pointer {
			return unsafe.Pointer(unsafe.SliceData(make([]byte, size)))
		})
	}
	return b
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
// Get panics if n < 0.
func (b *Bytes) Get(n int) []byte {
	if n < 0 {
		panic(fmt.Sprintf("pool: Bytes.Get length must not be negative, got %d", n))
	}
	c := class(n)
	if c < 0 {
		b.oversize.Add(1)
		return make([]byte, n)
	}
	return unsafe.Slice((*byte)(b.classes[c].Get()), 1<<(c+minClassShift))[:n]
}

// Put offers buf for reuse, filed by its capacity. It rejects nil and any
// slice whose capacity is not exactly a class size (slices Get did not
// return, or oversize ones), counting them in [RecyclerStats].Rejects,
// and drops buf if its class already holds idle slices.
func (b *Bytes) Put(buf []byte) {
	c := cap(buf)
	k := bits.TrailingZeros(uint(c))
	if c == 0 || c&(c-1) != 0 || k < minClassShift || k > maxClassShift {
		b.foreign.Add(1)
		return
	}
	b.classes[k-minClassShift].Put(unsafe.Pointer(unsafe.SliceData(buf[:c])))
}

// Stats returns the counters of every class added up, plus the oversize
// Gets (as misses) and the foreign Puts (as rejects).
func (b *Bytes) Stats() RecyclerStats {
	st := RecyclerStats{Misses: b.oversize.Load(), Rejects: b.foreign.Load()}
	st.Gets, st.Puts = st.Misses, st.Rejects
	for _, r := range b.classes {
		st = st.add(r.Stats())
	}
	return st
}
