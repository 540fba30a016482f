package fanout_test

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"

	"github.com/go-compendium/compendium"
	"github.com/go-compendium/compendium/fanout"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// sink is a writer that records every batch.
type sink struct {
	mu      sync.Mutex
	batches [][]int
}

func (s *sink) write(vs []int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.batches = append(s.batches, append([]int(nil), vs...))
	return nil
}

func (s *sink) items() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	var all []int
	for _, b := range s.batches {
		all = append(all, b...)
	}
	return all
}

// TestMultiplexerNoItemLostOnClose: producers race Close; every Send that
// returned nil was written exactly once, every other returned ErrClosed,
// and nothing else was written.
func TestMultiplexerNoItemLostOnClose(t *testing.T) {
	const producers, per = 8, 2000
	var s sink
	m := fanout.NewMultiplexer(context.Background(), 16, s.write)
	var sent [producers * per]atomic.Bool
	var wg sync.WaitGroup
	for p := range producers {
		wg.Go(func() {
			for i := range per {
				v := p*per + i
				switch err := m.Send(context.Background(), v); {
				case err == nil:
					sent[v].Store(true)
				case errors.Is(err, compendium.ErrClosed):
				default:
					t.Errorf("Send(%d) = %v", v, err)
				}
			}
		})
	}
	for m.Stats().Sent < producers*per/2 {
		runtime.Gosched()
	}
	require.NoError(t, m.Close())
	wg.Wait()
	written := make(map[int]bool)
	for _, v := range s.items() {
		require.False(t, written[v], "%d written twice", v)
		written[v] = true
	}
	for v := range sent {
		assert.Equal(t, sent[v].Load(), written[v], "item %d: Send returned nil = %v, written = %v", v, sent[v].Load(), written[v])
	}
	st := m.Stats()
	assert.Equal(t, uint64(len(written)), st.Written)
	assert.Equal(t, st.Sent, st.Written)
	assert.Less(t, st.Writes, st.Written, "no batching happened")
}

// blockingWriter blocks each write until released, so a test can pile up
// items behind it.
type blockingWriter struct {
	sink
	release chan error
}

func (w *blockingWriter) write(vs []int) error {
	if err := <-w.release; err != nil {
		return err
	}
	return w.sink.write(vs)
}

// TestMultiplexerBatchesWhatArrives: items that arrive during a write go
// out together in the next one, in order of arrival; a write error
// reaches exactly the producers of that batch.
func TestMultiplexerBatchesWhatArrives(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := &blockingWriter{release: make(chan error)}
		m := fanout.NewMultiplexer(context.Background(), 8, w.write)
		errs := make([]chan error, 6)
		send := func(v int) {
			errs[v] = make(chan error, 1)
			go func() { errs[v] <- m.Send(context.Background(), v) }()
			synctest.Wait()
		}
		send(0) // the owner takes it alone and blocks in write
		for v := 1; v < 6; v++ {
			send(v)
		}
		w.release <- nil // batch [0]
		synctest.Wait()
		assert.NoError(t, <-errs[0])
		boom := errors.New("boom")
		w.release <- boom // batch [1 2 3 4 5] fails
		for v := 1; v < 6; v++ {
			assert.ErrorIs(t, <-errs[v], boom, "item %d", v)
		}
		close(w.release)
		require.NoError(t, m.Close())
		assert.Equal(t, [][]int{{0}}, w.batches)
		assert.Equal(t, fanout.MultiplexerStats{Sent: 6, Written: 1, Failed: 5, Writes: 2}, m.Stats())
	})
}

// TestMultiplexerCloseFlushes: items queued behind a slow write are
// written by Close, which reports their write error.
func TestMultiplexerCloseFlushes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := &blockingWriter{release: make(chan error)}
		m := fanout.NewMultiplexer(context.Background(), 2, w.write)
		errs := make(chan error, 5)
		for v := range 5 {
			go func() { errs <- m.Send(context.Background(), v) }()
			synctest.Wait()
		}
		closed := make(chan error)
		go func() { closed <- m.Close() }()
		synctest.Wait() // Close waits for 3 and 4, blocked on the full queue
		boom := errors.New("boom")
		w.release <- nil  // [0]
		w.release <- nil  // [1 2]
		w.release <- boom // [3 4]
		assert.ErrorIs(t, <-closed, boom)
		failed := 0
		for range 5 {
			if err := <-errs; err != nil {
				assert.ErrorIs(t, err, boom)
				failed++
			}
		}
		assert.Equal(t, 2, failed)
		assert.Equal(t, []int{0, 1, 2}, w.items())
		assert.ErrorIs(t, m.Send(context.Background(), 9), compendium.ErrClosed)
		assert.NoError(t, m.Close(), "second Close")
	})
}

// TestMultiplexerCancelReportsPending: when ctx ends, queued items are
// reported to their producers with its cause, not written, not lost.
func TestMultiplexerCancelReportsPending(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancelCause(context.Background())
		w := &blockingWriter{release: make(chan error)}
		m := fanout.NewMultiplexer(ctx, 4, w.write)
		errs := make([]chan error, 4)
		for v := range 4 {
			errs[v] = make(chan error, 1)
			go func() { errs[v] <- m.Send(context.Background(), v) }()
			synctest.Wait()
		}
		stop := errors.New("stop")
		cancel(stop)
		w.release <- nil // the write in progress, [0], completes
		assert.NoError(t, <-errs[0])
		for v := 1; v < 4; v++ {
			assert.ErrorIs(t, <-errs[v], stop, "item %d", v)
		}
		assert.ErrorIs(t, m.Send(context.Background(), 9), stop)
		assert.ErrorIs(t, m.Close(), stop, "Close after cancel")
		assert.Equal(t, []int{0}, w.items())
	})
}

func TestMultiplexerSendContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := &blockingWriter{release: make(chan error)}
		m := fanout.NewMultiplexer(context.Background(), 1, w.write)
		go m.Send(context.Background(), 0) // owner blocks writing [0]
		synctest.Wait()
		go m.Send(context.Background(), 1) // fills the queue of 1
		synctest.Wait()
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		go func() { done <- m.Send(ctx, 2) }()
		synctest.Wait()
		cancel()
		assert.ErrorIs(t, <-done, context.Canceled, "Send blocked on a full queue")
		close(w.release)
		require.NoError(t, m.Close())
		assert.Equal(t, []int{0, 1}, w.items())
	})
}

func TestMultiplexerPanicReachesProducerAndOwner(t *testing.T) {
	m := fanout.NewMultiplexer(context.Background(), 4, func(vs []int) error {
		panic(errors.New("wire cut"))
	})
	err := m.Send(context.Background(), 1)
	var pe *compendium.PanicError
	require.ErrorAs(t, err, &pe)
	assert.EqualError(t, pe.Unwrap(), "wire cut")
	assert.ErrorAs(t, m.Send(context.Background(), 2), &pe, "Multiplexer kept writing after a panic")
	defer func() {
		got, ok := recover().(*compendium.PanicError)
		require.True(t, ok, "Close did not re-panic with a *PanicError")
		assert.Same(t, pe, got)
	}()
	m.Close()
}

func TestMultiplexerWriterGoexit(t *testing.T) {
	m := fanout.NewMultiplexer(context.Background(), 4, func([]int) error {
		runtime.Goexit()
		return nil
	})
	assert.ErrorContains(t, m.Send(context.Background(), 1), "Goexit")
	assert.ErrorContains(t, m.Send(context.Background(), 2), "Goexit")
	assert.ErrorContains(t, m.Close(), "Goexit")
}

func TestMultiplexerBadArguments(t *testing.T) {
	assert.PanicsWithValue(t, "fanout: NewMultiplexer needs a batch size of at least 1, got 0", func() {
		fanout.NewMultiplexer(context.Background(), 0, func([]int) error { return nil })
	})
	assert.PanicsWithValue(t, "fanout: NewMultiplexer needs a write func, got nil", func() {
		fanout.NewMultiplexer[int](context.Background(), 1, nil)
	})
}

// TestMultiplexerCancelUnderLoad cancels the Multiplexer's context while
// producers are sending: every Send returns, and the items whose Send
// returned nil are exactly the items written.
func TestMultiplexerCancelUnderLoad(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var s sink
	m := fanout.NewMultiplexer(ctx, 8, s.write)
	var ok atomic.Int32
	var wg sync.WaitGroup
	for p := range 8 {
		wg.Go(func() {
			for v := range 500 {
				if p == 0 && v == 250 {
					cancel()
				}
				if err := m.Send(context.Background(), p*500+v); err == nil {
					ok.Add(1)
				} else {
					assert.ErrorIs(t, err, context.Canceled)
				}
			}
		})
	}
	wg.Wait()
	assert.ErrorIs(t, m.Close(), context.Canceled)
	assert.Len(t, s.items(), int(ok.Load()))
	st := m.Stats()
	assert.Equal(t, st.Sent, st.Written+st.Failed)
}

// TestMultiplexerOwnerExitsOnCancel: when the Multiplexer's context ends,
// its owner goroutine reports what is queued and returns without Close
// being called. synctest.Test fails if any goroutine of the bubble is left
// blocked.
func TestMultiplexerOwnerExitsOnCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		w := &blockingWriter{release: make(chan error)}
		m := fanout.NewMultiplexer(ctx, 2, w.write)
		errs := make(chan error, 3)
		for v := range 3 {
			go func() { errs <- m.Send(context.Background(), v) }()
			synctest.Wait()
		}
		cancel()
		w.release <- nil // the write in progress, [0], completes
		for range 3 {
			if err := <-errs; err != nil {
				assert.ErrorIs(t, err, context.Canceled)
			}
		}
		synctest.Wait()
		s := m.Stats()
		assert.Equal(t, fanout.MultiplexerStats{Sent: 3, Written: 1, Failed: 2, Writes: 1}, s)
	})
}
