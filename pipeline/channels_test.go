package pipeline_test

// The tests in this file hold the stages to what plain channels and
// goroutines would do with the same items: each was written against a
// case where the batching between stages broke that promise.

import (
	"context"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/go-compendium/compendium/pipeline"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// spin burns about n iterations of CPU: work that keeps a worker busy
// without blocking (so the scheduler has no reason to run anything else).
func spin(n int) int {
	x := 0
	for i := range n {
		x += i ^ x>>3
	}
	return x
}

// TestParentCancelBoundsCalls: once the parent context's cancel has
// returned, each worker of every kind of stage starts at most one more
// call (one that checked just before), however busy the workers are. The
// workers here are busy on CPU, which is when a goroutine that learns of
// the cancellation late (a context.AfterFunc) runs late.
func TestParentCancelBoundsCalls(t *testing.T) {
	type counted func(ctx context.Context, v int) int // the stage's work, counting late calls
	stages := []struct {
		name  string
		build func(in *pipeline.Stream[int], workers int, f counted) *pipeline.Stream[int]
	}{
		{"Map", func(in *pipeline.Stream[int], w int, f counted) *pipeline.Stream[int] {
			return pipeline.Map(in, w, func(ctx context.Context, v int) (int, error) { return f(ctx, v), nil })
		}},
		{"OrderedMap", func(in *pipeline.Stream[int], w int, f counted) *pipeline.Stream[int] {
			return pipeline.OrderedMap(in, w, func(ctx context.Context, v int) (int, error) { return f(ctx, v), nil })
		}},
		{"Filter", func(in *pipeline.Stream[int], w int, f counted) *pipeline.Stream[int] {
			return pipeline.Filter(in, w, func(ctx context.Context, v int) (bool, error) { return f(ctx, v) >= 0, nil })
		}},
		{"OrderedFilter", func(in *pipeline.Stream[int], w int, f counted) *pipeline.Stream[int] {
			return pipeline.OrderedFilter(in, w, func(ctx context.Context, v int) (bool, error) { return f(ctx, v) >= 0, nil })
		}},
		{"FlatMap", func(in *pipeline.Stream[int], w int, f counted) *pipeline.Stream[int] {
			return pipeline.FlatMap(in, w, func(ctx context.Context, v int) ([]int, error) { return []int{f(ctx, v)}, nil })
		}},
		{"OrderedFlatMap", func(in *pipeline.Stream[int], w int, f counted) *pipeline.Stream[int] {
			return pipeline.OrderedFlatMap(in, w, func(ctx context.Context, v int) ([]int, error) { return []int{f(ctx, v)}, nil })
		}},
		{"Tap", func(in *pipeline.Stream[int], _ int, f counted) *pipeline.Stream[int] {
			return pipeline.Tap(in, func(ctx context.Context, v int) error { f(ctx, v); return nil })
		}},
	}
	for _, st := range stages {
		for _, workers := range []int{1, 4} {
			if st.name == "Tap" && workers > 1 {
				continue
			}
			t.Run(fmt.Sprintf("%s/workers=%d", st.name, workers), func(t *testing.T) {
				for range 3 {
					ctx, cancel := context.WithCancel(t.Context())
					p := pipeline.New(ctx)
					src := pipeline.Generate(p, func(_ context.Context, yield func(int) bool) error {
						for i := 0; yield(i); i++ {
						}
						return nil
					})
					var calls, late atomic.Int64
					out := st.build(src, workers, func(ctx context.Context, v int) int {
						if ctx.Err() != nil {
							late.Add(1)
						}
						if calls.Add(1) == 2000 {
							cancel()
						}
						return spin(2000) + v
					})
					assert.ErrorIs(t, pipeline.Drain(out), context.Canceled)
					// The worker that cancelled checks before its next item;
					// every other one may have checked just before.
					require.LessOrEqual(t, late.Load(), int64(workers), "calls started after cancel returned")
				}
			})
		}
	}
}

// TestWorkersMeetAtBarrier: n items on n workers, where each item waits
// until all n have started (a barrier): with channels every worker takes
// one item and all meet. No worker may sit idle, or exit, while another
// holds an item it has not started.
func TestWorkersMeetAtBarrier(t *testing.T) {
	// The rounds: the interleaving that stranded an item (a worker
	// receiving the last batch as the input closed) showed in about 1 of
	// 2000 rounds.
	for _, n := range []int{2, 3, 8} {
		t.Run(fmt.Sprintf("n=%d", n), func(t *testing.T) {
			rounds := 1000
			if n == 8 {
				rounds = 200
			}
			if raceEnabled {
				rounds /= 4
			}
			for range rounds {
				synctest.Test(t, func(t *testing.T) {
					ctx, cancel := context.WithTimeout(t.Context(), time.Hour) // a deadlock ends here
					defer cancel()
					p := pipeline.New(ctx)
					var arrived atomic.Int64
					all := make(chan struct{})
					out := pipeline.Map(pipeline.FromSlice(p, ints(n)), n, func(ctx context.Context, v int) (int, error) {
						if arrived.Add(1) == int64(n) {
							close(all)
						}
						select {
						case <-all:
							return v, nil
						case <-ctx.Done():
							return 0, fmt.Errorf("item %d at the barrier: %w", v, context.Cause(ctx))
						}
					})
					got, err := pipeline.Collect(out)
					require.NoError(t, err)
					slices.Sort(got)
					require.Equal(t, ints(n), got)
				})
			}
		})
	}
}

// TestStageWaitsForAcknowledgement: a stage function that waits until the
// sink has received the previous item (an acknowledgement window of one)
// gets every item through, as with channels: an item produced while the
// sink was busy must reach the sink once it is free, not wait in the
// stage for its next item.
func TestStageWaitsForAcknowledgement(t *testing.T) {
	const n = 8
	for _, workers := range []int{1, 2} {
		t.Run(fmt.Sprintf("workers=%d", workers), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx, cancel := context.WithTimeout(t.Context(), time.Hour) // a deadlock ends here
				defer cancel()
				acked := make([]chan struct{}, n)
				for i := range acked {
					acked[i] = make(chan struct{})
				}
				p := pipeline.New(ctx)
				out := pipeline.Map(pipeline.FromSlice(p, ints(n)), workers, func(ctx context.Context, v int) (int, error) {
					if v >= workers {
						select {
						case <-acked[v-workers]:
						case <-ctx.Done():
							return 0, context.Cause(ctx)
						}
					}
					return v, nil
				})
				var got []int
				err := pipeline.ForEach(out, func(_ context.Context, v int) error {
					got = append(got, v)
					close(acked[v])
					time.Sleep(time.Second) // busy: the next item comes while the sink works
					return nil
				})
				require.NoError(t, err)
				slices.Sort(got)
				assert.Equal(t, ints(n), got)
			})
		})
	}
}

// TestFlatMapKeepsCallsTogether: with several workers, the items of one
// call of FlatMap's function come out together and in order, even when a
// call returns more items than one hand-over between stages carries.
func TestFlatMapKeepsCallsTogether(t *testing.T) {
	const calls, per = 100, 300
	p := pipeline.New(t.Context())
	out := pipeline.FlatMap(pipeline.FromSlice(p, ints(calls)), 4, func(_ context.Context, v int) ([]int, error) {
		us := make([]int, per)
		for i := range us {
			us[i] = v*per + i
		}
		return us, nil
	})
	got, err := pipeline.Collect(out)
	require.NoError(t, err)
	require.Len(t, got, calls*per)
	for i := 0; i < len(got); i += per {
		call := got[i] / per
		for j, u := range got[i : i+per] {
			require.Equal(t, call*per+j, u, "item %d: the items of call %d are not together and in order", i+j, call)
		}
	}
}

// TestResultsBeforeFailureDelivered: with one worker per stage, the results
// computed before the failing item reach the sink, in order, as they would
// through channels.
func TestResultsBeforeFailureDelivered(t *testing.T) {
	sinks := []struct {
		name string
		run  func(out *pipeline.Stream[int]) ([]int, error)
	}{
		{"Collect", pipeline.Collect[int]},
		{"ForEach", func(out *pipeline.Stream[int]) ([]int, error) {
			var got []int
			err := pipeline.ForEach(out, func(_ context.Context, v int) error {
				got = append(got, v)
				return nil
			})
			return got, err
		}},
		{"All", func(out *pipeline.Stream[int]) ([]int, error) {
			var got []int
			for v := range pipeline.All(out) {
				got = append(got, v)
			}
			return got, nil
		}},
	}
	for _, sink := range sinks {
		t.Run(sink.name, func(t *testing.T) {
			for range 50 {
				p := pipeline.New(t.Context())
				out := pipeline.Map(pipeline.FromSlice(p, ints(20)), 1, func(_ context.Context, v int) (int, error) {
					if v == 15 {
						return 0, errBoom
					}
					return v, nil
				})
				got, err := sink.run(out)
				if err == nil {
					err = p.Wait()
				}
				require.ErrorIs(t, err, errBoom)
				require.Equal(t, ints(15), got)
			}
		})
	}
}

// TestBatchMemoryFollowsItems: a batch holds memory for the items it has,
// not for the size limit: 200 items through a Batch of size 65536 make
// batches of about 100 items' capacity each, not 65536.
func TestBatchMemoryFollowsItems(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		in := make(chan int)
		p := pipeline.New(t.Context())
		batches := pipeline.Batch(pipeline.FromChan(p, in), 1<<16, time.Millisecond)
		go func() {
			defer close(in)
			for i := range 200 {
				in <- i
				if i == 99 {
					time.Sleep(time.Second) // the first 100 go out on maxWait
				}
			}
		}()
		got, err := pipeline.Collect(batches)
		require.NoError(t, err)
		total := 0
		for _, b := range got {
			total += len(b)
			// append's growth, rounded up to the allocator's size
			// classes: a little over twice the items at worst.
			assert.LessOrEqual(t, cap(b), 3*len(b), "a batch of %d items holds room for %d", len(b), cap(b))
		}
		assert.Equal(t, 200, total)
	})
	// A batch that opens part-way through an input batch: 200 items that
	// arrive together (the items of one FlatMap call stay together) cut
	// into batches of 64, the last holding 8 and room for about as many.
	synctest.Test(t, func(t *testing.T) {
		p := pipeline.New(t.Context())
		together := pipeline.FlatMap(pipeline.FromSlice(p, ints(1)), 1, func(context.Context, int) ([]int, error) {
			return ints(200), nil
		})
		got, err := pipeline.Collect(pipeline.Batch(together, 64, 0))
		require.NoError(t, err)
		var lens []int
		for _, b := range got {
			lens = append(lens, len(b))
			assert.LessOrEqual(t, cap(b), 3*len(b), "a batch of %d items holds room for %d", len(b), cap(b))
		}
		assert.Equal(t, []int{64, 64, 64, 8}, lens)
	})
}

// TestBatchMaxWaitEveryBatch: maxWait cuts every partial batch, not only
// the first: items that trickle in come out in groups, each at most
// maxWait after its first item.
func TestBatchMaxWaitEveryBatch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		in := make(chan int)
		p := pipeline.New(t.Context())
		batches := pipeline.Batch(pipeline.FromChan(p, in), 100, time.Second)
		start := time.Now()
		type arrival struct {
			batch []int
			at    time.Duration
		}
		var got []arrival
		done := make(chan error)
		go func() {
			err := pipeline.ForEach(batches, func(_ context.Context, b []int) error {
				got = append(got, arrival{b, time.Since(start)})
				return nil
			})
			done <- err
		}()
		for i := range 3 {
			in <- 2 * i
			in <- 2*i + 1
			time.Sleep(3 * time.Second) // each pair waits out maxWait
		}
		close(in)
		require.NoError(t, <-done)
		assert.Equal(t, []arrival{
			{[]int{0, 1}, time.Second},
			{[]int{2, 3}, 4 * time.Second},
			{[]int{4, 5}, 7 * time.Second},
		}, got)
	})
}
