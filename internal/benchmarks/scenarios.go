package benchmarks

import (
	"bytes"
	"context"
	"io"
	"runtime/metrics"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-compendium/compendium/internal/scenario"
	"github.com/go-compendium/compendium/pool"
)

// This file holds the cross-package scenarios of bench/ (see bench/doc.go
// for what each one shows). Their implementations live in
// internal/scenario, where bench/'s tests check that they are correct.

// ScenarioIDs is the talk's "hide state" slide: a goroutine handing out
// unique IDs over a channel, against a mutex counter and an atomic one.
func ScenarioIDs() Pattern {
	impls := []struct {
		name string
		make func() (scenario.IDs, func())
	}{
		{"chan", func() (scenario.IDs, func()) {
			g := scenario.NewChanIDs(context.Background(), 0)
			return g, g.Close
		}},
		{"chan64", func() (scenario.IDs, func()) {
			g := scenario.NewChanIDs(context.Background(), 64)
			return g, g.Close
		}},
		{"mutex", func() (scenario.IDs, func()) { return new(scenario.MutexIDs), func() {} }},
		{"atomic", func() (scenario.IDs, func()) { return new(scenario.AtomicIDs), func() {} }},
	}
	var cases []Case
	for _, mode := range []string{"serial", "parallel"} {
		for _, impl := range impls {
			cases = append(cases, Case{
				Name: "mode=" + mode + "/impl=" + impl.name,
				F: func(b *testing.B) {
					b.ReportAllocs()
					g, stop := impl.make()
					defer stop()
					var sink atomic.Uint64
					if mode == "serial" {
						var last uint64
						for range b.N {
							last = g.Next()
						}
						sink.Store(last)
						return
					}
					b.RunParallel(func(pb *testing.PB) {
						var last uint64
						for pb.Next() {
							last = g.Next()
						}
						sink.Add(last)
					})
				},
			})
		}
	}
	return Pattern{
		Pkg:   "bench",
		Name:  "IDs",
		Doc:   "one unique ID per op: a generator goroutine behind an unbuffered channel (the talk's slide) or a buffered one vs a mutex counter vs atomic.Uint64.",
		Ours:  []string{"chan"},
		Cases: cases,
	}
}

// ownedKeys is the number of keys in the owned-state map: enough that
// writers rarely collide on one key, few enough to stay in cache, so that
// the benchmark measures the synchronisation and not the memory.
const ownedKeys = 1024

// ScenarioOwnedState is Ajmani's owned state: a goroutine owning a map
// behind request and reply channels, against a map behind a sync.Mutex or a
// sync.RWMutex, and sync.Map, under a read-heavy and a write-heavy mix.
func ScenarioOwnedState() Pattern {
	impls := []struct {
		name string
		make func() (scenario.Map, func())
	}{
		{"chan", func() (scenario.Map, func()) {
			m := scenario.NewChanMap(context.Background())
			return m, m.Close
		}},
		{"chan-replyperreq", func() (scenario.Map, func()) {
			m := scenario.NewChanMapReplyPerRequest(context.Background())
			return m, m.Close
		}},
		{"mutex", func() (scenario.Map, func()) { return scenario.NewMutexMap(), func() {} }},
		{"rwmutex", func() (scenario.Map, func()) { return scenario.NewRWMutexMap(), func() {} }},
		{"syncmap", func() (scenario.Map, func()) { return new(scenario.SyncMap), func() {} }},
	}
	var cases []Case
	for _, writePct := range []int{10, 90} {
		mix := "read90"
		if writePct == 90 {
			mix = "write90"
		}
		for _, impl := range impls {
			cases = append(cases, Case{
				Name: "mix=" + mix + "/impl=" + impl.name,
				F: func(b *testing.B) {
					b.ReportAllocs()
					m, stop := impl.make()
					defer stop()
					h := m.Handle()
					for k := range ownedKeys {
						h.Store(k, k)
					}
					var seeds atomic.Uint64
					var sink atomic.Int64
					b.ResetTimer()
					b.RunParallel(func(pb *testing.PB) {
						h := m.Handle()
						// A cheap per-goroutine walk over the keys (an odd
						// stride visits all of them); every tenth op is the
						// minority kind, so the mix is exact.
						i := seeds.Add(1) * 7919
						var sum int
						for n := 0; pb.Next(); n++ {
							i += 7919
							key := int(i % ownedKeys)
							if (n%10 == 0) == (writePct == 10) {
								// Values stay below 256 so sync.Map's
								// boxing does not allocate: the
								// comparison is of synchronisation.
								h.Store(key, n&0xff)
							} else {
								v, _ := h.Load(key)
								sum += v
							}
						}
						sink.Add(int64(sum))
					})
				},
			})
		}
	}
	return Pattern{
		Pkg:   "bench",
		Name:  "OwnedState",
		Doc:   "one Load or Store per op on a shared 1,024-key map, b.RunParallel: an owner goroutine behind channels (Ajmani) vs sync.Mutex, sync.RWMutex and sync.Map.",
		Ours:  []string{"chan"},
		Cases: cases,
	}
}

// ScenarioHandoff hands items from producers to consumers through an
// unbuffered channel, buffered channels and a mutex+cond queue.
func ScenarioHandoff() Pattern {
	impls := []struct {
		name string
		make func() scenario.Queue
	}{
		{"chan", func() scenario.Queue { return scenario.NewChanQueue(0) }},
		{"chan64", func() scenario.Queue { return scenario.NewChanQueue(64) }},
		{"chan1024", func() scenario.Queue { return scenario.NewChanQueue(1024) }},
		{"cond1024", func() scenario.Queue { return scenario.NewCondQueue(1024) }},
	}
	var cases []Case
	for _, pc := range []int{1, 4} {
		for _, impl := range impls {
			cases = append(cases, Case{
				Name: "producers=" + strconv.Itoa(pc) + "/consumers=" + strconv.Itoa(pc) + "/impl=" + impl.name,
				F: func(b *testing.B) {
					b.ReportAllocs()
					handoff(b, impl.make(), pc, pc)
				},
			})
		}
	}
	return Pattern{
		Pkg:   "bench",
		Name:  "Handoff",
		Doc:   "one item per op handed from producers to consumers (ns/op is ns/item): unbuffered channel vs buffered channels vs a mutex+sync.Cond ring buffer.",
		Ours:  []string{"chan", "chan64", "chan1024"},
		Cases: cases,
	}
}

// handoff moves b.N items through q from producers goroutines to consumers
// goroutines, closing q once every producer is done.
func handoff(b *testing.B, q scenario.Queue, producers, consumers int) {
	var prod, cons sync.WaitGroup
	var sink atomic.Int64
	for p := range producers {
		prod.Go(func() {
			// Producer p puts items p, p+producers, ...: b.N in all.
			for i := p; i < b.N; i += producers {
				q.Put(i)
			}
		})
	}
	for range consumers {
		cons.Go(func() {
			var sum int
			for {
				v, ok := q.Get()
				if !ok {
					break
				}
				sum += v
			}
			sink.Add(int64(sum))
		})
	}
	prod.Wait()
	q.Close()
	cons.Wait()
}

// Request-path parameters: 4 requests in flight (the worker pool size, and
// the bound on goroutines per request), 16 KiB bodies read through 64 KiB
// buffers, sized, as a proxy's are, for bodies larger than the usual one.
const (
	requestConcurrency = 4
	requestBodySize    = 16 << 10
	requestBufferSize  = 64 << 10
)

// ScenarioRequestPath is Railgun's request path from the recycler post:
// read a body into a buffer, compress it, write it out, with buffers from
// pool.Recycler, pool.AgingRecycler, sync.Pool or fresh allocation, driven
// by pool.Workers or a goroutine per request.
func ScenarioRequestPath() Pattern {
	body := scenario.RequestBody(requestBodySize)
	newBuf := scenario.NewBuffer(requestBufferSize)
	sources := []struct {
		name string
		make func() (scenario.Buffers, func())
	}{
		{"recycler", func() (scenario.Buffers, func()) {
			return pool.NewRecycler(requestConcurrency, newBuf), func() {}
		}},
		{"aging", func() (scenario.Buffers, func()) {
			// Nothing idles for a minute during a benchmark: the
			// expiry costs nothing here but its timer.
			a := pool.NewAgingRecycler(requestConcurrency, time.Minute, newBuf)
			return a, func() { _ = a.Close() }
		}},
		{"syncpool", func() (scenario.Buffers, func()) { return scenario.NewSyncPoolBuffers(requestBufferSize), func() {} }},
		{"fresh", func() (scenario.Buffers, func()) { return scenario.NewFreshBuffers(requestBufferSize), func() {} }},
	}
	drivers := []struct {
		name string
		// sources lists the buffer sources measured with this driver: the
		// goroutine driver only needs ours and fresh to show what the
		// driver changes, which keeps the module's case count down.
		sources []string
		run     func(b *testing.B, handle func() error)
	}{
		{"workers", []string{"recycler", "aging", "syncpool", "fresh"}, driveWorkers},
		{"goroutines", []string{"recycler", "fresh"}, driveGoroutines},
	}
	var cases []Case
	for _, d := range drivers {
		for _, s := range sources {
			if !slices.Contains(d.sources, s.name) {
				continue
			}
			cases = append(cases, Case{
				Name: "driver=" + d.name + "/impl=" + s.name,
				F: func(b *testing.B) {
					b.ReportAllocs()
					bufs, stop := s.make()
					defer stop()
					p := scenario.NewProxy(bufs, requestConcurrency)
					handle := func() error {
						var r bytes.Reader
						r.Reset(body)
						return p.Handle(&r, io.Discard)
					}
					gcs := gcCycles()
					b.ResetTimer()
					d.run(b, handle)
					b.StopTimer()
					b.ReportMetric(float64(gcCycles()-gcs)*1000/float64(b.N), "GCs/1000req")
				},
			})
		}
	}
	return Pattern{
		Pkg:   "bench",
		Name:  "RequestPath",
		Doc:   "one request per op: read a 16 KiB body through a 64 KiB buffer, flate it to io.Discard, 4 in flight; buffers from Recycler, AgingRecycler, sync.Pool or make.",
		Ours:  []string{"recycler", "aging"},
		Cases: cases,
	}
}

// driveWorkers runs b.N requests on a pool.Workers of requestConcurrency
// workers. The task is one closure for every request, so submitting it
// allocates nothing.
func driveWorkers(b *testing.B, handle func() error) {
	w := pool.NewWorkers(context.Background(), requestConcurrency)
	defer w.Close()
	task := func(context.Context) error { return handle() }
	for range b.N {
		if err := w.Go(context.Background(), task); err != nil {
			b.Fatal(err)
		}
	}
	if err := w.Wait(); err != nil {
		b.Fatal(err)
	}
}

// driveGoroutines runs each of b.N requests on a goroutine of its own, at
// most requestConcurrency at a time (as a server's clients would bound
// them), the way net/http serves requests.
func driveGoroutines(b *testing.B, handle func() error) {
	sem := make(chan struct{}, requestConcurrency)
	var wg sync.WaitGroup
	for range b.N {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if err := handle(); err != nil {
				b.Error(err)
			}
		})
	}
	wg.Wait()
}

// gcCycles returns the number of garbage collections so far, read from
// runtime/metrics, which unlike runtime.ReadMemStats does not stop the
// world.
func gcCycles() uint64 {
	s := []metrics.Sample{{Name: "/gc/cycles/total:gc-cycles"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}
