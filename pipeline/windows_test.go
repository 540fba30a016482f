package pipeline_test

// The tests in this file force interleavings that no black-box test can
// reach: a goroutine acts while another is between looking for work and
// parking. They use the hook of export_test.go.

import (
	"context"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/go-compendium/compendium/pipeline"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestWakeNotLost: a worker that has looked for items and found none, and
// is about to park, still wakes for a batch another worker gets just then:
// here two items that wait for each other arrive together at one worker
// of two while the other is in that window, and they must both run.
func TestWakeNotLost(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), time.Hour) // a lost wake-up ends here
		defer cancel()
		p := pipeline.New(ctx)
		inWindow, first := make(chan struct{}), make(chan struct{})
		var calls atomic.Int64
		pipeline.SetHook(p, func(site string, worker int) {
			if site == "acquire" && worker == 1 && calls.Add(1) == 1 {
				close(inWindow) // the pair may come now, to worker 0
				<-first         // worker 0 has it and is in f
			}
		})
		both := make(chan struct{})
		// A source that stays open until the end: its closing would wake
		// the parked worker too.
		one := pipeline.Generate(p, func(ctx context.Context, yield func(int) bool) error {
			yield(0)
			select {
			case <-both:
			case <-ctx.Done():
			}
			return nil
		})
		pair := pipeline.FlatMap(one, 1, func(context.Context, int) ([]int, error) {
			<-inWindow
			return []int{0, 1}, nil // published together: one worker gets both
		})
		var arrived atomic.Int64
		out := pipeline.Map(pair, 2, func(ctx context.Context, v int) (int, error) {
			switch arrived.Add(1) {
			case 1:
				close(first)
			case 2:
				close(both)
			}
			select {
			case <-both:
				return v, nil
			case <-ctx.Done():
				return 0, context.Cause(ctx)
			}
		})
		got, err := pipeline.Collect(out)
		require.NoError(t, err)
		assert.ElementsMatch(t, []int{0, 1}, got)
	})
}

// TestCreditNotLost: an ordered stage's dispatcher that found its window
// full, and is about to wait, still goes on when the window moves just
// then: here the slow first item is released and every result handed on
// while the dispatcher is in that window.
func TestCreditNotLost(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), time.Hour) // a lost credit ends here
		defer cancel()
		p := pipeline.New(ctx)
		release := make(chan struct{})
		var waits atomic.Int64
		pipeline.SetHook(p, func(site string, _ int) {
			if site == "credit" && waits.Add(1) == 1 {
				close(release)
				synctest.Wait() // the results so far are all handed on
			}
		})
		const n = 2000 // more than the window
		out := pipeline.OrderedMap(pipeline.FromSlice(p, ints(n)), 2, func(_ context.Context, v int) (int, error) {
			if v == 0 {
				<-release
			}
			return v, nil
		})
		got, err := pipeline.Collect(out)
		require.NoError(t, err)
		assert.Equal(t, ints(n), got)
		assert.Positive(t, waits.Load(), "the window never filled: the test tests nothing")
	})
}

// TestLeftoversAfterClose: items a stage left on its shelf when it stopped
// (here: cancelled while its consumer was between looking and parking)
// reach a sink that reads to the end, after the stream closes.
func TestLeftoversAfterClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		p := pipeline.New(ctx)
		inWindow := make(chan struct{})
		var recvs atomic.Int64
		pipeline.SetHook(p, func(site string, _ int) {
			if site == "recv Map#2" && recvs.Add(1) == 2 {
				close(inWindow)
				synctest.Wait() // the stage has stopped, its item on its shelf
			}
		})
		out := pipeline.Map(pipeline.FromSlice(p, ints(5)), 1, func(_ context.Context, v int) (int, error) {
			if v == 1 {
				<-inWindow // the sink is between looking and parking
				cancel()
			}
			return v, nil
		})
		got, err := pipeline.Collect(out)
		assert.ErrorIs(t, err, context.Canceled)
		assert.Equal(t, []int{0, 1}, got, "item 1 was computed before the stage stopped")
	})
}

// TestStealRace: a worker whose theft fails because the owner of the deck
// took its next item in the meantime (here the owner then takes the rest)
// looks again, and the crew still ends when the items do: a thief that
// lost the race is counted as waiting again, or the crew would never see
// all its workers idle.
func TestStealRace(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), time.Hour) // a crew that never ends ends here
		defer cancel()
		p := pipeline.New(ctx)
		stealing, advanced := make(chan struct{}), make(chan struct{})
		var thefts atomic.Int64
		pipeline.SetHook(p, func(site string, _ int) {
			if site == "steal" && thefts.Add(1) == 1 {
				close(stealing) // the thief has read the deck's state
				<-advanced      // and the owner takes its next item now
			}
		})
		var started atomic.Int64
		one := pipeline.Unbatch(pipeline.FromSlice(p, [][]int{ints(5)})) // one batch of 5: one owner
		out := pipeline.Map(one, 2, func(_ context.Context, v int) (int, error) {
			switch started.Add(1) {
			case 1:
				<-stealing
			case 2:
				close(advanced)
			}
			return v, nil
		})
		got, err := pipeline.Collect(out)
		require.NoError(t, err)
		assert.ElementsMatch(t, ints(5), got)
		assert.Positive(t, thefts.Load(), "no theft: the test tests nothing")
	})
}

// TestBatchTakesLeftovers: a Batch stage whose input, from several
// workers, closes while it is between looking and waiting, takes what the
// workers left on their shelves: here the workers publish their last item
// and ring, then close the stream, and Batch finds both the bell and the
// closed channel ready (so the round is repeated: either may win).
func TestBatchTakesLeftovers(t *testing.T) {
	for range 20 {
		synctest.Test(t, func(t *testing.T) {
			p := pipeline.New(t.Context())
			var waits atomic.Int64
			pipeline.SetHook(p, func(site string, _ int) {
				if site == "batch" && waits.Add(1) == 1 {
					synctest.Wait() // the workers publish, ring and close
				}
			})
			out := pipeline.Map(pipeline.FromSlice(p, []int{7}), 2, square)
			got, err := pipeline.Collect(pipeline.Batch(out, 10, 0))
			require.NoError(t, err)
			assert.Equal(t, [][]int{{49}}, got)
		})
	}
}

// TestBellNotLost: a consumer of a stream with several producers that has
// looked at their shelves and found nothing, and is about to park, still
// gets an item a producer publishes just then, though that producer goes
// on to wait in f, for the consumer to have the item, rather than hand it
// over: here the second item waits for the sink to receive the first.
func TestBellNotLost(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), time.Hour) // a lost ring ends here
		defer cancel()
		p := pipeline.New(ctx)
		inWindow, received := make(chan struct{}), make(chan struct{})
		var windows atomic.Int64
		pipeline.SetHook(p, func(site string, _ int) {
			if site == "recv Map#2" && windows.Add(1) == 1 {
				close(inWindow) // the first item may come now
				synctest.Wait() // it is published; its worker waits for the sink
			}
		})
		out := pipeline.Map(pipeline.FromSlice(p, ints(2)), 2, func(ctx context.Context, v int) (int, error) {
			wait := inWindow
			if v == 1 {
				wait = received
			}
			select {
			case <-wait:
				return v, nil
			case <-ctx.Done():
				return 0, context.Cause(ctx)
			}
		})
		var got []int
		err := pipeline.ForEach(out, func(_ context.Context, v int) error {
			if got = append(got, v); len(got) == 1 {
				close(received)
			}
			return nil
		})
		require.NoError(t, err)
		assert.Equal(t, []int{0, 1}, got)
	})
}
