package benchmarks

import (
	"container/list"
	"runtime"
	"runtime/debug"
	"sync"
	"testing"
	"time"

	"github.com/go-compendium/compendium/pool"
)

// recyclerIdle is the idle bound of every recycler in these benchmarks.
const recyclerIdle = 64

// getPutter is what every buffer recycler under comparison offers. The
// buffers are *[]byte so that sync.Pool, which stores interfaces, does not
// allocate a slice header per Put.
type getPutter interface {
	Get() *[]byte
	Put(*[]byte)
}

// recyclerImpl makes one implementation for buffers of the given size and
// returns it with the function that releases it (nil if none).
type recyclerImpl struct {
	name string
	make func(size int) (getPutter, func())
}

func newBuffer(size int) func() *[]byte {
	return func() *[]byte {
		b := make([]byte, size)
		return &b
	}
}

var recyclerImpls = []recyclerImpl{
	{"recycler", func(size int) (getPutter, func()) {
		return pool.NewRecycler(recyclerIdle, newBuffer(size)), nil
	}},
	{"aging", func(size int) (getPutter, func()) {
		a := pool.NewAgingRecycler(recyclerIdle, time.Minute, newBuffer(size))
		return a, func() { _ = a.Close() }
	}},
	{"talk", func(size int) (getPutter, func()) {
		t := newTalkRecycler(newBuffer(size))
		return t, t.close
	}},
	{"syncpool", func(size int) (getPutter, func()) {
		return &syncPool{p: sync.Pool{New: func() any { return newBuffer(size)() }}}, nil
	}},
	{"chanlist", func(size int) (getPutter, func()) {
		return &chanList{newFn: newBuffer(size), free: make(chan *[]byte, recyclerIdle)}, nil
	}},
	{"mutexlist", func(size int) (getPutter, func()) {
		return &mutexList{newFn: newBuffer(size), free: make([]*[]byte, 0, recyclerIdle)}, nil
	}},
	{"alloc", func(size int) (getPutter, func()) {
		return allocator(newBuffer(size)), nil
	}},
}

// syncPool is the standard library's answer.
type syncPool struct{ p sync.Pool }

func (s *syncPool) Get() *[]byte  { return s.p.Get().(*[]byte) }
func (s *syncPool) Put(b *[]byte) { s.p.Put(b) }

// chanList is the talk's and Effective Go's leaky buffer as it is usually
// written: one buffered channel, select/default on both sides.
type chanList struct {
	free  chan *[]byte
	newFn func() *[]byte
}

func (c *chanList) Get() *[]byte {
	select {
	case b := <-c.free:
		return b
	default:
		return c.newFn()
	}
}

func (c *chanList) Put(b *[]byte) {
	select {
	case c.free <- b:
	default:
	}
}

// mutexList is the obvious free list: a bounded slice under a mutex.
type mutexList struct {
	mu    sync.Mutex
	free  []*[]byte
	newFn func() *[]byte
}

func (m *mutexList) Get() *[]byte {
	m.mu.Lock()
	if n := len(m.free); n > 0 {
		b := m.free[n-1]
		m.free = m.free[:n-1]
		m.mu.Unlock()
		return b
	}
	m.mu.Unlock()
	return m.newFn()
}

func (m *mutexList) Put(b *[]byte) {
	m.mu.Lock()
	if len(m.free) < cap(m.free) {
		m.free = append(m.free, b)
	}
	m.mu.Unlock()
}

// talkRecycler is the recycler goroutine of John Graham-Cumming's talk and
// of the Cloudflare post "Recycling memory buffers in Go", as the post
// writes it: an owner goroutine keeps a list of buffers, makes one when
// the list is empty, serves Get and Put over two unbuffered channels, and
// makes a timer on every loop to purge buffers idle for a minute. It is
// here for the cost of that shape, two hand-offs to the owner per Get+Put
// and a timer and a list element per loop; the slide's bugs (the list has
// no bound, the purge never runs under steady traffic) are left in, since
// a benchmark never reaches them. Only quit, to stop it, is added.
type talkRecycler struct {
	get, give chan *[]byte
	quit      chan struct{}
	done      chan struct{}
}

type queued struct {
	when time.Time
	buf  *[]byte
}

func newTalkRecycler(newFn func() *[]byte) *talkRecycler {
	t := &talkRecycler{
		get: make(chan *[]byte), give: make(chan *[]byte),
		quit: make(chan struct{}), done: make(chan struct{}),
	}
	go func() {
		defer close(t.done)
		q := new(list.List)
		for {
			if q.Len() == 0 {
				q.PushFront(queued{when: time.Now(), buf: newFn()})
			}
			e := q.Front()
			timeout := time.NewTimer(time.Minute)
			select {
			case b := <-t.give:
				timeout.Stop()
				q.PushFront(queued{when: time.Now(), buf: b})
			case t.get <- e.Value.(queued).buf:
				timeout.Stop()
				q.Remove(e)
			case <-timeout.C:
				for e := q.Front(); e != nil; {
					n := e.Next()
					if time.Since(e.Value.(queued).when) > time.Minute {
						q.Remove(e)
					}
					e = n
				}
			case <-t.quit:
				timeout.Stop()
				return
			}
		}
	}()
	return t
}

func (t *talkRecycler) Get() *[]byte  { return <-t.get }
func (t *talkRecycler) Put(b *[]byte) { t.give <- b }
func (t *talkRecycler) close()        { close(t.quit); <-t.done }

// allocator recycles nothing: every Get allocates.
type allocator func() *[]byte

func (a allocator) Get() *[]byte { return a() }
func (allocator) Put(*[]byte)    {}

// use is the work done with a buffer between Get and Put: a write, so the
// buffer is really touched.
func use(b *[]byte) { (*b)[0]++ }

// cycle is one operation of PoolRecycle and PoolRecycleGC.
func cycle(r getPutter) {
	buf := r.Get()
	use(buf)
	r.Put(buf)
}

// setUp makes impl for buffers of size, releases it when b ends, and warms
// it with one idle buffer.
func setUp(b *testing.B, impl recyclerImpl, size int) getPutter {
	r, done := impl.make(size)
	if done != nil {
		b.Cleanup(done)
	}
	cycle(r)
	return r
}

var recyclerSizes = []struct {
	name string
	size int
}{{"4KiB", 4 << 10}, {"64KiB", 64 << 10}}

// recycleModes are the ways PoolRecycle drives an implementation, each a
// function running b.N Get, write, Put cycles:
//
//   - serial: one goroutine;
//   - parallel: b.RunParallel's GOMAXPROCS goroutines, each putting back
//     what it got, the best case of every per-processor or per-goroutine
//     design;
//   - parallel-Nx: the same with N times GOMAXPROCS goroutines, as in a
//     server with many more requests in flight than processors;
//   - cross: each of GOMAXPROCS goroutines gets a buffer, writes it and
//     hands it over a channel (of 8) to a goroutine of its own that puts
//     it back, so that no buffer is put back by the goroutine that got it.
var recycleModes = []struct {
	name string
	run  func(b *testing.B, r getPutter)
}{
	{"serial", func(b *testing.B, r getPutter) {
		for range b.N {
			cycle(r)
		}
	}},
	{"parallel", parallelCycles(1)},
	{"parallel-8x", parallelCycles(8)},
	{"parallel-64x", parallelCycles(64)},
	{"parallel-256x", parallelCycles(256)},
	{"cross", func(b *testing.B, r getPutter) {
		b.RunParallel(func(pb *testing.PB) {
			handed := make(chan *[]byte, 8)
			done := make(chan struct{})
			go func() {
				defer close(done)
				for buf := range handed {
					r.Put(buf)
				}
			}()
			for pb.Next() {
				buf := r.Get()
				use(buf)
				handed <- buf
			}
			close(handed)
			<-done
		})
	}},
}

// parallelCycles returns a mode that runs cycles on n x GOMAXPROCS
// goroutines.
func parallelCycles(n int) func(b *testing.B, r getPutter) {
	return func(b *testing.B, r getPutter) {
		b.SetParallelism(n)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				cycle(r)
			}
		})
	}
}

// PoolRecycle is pool's main comparison: Get, write, Put of one buffer in
// every mode of recycleModes for 4 KiB buffers, and serially and in
// parallel for 64 KiB ones.
func PoolRecycle() Pattern {
	p := Pattern{
		Pkg:  "pool",
		Name: "Recycle",
		Doc:  "Get, write one byte, Put a buffer; serial, parallel over 1, 8, 64, 256 x GOMAXPROCS goroutines, and cross (Put by another goroutine than Get's).",
		Ours: []string{"recycler", "aging"},
	}
	for _, sz := range recyclerSizes {
		for _, mode := range recycleModes {
			if sz.size != 4<<10 && mode.name != "serial" && mode.name != "parallel" {
				continue
			}
			for _, impl := range recyclerImpls {
				p.Cases = append(p.Cases, Case{
					Name: "size=" + sz.name + "/mode=" + mode.name + "/impl=" + impl.name,
					F: func(b *testing.B) {
						r := setUp(b, impl, sz.size)
						b.ReportAllocs()
						b.ResetTimer()
						mode.run(b, r)
					},
				})
			}
		}
	}
	return p
}

// PoolRecycleGC is PoolRecycle (serial, 4 KiB) with a garbage collection
// every 1,000 operations, where sync.Pool loses what it holds. Besides the
// allocations of the whole process, it reports new-buffers/1kops: how many
// buffers the implementation had to make per 1,000 Get+Put, which is what
// the collections cost it.
func PoolRecycleGC() Pattern {
	p := Pattern{
		Pkg:  "pool",
		Name: "RecycleGC",
		Doc:  "Get, write, Put a 4 KiB buffer with runtime.GC() every 1,000 operations; new-buffers/1kops counts buffers remade after collections. The collection is timed, and its cost grows with everything the process ran before (in compare, every pattern before this one), which every implementation pays alike: compare ratios, or run it alone with go test -bench RecycleGC ./pool/.",
		Ours: []string{"recycler", "aging"},
	}
	for _, impl := range recyclerImpls {
		switch impl.name {
		case "chanlist", "mutexlist", "talk":
			continue // they survive GC as ours do: nothing more to learn
		}
		p.Cases = append(p.Cases, Case{
			Name: "size=4KiB/gc=every1000/impl=" + impl.name,
			F: func(b *testing.B) {
				made := 0
				var r getPutter = &counting{setUp(b, impl, 4<<10), &made}
				cycle(r) // marks the warm buffer, made by setUp
				made = 0
				b.ReportAllocs()
				b.ResetTimer()
				for i := range b.N {
					cycle(r)
					if i%1000 == 999 {
						runtime.GC()
					}
				}
				b.StopTimer()
				b.ReportMetric(float64(made)*1000/float64(b.N), "new-buffers/1kops")
			},
		})
	}
	return p
}

// counting wraps an implementation and counts the buffers it makes: a
// buffer it has not seen before is a new one. It is used serially only.
type counting struct {
	getPutter
	made *int
}

func (c *counting) Get() *[]byte {
	b := c.getPutter.Get()
	if (*b)[len(*b)-1] == 0 {
		// A fresh buffer: mark it, so that its reuse is not counted.
		*c.made++
		(*b)[len(*b)-1] = 1
	}
	return b
}

// PoolBurst is the demo of the Cloudflare post "Recycling memory buffers
// in Go" as a benchmark: a burst of 64 buffers of 256 KiB (16 MiB), all
// returned, then 10 ms idle (the aging recycler's TTL is 1 ms) and a
// garbage collection. It reports how much heap each implementation still
// holds then (inuse-MiB, HeapInuse over the heap before the first burst)
// and how much a debug.FreeOSMemory call, with its second collection, then
// hands back to the operating system (freeos-MiB, the growth of
// HeapReleased): sync.Pool keeps its buffers through one collection in its
// victim cache and lets them go at the second.
func PoolBurst() Pattern {
	const (
		burst = 64
		size  = 256 << 10
		ttl   = time.Millisecond
		idle  = 10 * time.Millisecond
	)
	p := Pattern{
		Pkg:  "pool",
		Name: "Burst",
		Doc:  "A burst of 64 x 256 KiB buffers, then 10 ms idle and a GC: heap still held (inuse-MiB), then returned to the OS by debug.FreeOSMemory (freeos-MiB).",
		Ours: []string{"aging", "recycler"},
	}
	for _, impl := range recyclerImpls {
		switch impl.name {
		case "chanlist", "mutexlist", "talk":
			continue // they hold their buffers, as the recycler does
		}
		mk := impl.make
		if impl.name == "aging" {
			// The shared one's TTL is a minute: this one's must pass
			// within the idle pause.
			mk = func(int) (getPutter, func()) {
				a := pool.NewAgingRecycler(burst, ttl, newBuffer(size))
				return a, func() { _ = a.Close() }
			}
		}
		p.Cases = append(p.Cases, Case{
			Name: "burst=64x256KiB/impl=" + impl.name,
			F: func(b *testing.B) {
				var base, ms runtime.MemStats
				debug.FreeOSMemory()
				runtime.ReadMemStats(&base)
				r, done := mk(size)
				if done != nil {
					defer done()
				}
				bufs := make([]*[]byte, burst)
				b.ReportAllocs()
				b.ResetTimer()
				for range b.N {
					for i := range bufs {
						bufs[i] = r.Get()
						use(bufs[i])
					}
					for i, buf := range bufs {
						r.Put(buf)
						bufs[i] = nil
					}
					time.Sleep(idle)
					runtime.GC()
				}
				b.StopTimer()
				runtime.ReadMemStats(&ms)
				b.ReportMetric(float64(int64(ms.HeapInuse)-int64(base.HeapInuse))/(1<<20), "inuse-MiB")
				released := ms.HeapReleased
				debug.FreeOSMemory()
				runtime.ReadMemStats(&ms)
				b.ReportMetric(float64(int64(ms.HeapReleased)-int64(released))/(1<<20), "freeos-MiB")
				runtime.KeepAlive(r) // what r holds counts as held until here
			},
		})
	}
	return p
}
