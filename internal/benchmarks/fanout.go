package benchmarks

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-compendium/compendium/fanout"
)

// fanoutMergeImpl is one way to merge channels, as the benchmark sees it.
type fanoutMergeImpl struct {
	name  string
	merge func(ctx context.Context, ins ...<-chan int) <-chan int
}

var fanoutMergeImpls = []fanoutMergeImpl{
	{"merge", fanout.Merge[int]},
	{"nilselect", fanout.MergeSelect[int]},
	{"blogbuffered", func(ctx context.Context, ins ...<-chan int) <-chan int {
		return fanoutMergeBlog(ctx, fanoutMergeBuffer, ins...)
	}},
	{"blog", func(ctx context.Context, ins ...<-chan int) <-chan int {
		return fanoutMergeBlog(ctx, 0, ins...)
	}},
	{"reflectselect", fanoutMergeReflect},
	{"mutexqueue", fanoutMergeMutexQueue},
}

// fanoutMergeBuffer is the capacity of fanout.Merge's output, given to the
// blog's merge too so that the comparison is of the shapes, not of the
// buffers.
const fanoutMergeBuffer = 64

// FanoutMerge compares fan-in shapes: fanout.Merge (a goroutine per input,
// buffered output), fanout.MergeSelect (the nil-channel select loop, one
// goroutine per 4 inputs), the Go blog's merge (goroutine per input) with
// the same 64-slot output as Merge and with its unbuffered output, one
// reflect.Select loop, and forwarders appending to a mutex-guarded queue
// drained by one sender.
func FanoutMerge() Pattern {
	p := Pattern{
		Pkg:  "fanout",
		Name: "Merge",
		Doc:  "k producers send on unbuffered channels, merged into one (with a context that can end), read by one consumer; ns/item.",
		Ours: []string{"merge", "nilselect"},
	}
	for _, k := range []int{2, 8, 64} {
		for _, impl := range fanoutMergeImpls {
			p.Cases = append(p.Cases, Case{
				Name: fmt.Sprintf("k=%d/impl=%s", k, impl.name),
				F:    func(b *testing.B) { fanoutMergeRun(b, k, impl.merge) },
			})
		}
	}
	return p
}

// fanoutMergeRun merges k producers of about b.N/k items each.
func fanoutMergeRun(b *testing.B, k int, merge func(context.Context, ...<-chan int) <-chan int) {
	b.ReportAllocs()
	per := (b.N + k - 1) / k
	ins := make([]<-chan int, k)
	start := make(chan struct{})
	for i := range ins {
		c := make(chan int)
		ins[i] = c
		go func() {
			defer close(c)
			<-start
			for j := range per {
				c <- j
			}
		}()
	}
	// A context that can end, as in real use (cancelling it is how a
	// reader that stops early frees the merge), and as the blog's merge
	// has its done channel: a Background context's Done is nil, which a
	// select skips at no cost.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	u := PerUnit(b, "item")
	close(start)
	n := 0
	for range merge(ctx, ins...) {
		n++
	}
	if n != per*k {
		b.StopTimer()
		b.Fatalf("merged %d items; want %d", n, per*k)
	}
	u.Stop(n)
}

// fanoutMergeBlog is the Go blog's merge ("Pipelines and cancellation"),
// with ctx for done: a goroutine per input, a WaitGroup closer, and an
// output of capacity buffer (the blog's is unbuffered).
func fanoutMergeBlog(ctx context.Context, buffer int, ins ...<-chan int) <-chan int {
	out := make(chan int, buffer)
	var wg sync.WaitGroup
	wg.Add(len(ins))
	for _, in := range ins {
		go func() {
			defer wg.Done()
			for {
				select {
				case v, ok := <-in:
					if !ok {
						return
					}
					select {
					case out <- v:
					case <-ctx.Done():
						return
					}
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	go func() {
		wg.Wait()
		close(out)
	}()
	return out
}

// fanoutMergeReflect is one goroutine running reflect.Select over every
// open input and ctx.Done, dropping inputs as they close.
func fanoutMergeReflect(ctx context.Context, ins ...<-chan int) <-chan int {
	out := make(chan int)
	go func() {
		defer close(out)
		cases := []reflect.SelectCase{{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(ctx.Done())}}
		for _, in := range ins {
			cases = append(cases, reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(in)})
		}
		for len(cases) > 1 {
			i, v, ok := reflect.Select(cases)
			switch {
			case i == 0:
				return
			case !ok:
				cases = slices.Delete(cases, i, i+1)
				continue
			}
			select {
			case out <- int(v.Int()):
			case <-ctx.Done():
				return
			}
		}
	}()
	return out
}

// fanoutMergeMutexQueue has a goroutine per input append to a
// mutex-guarded slice and one sender goroutine move the slice to the
// output: the shape of a lock-based MPSC queue.
func fanoutMergeMutexQueue(ctx context.Context, ins ...<-chan int) <-chan int {
	out := make(chan int)
	var (
		mu    sync.Mutex
		queue []int
		open  = len(ins)
		ready = make(chan struct{}, 1)
	)
	signal := func() {
		select {
		case ready <- struct{}{}:
		default:
		}
	}
	for _, in := range ins {
		go func() {
			defer func() {
				mu.Lock()
				open--
				mu.Unlock()
				signal()
			}()
			for {
				select {
				case v, ok := <-in:
					if !ok {
						return
					}
					mu.Lock()
					queue = append(queue, v)
					mu.Unlock()
					signal()
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	go func() {
		defer close(out)
		var batch []int
		for {
			mu.Lock()
			batch, queue = queue, batch[:0]
			left := open
			mu.Unlock()
			for _, v := range batch {
				select {
				case out <- v:
				case <-ctx.Done():
					return
				}
			}
			if len(batch) == 0 {
				if left == 0 {
					return
				}
				select {
				case <-ready:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return out
}

// fanoutSpin burns about n iterations of CPU and returns a value the
// compiler cannot drop: a task cost that neither sleeps nor depends on the
// timer's resolution.
//
//go:noinline
func fanoutSpin(n int) uint64 {
	x := uint64(n)
	for range n {
		x = x*6364136223846793005 + 1442695040888963407
	}
	return x
}

// Balancer workload: 4 workers with queues of 2, 8 clients each making
// requests one after another; one task in 8 costs 20x the others.
const (
	fanoutWorkers = 4
	fanoutDepth   = 2
	fanoutClients = 8
	fanoutShort   = 1000
	fanoutLong    = 20000
)

// fanoutCost is task i's cost: deterministic, one long task in 8, spread
// so that consecutive requests of one client differ.
func fanoutCost(i int) int {
	if (i*7919)%8 == 0 {
		return fanoutLong
	}
	return fanoutShort
}

// fanoutDispatcher is one way to run a request on a pool of workers and
// wait for it.
type fanoutDispatcher interface {
	do(cost int)
	close()
}

// FanoutBalancer compares dispatching uneven tasks to 4 workers:
// fanout.Balancer (least-loaded, per-worker queues of depth 2, chosen on
// the caller's goroutine), the same under StallAfter (a watchdog told of
// every handler call; nothing stalls, so this is the supervision's cost
// per request), the talk's shape (one balancer goroutine that
// owns the loads, learns of completions on a channel and stops reading
// its input with a nil channel when every queue is full), round robin over
// per-worker queues, and one queue shared by all workers; p50/p99 are the
// latencies a client sees (queue wait plus run).
func FanoutBalancer() Pattern {
	impls := []struct {
		name string
		mk   func() fanoutDispatcher
	}{
		{"balancer", newFanoutBalancer},
		{"supervised", newFanoutSupervised},
		{"talk", newFanoutTalk},
		{"roundrobin", newFanoutRoundRobin},
		{"sharedqueue", newFanoutShared},
	}
	p := Pattern{
		Pkg:  "fanout",
		Name: "Balancer",
		Doc:  "8 clients, 4 workers, 1 task in 8 costing 20x; ns per task and client-side p50/p99 latency.",
		Ours: []string{"balancer", "supervised"},
	}
	for _, impl := range impls {
		p.Cases = append(p.Cases, Case{
			Name: "workers=4/depth=2/impl=" + impl.name,
			F:    func(b *testing.B) { fanoutDispatch(b, impl.mk()) },
		})
	}
	return p
}

// fanoutDispatch runs b.N requests from fanoutClients clients and reports
// their latency percentiles.
func fanoutDispatch(b *testing.B, d fanoutDispatcher) {
	defer d.close()
	b.ReportAllocs()
	lat := make([][]time.Duration, fanoutClients)
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	for c := range lat {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= b.N {
					return
				}
				t0 := time.Now()
				d.do(fanoutCost(i))
				lat[c] = append(lat[c], time.Since(t0))
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	all := slices.Concat(lat...)
	slices.Sort(all)
	b.ReportMetric(float64(all[len(all)/2].Nanoseconds()), "p50-ns")
	b.ReportMetric(float64(all[len(all)*99/100].Nanoseconds()), "p99-ns")
}

type fanoutBalancer struct {
	b *fanout.Balancer[int, uint64]
}

func newFanoutBalancer() fanoutDispatcher {
	return fanoutBalancer{fanout.NewBalancer(context.Background(), fanoutWorkers, fanoutDepth,
		func(_ context.Context, cost int) (uint64, error) { return fanoutSpin(cost), nil })}
}

// newFanoutSupervised is newFanoutBalancer with a watchdog whose d no
// task comes near.
func newFanoutSupervised() fanoutDispatcher {
	return fanoutBalancer{fanout.NewBalancer(context.Background(), fanoutWorkers, fanoutDepth,
		func(_ context.Context, cost int) (uint64, error) { return fanoutSpin(cost), nil },
		fanout.StallAfter(time.Second))}
}

func (f fanoutBalancer) do(cost int) { _, _ = f.b.Do(context.Background(), cost) }
func (f fanoutBalancer) close()      { _ = f.b.Close() }

// fanoutTalk is the talk's load balancer, with its workers made to exit:
// requests go to one balancer goroutine, which gives each to the
// least-loaded worker and hears of completions on done; when every queue
// is full it sets its input to nil and reads only done.
type fanoutTalk struct {
	in   chan fanoutTask
	quit chan struct{}
	wg   sync.WaitGroup
}

func newFanoutTalk() fanoutDispatcher {
	t := &fanoutTalk{in: make(chan fanoutTask), quit: make(chan struct{})}
	queues := make([]chan fanoutTask, fanoutWorkers)
	done := make(chan int, fanoutWorkers*fanoutDepth)
	for i := range queues {
		queues[i] = make(chan fanoutTask, fanoutDepth)
		t.wg.Go(func() {
			for task := range queues[i] {
				task.reply <- fanoutSpin(task.cost)
				done <- i
			}
		})
	}
	t.wg.Go(func() {
		defer func() {
			for _, q := range queues {
				close(q)
			}
		}()
		load := make([]int, fanoutWorkers)
		full := 0
		for {
			in := t.in
			if full == fanoutWorkers {
				in = nil
			}
			select {
			case task := <-in:
				best := 0
				for i, l := range load {
					if l < load[best] {
						best = i
					}
				}
				if load[best]++; load[best] == fanoutDepth {
					full++
				}
				queues[best] <- task
			case i := <-done:
				if load[i] == fanoutDepth {
					full--
				}
				load[i]--
			case <-t.quit:
				return
			}
		}
	})
	return t
}

func (t *fanoutTalk) do(cost int) {
	reply := make(chan uint64, 1)
	t.in <- fanoutTask{cost, reply}
	<-reply
}

func (t *fanoutTalk) close() {
	close(t.quit)
	t.wg.Wait()
}

// fanoutTask is a request for the hand-written dispatchers.
type fanoutTask struct {
	cost  int
	reply chan uint64
}

// fanoutQueues runs one worker per queue until the queues are closed.
func fanoutQueues(queues []chan fanoutTask, wg *sync.WaitGroup) {
	for _, q := range queues {
		wg.Go(func() {
			for t := range q {
				t.reply <- fanoutSpin(t.cost)
			}
		})
	}
}

// fanoutRoundRobin gives request i to worker i mod 4, whatever its load.
type fanoutRoundRobin struct {
	queues []chan fanoutTask
	next   atomic.Uint64
	wg     sync.WaitGroup
}

func newFanoutRoundRobin() fanoutDispatcher {
	r := &fanoutRoundRobin{queues: make([]chan fanoutTask, fanoutWorkers)}
	for i := range r.queues {
		r.queues[i] = make(chan fanoutTask, fanoutDepth)
	}
	fanoutQueues(r.queues, &r.wg)
	return r
}

func (r *fanoutRoundRobin) do(cost int) {
	reply := make(chan uint64, 1)
	r.queues[r.next.Add(1)%fanoutWorkers] <- fanoutTask{cost, reply}
	<-reply
}

func (r *fanoutRoundRobin) close() {
	for _, q := range r.queues {
		close(q)
	}
	r.wg.Wait()
}

// fanoutShared has every worker take from one queue: whoever is free
// takes the next request.
type fanoutShared struct {
	queue chan fanoutTask
	wg    sync.WaitGroup
}

func newFanoutShared() fanoutDispatcher {
	s := &fanoutShared{queue: make(chan fanoutTask, fanoutWorkers*fanoutDepth)}
	// The same queue once per worker: fanoutWorkers workers share it.
	fanoutQueues(slices.Repeat([]chan fanoutTask{s.queue}, fanoutWorkers), &s.wg)
	return s
}

func (s *fanoutShared) do(cost int) {
	reply := make(chan uint64, 1)
	s.queue <- fanoutTask{cost, reply}
	<-reply
}

func (s *fanoutShared) close() {
	close(s.queue)
	s.wg.Wait()
}

// FanoutMultiplexer compares 16 producers writing to one resource that is
// not safe for concurrent use, for a free write and for a write with a
// fixed cost per call (a 2,000-iteration spin, a stand-in for a syscall or
// a flush): fanout.Multiplexer (flat combining: a producer that finds the
// resource idle writes, others queue and the writer writes their items in
// its next call), producers taking a sync.Mutex around a write of their
// own item, and a mutex with group commit (producers queue under a lock;
// the one that finds no writer active writes everything queued until
// nothing is, the others wait for their item's result). items/write is
// the mean batch size.
func FanoutMultiplexer() Pattern {
	p := Pattern{
		Pkg:  "fanout",
		Name: "Multiplexer",
		Doc:  "16 producers, one resource; ns per item, with the mean batch size.",
		Ours: []string{"multiplexer"},
	}
	for _, cost := range []int{0, 2000} {
		p.Cases = append(p.Cases,
			Case{Name: fmt.Sprintf("writecost=%d/impl=multiplexer", cost), F: func(b *testing.B) { fanoutMultiplex(b, cost) }},
			Case{Name: fmt.Sprintf("writecost=%d/impl=mutex", cost), F: func(b *testing.B) { fanoutMutexWrite(b, cost) }},
			Case{Name: fmt.Sprintf("writecost=%d/impl=groupcommit", cost), F: func(b *testing.B) { fanoutGroupCommitWrite(b, cost) }},
		)
	}
	return p
}

// fanoutProducers is the number of producer goroutines per GOMAXPROCS
// (b.SetParallelism): 16 at GOMAXPROCS=2.
const fanoutProducers = 8

// fanoutWriter is the resource: a fixed cost per call plus an append per
// item. It is not safe for concurrent use, which is the point.
type fanoutWriter struct {
	cost   int
	buf    []int
	writes int
	items  int
	sum    uint64
}

func (w *fanoutWriter) write(vs []int) error {
	w.sum += fanoutSpin(w.cost)
	w.buf = append(w.buf[:0], vs...)
	w.writes++
	w.items += len(vs)
	return nil
}

func (w *fanoutWriter) report(b *testing.B) {
	if w.writes > 0 {
		b.ReportMetric(float64(w.items)/float64(w.writes), "items/write")
	}
}

func fanoutMultiplex(b *testing.B, cost int) {
	b.ReportAllocs()
	w := &fanoutWriter{cost: cost}
	m := fanout.NewMultiplexer(context.Background(), 64, w.write)
	b.SetParallelism(fanoutProducers)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := m.Send(context.Background(), 1); err != nil {
				b.Error(err)
				return
			}
		}
	})
	if err := m.Close(); err != nil {
		b.Fatal(err)
	}
	w.report(b)
}

func fanoutMutexWrite(b *testing.B, cost int) {
	b.ReportAllocs()
	w := &fanoutWriter{cost: cost}
	var mu sync.Mutex
	b.SetParallelism(fanoutProducers)
	b.RunParallel(func(pb *testing.PB) {
		one := make([]int, 1)
		for pb.Next() {
			mu.Lock()
			err := w.write(one)
			mu.Unlock()
			if err != nil {
				b.Error(err)
				return
			}
		}
	})
	w.report(b)
}

// fanoutGroupCommit is the mutex with group commit: producers append to a
// queue under a lock; one that finds no writer active becomes the writer
// and writes everything queued, again and again until nothing is; the
// others wait on a channel of their own for their item's result.
type fanoutGroupCommit struct {
	mu      sync.Mutex
	writing bool
	queue   []*fanoutGroupItem
	spare   []*fanoutGroupItem
	vals    []int
	w       *fanoutWriter
}

type fanoutGroupItem struct {
	v    int
	done chan error // capacity 1
}

func (g *fanoutGroupCommit) send(it *fanoutGroupItem) error {
	g.mu.Lock()
	g.queue = append(g.queue, it)
	if g.writing {
		g.mu.Unlock()
		return <-it.done
	}
	g.writing = true
	for len(g.queue) > 0 {
		batch := g.queue
		g.queue = g.spare[:0]
		g.mu.Unlock()
		g.vals = g.vals[:0]
		for _, b := range batch {
			g.vals = append(g.vals, b.v)
		}
		err := g.w.write(g.vals)
		for _, b := range batch {
			b.done <- err
		}
		clear(batch)
		g.mu.Lock()
		g.spare = batch[:0]
	}
	g.writing = false
	g.mu.Unlock()
	return <-it.done
}

func fanoutGroupCommitWrite(b *testing.B, cost int) {
	b.ReportAllocs()
	g := &fanoutGroupCommit{w: &fanoutWriter{cost: cost}}
	b.SetParallelism(fanoutProducers)
	b.RunParallel(func(pb *testing.PB) {
		it := &fanoutGroupItem{v: 1, done: make(chan error, 1)}
		for pb.Next() {
			if err := g.send(it); err != nil {
				b.Error(err)
				return
			}
		}
	})
	g.w.report(b)
}

// FanoutMultiplexerTuning runs BenchmarkMultiplexer's workload through
// fanout.Multiplexer with its two scheduling aids on and off: the
// Gosched with which the writer lets the producers it has just answered
// queue their next items (yield), and the spin with which a Send waits
// for a cheap write to end before it queues (spin). tune turns them on or
// off; only fanout's own tests can, so the pattern is not in All: run it
// as BenchmarkMultiplexerTuning in package fanout, with -cpu 1,2,4,8.
func FanoutMultiplexerTuning(tune func(m *fanout.Multiplexer[int], yield, spin bool)) Pattern {
	p := Pattern{
		Pkg:  "fanout",
		Name: "MultiplexerTuning",
		Doc:  "BenchmarkMultiplexer with the Multiplexer's yield and spin on and off; ns per item.",
		Ours: []string{"both"},
	}
	aids := []struct {
		name        string
		yield, spin bool
	}{{"both", true, true}, {"yield", true, false}, {"spin", false, true}, {"neither", false, false}}
	for _, cost := range []int{0, 2000} {
		for _, a := range aids {
			p.Cases = append(p.Cases, Case{
				Name: fmt.Sprintf("writecost=%d/impl=%s", cost, a.name),
				F: func(b *testing.B) {
					b.ReportAllocs()
					w := &fanoutWriter{cost: cost}
					m := fanout.NewMultiplexer(context.Background(), 64, w.write)
					tune(m, a.yield, a.spin)
					b.SetParallelism(fanoutProducers)
					b.RunParallel(func(pb *testing.PB) {
						for pb.Next() {
							if err := m.Send(context.Background(), 1); err != nil {
								b.Error(err)
								return
							}
						}
					})
					if err := m.Close(); err != nil {
						b.Fatal(err)
					}
					w.report(b)
				},
			})
		}
	}
	return p
}
