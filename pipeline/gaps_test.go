package pipeline_test

import (
	"context"
	"fmt"
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

// TestNothingLostSilently: a pipeline cancelled by its parent at any point
// either delivers every item or says it was cancelled: Collect never
// returns a short result with a nil error. Each source is cancelled at
// every point of a small input, so that the cancel also lands while a
// source holds its last items.
func TestNothingLostSilently(t *testing.T) {
	const n = 40
	sources := []struct {
		name string
		make func(p *pipeline.Scope) *pipeline.Stream[int]
	}{
		{"FromSlice", func(p *pipeline.Scope) *pipeline.Stream[int] { return pipeline.FromSlice(p, ints(n)) }},
		{"FromSeq", func(p *pipeline.Scope) *pipeline.Stream[int] { return pipeline.FromSeq(p, slices.Values(ints(n))) }},
		{"FromChan", func(p *pipeline.Scope) *pipeline.Stream[int] {
			ch := make(chan int, n)
			for i := range n {
				ch <- i
			}
			close(ch)
			return pipeline.FromChan(p, ch)
		}},
	}
	for _, src := range sources {
		for _, workers := range []int{1, 3} {
			t.Run(fmt.Sprintf("%s/workers=%d", src.name, workers), func(t *testing.T) {
				for at := range n + 1 {
					synctest.Test(t, func(t *testing.T) {
						ctx, cancel := context.WithCancel(t.Context())
						defer cancel()
						p := pipeline.New(ctx)
						var seen atomic.Int64
						counted := pipeline.Tap(src.make(p), func(context.Context, int) error {
							if seen.Add(1) == int64(at) {
								cancel()
							}
							return nil
						})
						got, err := pipeline.Collect(pipeline.Map(counted, workers, square))
						if err == nil {
							slices.Sort(got)
							want := make([]int, n)
							for i := range want {
								want[i] = i * i
							}
							require.Equal(t, want, got, "cancelled at %d: a nil error with items missing", at)
						} else {
							require.ErrorIs(t, err, context.Canceled)
						}
					})
				}
			})
		}
	}
}

// TestStageAddedToCanceledScope: a source and stages added to a scope
// whose parent is already cancelled run nothing, their sink returns the
// parent's cause at once, and no goroutine is left (goleak); after a
// failure, what is added returns the failure.
func TestStageAddedToCanceledScope(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancelCause(t.Context())
		p := pipeline.New(ctx)
		cancel(errBoom)
		var calls atomic.Int64
		out := pipeline.Map(pipeline.FromSlice(p, ints(100)), 2, func(_ context.Context, v int) (int, error) {
			calls.Add(1)
			return v, nil
		})
		got, err := pipeline.Collect(pipeline.Buffer(pipeline.OrderedMap(out, 2, square), 5, pipeline.Block))
		assert.ErrorIs(t, err, errBoom)
		assert.Empty(t, got)
		assert.Zero(t, calls.Load())
	})
	synctest.Test(t, func(t *testing.T) {
		p := pipeline.New(t.Context())
		_, err := pipeline.Collect(pipeline.Map(pipeline.FromSlice(p, ints(10)), 1, func(context.Context, int) (int, error) {
			return 0, errBoom
		}))
		require.ErrorIs(t, err, errBoom)
		got, err := pipeline.Collect(pipeline.Map(pipeline.FromSlice(p, ints(10)), 1, square))
		assert.ErrorIs(t, err, errBoom, "a pipeline added to a failed scope reports the failure")
		assert.Empty(t, got)
	})
	// Each source alone, or before a one-worker stage (which does not
	// look at the scope once its input has ended): the source itself
	// must say it produced nothing because of the cancel, not because
	// its input was empty.
	sources := map[string]func(p *pipeline.Scope) *pipeline.Stream[int]{
		"FromSlice": func(p *pipeline.Scope) *pipeline.Stream[int] { return pipeline.FromSlice(p, ints(10)) },
		"FromSeq":   func(p *pipeline.Scope) *pipeline.Stream[int] { return pipeline.FromSeq(p, slices.Values(ints(10))) },
		"FromChan":  func(p *pipeline.Scope) *pipeline.Stream[int] { return pipeline.FromChan(p, feed(p, 10)) },
		"FromChan/pumped": func(p *pipeline.Scope) *pipeline.Stream[int] {
			return pipeline.Buffer(pipeline.FromChan(p, feed(p, 10)), 5, pipeline.Block)
		},
	}
	for name, src := range sources {
		for _, stage := range []string{"alone", "Map"} {
			t.Run(name+"/"+stage, func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					ctx, cancel := context.WithCancelCause(t.Context())
					p := pipeline.New(ctx)
					cancel(errBoom)
					in := src(p)
					if stage == "Map" {
						in = pipeline.Map(in, 1, square)
					}
					got, err := pipeline.Collect(in)
					assert.ErrorIs(t, err, errBoom)
					assert.Empty(t, got)
				})
			})
		}
	}
}

// TestCancelAtEveryStageSaysSo: whatever kind of stage stands before the
// sink, a parent's cancel at any point either lets every item through or
// shows in the error: no stage ends its stream as if its input had ended.
func TestCancelAtEveryStageSaysSo(t *testing.T) {
	const n = 20
	for _, c := range stageCases() {
		t.Run(c.name, func(t *testing.T) {
			for at := range n + 1 {
				synctest.Test(t, func(t *testing.T) {
					ctx, cancel := context.WithCancel(t.Context())
					defer cancel()
					p := pipeline.New(ctx)
					var seen atomic.Int64
					counted := pipeline.Tap(pipeline.FromSlice(p, ints(n)), func(context.Context, int) error {
						if seen.Add(1) == int64(at) {
							cancel()
						}
						return nil
					})
					got, err := pipeline.Collect(c.build(counted))
					if err == nil {
						want := c.want(ints(n))
						if !c.ordered {
							slices.Sort(got)
							slices.Sort(want)
						}
						require.Equal(t, want, got, "cancelled at %d: a nil error with items missing", at)
					} else {
						require.ErrorIs(t, err, context.Canceled)
					}
				})
			}
		})
	}
}

// TestCloseCutsEveryStage: whatever kind of stage stands before the sink,
// a sink reading a stream that Close cut short returns an error matching
// compendium.ErrClosed, while Close itself returns nil.
func TestCloseCutsEveryStage(t *testing.T) {
	for _, c := range stageCases() {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				p := pipeline.New(t.Context())
				reading := make(chan struct{})
				var once sync.Once
				done := make(chan error)
				go func() {
					done <- pipeline.ForEach(c.build(endless(p)), func(context.Context, int) error {
						once.Do(func() { close(reading) })
						return nil
					})
				}()
				<-reading
				assert.NoError(t, p.Close())
				assert.ErrorIs(t, <-done, compendium.ErrClosed)
			})
		})
	}
}

// TestWaitEndsScope: once Wait has returned, the scope's context is done
// (released, not left registered with its parent), with a cause matching
// compendium.ErrClosed, and a pipeline added afterwards says so.
func TestWaitEndsScope(t *testing.T) {
	// With a parent that is never cancelled, the stages added afterwards
	// know from the scope's own flag, not from the context.
	parents := map[string]func(t *testing.T) context.Context{
		"parent=cancelable": func(t *testing.T) context.Context { return t.Context() },
		"parent=Background": func(*testing.T) context.Context { return context.Background() },
	}
	for name, parent := range parents {
		t.Run(name, func(t *testing.T) {
			p := pipeline.New(parent(t))
			_, err := pipeline.Collect(pipeline.FromSlice(p, ints(3)))
			require.NoError(t, err)
			assert.Error(t, p.Context().Err(), "the context is done once Wait returned")
			assert.ErrorIs(t, context.Cause(p.Context()), compendium.ErrClosed)
			got, err := pipeline.Collect(pipeline.FromSlice(p, ints(3)))
			assert.ErrorIs(t, err, compendium.ErrClosed, "a pipeline added after Wait")
			assert.Empty(t, got)
		})
	}
}

// TestSourceCancelledSaysSo: a source stopped by a parent's cancel while
// its consumer was busy reports it, even when every stage after it gets
// to finish what it had: the sink never sees a short stream with a nil
// error.
func TestSourceCancelledSaysSo(t *testing.T) {
	const n = 10_000
	sources := []struct {
		name string
		make func(p *pipeline.Scope) *pipeline.Stream[int]
	}{
		{"FromSlice", func(p *pipeline.Scope) *pipeline.Stream[int] { return pipeline.FromSlice(p, ints(n)) }},
		{"FromSeq", func(p *pipeline.Scope) *pipeline.Stream[int] { return pipeline.FromSeq(p, slices.Values(ints(n))) }},
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
		{"FromChan", func(p *pipeline.Scope) *pipeline.Stream[int] { return pipeline.FromChan(p, feed(p, n)) }},
		{"FromChan/pumped", func(p *pipeline.Scope) *pipeline.Stream[int] {
			return pipeline.Buffer(pipeline.FromChan(p, feed(p, n)), 10, pipeline.Block)
		}},
	}
	for _, src := range sources {
		t.Run(src.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx, cancel := context.WithCancel(t.Context())
				defer cancel()
				p := pipeline.New(ctx)
				seen := 0
				err := pipeline.ForEach(src.make(p), func(context.Context, int) error {
					if seen++; seen == 1 {
						synctest.Wait() // the source is blocked: its batch is full
						cancel()
						synctest.Wait() // the source has stopped
					}
					return nil
				})
				require.ErrorIs(t, err, context.Canceled, "the sink saw %d of %d items", seen, n)
				assert.Less(t, seen, n)
			})
		})
	}
}

// TestCloseCutsEverySource: a sink reading a source directly, whatever its
// kind, returns an error matching compendium.ErrClosed when Close cuts
// the stream short (FromChan read by the sink itself, or pumped into
// batches for a stage with several workers).
func TestCloseCutsEverySource(t *testing.T) {
	feedForever := func(p *pipeline.Scope) <-chan int {
		ch := make(chan int)
		go func() {
			for i := 0; ; i++ {
				select {
				case ch <- i:
				case <-p.Context().Done():
					return
				}
			}
		}()
		return ch
	}
	sources := []struct {
		name string
		make func(p *pipeline.Scope) *pipeline.Stream[int]
	}{
		{"FromSlice", func(p *pipeline.Scope) *pipeline.Stream[int] { return pipeline.FromSlice(p, ints(1_000_000)) }},
		{"FromSeq", func(p *pipeline.Scope) *pipeline.Stream[int] {
			return pipeline.FromSeq(p, func(yield func(int) bool) {
				for i := 0; yield(i); i++ {
				}
			})
		}},
		{"Generate", endless},
		{"FromChan", func(p *pipeline.Scope) *pipeline.Stream[int] { return pipeline.FromChan(p, feedForever(p)) }},
		{"FromChan/pumped", func(p *pipeline.Scope) *pipeline.Stream[int] {
			return pipeline.Map(pipeline.FromChan(p, feedForever(p)), 2, square)
		}},
	}
	for _, src := range sources {
		t.Run(src.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				p := pipeline.New(t.Context())
				reading := make(chan struct{})
				var once sync.Once
				done := make(chan error)
				go func() {
					done <- pipeline.ForEach(src.make(p), func(context.Context, int) error {
						once.Do(func() { close(reading) })
						return nil
					})
				}()
				<-reading
				assert.NoError(t, p.Close())
				assert.ErrorIs(t, <-done, compendium.ErrClosed)
			})
		})
	}
}

// feed returns a channel that carries 0 to n-1 and then closes, or stops
// when p is cancelled.
func feed(p *pipeline.Scope, n int) <-chan int {
	ch := make(chan int)
	go func() {
		defer close(ch)
		for i := range n {
			select {
			case ch <- i:
			case <-p.Context().Done():
				return
			}
		}
	}()
	return ch
}

// TestBatchCancelledWhileBlockedSaysSo: a Batch stage cancelled while it
// waits to hand a batch to a busy sink, with input of its own left, says
// so, even when the source before it had already finished: the sink does
// not see a short stream with a nil error.
func TestBatchCancelledWhileBlockedSaysSo(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const n = 300 // more than a batch of batches (256) can hold, less than two
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		p := pipeline.New(ctx)
		batches := pipeline.Batch(pipeline.FromSlice(p, ints(n)), 1, 0)
		seen := 0
		err := pipeline.ForEach(batches, func(context.Context, []int) error {
			if seen++; seen == 1 {
				synctest.Wait() // the source is done; Batch waits with items left
				cancel()
				synctest.Wait()
			}
			return nil
		})
		assertCutSaysSo(t, err, seen, n)
	})
}

// TestBatchCancelledWhileBlockedOnMaxWaitSaysSo: the same for a batch cut
// by maxWait: a Batch stage cancelled while it waits to hand such a batch
// to a busy sink, with an item of its input still unread and its source
// gone, says so.
func TestBatchCancelledWhileBlockedOnMaxWaitSaysSo(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// One item per batch, each cut by maxWait: the first goes to the
		// sink, which holds on to it, the next 256 fill Batch's output,
		// and one more stays in the input.
		const n = 1 + 256 + 1
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		p := pipeline.New(ctx)
		in := make(chan int)
		batches := pipeline.Batch(pipeline.FromChan(p, in), 2, time.Second)
		hold := make(chan struct{})
		seen := 0
		done := make(chan error)
		go func() {
			done <- pipeline.ForEach(batches, func(_ context.Context, b []int) error {
				if seen == 0 {
					<-hold
				}
				seen += len(b)
				return nil
			})
		}()
		for i := range n - 1 {
			in <- i
			time.Sleep(2 * time.Second) // maxWait cuts a batch of one
		}
		in <- n - 1
		close(in)
		synctest.Wait() // the source is done; Batch waits to hand on its 257th batch
		cancel()
		synctest.Wait()
		close(hold)
		err := <-done
		assertCutSaysSo(t, err, seen, n)
	})
}

// TestFlatMapCancelledWhileBlockedSaysSo: a FlatMap cancelled while it
// waits to hand on its output to a busy sink, in the middle of its
// input's last batch and with its source gone, says so: the calls it did
// not make are not lost silently.
func TestFlatMapCancelledWhileBlockedSaysSo(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const n = 200 // items 1 to 199 reach FlatMap in one batch; their 398 results fill its output
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		p := pipeline.New(ctx)
		yielded := make(chan struct{})
		src := pipeline.Generate(p, func(_ context.Context, yield func(int) bool) error {
			for i := range n {
				if !yield(i) {
					return nil
				}
			}
			close(yielded)
			return nil
		})
		twice := pipeline.FlatMap(src, 1, func(_ context.Context, v int) ([]int, error) {
			if v == 0 {
				<-yielded // the rest wait on the source's shelf meanwhile
			}
			return []int{v, -v}, nil
		})
		seen := 0
		err := pipeline.ForEach(twice, func(context.Context, int) error {
			if seen++; seen == 1 {
				synctest.Wait() // the source is done; FlatMap waits with calls left
				cancel()
				synctest.Wait()
			}
			return nil
		})
		assertCutSaysSo(t, err, seen, 2*n)
	})
}

// TestGenerateSeesParentCancel: with no stage to see a parent's cancel
// first, a generator's yield still returns false within 64 yields of it;
// after a stage saw it, or after a failure, at the next yield.
func TestGenerateSeesParentCancel(t *testing.T) {
	for _, withStage := range []bool{false, true} {
		t.Run(fmt.Sprintf("stage=%v", withStage), func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			p := pipeline.New(ctx)
			after := 0
			src := pipeline.Generate(p, func(_ context.Context, yield func(int) bool) error {
				for i := 0; ; i++ {
					if i == 1000 {
						cancel()
					}
					if !yield(i) {
						return nil
					}
					if i >= 1000 {
						after++
					}
				}
			})
			if withStage {
				src = pipeline.Map(src, 1, square)
			}
			assert.ErrorIs(t, pipeline.Drain(src), context.Canceled)
			assert.Less(t, after, 64, "yields that returned true after the parent's cancel")
		})
	}
}

// TestPumpCancelledSaysSo: FromChan read through a Buffer (which starts
// FromChan's own goroutine) and cancelled by its parent while the channel
// is still open ends with the cancellation, not a nil error.
func TestPumpCancelledSaysSo(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		ch, stop := make(chan int), make(chan struct{})
		defer close(stop)
		go func() {
			select {
			case ch <- 0: // one item, then the channel stays open
			case <-stop:
			}
			<-stop
		}()
		p := pipeline.New(ctx)
		err := pipeline.ForEach(pipeline.Buffer(pipeline.FromChan(p, ch), 10, pipeline.Block), func(context.Context, int) error {
			cancel()
			return nil
		})
		require.ErrorIs(t, err, context.Canceled)
	})
}

// TestCloseStopsStagesWithoutParentCancel: Map's promise that once the
// scope's context is done each worker starts at most one more call of f
// holds for Close too when the parent can never be cancelled
// (context.Background), where the scope's own cancels are the only ones.
// The workers have items waiting when Close is called, and the source
// stays blocked until the test has counted, so that no stage exiting on
// the cancellation can be what stops the workers.
func TestCloseStopsStagesWithoutParentCancel(t *testing.T) {
	for _, workers := range []int{1, 3} {
		t.Run(fmt.Sprintf("workers=%d", workers), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				p := pipeline.New(context.Background())
				release := make(chan struct{})
				src := pipeline.Generate(p, func(_ context.Context, yield func(int) bool) error {
					for i := range 100 {
						if !yield(i) {
							return nil
						}
					}
					<-release // a wait that ignores ctx: Close waits for it
					return nil
				})
				var late atomic.Int64
				// Nobody reads the output: Close needs no reader.
				pipeline.Map(src, workers, func(ctx context.Context, v int) (int, error) {
					if ctx.Err() != nil {
						late.Add(1)
					}
					<-ctx.Done() // busy until Close
					return v, nil
				})
				synctest.Wait()
				closed := make(chan error)
				go func() { closed <- p.Close() }()
				synctest.Wait() // the workers are gone; Close waits for the source
				assert.LessOrEqual(t, late.Load(), int64(workers), "calls of f started after Close")
				close(release)
				require.NoError(t, <-closed)
			})
		})
	}
}

// TestConsumerStopStopsStagesWithoutParentCancel: a consumer that stops
// early (Head, a break out of All) stops every worker at its next item,
// as Close does, when the parent can never be cancelled: each starts at
// most one more call of f. The source stays blocked until the test has
// counted, so that no stage exiting on the stop can be what stops the
// workers.
func TestConsumerStopStopsStagesWithoutParentCancel(t *testing.T) {
	sinks := map[string]func(p *pipeline.Scope, out *pipeline.Stream[int]) (int, error){
		"Head": func(_ *pipeline.Scope, out *pipeline.Stream[int]) (int, error) { return pipeline.Head(out) },
		"All": func(p *pipeline.Scope, out *pipeline.Stream[int]) (int, error) {
			first := -1
			for v := range pipeline.All(out) {
				first = v
				break
			}
			return first, p.Wait()
		},
	}
	for name, sink := range sinks {
		for _, workers := range []int{1, 3} {
			t.Run(fmt.Sprintf("%s/workers=%d", name, workers), func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					p := pipeline.New(context.Background())
					release := make(chan struct{})
					src := pipeline.Generate(p, func(_ context.Context, yield func(int) bool) error {
						for i := range 100 {
							if !yield(i) {
								return nil
							}
						}
						<-release // a wait that ignores ctx: Wait waits for it
						return nil
					})
					var late atomic.Int64
					out := pipeline.Map(src, workers, func(ctx context.Context, v int) (int, error) {
						if ctx.Err() != nil {
							late.Add(1)
						}
						if v != 0 {
							<-ctx.Done() // busy until the consumer stops
						}
						return v, nil
					})
					type result struct {
						v   int
						err error
					}
					done := make(chan result)
					go func() {
						v, err := sink(p, out)
						done <- result{v, err}
					}()
					synctest.Wait() // the consumer stopped; it waits for the source
					assert.LessOrEqual(t, late.Load(), int64(workers), "calls of f started after the stop")
					close(release)
					assert.Equal(t, result{0, nil}, <-done)
				})
			})
		}
	}
}

// assertCutSaysSo checks a sink's result after a cancel: either every one
// of the want items arrived and err is nil, or fewer did and err says the
// pipeline was cancelled. Never a nil error with items missing.
func assertCutSaysSo(t *testing.T, err error, seen, want int) {
	t.Helper()
	if err == nil {
		assert.Equal(t, want, seen, "a nil error with items missing")
	} else {
		assert.ErrorIs(t, err, context.Canceled)
		assert.Less(t, seen, want)
	}
}
