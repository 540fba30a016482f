package pipeline_test

import (
	"context"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/go-compendium/compendium"
	"github.com/go-compendium/compendium/pipeline"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestToChan: the channel carries every item in order and closes when the
// stream ends; Wait then returns nil.
func TestToChan(t *testing.T) {
	p := pipeline.New(t.Context())
	var got []int
	for v := range pipeline.ToChan(pipeline.Map(pipeline.FromSlice(p, ints(1000)), 1, square)) {
		got = append(got, v)
	}
	require.NoError(t, p.Wait())
	want := make([]int, 1000)
	for i := range want {
		want[i] = i * i
	}
	assert.Equal(t, want, got)
}

// TestToChanInSelect: a stream read in a select beside a timer; the reader
// stops at the timer and Close cancels and joins every stage, the sending
// goroutine included (goleak checks).
func TestToChanInSelect(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := pipeline.New(t.Context())
		ticks := pipeline.Generate(p, func(ctx context.Context, yield func(int) bool) error {
			for i := 0; ; i++ {
				select {
				case <-time.After(time.Second):
				case <-ctx.Done():
					return nil
				}
				if !yield(i) {
					return nil
				}
			}
		})
		ch := pipeline.ToChan(ticks)
		deadline := time.After(3500 * time.Millisecond)
		var got []int
	loop:
		for {
			select {
			case v := <-ch:
				got = append(got, v)
			case <-deadline:
				break loop
			}
		}
		assert.Equal(t, []int{0, 1, 2}, got)
		assert.NoError(t, p.Close())
	})
}

// TestToChanFailure: a failing stage closes the channel, and Wait returns
// the failure.
func TestToChanFailure(t *testing.T) {
	p := pipeline.New(t.Context())
	out := pipeline.Map(pipeline.FromSlice(p, ints(100)), 1, func(_ context.Context, v int) (int, error) {
		if v == 50 {
			return 0, errBoom
		}
		return v, nil
	})
	n := 0
	for range pipeline.ToChan(out) {
		n++
	}
	assert.ErrorIs(t, p.Wait(), errBoom)
	assert.LessOrEqual(t, n, 50)
}

// TestCloseCutsSink: a sink whose stream Close cut short reports it with an
// error matching compendium.ErrClosed (Close itself returns nil), and so
// does a sink of a stream added after Close.
func TestCloseCutsSink(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := pipeline.New(t.Context())
		gate := make(chan struct{})
		out := pipeline.Map(endless(p), 1, func(ctx context.Context, v int) (int, error) {
			if v == 10 {
				<-gate
			}
			return v, nil
		})
		done := make(chan error)
		go func() {
			_, err := pipeline.Collect(out)
			done <- err
		}()
		synctest.Wait()
		closed := make(chan error)
		go func() { closed <- p.Close() }()
		synctest.Wait()
		close(gate)
		assert.NoError(t, <-closed)
		err := <-done
		assert.ErrorIs(t, err, compendium.ErrClosed)
		assert.Equal(t, "pipeline: Scope is closed", err.Error())

		got, err := pipeline.Collect(pipeline.FromSlice(p, ints(3)))
		assert.Empty(t, got)
		assert.ErrorIs(t, err, compendium.ErrClosed, "a stream added after Close")
		_, err = pipeline.Head(pipeline.FromSlice(p, ints(3)))
		assert.ErrorIs(t, err, compendium.ErrClosed, "Head of a stream added after Close")
	})
}

// TestBufferPolicies: with the sink stuck on its first item, a Buffer of 3
// keeps the first 3 items that arrive (DropNewest), the last 3
// (DropOldest), or stops taking items and loses none (Block: the source's
// batch holds the rest), and counts what it drops.
func TestBufferPolicies(t *testing.T) {
	const n, room = 20, 3
	cases := []struct {
		policy  pipeline.Policy
		want    []int
		dropped uint64
	}{
		{pipeline.Block, ints(n), 0},
		{pipeline.DropNewest, []int{0, 1, 2, 3}, n - 1 - room},
		{pipeline.DropOldest, []int{0, n - 3, n - 2, n - 1}, n - 1 - room},
	}
	for _, c := range cases {
		t.Run(c.policy.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				in := make(chan int)
				p := pipeline.New(t.Context())
				buffered := pipeline.Buffer(pipeline.FromChan(p, in), room, c.policy)
				gate := make(chan struct{})
				var got []int
				done := make(chan error)
				go func() {
					done <- pipeline.ForEach(buffered, func(_ context.Context, v int) error {
						if v == 0 {
							<-gate // stuck while the others arrive
						}
						got = append(got, v)
						return nil
					})
				}()
				for i := range n {
					in <- i
					synctest.Wait() // the buffer has it
				}
				close(gate)
				close(in)
				require.NoError(t, <-done)
				assert.Equal(t, c.want, got)
				assert.Equal(t, c.dropped, buffered.Dropped())
			})
		})
	}
}

// TestBufferBlockTakesNothingWhenFull: a Block buffer whose room is full
// takes no more items until there is room, even when nothing failed to
// fit: items that each arrived on their own fill it exactly, and what
// comes next stays with the producer, whose batch then fills and holds
// it up. So the producer gets at most room items and its own batch (256)
// ahead of a stuck sink, and every item still arrives, in order.
func TestBufferBlockTakesNothingWhenFull(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const n, room, batch = 400, 3, 256
		in := make(chan int)
		p := pipeline.New(t.Context())
		buffered := pipeline.Buffer(pipeline.FromChan(p, in), room, pipeline.Block)
		gate := make(chan struct{})
		var got []int
		done := make(chan error)
		go func() {
			done <- pipeline.ForEach(buffered, func(_ context.Context, v int) error {
				if v == 0 {
					<-gate // stuck while the others arrive
				}
				got = append(got, v)
				return nil
			})
		}()
		for i := range 1 + room {
			in <- i
			synctest.Wait() // the buffer has it: room is exactly full
		}
		var sent atomic.Int64
		go func() {
			defer close(in)
			for i := 1 + room; i < n; i++ {
				in <- i
				sent.Add(1)
			}
		}()
		synctest.Wait() // the producer's batch is full and waits
		assert.LessOrEqual(t, 1+room+sent.Load(), int64(1+room+batch), "items sent ahead of a stuck sink")
		close(gate)
		require.NoError(t, <-done)
		assert.Equal(t, ints(n), got)
	})
}

// TestOrderedStages: OrderedFilter and OrderedFlatMap keep the input's
// order with several workers under random delays, and their workers run at
// once.
func TestOrderedStages(t *testing.T) {
	const n, workers = 300, 4
	delay := func(v int) time.Duration { return time.Duration(v*7919%100) * time.Millisecond }
	t.Run("OrderedFilter", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			var g gauge
			p := pipeline.New(t.Context())
			out := pipeline.OrderedFilter(pipeline.FromSlice(p, ints(n)), workers, func(_ context.Context, v int) (bool, error) {
				defer g.enter()()
				time.Sleep(delay(v))
				return v%3 != 0, nil
			})
			got, err := pipeline.Collect(out)
			require.NoError(t, err)
			var want []int
			for _, v := range ints(n) {
				if v%3 != 0 {
					want = append(want, v)
				}
			}
			assert.Equal(t, want, got)
			assert.Equal(t, int64(workers), g.peak.Load(), "peak concurrency")
		})
	})
	t.Run("OrderedFlatMap", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			var g gauge
			p := pipeline.New(t.Context())
			out := pipeline.OrderedFlatMap(pipeline.FromSlice(p, ints(n)), workers, func(_ context.Context, v int) ([]int, error) {
				defer g.enter()()
				time.Sleep(delay(v))
				return slices.Repeat([]int{v}, v%4), nil
			})
			got, err := pipeline.Collect(out)
			require.NoError(t, err)
			var want []int
			for _, v := range ints(n) {
				want = append(want, slices.Repeat([]int{v}, v%4)...)
			}
			assert.Equal(t, want, got)
			assert.Equal(t, int64(workers), g.peak.Load(), "peak concurrency")
		})
	})
}

// TestPolicyString names the policies.
func TestPolicyString(t *testing.T) {
	for p, want := range map[pipeline.Policy]string{
		pipeline.Block: "Block", pipeline.DropNewest: "DropNewest", pipeline.DropOldest: "DropOldest", 7: "Policy(7)",
	} {
		assert.Equal(t, want, p.String())
		assert.Equal(t, want, fmt.Sprint(p))
	}
}
