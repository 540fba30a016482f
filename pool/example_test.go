package pool_test

import (
	"bytes"
	"fmt"
	"time"

	"github.com/go-compendium/compendium/pool"
)

// This example recycles bytes.Buffers between requests: at most 8 wait
// idle, each is reset on Put, and buffers grown past 64 KiB by a huge
// message are left to the garbage collector instead of being pinned.
func Example_recycler() {
	buffers := pool.NewRecycler(8,
		func() *bytes.Buffer { return new(bytes.Buffer) },
		pool.ResetWith(func(b *bytes.Buffer) { b.Reset() }),
		pool.KeepIf(func(b *bytes.Buffer) bool { return b.Cap() <= 64<<10 }),
	)

	handle := func(name string, size int) {
		b := buffers.Get()
		defer buffers.Put(b)
		fmt.Fprintf(b, "hello, %s", name)
		b.Write(make([]byte, size))
		fmt.Println(b.Len())
	}
	handle("gopher", 0)
	handle("gopher", 1<<20) // grows the buffer to over 1 MiB: not kept
	handle("gopher", 0)     // a new buffer

	st := buffers.Stats()
	fmt.Printf("gets %d: hits %d, misses %d; puts %d: kept %d, rejected %d\n",
		st.Gets, st.Hits, st.Misses, st.Puts, st.Kept, st.Rejected)
	// Output:
	// 13
	// 1048589
	// 13
	// gets 3: hits 1, misses 2; puts 3: kept 2, rejected 1
}

// This example shows the leaky bound: a Recycler of size 2 keeps two values
// and drops the third.
func ExampleRecycler() {
	r := pool.NewRecycler(2, func() *[4096]byte { return new([4096]byte) })
	a, b, c := r.Get(), r.Get(), r.Get()
	r.Put(a)
	r.Put(b)
	r.Put(c) // no room: dropped for the garbage collector
	st := r.Stats()
	fmt.Println("idle:", st.Idle, "dropped:", st.Dropped)
	// Output:
	// idle: 2 dropped: 1
}

// This example makes a Recycler of *[]byte (a pointer, as every Recycler
// holds: the slice header is not copied around) with a reset that empties
// each buffer.
func ExampleNewRecycler() {
	r := pool.NewRecycler(16,
		func() *[]byte { b := make([]byte, 0, 512); return &b },
		pool.ResetWith(func(b *[]byte) { *b = (*b)[:0] }),
	)
	b := r.Get()
	*b = append(*b, "some data"...)
	r.Put(b)
	fmt.Println(len(*r.Get()), cap(*b))
	// Output:
	// 0 512
}

// This example shows that Get reuses an idle value and makes one when
// none is idle.
func ExampleRecycler_Get() {
	made := 0
	r := pool.NewRecycler(4, func() *int { made++; return new(int) })
	x := r.Get()
	r.Put(x)
	y := r.Get()
	fmt.Println(x == y, made)
	r.Get()
	fmt.Println(made)
	// Output:
	// true 1
	// 2
}

// This example shows that Put rejects a nil value instead of keeping it.
func ExampleRecycler_Put() {
	r := pool.NewRecycler(4, func() *int { return new(int) })
	r.Put(nil)
	r.Put(new(int))
	st := r.Stats()
	fmt.Println("kept:", st.Kept, "rejected:", st.Rejected)
	// Output:
	// kept: 1 rejected: 1
}

// This example reads a Recycler's counters, which add up.
func ExampleRecycler_Stats() {
	r := pool.NewRecycler(1, func() *int { return new(int) })
	for range 3 {
		r.Put(r.Get())
	}
	r.Put(new(int)) // the one place is taken: dropped
	st := r.Stats()
	fmt.Println(st.Gets == st.Hits+st.Misses, st.Puts == st.Kept+st.Dropped+st.Rejected)
	fmt.Printf("%+v\n", st)
	// Output:
	// true true
	// {Gets:3 Hits:2 Misses:1 Puts:4 Kept:3 Dropped:1 Rejected:0 Expired:0 Idle:1 IdleBytes:0 ExpiredBytes:0}
}

// This example shows the counters shared by every recycler of the package.
func ExampleRecyclerStats() {
	bs := pool.NewBytes(4)
	bs.Put(bs.Get(100))
	bs.Put(make([]byte, 100)) // capacity 100 is not a size class
	fmt.Printf("%+v\n", bs.Stats())
	// Output:
	// {Gets:1 Hits:0 Misses:1 Puts:2 Kept:1 Dropped:0 Rejected:1 Expired:0 Idle:1 IdleBytes:0 ExpiredBytes:0}
}

// This example shows the aging recycler's LIFO order: the newest idle
// value is reused first, so the oldest sinks and expires.
func ExampleAgingRecycler() {
	r := pool.NewAgingRecycler(8, time.Minute, func() *int { return new(int) })
	defer r.Close()
	for i := range 3 {
		v := new(int)
		*v = i
		r.Put(v)
	}
	fmt.Println(*r.Get(), *r.Get(), *r.Get())
	// Output:
	// 2 1 0
}

// This example bounds an aging recycler by bytes as well as by count.
func ExampleNewAgingRecycler() {
	r := pool.NewAgingRecycler(100, 30*time.Second,
		func() *[]byte { b := make([]byte, 1<<20); return &b },
		pool.MaxIdleBytes(2<<20, func(b *[]byte) int { return cap(*b) }),
	)
	defer r.Close()
	for range 3 {
		b := make([]byte, 1<<20)
		r.Put(&b)
	}
	st := r.Stats()
	fmt.Println("idle:", st.Idle, "bytes:", st.IdleBytes, "dropped:", st.Dropped)
	// Output:
	// idle: 2 bytes: 2097152 dropped: 1
}

// This example shows Get on an aging recycler: a hit while a value is idle,
// a miss (a new value) otherwise.
func ExampleAgingRecycler_Get() {
	r := pool.NewAgingRecycler(8, time.Minute, func() *string { s := "new"; return &s })
	defer r.Close()
	recycled := "recycled"
	r.Put(&recycled)
	fmt.Println(*r.Get(), *r.Get())
	// Output:
	// recycled new
}

// This example shows Put counting what it keeps and what it refuses.
func ExampleAgingRecycler_Put() {
	r := pool.NewAgingRecycler(1, time.Minute, func() *int { return new(int) })
	defer r.Close()
	r.Put(new(int))
	r.Put(new(int)) // the one place is taken
	r.Put(nil)      // never kept
	st := r.Stats()
	fmt.Println("kept:", st.Kept, "dropped:", st.Dropped, "rejected:", st.Rejected)
	// Output:
	// kept: 1 dropped: 1 rejected: 1
}

// This example closes an aging recycler: its idle values are released,
// and Get and Put still work, without recycling.
func ExampleAgingRecycler_Close() {
	r := pool.NewAgingRecycler(8, time.Minute, func() *int { return new(int) })
	r.Put(new(int))
	fmt.Println(r.Close())
	fmt.Println(r.Close()) // idempotent
	v := r.Get()
	r.Put(v)
	st := r.Stats()
	fmt.Println("expired:", st.Expired, "misses:", st.Misses, "dropped:", st.Dropped)
	// Output:
	// <nil>
	// <nil>
	// expired: 1 misses: 1 dropped: 1
}

// This example reads an aging recycler's counters.
func ExampleAgingRecycler_Stats() {
	r := pool.NewAgingRecycler(8, time.Minute, func() *int { return new(int) })
	defer r.Close()
	r.Put(r.Get())
	r.Put(r.Get())
	st := r.Stats()
	fmt.Println("hits:", st.Hits, "misses:", st.Misses, "idle:", st.Idle)
	// Output:
	// hits: 1 misses: 1 idle: 1
}

// This example serves byte slices of any length from power-of-two classes.
func ExampleBytes() {
	bs := pool.NewBytes(16)
	b := bs.Get(3000)
	fmt.Println(len(b), cap(b))
	bs.Put(b)
	c := bs.Get(2500) // the same 4 KiB class: the same array
	fmt.Println(len(c), cap(c), &b[0] == &c[0])
	// Output:
	// 3000 4096
	// 2500 4096 true
}

// This example makes a Bytes that keeps up to 4 idle slices per class.
func ExampleNewBytes() {
	bs := pool.NewBytes(4)
	for range 6 {
		bs.Put(make([]byte, 512))
	}
	fmt.Println("idle:", bs.Stats().Idle)
	// Output:
	// idle: 4
}

// This example shows Get's capacities: the next power of two, at least
// 512 bytes, and the exact length above 4 MiB.
func ExampleBytes_Get() {
	bs := pool.NewBytes(1)
	for _, n := range []int{0, 600, 5 << 20} {
		fmt.Println(n, cap(bs.Get(n)))
	}
	// Output:
	// 0 512
	// 600 1024
	// 5242880 5242880
}

// This example shows Put rejecting a slice whose capacity is not a class
// size: it did not come from Get.
func ExampleBytes_Put() {
	bs := pool.NewBytes(1)
	bs.Put(make([]byte, 1000))
	bs.Put(make([]byte, 1024))
	st := bs.Stats()
	fmt.Println("kept:", st.Kept, "rejected:", st.Rejected)
	// Output:
	// kept: 1 rejected: 1
}

// This example adds up the counters of every size class.
func ExampleBytes_Stats() {
	bs := pool.NewBytes(1)
	bs.Put(bs.Get(10))
	bs.Put(bs.Get(10 << 10))
	bs.Get(10)
	st := bs.Stats()
	fmt.Println("gets:", st.Gets, "hits:", st.Hits, "idle:", st.Idle)
	// Output:
	// gets: 3 hits: 1 idle: 1
}

// This example resets slices on Put, so Get always returns an empty one.
func ExampleResetWith() {
	r := pool.NewRecycler(4,
		func() *[]int { s := make([]int, 0, 64); return &s },
		pool.ResetWith(func(s *[]int) { *s = (*s)[:0] }),
	)
	s := r.Get()
	*s = append(*s, 1, 2, 3)
	r.Put(s)
	fmt.Println(len(*r.Get()))
	// Output:
	// 0
}

// This example keeps only buffers of at most 64 KiB, as package fmt does.
func ExampleKeepIf() {
	r := pool.NewRecycler(4,
		func() *bytes.Buffer { return new(bytes.Buffer) },
		pool.KeepIf(func(b *bytes.Buffer) bool { return b.Cap() <= 64<<10 }),
	)
	r.Put(bytes.NewBuffer(make([]byte, 0, 1<<20)))
	r.Put(bytes.NewBuffer(make([]byte, 0, 4096)))
	st := r.Stats()
	fmt.Println("kept:", st.Kept, "rejected:", st.Rejected)
	// Output:
	// kept: 1 rejected: 1
}

// This example bounds an aging recycler's idle memory to 1 MiB.
func ExampleMaxIdleBytes() {
	r := pool.NewAgingRecycler(1000, time.Minute,
		func() *[256 << 10]byte { return new([256 << 10]byte) },
		pool.MaxIdleBytes(1<<20, func(*[256 << 10]byte) int { return 256 << 10 }),
	)
	defer r.Close()
	for range 5 {
		r.Put(new([256 << 10]byte))
	}
	fmt.Println("idle:", r.Stats().Idle)
	// Output:
	// idle: 4
}

// This example builds the options of a Recycler in a slice; every
// RecyclerOption also works with an AgingRecycler.
func ExampleRecyclerOption() {
	opts := []pool.RecyclerOption[[]byte]{
		pool.ResetWith(func(b *[]byte) { *b = (*b)[:0] }),
		pool.KeepIf(func(b *[]byte) bool { return cap(*b) <= 1<<20 }),
	}
	r := pool.NewRecycler(4, func() *[]byte { return new([]byte) }, opts...)
	b := make([]byte, 10)
	r.Put(&b)
	fmt.Println(len(*r.Get()))
	// Output:
	// 0
}

// This example mixes RecyclerOptions and AgingOptions for an
// AgingRecycler.
func ExampleAgingOption() {
	opts := []pool.AgingOption[[]byte]{
		pool.KeepIf(func(b *[]byte) bool { return cap(*b) > 0 }),
		pool.MaxIdleBytes(1<<20, func(b *[]byte) int { return cap(*b) }),
	}
	r := pool.NewAgingRecycler(4, time.Minute, func() *[]byte { b := make([]byte, 512); return &b }, opts...)
	defer r.Close()
	empty, full := make([]byte, 0), make([]byte, 512)
	r.Put(&empty)
	r.Put(&full)
	st := r.Stats()
	fmt.Println("kept:", st.Kept, "rejected:", st.Rejected, "bytes:", st.IdleBytes)
	// Output:
	// kept: 1 rejected: 1 bytes: 512
}
