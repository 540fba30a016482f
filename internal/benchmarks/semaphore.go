package benchmarks

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"
	xsemaphore "golang.org/x/sync/semaphore"

	"github.com/go-compendium/compendium/semaphore"
)

// limiter is what every semaphore in SemaphoreAcquire is measured through:
// one slot taken and given back. Going through the interface costs every
// implementation the same indirect call.
type limiter interface {
	Acquire(ctx context.Context) error
	Release()
}

// weightedOne adapts compendium's Weighted to limiter with weight 1.
type weightedOne struct{ w *semaphore.Weighted }

func (s weightedOne) Acquire(ctx context.Context) error { return s.w.Acquire(ctx, 1) }
func (s weightedOne) Release()                          { s.w.Release(1) }

// xsyncOne adapts golang.org/x/sync/semaphore.Weighted with weight 1.
type xsyncOne struct{ w *xsemaphore.Weighted }

func (s xsyncOne) Acquire(ctx context.Context) error { return s.w.Acquire(ctx, 1) }
func (s xsyncOne) Release()                          { s.w.Release(1) }

// mutexOne is a sync.Mutex, the right tool when the limit is 1.
type mutexOne struct{ mu sync.Mutex }

func (s *mutexOne) Acquire(context.Context) error { s.mu.Lock(); return nil }
func (s *mutexOne) Release()                      { s.mu.Unlock() }

// condCounter is the classical semaphore: a count guarded by a mutex, with
// a condition variable to wait on. It cannot honour ctx while waiting,
// which is one reason not to write it; it is here for its speed.
type condCounter struct {
	mu       sync.Mutex
	nonFull  sync.Cond
	n, limit int
}

func newCondCounter(limit int) *condCounter {
	c := &condCounter{limit: limit}
	c.nonFull.L = &c.mu
	return c
}

func (c *condCounter) Acquire(context.Context) error {
	c.mu.Lock()
	for c.n == c.limit {
		c.nonFull.Wait()
	}
	c.n++
	c.mu.Unlock()
	return nil
}

func (c *condCounter) Release() {
	c.mu.Lock()
	c.n--
	c.mu.Unlock()
	c.nonFull.Signal()
}

// SemaphoreAcquire compares one Acquire+Release pair across compendium's
// counting (chan) and weighted semaphores, x/sync's Weighted, a sync.Mutex
// (limit 1 only) and a sync.Cond counter, at limits 1 and 4, from one
// goroutine (mode=serial) and from 8×GOMAXPROCS goroutines (mode=parallel,
// b.RunParallel with b.SetParallelism(8)), so that goroutines wait.
//
// The critical section is empty (work=0), where a semaphore's own cost is
// all there is and x/sync's mutex-and-list design is at its worst, or holds
// about 100 ns or 1 µs of CPU work (work=100ns, work=1us), as a real one
// does: then what matters is how fast a waiter takes over a released slot.
// The work levels run in mode=parallel only: from one goroutine nobody
// waits, and the work would add the same time to every implementation.
func SemaphoreAcquire() Pattern {
	impls := []struct {
		name string
		only int // the one limit this implementation supports; 0 for any
		make func(limit int) limiter
	}{
		{"chan", 0, func(n int) limiter { return semaphore.NewCounting(n) }},
		{"weighted", 0, func(n int) limiter { return weightedOne{semaphore.NewWeighted(int64(n))} }},
		{"xsync", 0, func(n int) limiter { return xsyncOne{xsemaphore.NewWeighted(int64(n))} }},
		{"mutex", 1, func(int) limiter { return new(mutexOne) }},
		{"cond", 0, func(n int) limiter { return newCondCounter(n) }},
	}
	p := Pattern{
		Pkg:  "semaphore",
		Name: "Acquire",
		Doc: "one Acquire+Release pair around a critical section of work=0, ~100 ns or ~1 µs of CPU; " +
			"mode=parallel runs 8 goroutines per GOMAXPROCS (b.RunParallel) on the one semaphore.",
		Ours: []string{"chan", "weighted"},
	}
	for _, limit := range []int{1, 4} {
		for _, parallel := range []bool{false, true} {
			mode := "serial"
			if parallel {
				mode = "parallel"
			}
			for _, work := range semaphoreWork {
				if !parallel && work.rounds != 0 {
					continue
				}
				for _, impl := range impls {
					if impl.only != 0 && impl.only != limit {
						continue
					}
					p.Cases = append(p.Cases, Case{
						Name: fmt.Sprintf("limit=%d/mode=%s/work=%s/impl=%s", limit, mode, work.name, impl.name),
						F:    acquireRelease(impl.make, limit, parallel, work.rounds),
					})
				}
			}
		}
	}
	return p
}

// semaphoreWork is the critical section's work at each work= level, in
// rounds of semaphoreSpin: about 1.1 to 1.3 ns a round on the 2-core
// reference machine.
var semaphoreWork = []struct {
	name   string
	rounds int
}{{"0", 0}, {"100ns", 85}, {"1us", 800}}

// semaphoreSpin is CPU work that the compiler cannot remove: a chain of
// dependent multiply-xorshift rounds, each waiting for the last, in a
// function that is not inlined. work=0 does not call it at all.
//
//go:noinline
func semaphoreSpin(rounds int) uint64 {
	x := uint64(rounds) | 1
	for range rounds {
		x ^= x >> 13
		x *= 0x9e3779b97f4a7c15
	}
	return x
}

// parallelism is the b.SetParallelism of mode=parallel: 8 goroutines per
// GOMAXPROCS, 16 on a 2-core machine.
const parallelism = 8

// acquireRelease returns the body of one SemaphoreAcquire case: rounds of
// semaphoreSpin between each Acquire and its Release.
func acquireRelease(mk func(int) limiter, limit int, parallel bool, rounds int) func(*testing.B) {
	return func(b *testing.B) {
		s := mk(limit)
		ctx := context.Background()
		// sum keeps the work's results, so that they are used.
		var sum atomic.Uint64
		b.ReportAllocs()
		if !parallel {
			// for range b.N, not b.Loop: b.Loop ignores -cpu
			// (golang/go#49980).
			var x uint64
			for range b.N {
				if err := s.Acquire(ctx); err != nil {
					b.Fatal(err)
				}
				if rounds > 0 {
					x += semaphoreSpin(rounds)
				}
				s.Release()
			}
			sum.Add(x)
			return
		}
		// 8 goroutines per P: more goroutines than slots, so that some
		// always wait (at the default parallelism of 1 per P, two
		// goroutines on 4 slots never block and "contended" would only
		// measure cache-line traffic).
		b.SetParallelism(parallelism)
		b.RunParallel(func(pb *testing.PB) {
			var x uint64
			for pb.Next() {
				if err := s.Acquire(ctx); err != nil {
					b.Error(err)
					return
				}
				if rounds > 0 {
					x += semaphoreSpin(rounds)
				}
				s.Release()
			}
			sum.Add(x)
		})
	}
}

// groupTree is the number of tasks in one op of SemaphoreGroup's
// shape=tree rows: a binary tree, each task submitting its children. A
// tree per op, rather than one tree of b.N tasks, bounds how many
// goroutines the unlimited waitgroup baseline has alive at once: with
// millions, every later garbage collection in the process pays to scan
// them (the runtime never frees a goroutine's descriptor), which slowed
// pool.RecycleGC, run later by compare, for every implementation.
const groupTree = 1023

// checkTree fails b unless every task of every tree ran.
func checkTree(b *testing.B, ran int64) {
	b.Helper()
	if want := int64(b.N) * groupTree; ran != want {
		b.Fatalf("%d tasks ran; want %d", ran, want)
	}
}

// SemaphoreGroup compares starting and joining tiny tasks (an atomic add)
// with compendium's Group, errgroup with SetLimit, and a goroutine per task
// joined by a sync.WaitGroup with no limit at all (the floor that any limit
// adds to). One op is one task, except in shape=tree, where one op is a
// binary tree of groupTree tasks, each submitting its children from inside,
// reported per task (errgroup: TryGo, else
// the submitter calls the child itself, the caller-runs idiom errgroup
// allows); deadline=1s gives each task its own deadline (TaskTimeout; for
// errgroup, context.WithTimeout in the task).
func SemaphoreGroup() Pattern {
	const limit = 4
	return Pattern{
		Pkg:  "semaphore",
		Name: "Group",
		Doc:  "one tiny task (an atomic add) started and joined, at most 4 running; impl=waitgroup is a goroutine per task with no limit; shape=tree: trees of 1,023 tasks, each submitting its 2 children from inside (ns per task); deadline=1s: each task gets its own deadline.",
		Ours: []string{"group"},
		Cases: []Case{
			{Name: fmt.Sprintf("limit=%d/impl=group", limit), F: groupFlat(limit, nil)},
			{Name: fmt.Sprintf("limit=%d/impl=errgroup", limit), F: func(b *testing.B) {
				var n atomic.Int64
				task := func() error { n.Add(1); return nil }
				b.ReportAllocs()
				var g errgroup.Group
				g.SetLimit(limit)
				for range b.N {
					g.Go(task)
				}
				if err := g.Wait(); err != nil {
					b.Fatal(err)
				}
			}},
			{Name: fmt.Sprintf("limit=%d/impl=waitgroup", limit), F: func(b *testing.B) {
				var n atomic.Int64
				b.ReportAllocs()
				var wg sync.WaitGroup
				for range b.N {
					wg.Go(func() { n.Add(1) })
				}
				wg.Wait()
			}},
			{Name: fmt.Sprintf("limit=%d/shape=tree/impl=group", limit), F: func(b *testing.B) {
				var n atomic.Int64
				g := semaphore.NewGroup(context.Background(), limit)
				defer func() { _ = g.Close() }()
				var node func(i int) func(context.Context) error
				node = func(i int) func(context.Context) error {
					return func(ctx context.Context) error {
						n.Add(1)
						for c := 2*i + 1; c <= 2*i+2 && c < groupTree; c++ {
							if err := g.Go(ctx, node(c)); err != nil {
								return err
							}
						}
						return nil
					}
				}
				u := PerUnit(b, "task")
				for range b.N {
					if err := g.Go(context.Background(), node(0)); err != nil {
						b.Fatal(err)
					}
					if err := g.Wait(); err != nil {
						b.Fatal(err)
					}
				}
				u.Stop(b.N * groupTree)
				checkTree(b, n.Load())
			}},
			{Name: fmt.Sprintf("limit=%d/shape=tree/impl=errgroup", limit), F: func(b *testing.B) {
				var n atomic.Int64
				var g errgroup.Group
				g.SetLimit(limit)
				var node func(i int) func() error
				node = func(i int) func() error {
					return func() error {
						n.Add(1)
						for c := 2*i + 1; c <= 2*i+2 && c < groupTree; c++ {
							// errgroup's Go would block for a slot that only
							// this task can free: TryGo, or run it here.
							if f := node(c); !g.TryGo(f) {
								if err := f(); err != nil {
									return err
								}
							}
						}
						return nil
					}
				}
				u := PerUnit(b, "task")
				for range b.N {
					g.Go(node(0))
					if err := g.Wait(); err != nil {
						b.Fatal(err)
					}
				}
				u.Stop(b.N * groupTree)
				checkTree(b, n.Load())
			}},
			{Name: fmt.Sprintf("limit=%d/shape=tree/impl=waitgroup", limit), F: func(b *testing.B) {
				var n atomic.Int64
				var wg sync.WaitGroup
				var node func(i int) func()
				node = func(i int) func() {
					return func() {
						n.Add(1)
						for c := 2*i + 1; c <= 2*i+2 && c < groupTree; c++ {
							wg.Go(node(c))
						}
					}
				}
				u := PerUnit(b, "task")
				for range b.N {
					wg.Go(node(0))
					wg.Wait()
				}
				u.Stop(b.N * groupTree)
				checkTree(b, n.Load())
			}},
			{Name: fmt.Sprintf("limit=%d/deadline=1s/impl=group", limit), F: groupFlat(limit, nil, semaphore.TaskTimeout(time.Second))},
			{Name: fmt.Sprintf("limit=%d/deadline=1s/impl=errgroup", limit), F: func(b *testing.B) {
				var n atomic.Int64
				// The deadline derives from the group's context, as
				// TaskTimeout's does, so that a failure still cancels.
				g, ctx := errgroup.WithContext(context.Background())
				task := func() error {
					ctx, cancel := context.WithTimeout(ctx, time.Second)
					defer cancel()
					_ = ctx
					n.Add(1)
					return nil
				}
				b.ReportAllocs()
				g.SetLimit(limit)
				for range b.N {
					g.Go(task)
				}
				if err := g.Wait(); err != nil {
					b.Fatal(err)
				}
			}},
		},
	}
}

// groupFlat returns the body of SemaphoreGroup's flat impl=group cases:
// b.N tiny tasks submitted from outside to one Group made with opts, then
// joined. tune, if not nil, is applied to the Group before the first Go.
func groupFlat(limit int, tune func(*semaphore.Group), opts ...semaphore.GroupOption) func(*testing.B) {
	return func(b *testing.B) {
		var n atomic.Int64
		task := func(context.Context) error { n.Add(1); return nil }
		ctx := context.Background()
		b.ReportAllocs()
		g := semaphore.NewGroup(ctx, limit, opts...)
		if tune != nil {
			tune(g)
		}
		for range b.N {
			if err := g.Go(ctx, task); err != nil {
				b.Fatal(err)
			}
		}
		if err := g.Wait(); err != nil {
			b.Fatal(err)
		}
		_ = g.Close()
	}
}

// SemaphoreTuning runs the contended workloads of SemaphoreAcquire
// (mode=parallel, limits 1 and 4, each work level) through Counting and
// Weighted, and SemaphoreGroup's flat rows through Group, each with the
// yield its slow path takes before it waits on (impl=yield) and off
// (impl=noyield): the Gosched with which an Acquire or Go that finds no
// free slot lets the holders run to their Release first. The tune
// functions turn it on or off; only semaphore's own tests can, so the
// pattern is not in All: run it as BenchmarkTuning in package semaphore,
// with -cpu 1,2,4,8.
func SemaphoreTuning(
	counting func(s *semaphore.Counting, yield bool),
	weighted func(w *semaphore.Weighted, yield bool),
	group func(g *semaphore.Group, yield bool),
) Pattern {
	p := Pattern{
		Pkg:  "semaphore",
		Name: "Tuning",
		Doc: "BenchmarkAcquire's mode=parallel and BenchmarkGroup's flat rows with the yield before waiting on and off; " +
			"ns per Acquire+Release pair or per task.",
		Ours: []string{"yield"},
	}
	aids := []struct {
		name  string
		yield bool
	}{{"yield", true}, {"noyield", false}}
	types := []struct {
		name string
		make func(limit int, yield bool) limiter
	}{
		{"counting", func(n int, yield bool) limiter {
			s := semaphore.NewCounting(n)
			counting(s, yield)
			return s
		}},
		{"weighted", func(n int, yield bool) limiter {
			w := semaphore.NewWeighted(int64(n))
			weighted(w, yield)
			return weightedOne{w}
		}},
	}
	for _, t := range types {
		for _, limit := range []int{1, 4} {
			for _, work := range semaphoreWork {
				for _, a := range aids {
					p.Cases = append(p.Cases, Case{
						Name: fmt.Sprintf("type=%s/limit=%d/work=%s/impl=%s", t.name, limit, work.name, a.name),
						F:    acquireRelease(func(n int) limiter { return t.make(n, a.yield) }, limit, true, work.rounds),
					})
				}
			}
		}
	}
	const limit = 4
	rows := []struct {
		name string
		opts []semaphore.GroupOption
	}{{"", nil}, {"/deadline=1s", []semaphore.GroupOption{semaphore.TaskTimeout(time.Second)}}}
	for _, row := range rows {
		for _, a := range aids {
			p.Cases = append(p.Cases, Case{
				Name: fmt.Sprintf("type=group/limit=%d%s/impl=%s", limit, row.name, a.name),
				F:    groupFlat(limit, func(g *semaphore.Group) { group(g, a.yield) }, row.opts...),
			})
		}
	}
	return p
}
