package pipeline_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/go-compendium/compendium"
	"github.com/go-compendium/compendium/pipeline"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var errBoom = errors.New("boom")

func square(_ context.Context, v int) (int, error) { return v * v, nil }

// stageCase builds one stage over in and says what it must produce from
// the input 0..n-1 and whether the order is part of the contract.
type stageCase struct {
	name    string
	build   func(in *pipeline.Stream[int]) *pipeline.Stream[int]
	want    func(xs []int) []int
	ordered bool
}

func stageCases() []stageCase {
	squares := func(xs []int) []int {
		out := make([]int, len(xs))
		for i, x := range xs {
			out[i] = x * x
		}
		return out
	}
	same := func(xs []int) []int { return xs }
	evens := func(xs []int) []int {
		var out []int
		for _, x := range xs {
			if x%2 == 0 {
				out = append(out, x)
			}
		}
		return out
	}
	twice := func(xs []int) []int {
		var out []int
		for _, x := range xs {
			out = append(out, x, -x)
		}
		return out
	}
	isEven := func(_ context.Context, v int) (bool, error) { return v%2 == 0, nil }
	dup := func(_ context.Context, v int) ([]int, error) { return []int{v, -v}, nil }
	var cases []stageCase
	for _, w := range []int{1, 4} {
		cases = append(cases,
			stageCase{fmt.Sprintf("Map/workers=%d", w), func(in *pipeline.Stream[int]) *pipeline.Stream[int] {
				return pipeline.Map(in, w, square)
			}, squares, w == 1},
			stageCase{fmt.Sprintf("OrderedMap/workers=%d", w), func(in *pipeline.Stream[int]) *pipeline.Stream[int] {
				return pipeline.OrderedMap(in, w, square)
			}, squares, true},
			stageCase{fmt.Sprintf("Filter/workers=%d", w), func(in *pipeline.Stream[int]) *pipeline.Stream[int] {
				return pipeline.Filter(in, w, isEven)
			}, evens, w == 1},
			stageCase{fmt.Sprintf("FlatMap/workers=%d", w), func(in *pipeline.Stream[int]) *pipeline.Stream[int] {
				return pipeline.FlatMap(in, w, dup)
			}, twice, w == 1},
		)
	}
	cases = append(cases,
		stageCase{"Tap", func(in *pipeline.Stream[int]) *pipeline.Stream[int] {
			return pipeline.Tap(in, func(context.Context, int) error { return nil })
		}, same, true},
		stageCase{"Batch+Unbatch", func(in *pipeline.Stream[int]) *pipeline.Stream[int] {
			return pipeline.Unbatch(pipeline.Batch(in, 7, time.Hour))
		}, same, true},
		stageCase{"Buffer", func(in *pipeline.Stream[int]) *pipeline.Stream[int] {
			return pipeline.Buffer(in, 100, pipeline.Block)
		}, same, true},
	)
	return cases
}

// TestStages runs every stage over inputs of several sizes, 10^5 items
// among them, and checks that no item is lost, duplicated or (where the
// stage promises order) reordered. The items come from FromSlice, and from
// Generate, whose consumers may also take the batch it holds back (see
// TestGenerateHoldsNothingBack), which every kind of stage must handle.
func TestStages(t *testing.T) {
	sources := []struct {
		name  string
		large int // the largest input: Generate's lock is slow under -race
		make  func(p *pipeline.Scope, xs []int) *pipeline.Stream[int]
	}{
		{"FromSlice", 100_000, pipeline.FromSlice[int]},
		{"Generate", 20_000, func(p *pipeline.Scope, xs []int) *pipeline.Stream[int] {
			return pipeline.Generate(p, func(_ context.Context, yield func(int) bool) error {
				for _, x := range xs {
					if !yield(x) {
						return nil
					}
				}
				return nil
			})
		}},
	}
	for _, src := range sources {
		if raceEnabled {
			src.large /= 10
		}
		for _, c := range stageCases() {
			for _, n := range []int{0, 1, 300, src.large} {
				t.Run(fmt.Sprintf("%s/%s/n=%d", src.name, c.name, n), func(t *testing.T) {
					testStage(t, c, n, src.make)
				})
			}
		}
	}
}

func testStage(t *testing.T, c stageCase, n int, source func(p *pipeline.Scope, xs []int) *pipeline.Stream[int]) {
	t.Helper()
	xs := ints(n)
	p := pipeline.New(t.Context())
	got, err := pipeline.Collect(c.build(source(p, xs)))
	require.NoError(t, err)
	want := c.want(xs)
	if !c.ordered {
		slices.Sort(got)
		slices.Sort(want)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("got %d items, want %d (first difference matters: ordered=%v)", len(got), len(want), c.ordered)
	}
}

// TestSources checks that every source delivers its items in order.
func TestSources(t *testing.T) {
	const n = 1000
	want := ints(n)
	cases := []struct {
		name string
		src  func(p *pipeline.Scope) *pipeline.Stream[int]
	}{
		{"FromSlice", func(p *pipeline.Scope) *pipeline.Stream[int] { return pipeline.FromSlice(p, want) }},
		{"FromSeq", func(p *pipeline.Scope) *pipeline.Stream[int] { return pipeline.FromSeq(p, slices.Values(want)) }},
		{"Generate", func(p *pipeline.Scope) *pipeline.Stream[int] {
			return pipeline.Generate(p, func(_ context.Context, yield func(int) bool) error {
				for i := range n {
					if !yield(i) {
						return nil
					}
				}
				return nil
			})
		}},
		{"FromChan", func(p *pipeline.Scope) *pipeline.Stream[int] {
			ch := make(chan int, n)
			for i := range n {
				ch <- i
			}
			close(ch)
			return pipeline.FromChan(p, ch)
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := pipeline.New(t.Context())
			got, err := pipeline.Collect(c.src(p))
			require.NoError(t, err)
			assert.Equal(t, want, got)
		})
	}
}

func TestSinks(t *testing.T) {
	xs := ints(1000)
	t.Run("Reduce", func(t *testing.T) {
		p := pipeline.New(t.Context())
		sum, err := pipeline.Reduce(pipeline.FromSlice(p, xs), 0, func(acc, v int) int { return acc + v })
		require.NoError(t, err)
		assert.Equal(t, 999*1000/2, sum)
	})
	t.Run("ForEach", func(t *testing.T) {
		p := pipeline.New(t.Context())
		var got []int
		err := pipeline.ForEach(pipeline.FromSlice(p, xs), func(_ context.Context, v int) error {
			got = append(got, v)
			return nil
		})
		require.NoError(t, err)
		assert.Equal(t, xs, got)
	})
	t.Run("ForEach/error", func(t *testing.T) {
		p := pipeline.New(t.Context())
		err := pipeline.ForEach(pipeline.FromSlice(p, xs), func(_ context.Context, v int) error {
			if v == 10 {
				return errBoom
			}
			return nil
		})
		assert.ErrorIs(t, err, errBoom)
	})
	t.Run("Drain", func(t *testing.T) {
		p := pipeline.New(t.Context())
		var seen atomic.Int64
		counted := pipeline.Tap(pipeline.FromSlice(p, xs), func(context.Context, int) error {
			seen.Add(1)
			return nil
		})
		require.NoError(t, pipeline.Drain(counted))
		assert.Equal(t, int64(len(xs)), seen.Load())
	})
	t.Run("Head", func(t *testing.T) {
		p := pipeline.New(t.Context())
		v, err := pipeline.Head(pipeline.FromSeq(p, func(yield func(int) bool) {
			for i := 7; ; i++ { // endless: Head must stop it
				if !yield(i) {
					return
				}
			}
		}))
		require.NoError(t, err)
		assert.Equal(t, 7, v)
	})
	t.Run("Head/empty", func(t *testing.T) {
		p := pipeline.New(t.Context())
		_, err := pipeline.Head(pipeline.FromSlice[int](p, nil))
		assert.ErrorIs(t, err, pipeline.ErrEmpty)
	})
	t.Run("All", func(t *testing.T) {
		p := pipeline.New(t.Context())
		var got []int
		for v := range pipeline.All(pipeline.FromSlice(p, xs)) {
			got = append(got, v)
		}
		require.NoError(t, p.Wait())
		assert.Equal(t, xs, got)
	})
}

// TestAlreadyCanceled: with a context that is already done, nothing is
// processed and Wait returns ctx.Err().
func TestAlreadyCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	p := pipeline.New(ctx)
	var calls atomic.Int64
	out := pipeline.Map(pipeline.FromSlice(p, ints(1000)), 4, func(_ context.Context, v int) (int, error) {
		calls.Add(1)
		return v, nil
	})
	got, err := pipeline.Collect(out)
	assert.ErrorIs(t, err, context.Canceled)
	assert.Empty(t, got)
	assert.Zero(t, calls.Load(), "stage calls with a cancelled context")
}

// TestEmptyInputClosesEverything: an empty source ends every stage at once.
func TestEmptyInputClosesEverything(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := pipeline.New(t.Context())
		s := pipeline.FromSlice[int](p, nil)
		s = pipeline.Map(s, 3, square)
		s = pipeline.OrderedMap(s, 3, square)
		s = pipeline.Buffer(s, 10, pipeline.Block)
		start := time.Now()
		got, err := pipeline.Collect(pipeline.Batch(s, 10, time.Hour))
		require.NoError(t, err)
		assert.Empty(t, got)
		assert.Zero(t, time.Since(start), "time until every stage closed")
	})
}

// TestNilChannel: FromChan(nil) blocks until the scope is cancelled, then
// every stage exits.
func TestNilChannel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		p := pipeline.New(ctx)
		out := pipeline.Map(pipeline.FromChan[int](p, nil), 2, square)
		var err error
		finished := make(chan struct{})
		go func() {
			defer close(finished)
			_, err = pipeline.Collect(out)
		}()
		synctest.Wait()
		select {
		case <-finished:
			t.Fatal("Collect returned while the nil channel source was open")
		default:
		}
		cancel()
		<-finished
		assert.ErrorIs(t, err, context.Canceled)
	})
}

// TestErrorMidStream: a stage failing at item 200 of 1000 fails the scope
// with its error and every goroutine exits (goleak). The work done after
// the failure is bounded: once the scope is cancelled, each other worker of
// the failing stage starts at most one more call (it checks for
// cancellation before each item, and may have checked just before), and
// the stage upstream is at most one batch per worker ahead, plus the one
// being filled for them (2×256 items with one worker).
func TestErrorMidStream(t *testing.T) {
	// With a parent that is never cancelled, stages know the scope is
	// cancelled from the scope's own flag, not from the context: the
	// bound must hold both ways.
	parents := map[string]func(t *testing.T) context.Context{
		"parent=cancelable": func(t *testing.T) context.Context { return t.Context() },
		"parent=Background": func(*testing.T) context.Context { return context.Background() },
	}
	for name, parent := range parents {
		for _, workers := range []int{1, 4} {
			t.Run(fmt.Sprintf("%s/workers=%d", name, workers), func(t *testing.T) {
				p := pipeline.New(parent(t))
				var seen, late atomic.Int64
				counted := pipeline.Tap(pipeline.FromSlice(p, ints(1000)), func(context.Context, int) error {
					seen.Add(1)
					return nil
				})
				out := pipeline.Map(counted, workers, func(ctx context.Context, v int) (int, error) {
					if ctx.Err() != nil {
						late.Add(1)
					}
					if v == 200 {
						return 0, fmt.Errorf("item %d: %w", v, errBoom)
					}
					return v, nil
				})
				_, err := pipeline.Collect(out)
				assert.ErrorIs(t, err, errBoom)
				assert.LessOrEqual(t, late.Load(), int64(workers-1), "calls started after the cancellation")
				// Upstream runs ahead of the failing item by at most the
				// batches in flight: one per worker, and the one being
				// filled for them.
				assert.LessOrEqual(t, seen.Load(), int64(201+(workers+1)*256), "items seen upstream")
			})
		}
	}
}

// TestCancelMidFlight cancels a 3-stage pipeline of 10^6 items part-way:
// every stage exits (goleak), Wait reports the cancellation, and no item
// was delivered twice.
func TestCancelMidFlight(t *testing.T) {
	const n = 1_000_000
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	p := pipeline.New(ctx)
	var generated atomic.Int64
	src := pipeline.Generate(p, func(_ context.Context, yield func(int) bool) error {
		for i := range n {
			generated.Add(1)
			if !yield(i) {
				return nil
			}
		}
		return nil
	})
	plus := func(_ context.Context, v int) (int, error) { return v + 1, nil }
	out := pipeline.Map(pipeline.Map(src, 2, plus), 2, plus)
	seen := make(map[int]bool)
	for v := range pipeline.All(out) {
		require.False(t, seen[v], "item %d delivered twice", v)
		seen[v] = true
		if len(seen) == 10_000 {
			cancel()
		}
	}
	assert.ErrorIs(t, p.Wait(), context.Canceled)
	assert.Less(t, generated.Load(), int64(n), "the source ran to the end")
}

// TestCancelEveryStage: cancelling the parent context while every kind of
// stage is busy on an endless source ends the pipeline, Wait reports the
// cancellation, and no goroutine is left (goleak).
func TestCancelEveryStage(t *testing.T) {
	for _, c := range stageCases() {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			p := pipeline.New(ctx)
			endless := pipeline.Generate(p, func(_ context.Context, yield func(int) bool) error {
				for i := 0; yield(i); i++ {
				}
				return nil
			})
			n := 0
			for range pipeline.All(c.build(endless)) {
				if n++; n == 5000 {
					cancel()
				}
			}
			assert.ErrorIs(t, p.Wait(), context.Canceled)
		})
	}
}

// TestBreakCancelsUpstream: a break out of All stops the source instead of
// letting it run on (or be drained), and Wait then returns nil.
func TestBreakCancelsUpstream(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := pipeline.New(t.Context())
		stopped := make(chan struct{})
		src := pipeline.Generate(p, func(_ context.Context, yield func(int) bool) error {
			defer close(stopped)
			for i := 0; ; i++ {
				if !yield(i) {
					return nil
				}
			}
		})
		for v := range pipeline.All(pipeline.Map(src, 2, square)) {
			if v > 100 {
				break
			}
		}
		<-stopped
		assert.NoError(t, p.Wait())
	})
}

// TestDeadline: a pipeline whose context times out stops at the deadline,
// not later, and Wait reports it.
func TestDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		p := pipeline.New(ctx)
		ticks := pipeline.Generate(p, func(ctx context.Context, yield func(int) bool) error {
			for i := 0; ; i++ {
				select {
				case <-time.After(150 * time.Millisecond):
				case <-ctx.Done():
					return ctx.Err()
				}
				if !yield(i) {
					return nil
				}
			}
		})
		start := time.Now()
		got, err := pipeline.Collect(pipeline.Map(ticks, 2, square))
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Equal(t, time.Second, time.Since(start), "Wait returned at")
		// Ticks at 150, 300, ... 900 ms; each passes through the idle
		// pipeline at once (no batching delay), the next would be at 1050.
		assert.Equal(t, []int{0, 1, 4, 9, 16, 25}, got)
	})
}

// TestOrderedMapKeepsOrder: under random (virtual) delays, OrderedMap's
// output is the input's order, and its workers do run at once.
func TestOrderedMapKeepsOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const n, workers = 500, 4
		rng := rand.New(rand.NewPCG(1, 2))
		delays := make([]time.Duration, n)
		for i := range delays {
			delays[i] = time.Duration(rng.IntN(100)) * time.Millisecond
		}
		var g gauge
		p := pipeline.New(t.Context())
		out := pipeline.OrderedMap(pipeline.FromSlice(p, ints(n)), workers, func(_ context.Context, v int) (int, error) {
			defer g.enter()()
			time.Sleep(delays[v])
			return v, nil
		})
		got, err := pipeline.Collect(out)
		require.NoError(t, err)
		assert.Equal(t, ints(n), got)
		assert.Equal(t, int64(workers), g.peak.Load(), "peak concurrency")
	})
}

// TestMapReorders: with several workers, Map's output follows completion,
// not input order, which shows the workers really run at once.
func TestMapReorders(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const n, workers = 16, 4
		var g gauge
		p := pipeline.New(t.Context())
		out := pipeline.Map(pipeline.FromSlice(p, ints(n)), workers, func(_ context.Context, v int) (int, error) {
			defer g.enter()()
			time.Sleep(time.Duration(n-v) * time.Millisecond) // later items finish sooner
			return v, nil
		})
		got, err := pipeline.Collect(out)
		require.NoError(t, err)
		assert.False(t, slices.IsSorted(got), "Map with %d workers kept input order: %v", workers, got)
		slices.Sort(got)
		assert.Equal(t, ints(n), got)
		// Usually all 4; 3 when a worker parked only after the others
		// had taken the first items and finished them.
		assert.GreaterOrEqual(t, g.peak.Load(), int64(workers-1), "peak concurrency")
	})
}

// TestMapShareBatch: items that arrive together in one batch are still
// spread over the workers: 32 one-second items on 8 workers take 4 s (the
// floor) to 6 s, depending on which workers were parked when the first
// items came (they go ahead alone into an idle pipeline), where one worker
// would take 32 s. In 400 runs: 4 s 42%, 5 s 56%, 6 or 7 s 2%, and once
// 9 s with only 5 workers busy at once. The bounds asserted (12 s, 4
// workers) leave room for that tail, which made the first version of this
// test (8 s, all 8 workers) fail about once in 100 runs; handing whole
// batches to single workers would take 32 s with 1.
func TestMapShareBatch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const workers = 8
		var g gauge
		p := pipeline.New(t.Context())
		start := time.Now()
		out := pipeline.Map(pipeline.FromSlice(p, ints(workers*4)), workers, func(_ context.Context, v int) (int, error) {
			defer g.enter()()
			time.Sleep(time.Second)
			return v, nil
		})
		require.NoError(t, pipeline.Drain(out))
		assert.LessOrEqual(t, time.Since(start), 12*time.Second, "32 one-second items on 8 workers")
		assert.GreaterOrEqual(t, g.peak.Load(), int64(workers/2), "peak concurrency")
	})
}

// TestOrderedMapWindow: one slow item holds back the output, and the
// others run ahead exactly as far as the reorder window allows.
func TestOrderedMapWindow(t *testing.T) {
	// The reorder window: 64 items per worker, at least 512. The
	// dispatcher numbers no item a window or more past the oldest one
	// not yet out (item 0), so exactly the window's items are started.
	for _, c := range []struct{ workers, window int }{{2, 512}, {16, 1024}} {
		t.Run(fmt.Sprintf("workers=%d", c.workers), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				n := 20_000
				if raceEnabled {
					n = 5_000
				}
				var calls atomic.Int64
				release := make(chan struct{})
				p := pipeline.New(t.Context())
				out := pipeline.OrderedMap(pipeline.FromSlice(p, ints(n)), c.workers, func(_ context.Context, v int) (int, error) {
					calls.Add(1)
					if v == 0 {
						<-release
					}
					return v, nil
				})
				var got []int
				finished := make(chan error)
				go func() {
					var err error
					got, err = pipeline.Collect(out)
					finished <- err
				}()
				synctest.Wait()
				assert.Equal(t, int64(c.window), calls.Load(), "calls while item 0 is stuck")
				close(release)
				require.NoError(t, <-finished)
				assert.Equal(t, ints(n), got)
			})
		})
	}
}

// TestBackpressure: a consumer that does not read stops the source after a
// bounded number of items, Buffer's room included.
func TestBackpressure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		p := pipeline.New(ctx)
		var generated atomic.Int64
		src := pipeline.Generate(p, func(_ context.Context, yield func(int) bool) error {
			for i := 0; ; i++ {
				generated.Add(1)
				if !yield(i) {
					return nil
				}
			}
		})
		_ = pipeline.All(pipeline.Buffer(pipeline.Map(src, 1, square), 1000, pipeline.Block)) // never ranged
		synctest.Wait()
		// The source's full batch, Map's input and output batches, the
		// buffer (1000 plus a batch), one batch offered downstream.
		assert.LessOrEqual(t, generated.Load(), int64(5*256+1000+1))
		cancel()
		assert.ErrorIs(t, p.Wait(), context.Canceled)
	})
}

func TestBatch(t *testing.T) {
	t.Run("size", func(t *testing.T) {
		p := pipeline.New(t.Context())
		got, err := pipeline.Collect(pipeline.Batch(pipeline.FromSlice(p, ints(25)), 10, 0))
		require.NoError(t, err)
		assert.Equal(t, [][]int{ints(10), ints(20)[10:], ints(25)[20:]}, got)
	})
	t.Run("maxWait", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			in := make(chan int)
			p := pipeline.New(t.Context())
			batches := pipeline.Batch(pipeline.FromChan(p, in), 4, time.Second)
			type arrival struct {
				batch []int
				at    time.Duration
			}
			start := time.Now()
			var got []arrival
			done := make(chan struct{})
			go func() {
				defer close(done)
				for b := range pipeline.All(batches) {
					got = append(got, arrival{b, time.Since(start)})
				}
			}()
			in <- 1
			time.Sleep(300 * time.Millisecond)
			in <- 2 // the wait counts from the batch's first item, not the last
			time.Sleep(time.Second)
			for i := range 5 {
				in <- 10 + i // a full batch goes at once; 14 opens the next
			}
			time.Sleep(100 * time.Millisecond)
			close(in) // flushes [14] before its wait is up
			<-done
			require.NoError(t, p.Wait())
			assert.Equal(t, []arrival{
				{[]int{1, 2}, time.Second},
				{[]int{10, 11, 12, 13}, 1300 * time.Millisecond},
				{[]int{14}, 1400 * time.Millisecond},
			}, got)
		})
	})
}

// TestStageErrors: an error from any stage's function fails the scope with
// that error, and a panic in it comes out of Wait as a *PanicError.
func TestStageErrors(t *testing.T) {
	cases := []struct {
		name  string
		build func(in *pipeline.Stream[int], check func(int) error) *pipeline.Stream[int]
	}{
		{"Map", func(in *pipeline.Stream[int], check func(int) error) *pipeline.Stream[int] {
			return pipeline.Map(in, 1, func(_ context.Context, v int) (int, error) { return v, check(v) })
		}},
		{"OrderedMap", func(in *pipeline.Stream[int], check func(int) error) *pipeline.Stream[int] {
			return pipeline.OrderedMap(in, 3, func(_ context.Context, v int) (int, error) { return v, check(v) })
		}},
		{"Filter", func(in *pipeline.Stream[int], check func(int) error) *pipeline.Stream[int] {
			return pipeline.Filter(in, 2, func(_ context.Context, v int) (bool, error) { return true, check(v) })
		}},
		{"FlatMap", func(in *pipeline.Stream[int], check func(int) error) *pipeline.Stream[int] {
			return pipeline.FlatMap(in, 2, func(_ context.Context, v int) ([]int, error) { return []int{v}, check(v) })
		}},
		{"Tap", func(in *pipeline.Stream[int], check func(int) error) *pipeline.Stream[int] {
			return pipeline.Tap(in, func(_ context.Context, v int) error { return check(v) })
		}},
	}
	for _, c := range cases {
		t.Run(c.name+"/error", func(t *testing.T) {
			p := pipeline.New(t.Context())
			out := c.build(pipeline.FromSlice(p, ints(1000)), func(v int) error {
				if v == 300 {
					return errBoom
				}
				return nil
			})
			_, err := pipeline.Collect(out)
			assert.ErrorIs(t, err, errBoom)
		})
		t.Run(c.name+"/panic", func(t *testing.T) {
			p := pipeline.New(t.Context())
			out := c.build(pipeline.FromSlice(p, ints(1000)), func(v int) error {
				if v == 300 {
					panic(errBoom)
				}
				return nil
			})
			var pe *compendium.PanicError
			func() {
				defer func() { pe, _ = recover().(*compendium.PanicError) }()
				_ = pipeline.Drain(out)
			}()
			require.NotNil(t, pe, "Drain did not re-panic")
			assert.ErrorIs(t, pe, errBoom)
		})
	}
}

// TestPanic: a panic in a stage cancels the scope and Wait re-panics with
// a *PanicError holding the value and the stack.
func TestPanic(t *testing.T) {
	p := pipeline.New(t.Context())
	out := pipeline.Map(pipeline.FromSlice(p, ints(1000)), 2, func(_ context.Context, v int) (int, error) {
		if v == 500 {
			panic(errBoom)
		}
		return v, nil
	})
	defer func() {
		r := recover()
		pe, ok := r.(*compendium.PanicError)
		require.True(t, ok, "recovered %T, want *compendium.PanicError", r)
		assert.Equal(t, errBoom, pe.Value)
		assert.ErrorIs(t, pe, errBoom)
		assert.Contains(t, string(pe.Stack), "TestPanic")
	}()
	_ = pipeline.Drain(out)
	t.Fatal("Drain returned after a stage panicked")
}

// TestSinkPanic: a panic in a sink's function propagates on the caller's
// goroutine and cancels the stages, which then exit (goleak).
func TestSinkPanic(t *testing.T) {
	p := pipeline.New(t.Context())
	out := pipeline.Map(pipeline.FromSlice(p, ints(10_000)), 2, square)
	assert.PanicsWithValue(t, "sink", func() {
		_ = pipeline.ForEach(out, func(context.Context, int) error { panic("sink") })
	})
	assert.NoError(t, p.Wait())
}

// TestGoexit: a stage function that calls runtime.Goexit (t.FailNow)
// cannot hang Wait; the scope fails.
func TestGoexit(t *testing.T) {
	p := pipeline.New(t.Context())
	out := pipeline.Map(pipeline.FromSlice(p, ints(1000)), 1, func(_ context.Context, v int) (int, error) {
		if v == 3 {
			runtime.Goexit()
		}
		return v, nil
	})
	_, err := pipeline.Collect(out)
	assert.ErrorIs(t, err, compendium.ErrGoexit)
}

// TestGenerateError: an error from a generator fails the scope.
func TestGenerateError(t *testing.T) {
	p := pipeline.New(t.Context())
	src := pipeline.Generate(p, func(_ context.Context, yield func(int) bool) error {
		yield(1)
		return errBoom
	})
	_, err := pipeline.Collect(src)
	assert.ErrorIs(t, err, errBoom)
}

// TestAllRangedTwice: an All iterator is single-use.
func TestAllRangedTwice(t *testing.T) {
	p := pipeline.New(t.Context())
	seq := pipeline.All(pipeline.FromSlice(p, ints(3)))
	for range seq {
	}
	require.NoError(t, p.Wait())
	assert.PanicsWithValue(t, "pipeline: All: the iterator must be ranged once, got a second range", func() {
		for range seq {
		}
	})
}

// gauge measures peak concurrency: defer g.enter()() in the function.
type gauge struct {
	mu   sync.Mutex
	now  int64
	peak atomic.Int64
}

func (g *gauge) enter() (leave func()) {
	g.mu.Lock()
	g.now++
	if g.now > g.peak.Load() {
		g.peak.Store(g.now)
	}
	g.mu.Unlock()
	return func() {
		g.mu.Lock()
		g.now--
		g.mu.Unlock()
	}
}

// TestGenerateHoldsNothingBack: an item yielded while the next stage is
// busy goes on as soon as that stage is free, even if the generator is
// blocked by then: it is not held until the generator's next yield. Here
// the generator yields 0 and 1 at once and then blocks for an hour; the
// stage takes a second per item, so 1 must come out at 2 s, not at 1 h.
func TestGenerateHoldsNothingBack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := pipeline.New(t.Context())
		src := pipeline.Generate(p, func(ctx context.Context, yield func(int) bool) error {
			if !yield(0) || !yield(1) {
				return nil
			}
			select {
			case <-time.After(time.Hour):
			case <-ctx.Done():
			}
			return nil
		})
		slow := pipeline.Map(src, 1, func(_ context.Context, v int) (int, error) {
			time.Sleep(time.Second)
			return v, nil
		})
		start := time.Now()
		var at []time.Duration
		for v := range pipeline.All(slow) {
			at = append(at, time.Since(start))
			if v == 1 {
				break
			}
		}
		require.NoError(t, p.Wait())
		assert.Equal(t, []time.Duration{time.Second, 2 * time.Second}, at)
	})
}

// TestGenerateFeedback: a generator that waits for the pipeline to finish
// with each item before it yields the next (paging through an API whose
// next page depends on the last) must not deadlock, whatever the stage is
// doing when the item is yielded. The stage acknowledges each item and
// then stays busy for a second, so every item after the first is yielded
// while it is busy.
func TestGenerateFeedback(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), time.Hour) // a deadlock ends here
		defer cancel()
		p := pipeline.New(ctx)
		ack := make(chan int)
		src := pipeline.FromSeq(p, func(yield func(int) bool) {
			for i := range 3 {
				if !yield(i) {
					return
				}
				select {
				case <-ack:
				case <-ctx.Done():
					return
				}
			}
		})
		acked := pipeline.Tap(src, func(ctx context.Context, v int) error {
			select {
			case ack <- v:
			case <-ctx.Done():
			}
			time.Sleep(time.Second)
			return nil
		})
		start := time.Now()
		got, err := pipeline.Collect(acked)
		require.NoError(t, err)
		assert.Equal(t, []int{0, 1, 2}, got)
		assert.Equal(t, 3*time.Second, time.Since(start))
	})
}

// TestCancelIdleFromChan: with FromChan over a channel nobody closes (or a
// nil one), every kind of stage waits in its receive; cancelling the
// parent context reaches each of them through the source (which selects on
// the cancellation) and the closes that follow, at once: Wait returns with
// no time passed, and the bubble ends with no goroutine left.
func TestCancelIdleFromChan(t *testing.T) {
	for _, c := range stageCases() {
		for _, nilChan := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/nil=%v", c.name, nilChan), func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					ctx, cancel := context.WithCancel(t.Context())
					p := pipeline.New(ctx)
					var ch chan int
					if !nilChan {
						ch = make(chan int)
					}
					out := c.build(c.build(pipeline.FromChan(p, ch)))
					got := make(chan int, 100)
					var err error
					finished := make(chan struct{})
					go func() {
						defer close(finished)
						err = pipeline.ForEach(out, func(_ context.Context, v int) error {
							got <- v
							return nil
						})
					}()
					if ch != nil {
						ch <- 2 // one item through, then the channel stays open and idle
					}
					synctest.Wait()
					select {
					case <-finished:
						t.Fatal("the pipeline ended while its source channel was open")
					default:
					}
					start := time.Now()
					cancel()
					<-finished
					assert.ErrorIs(t, err, context.Canceled)
					assert.Zero(t, time.Since(start), "time from cancel to Wait's return")
					if ch != nil && c.name != "Batch+Unbatch" { // Batch holds its open batch until maxWait
						assert.Len(t, got, len(c.want(c.want([]int{2}))), "items through before the cancel")
					}
				})
			})
		}
	}
}

// TestElementTypes runs element types whose batches are built differently
// (zero-size, holding pointers, large enough to cap the batch below 256)
// through recycled batches, one worker and several, and checks every item.
func TestElementTypes(t *testing.T) {
	const n = 5000
	t.Run("zero-size", func(t *testing.T) {
		p := pipeline.New(t.Context())
		out := pipeline.Map(pipeline.FromSlice(p, make([]struct{}, n)), 3, func(_ context.Context, v struct{}) (struct{}, error) { return v, nil })
		got, err := pipeline.Collect(pipeline.Map(out, 1, func(_ context.Context, v struct{}) (struct{}, error) { return v, nil }))
		require.NoError(t, err)
		assert.Len(t, got, n)
	})
	t.Run("strings", func(t *testing.T) {
		p := pipeline.New(t.Context())
		out := pipeline.Map(pipeline.FromSlice(p, ints(n)), 3, func(_ context.Context, v int) (string, error) { return fmt.Sprint(v), nil })
		got, err := pipeline.Collect(pipeline.Map(out, 1, func(_ context.Context, s string) (int, error) {
			var v int
			_, err := fmt.Sscan(s, &v)
			return v, err
		}))
		require.NoError(t, err)
		slices.Sort(got)
		assert.Equal(t, ints(n), got)
	})
	t.Run("large", func(t *testing.T) {
		type page [16 << 10]byte // 4 items a batch
		p := pipeline.New(t.Context())
		out := pipeline.Map(pipeline.FromSlice(p, ints(n/10)), 2, func(_ context.Context, v int) (page, error) {
			var pg page
			pg[0], pg[len(pg)-1] = byte(v), byte(v>>8)
			return pg, nil
		})
		got, err := pipeline.Collect(pipeline.Map(out, 1, func(_ context.Context, pg page) (int, error) {
			return int(pg[0]) | int(pg[len(pg)-1])<<8, nil
		}))
		require.NoError(t, err)
		slices.Sort(got)
		assert.Equal(t, ints(n/10), got)
	})
}

// TestWaitTwice: Wait may be called again (after a sink that called it, or
// concurrently) and returns the same result each time, whether the scope
// ran to completion, failed, or had its parent cancelled.
func TestWaitTwice(t *testing.T) {
	cases := []struct {
		name string
		run  func(t *testing.T) (*pipeline.Scope, error)
		want error
	}{
		{"completed", func(t *testing.T) (*pipeline.Scope, error) {
			p := pipeline.New(t.Context())
			_, err := pipeline.Collect(pipeline.FromSlice(p, ints(10)))
			return p, err
		}, nil},
		{"failed", func(t *testing.T) (*pipeline.Scope, error) {
			p := pipeline.New(t.Context())
			err := pipeline.ForEach(pipeline.FromSlice(p, ints(10)), func(context.Context, int) error { return errBoom })
			return p, err
		}, errBoom},
		{"parent cancelled", func(t *testing.T) (*pipeline.Scope, error) {
			ctx, cancel := context.WithCancel(t.Context())
			cancel()
			p := pipeline.New(ctx)
			err := pipeline.Drain(pipeline.FromSlice(p, ints(10)))
			return p, err
		}, context.Canceled},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				p, err := c.run(t)
				assert.ErrorIs(t, err, c.want)
				errs := make(chan error, 2)
				for range 2 {
					go func() { errs <- p.Wait() }()
				}
				synctest.Wait()
				for range 2 {
					select {
					case err := <-errs:
						assert.Equal(t, c.want == nil, err == nil, "Wait() = %v; want %v", err, c.want)
						assert.ErrorIs(t, err, c.want)
					default:
						t.Fatal("a second Wait blocked")
					}
				}
			})
		})
	}
}

// TestGenerateRequestResponse: a FromSeq source fed one request at a time,
// each sent only once the previous answer came out of the pipeline, on
// the real scheduler, where the consumer's and the generator's steps
// interleave in every way. Before consumers could take a held batch, this
// hung (a deadlock: go test's timeout reports it) within a few thousand
// round trips.
func TestGenerateRequestResponse(t *testing.T) {
	double := func(_ context.Context, v int) (int, error) { return 2 * v, nil }
	cases := []struct {
		name  string
		build func(in *pipeline.Stream[int]) *pipeline.Stream[int]
	}{
		{"Map", func(in *pipeline.Stream[int]) *pipeline.Stream[int] { return pipeline.Map(in, 1, double) }},
		{"Map/workers=2", func(in *pipeline.Stream[int]) *pipeline.Stream[int] { return pipeline.Map(in, 2, double) }},
		{"OrderedMap", func(in *pipeline.Stream[int]) *pipeline.Stream[int] { return pipeline.OrderedMap(in, 2, double) }},
		{"Batch+Unbatch", func(in *pipeline.Stream[int]) *pipeline.Stream[int] {
			return pipeline.Map(pipeline.Unbatch(pipeline.Batch(in, 1, 0)), 1, double)
		}},
		{"Buffer", func(in *pipeline.Stream[int]) *pipeline.Stream[int] {
			return pipeline.Map(pipeline.Buffer(in, 4, pipeline.Block), 1, double)
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			requests := make(chan int)
			p := pipeline.New(t.Context())
			src := pipeline.FromSeq(p, func(yield func(int) bool) {
				for v := range requests {
					if !yield(v) {
						return
					}
				}
			})
			answers := make(chan int)
			go func() {
				defer close(answers)
				for v := range pipeline.All(c.build(src)) {
					answers <- v
				}
			}()
			for i := range 2000 {
				requests <- i
				require.Equal(t, 2*i, <-answers)
			}
			close(requests)
			for range answers {
			}
			require.NoError(t, p.Wait())
		})
	}
}
