package benchmarks

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"testing"

	"github.com/go-compendium/compendium/pipeline"
)

// pipelineItems is how many ints the three-stage comparison pushes through
// per op: enough that start-up is noise, little enough that a case sets up
// in microseconds.
const pipelineItems = 100_000

// reportPerItem reports ns/item, B/item and allocs/item for b.N runs of
// items items each.
func reportPerItem(b *testing.B, items int, run func()) {
	b.Helper()
	u := PerUnit(b, "item")
	for range b.N {
		run()
	}
	u.Stop(b.N * items)
}

// PipelineThreeStage is the Go blog's pipeline (generate, square, sum) over
// 10^5 ints: compendium's default stages against channels per item,
// hand-batched channels, a mutex-guarded slice and the plain loop.
func PipelineThreeStage() Pattern {
	const n = pipelineItems
	want := 0
	for i := range n {
		want += i * i
	}
	check := func(b *testing.B, got int) {
		if got != want {
			b.Fatalf("sum = %d; want %d", got, want)
		}
	}
	chanPipeline := func(buffer int) func() int {
		return func() int {
			nums := make(chan int, buffer)
			squares := make(chan int, buffer)
			go func() {
				defer close(nums)
				for i := range n {
					nums <- i
				}
			}()
			go func() {
				defer close(squares)
				for v := range nums {
					squares <- v * v
				}
			}()
			sum := 0
			for v := range squares {
				sum += v
			}
			return sum
		}
	}
	cases := []struct {
		impl string
		run  func() int
	}{
		{"plainloop", func() int {
			sum := 0
			for i := range n {
				sum += i * i
			}
			return sum
		}},
		{"unbuffered", chanPipeline(0)},
		{"buffered", chanPipeline(64)},
		{"batched", func() int {
			// Hand-batched: 256 items per channel operation, fresh
			// slices, the floor a per-batch channel design can reach.
			const size = 256
			nums := make(chan []int)
			squares := make(chan []int)
			go func() {
				defer close(nums)
				for lo := 0; lo < n; lo += size {
					batch := make([]int, 0, size)
					for i := lo; i < min(lo+size, n); i++ {
						batch = append(batch, i)
					}
					nums <- batch
				}
			}()
			go func() {
				defer close(squares)
				for batch := range nums {
					for i, v := range batch {
						batch[i] = v * v
					}
					squares <- batch
				}
			}()
			sum := 0
			for batch := range squares {
				for _, v := range batch {
					sum += v
				}
			}
			return sum
		}},
		{"pipeline", threeStagePipeline},
		{"mutexslice", func() int {
			// Workers share the input through a mutex-guarded cursor,
			// one item per lock, and add their sums at the end.
			var mu sync.Mutex
			next, sum := 0, 0
			var wg sync.WaitGroup
			for range runtime.GOMAXPROCS(0) {
				wg.Go(func() {
					local := 0
					for {
						mu.Lock()
						i := next
						next++
						mu.Unlock()
						if i >= n {
							break
						}
						local += i * i
					}
					mu.Lock()
					sum += local
					mu.Unlock()
				})
			}
			wg.Wait()
			return sum
		}},
	}
	p := Pattern{
		Pkg:  "pipeline",
		Name: "ThreeStage",
		Doc:  "generate, square, sum over 10^5 ints (ns/item, allocs/item); ours is Generate, Map with 1 worker, Reduce",
		Ours: []string{"pipeline"},
	}
	for _, c := range cases {
		p.Cases = append(p.Cases, Case{
			Name: "items=1e5/impl=" + c.impl,
			F: func(b *testing.B) {
				got := 0
				reportPerItem(b, n, func() { got = c.run() })
				check(b, got)
			},
		})
	}
	return p
}

// PipelineFirstItem measures the latency of one item through an idle
// pipeline (forward, square, sink goroutines), ours against unbuffered
// channels: the cost of opportunistic batching when there is nothing to
// batch.
func PipelineFirstItem() Pattern {
	square := func(_ context.Context, v int) (int, error) { return v * v, nil }
	// run sends b.N items one at a time into in and waits for each at got.
	run := func(b *testing.B, in chan<- int, got <-chan int) {
		b.ReportAllocs()
		b.ResetTimer()
		for i := range b.N {
			in <- i
			if v := <-got; v != i*i {
				b.Fatalf("got %d; want %d", v, i*i)
			}
		}
		b.StopTimer()
	}
	return Pattern{
		Pkg:  "pipeline",
		Name: "FirstItem",
		Doc:  "latency of one item through an idle 3-goroutine pipeline, sent and awaited one at a time",
		Ours: []string{"pipeline"},
		Cases: []Case{
			{Name: "impl=pipeline", F: func(b *testing.B) {
				in, got := make(chan int), make(chan int)
				p := pipeline.New(context.Background())
				squares := pipeline.Map(pipeline.FromChan(p, in), 1, square)
				go func() {
					for v := range pipeline.All(squares) {
						got <- v
					}
					close(got)
				}()
				run(b, in, got)
				close(in)
				<-got
				if err := p.Wait(); err != nil {
					b.Fatal(err)
				}
			}},
			{Name: "impl=unbuffered", F: func(b *testing.B) {
				// Bare unbuffered channels: the floor, but a pipeline
				// that cannot be cancelled (its stages leak if the
				// consumer stops early).
				in, mid, squares, got := make(chan int), make(chan int), make(chan int), make(chan int)
				stage := func(in <-chan int, out chan<- int, f func(int) int) {
					defer close(out)
					for v := range in {
						out <- f(v)
					}
				}
				go stage(in, mid, func(v int) int { return v })
				go stage(mid, squares, func(v int) int { return v * v })
				go stage(squares, got, func(v int) int { return v })
				run(b, in, got)
				close(in)
				<-got
			}},
			{Name: "impl=unbuffered-cancellable", F: func(b *testing.B) {
				// The Go blog's pipeline: unbuffered channels, every send
				// also selecting on a done channel so that the stages can
				// be cancelled (a pipeline without it leaks its stages when
				// the consumer stops).
				done := make(chan struct{})
				in, mid, squares, got := make(chan int), make(chan int), make(chan int), make(chan int)
				stage := func(in <-chan int, out chan<- int, f func(int) int) {
					defer close(out)
					for {
						select {
						case v, ok := <-in:
							if !ok {
								return
							}
							select {
							case out <- f(v):
							case <-done:
								return
							}
						case <-done:
							return
						}
					}
				}
				go stage(in, mid, func(v int) int { return v })
				go stage(mid, squares, func(v int) int { return v * v })
				go stage(squares, got, func(v int) int { return v })
				run(b, in, got)
				close(in)
				<-got
				close(done)
			}},
		},
	}
}

// PipelineSoak pushes b.N items through Generate, Map with 2 workers,
// Filter and Reduce in one pipeline, so that -benchtime=100ms runs about
// 10^7 items, and reports allocated bytes per item, the peak live heap
// above the start, and the peak goroutine count: all three must stay flat
// however many items flow.
func PipelineSoak() Pattern {
	return Pattern{
		Pkg:  "pipeline",
		Name: "Soak",
		Doc:  "b.N items through Generate, Map(2), Filter, Reduce: B/item, peak heap and goroutines stay flat as b.N grows",
		Ours: []string{"pipeline"},
		Cases: []Case{{Name: "items=b.N/impl=pipeline", F: func(b *testing.B) {
			b.ReportAllocs()
			var before runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			peakHeap, peakG := uint64(0), 0
			sample := func() {
				var m runtime.MemStats
				runtime.ReadMemStats(&m)
				peakHeap = max(peakHeap, m.HeapAlloc)
				peakG = max(peakG, runtime.NumGoroutine())
			}
			u := PerUnit(b, "item")
			p := pipeline.New(context.Background())
			src := pipeline.Generate(p, func(_ context.Context, yield func(int) bool) error {
				for i := range b.N {
					if i%(1<<20) == 0 {
						sample() // stops the world: once per million items
					}
					if !yield(i) {
						return nil
					}
				}
				return nil
			})
			squares := pipeline.Map(src, 2, func(_ context.Context, v int) (int, error) { return v * v, nil })
			odd := pipeline.Filter(squares, 1, func(_ context.Context, v int) (bool, error) { return v%2 == 1, nil })
			count, err := pipeline.Reduce(odd, 0, func(acc, _ int) int { return acc + 1 })
			u.Stop(b.N)
			if err != nil {
				b.Fatal(err)
			}
			if want := b.N / 2; count != want {
				b.Fatalf("count = %d; want %d", count, want)
			}
			b.ReportMetric(float64(peakHeap-min(peakHeap, before.HeapAlloc))/1024, "peak-heap-KiB")
			b.ReportMetric(float64(peakG), "goroutines")
		}}},
	}
}

// pipelineSpinRounds makes pipelineSpin take about a microsecond of CPU on
// the reference machine.
const pipelineSpinRounds = 750

// pipelineSpin is CPU work that the compiler cannot remove: a chain of
// dependent multiply-xorshift rounds.
func pipelineSpin(rounds int) int {
	x := uint64(rounds) | 1
	for range rounds {
		x ^= x >> 13
		x *= 0x9e3779b97f4a7c15
	}
	return int(x & 1)
}

// mapWorkersChannels is the plain-channel worker pool the Map cases are
// measured beside: workers goroutines ranging over one buffered channel
// and sending to another, summed by the caller.
func mapWorkersChannels(n, workers int, f func(int) int) int {
	in, out := make(chan int, 64), make(chan int, 64)
	go func() {
		defer close(in)
		for i := range n {
			in <- i
		}
	}()
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for v := range in {
				out <- f(v)
			}
		})
	}
	go func() { wg.Wait(); close(out) }()
	sum := 0
	for v := range out {
		sum += v
	}
	return sum
}

// mapWorkersOurs is Generate, Map with workers and Reduce over n ints.
func mapWorkersOurs(n, workers int, f func(int) int) int {
	p := pipeline.New(context.Background())
	nums := pipeline.Generate(p, func(_ context.Context, yield func(int) bool) error {
		for i := range n {
			if !yield(i) {
				return nil
			}
		}
		return nil
	})
	out := pipeline.Map(nums, workers, func(_ context.Context, v int) (int, error) { return f(v), nil })
	sum, err := pipeline.Reduce(out, 0, func(acc, v int) int { return acc + v })
	if err != nil {
		panic(err)
	}
	return sum
}

// PipelineMapWorkers measures what a Map stage's workers cost when f is
// tiny (v*v): the workers share items one at a time, and with a tiny f
// that sharing is all there is. workers=2 against workers=1 is the cost of
// the sharing; impl=channels is a plain channel worker pool.
func PipelineMapWorkers() Pattern {
	const n = pipelineItems
	square := func(v int) int { return v * v }
	want := 0
	for i := range n {
		want += i * i
	}
	p := Pattern{
		Pkg:  "pipeline",
		Name: "MapWorkers",
		Doc:  "Generate, Map(workers, v*v), Reduce over 10^5 ints (ns/item): the cost of sharing items between workers",
		Ours: []string{"pipeline"},
	}
	for _, workers := range []int{1, 2} {
		for _, impl := range []struct {
			name string
			run  func(n, workers int, f func(int) int) int
		}{{"pipeline", mapWorkersOurs}, {"channels", mapWorkersChannels}} {
			p.Cases = append(p.Cases, Case{
				Name: fmt.Sprintf("workers=%d/impl=%s", workers, impl.name),
				F: func(b *testing.B) {
					got := 0
					reportPerItem(b, n, func() { got = impl.run(n, workers, square) })
					if got != want {
						b.Fatalf("sum = %d; want %d", got, want)
					}
				},
			})
		}
	}
	return p
}

// PipelineMapCPU measures a Map stage whose f spends about a microsecond
// of CPU per item, with 1, 2 and 4 workers: ns/item falls with the
// workers as far as GOMAXPROCS (-cpu) allows. impl=channels is a plain
// channel worker pool.
func PipelineMapCPU() Pattern {
	const n = 20_000
	work := func(v int) int { return pipelineSpin(pipelineSpinRounds) + v&1 }
	p := Pattern{
		Pkg:  "pipeline",
		Name: "MapCPU",
		Doc:  "Generate, Map(workers, ~1µs of CPU), Reduce over 2·10^4 ints (ns/item): the workers run at once",
		Ours: []string{"pipeline"},
	}
	for _, workers := range []int{1, 2, 4} {
		for _, impl := range []struct {
			name string
			run  func(n, workers int, f func(int) int) int
		}{{"pipeline", mapWorkersOurs}, {"channels", mapWorkersChannels}} {
			p.Cases = append(p.Cases, Case{
				Name: fmt.Sprintf("workers=%d/impl=%s", workers, impl.name),
				F: func(b *testing.B) {
					reportPerItem(b, n, func() { impl.run(n, workers, work) })
				},
			})
		}
	}
	return p
}

// threeStagePipeline is PipelineThreeStage's pipeline row: generate
// 0..pipelineItems-1, square in a one-worker Map, sum.
func threeStagePipeline() int {
	p := pipeline.New(context.Background())
	nums := pipeline.Generate(p, func(_ context.Context, yield func(int) bool) error {
		for i := range pipelineItems {
			if !yield(i) {
				return nil
			}
		}
		return nil
	})
	squares := pipeline.Map(nums, 1, func(_ context.Context, v int) (int, error) { return v * v, nil })
	sum, err := pipeline.Reduce(squares, 0, func(acc, v int) int { return acc + v })
	if err != nil {
		panic(err)
	}
	return sum
}
