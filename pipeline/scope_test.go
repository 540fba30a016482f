package pipeline_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"

	"github.com/go-compendium/compendium"
	"github.com/go-compendium/compendium/pipeline"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// endless is a source that yields 0, 1, 2 ... until the scope is cancelled.
func endless(p *pipeline.Scope) *pipeline.Stream[int] {
	return pipeline.Generate(p, func(_ context.Context, yield func(int) bool) error {
		for i := 0; yield(i); i++ {
		}
		return nil
	})
}

// TestCloseUnread: Close cancels and joins a pipeline whose output nobody
// reads, returns nil (the cancellation by Close is no failure), and
// returns the same on every call; the scope's context is done afterwards,
// with a cause that matches compendium.ErrClosed.
func TestCloseUnread(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := pipeline.New(t.Context())
		out := pipeline.Map(endless(p), 3, square)
		_ = pipeline.Buffer(pipeline.OrderedMap(out, 2, square), 5, pipeline.Block) // never consumed
		synctest.Wait()
		assert.NoError(t, p.Close())
		assert.NoError(t, p.Close(), "Close is idempotent")
		assert.NoError(t, p.Wait(), "Wait after Close returns the same")
		assert.ErrorIs(t, context.Cause(p.Context()), compendium.ErrClosed)
	})
}

// TestCloseReturnsFirstFailure: a failure before Close is what Close
// returns, on every call.
func TestCloseReturnsFirstFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := pipeline.New(t.Context())
		out := pipeline.Map(endless(p), 2, func(_ context.Context, v int) (int, error) {
			if v == 10 {
				return 0, errBoom
			}
			return v, nil
		})
		_ = pipeline.All(out) // never ranged
		synctest.Wait()
		for range 2 {
			assert.ErrorIs(t, p.Close(), errBoom)
		}
	})
}

// TestClosePanics: a panic in a stage is re-raised by every Close, as the
// same *compendium.PanicError.
func TestClosePanics(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := pipeline.New(t.Context())
		_ = pipeline.Map(pipeline.FromSlice(p, ints(3)), 1, func(_ context.Context, v int) (int, error) {
			panic(errBoom)
		})
		synctest.Wait()
		var first *compendium.PanicError
		for range 2 {
			func() {
				defer func() {
					pe, ok := recover().(*compendium.PanicError)
					require.True(t, ok, "Close did not re-panic with a *compendium.PanicError")
					if first == nil {
						first = pe
					}
					assert.Same(t, first, pe)
					assert.True(t, errors.Is(pe, errBoom))
				}()
				_ = p.Close()
			}()
		}
	})
}

// TestCloseWhileSinkReads: Close from another goroutine ends a sink that
// is reading an endless stream, and both return.
func TestCloseWhileSinkReads(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := pipeline.New(t.Context())
		reading := make(chan struct{})
		done := make(chan error)
		go func() {
			done <- pipeline.ForEach(pipeline.Map(endless(p), 2, square), func(_ context.Context, v int) error {
				if v == 100 {
					close(reading)
				}
				return nil
			})
		}()
		<-reading
		assert.NoError(t, p.Close())
		<-done
	})
}
