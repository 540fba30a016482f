package pipeline_test

import (
	"context"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"testing/synctest"

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
}
