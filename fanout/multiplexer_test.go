package fanout_test

import (
	"context"
	"errors"
	"math"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"

	"github.com/go-compendium/compendium"
	"github.com/go-compendium/compendium/fanout"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

// sink is a writer that records every batch it was given.
type sink struct {
	mu      sync.Mutex
	batches [][]int
	calls   atomic.Int64
}

func (s *sink) write(vs []int) error {
	s.calls.Add(1)
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

func (s *sink) got() [][]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([][]int(nil), s.batches...)
}

// blockingWriter blocks each write until the test sends the write's
// result on release, so that a test can pile items up behind it. Only the
// batches whose write returned nil are recorded.
type blockingWriter struct {
	sink
	release    chan error
	inflight   atomic.Int32
	overlapped atomic.Bool // two writes were in progress at once
}

func newBlockingWriter() *blockingWriter { return &blockingWriter{release: make(chan error)} }

func (w *blockingWriter) write(vs []int) error {
	if w.inflight.Add(1) > 1 {
		w.overlapped.Store(true)
	}
	defer w.inflight.Add(-1)
	if err := <-w.release; err != nil {
		return err
	}
	return w.sink.write(vs)
}

// sender runs Sends on goroutines of their own and keeps their results.
type sender struct {
	t    *testing.T
	m    *fanout.Multiplexer[int]
	errs map[int]chan error
}

func newSender(t *testing.T, m *fanout.Multiplexer[int]) *sender {
	return &sender{t: t, m: m, errs: make(map[int]chan error)}
}

// send starts Send(ctx, v) and waits until it has blocked (in write, in
// the queue, or waiting for room).
func (s *sender) send(ctx context.Context, v int) {
	s.errs[v] = make(chan error, 1)
	go func() { s.errs[v] <- s.m.Send(ctx, v) }()
	synctest.Wait()
}

// returned reports whether Send(v) has returned, and its result, once
// every goroutine of the bubble is blocked.
func (s *sender) returned(v int) (error, bool) {
	synctest.Wait()
	select {
	case err := <-s.errs[v]:
		s.errs[v] <- err // keep it for a later look
		return err, true
	default:
		return nil, false
	}
}

func (s *sender) result(v int) error {
	s.t.Helper()
	err, ok := s.returned(v)
	require.True(s.t, ok, "Send(%d) has not returned", v)
	return err
}

func stats(submitted, completed, failed, panicked, canceled, rejected, writes uint64) fanout.MultiplexerStats {
	return fanout.MultiplexerStats{
		TaskStats: compendium.TaskStats{
			Submitted: submitted, Completed: completed, Failed: failed,
			Panicked: panicked, Canceled: canceled, Rejected: rejected,
		},
		Writes: writes,
	}
}

// TestMultiplexerFreeWriterWritesAlone: a Send that finds no write in
// progress writes its item at once, alone, on its own goroutine.
func TestMultiplexerFreeWriterWritesAlone(t *testing.T) {
	var s sink
	m := fanout.NewMultiplexer(context.Background(), 8, s.write)
	for v := range 3 {
		require.NoError(t, m.Send(context.Background(), v))
		assert.Equal(t, int64(v+1), s.calls.Load(), "Send returned before its item was written")
	}
	require.NoError(t, m.Close())
	assert.Equal(t, [][]int{{0}, {1}, {2}}, s.got())
	assert.Equal(t, stats(3, 3, 0, 0, 0, 0, 3), m.Stats())
}

// TestMultiplexerBatchesWhatArrives: items that arrive during a write go
// out together in the next one, in order of arrival, written by the
// producer that held the writer role; a write error reaches exactly the
// producers of that batch.
func TestMultiplexerBatchesWhatArrives(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newBlockingWriter()
		m := fanout.NewMultiplexer(context.Background(), 8, w.write)
		s := newSender(t, m)
		for v := range 6 {
			s.send(context.Background(), v) // 0 writes [0] and blocks; 1-5 queue
		}
		assert.Equal(t, uint64(5), m.Stats().Queued)
		assert.Equal(t, uint64(1), m.Stats().Running)
		w.release <- nil // [0]
		boom := errors.New("boom")
		w.release <- boom // [1 2 3 4 5]
		synctest.Wait()
		assert.NoError(t, s.result(0))
		for v := 1; v < 6; v++ {
			assert.ErrorIs(t, s.result(v), boom, "item %d", v)
		}
		close(w.release)
		require.NoError(t, m.Close())
		assert.Equal(t, [][]int{{0}}, w.got())
		assert.Equal(t, stats(6, 1, 5, 0, 0, 0, 2), m.Stats())
	})
}

// TestMultiplexerBatchIsBounded: a write gets at most batch items, and a
// Send waits for room while batch items are queued.
func TestMultiplexerBatchIsBounded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newBlockingWriter()
		m := fanout.NewMultiplexer(context.Background(), 2, w.write)
		s := newSender(t, m)
		for v := range 5 {
			s.send(context.Background(), v) // [0] in write; 1 2 queued; 3 4 wait for room
		}
		st := m.Stats()
		assert.Equal(t, uint64(3), st.Submitted, "3 and 4 are not accepted while the queue is full")
		assert.Equal(t, uint64(2), st.Queued)
		close(w.release)
		synctest.Wait()
		for v := range 5 {
			assert.NoError(t, s.result(v))
		}
		require.NoError(t, m.Close())
		for _, b := range w.got() {
			assert.LessOrEqual(t, len(b), 2, "batch %v", b)
		}
		assert.ElementsMatch(t, []int{0, 1, 2, 3, 4}, w.items())
		assert.Equal(t, []int{0}, w.got()[0])
		assert.Equal(t, []int{1, 2}, w.got()[1])
	})
}

// TestMultiplexerLeaderHandsOff: a producer holding the writer role
// writes its own batch and at most three more, then hands the role to a
// producer still waiting and returns.
func TestMultiplexerLeaderHandsOff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newBlockingWriter()
		m := fanout.NewMultiplexer(context.Background(), 1, w.write)
		s := newSender(t, m)
		for v := range 7 {
			s.send(context.Background(), v) // 0 writes; 1 queued; 2-6 wait for room
		}
		for i := range 4 {
			_, ok := s.returned(0)
			assert.False(t, ok, "the leader returned after %d writes, before its fourth", i)
			w.release <- nil
			synctest.Wait()
		}
		assert.NoError(t, s.result(0), "the leader hands off after four writes")
		assert.Equal(t, uint64(1), m.Stats().Running, "another producer writes the fifth batch")
		close(w.release)
		synctest.Wait()
		for v := range 7 {
			assert.NoError(t, s.result(v))
		}
		require.NoError(t, m.Close())
		assert.Equal(t, stats(7, 7, 0, 0, 0, 0, 7), m.Stats())
	})
}

// TestMultiplexerLeaderLeavesWhenItsContextEnds: a leader whose ctx ends
// hands the role on after the batch in progress, and returns its own
// item's result.
func TestMultiplexerLeaderLeavesWhenItsContextEnds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newBlockingWriter()
		m := fanout.NewMultiplexer(context.Background(), 1, w.write)
		s := newSender(t, m)
		ctx, cancel := context.WithCancel(context.Background())
		s.send(ctx, 0)
		s.send(context.Background(), 1)
		s.send(context.Background(), 2)
		w.release <- nil // [0]; the leader goes on with [1]
		synctest.Wait()
		cancel()
		w.release <- nil // [1]
		synctest.Wait()
		assert.NoError(t, s.result(0), "its item was written")
		assert.NoError(t, s.result(1))
		_, ok := s.returned(2)
		assert.False(t, ok)
		w.release <- nil // [2], written by its own producer
		synctest.Wait()
		assert.NoError(t, s.result(2))
		require.NoError(t, m.Close())
		assert.Equal(t, []int{0, 1, 2}, w.items())
	})
}

// TestMultiplexerCloseFlushes: Close writes the items queued behind the
// write in progress and returns their write's error; Sends still waiting
// for room were not accepted and are refused.
func TestMultiplexerCloseFlushes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newBlockingWriter()
		m := fanout.NewMultiplexer(context.Background(), 2, w.write)
		s := newSender(t, m)
		for v := range 5 {
			s.send(context.Background(), v) // [0] in write; 1 2 queued; 3 4 wait for room
		}
		closed := make(chan error, 1)
		go func() { closed <- m.Close() }()
		synctest.Wait()
		for _, v := range []int{3, 4} {
			assert.ErrorIs(t, s.result(v), compendium.ErrClosed, "item %d", v)
		}
		select {
		case err := <-closed:
			t.Fatalf("Close returned %v while a write was in progress", err)
		default:
		}
		boom := errors.New("boom")
		w.release <- nil  // [0]
		w.release <- boom // [1 2]
		err := <-closed
		assert.ErrorIs(t, err, boom)
		assert.NoError(t, s.result(0))
		assert.ErrorIs(t, s.result(1), boom)
		assert.ErrorIs(t, s.result(2), boom)
		assert.Equal(t, []int{0}, w.items())
		err2 := m.Send(context.Background(), 9)
		assert.ErrorIs(t, err2, compendium.ErrClosed)
		assert.EqualError(t, err2, "fanout: Multiplexer is closed")
		assert.Same(t, err, m.Close(), "every Close returns the same result")
		assert.Equal(t, stats(3, 1, 2, 0, 0, 3, 2), m.Stats())
	})
}

// TestMultiplexerCloseReturnsFirstFlushError: of the errors reported
// after Close was called, Close returns the first.
func TestMultiplexerCloseReturnsFirstFlushError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newBlockingWriter()
		m := fanout.NewMultiplexer(context.Background(), 1, w.write)
		s := newSender(t, m)
		s.send(context.Background(), 0)
		s.send(context.Background(), 1)
		closed := make(chan error, 1)
		go func() { closed <- m.Close() }()
		synctest.Wait()
		first, last := errors.New("first"), errors.New("last")
		w.release <- first // [0]
		w.release <- last  // [1]
		assert.Same(t, first, <-closed)
		assert.Same(t, first, s.result(0))
		assert.Same(t, last, s.result(1))
	})
}

// TestMultiplexerCloseIgnoresErrorsReportedBefore: an error reported to
// its producer before Close was called is not Close's.
func TestMultiplexerCloseIgnoresErrorsReportedBefore(t *testing.T) {
	m := fanout.NewMultiplexer(context.Background(), 1, func([]int) error { return errors.New("nope") })
	assert.Error(t, m.Send(context.Background(), 1))
	assert.NoError(t, m.Close())
}

// TestMultiplexerContextEndsDuringClose: when the context ends while
// Close flushes, the items not yet written fail with its cause, and Close
// returns it.
func TestMultiplexerContextEndsDuringClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancelCause(context.Background())
		w := newBlockingWriter()
		m := fanout.NewMultiplexer(ctx, 4, w.write)
		s := newSender(t, m)
		s.send(context.Background(), 0)
		s.send(context.Background(), 1)
		closed := make(chan error, 1)
		go func() { closed <- m.Close() }()
		synctest.Wait()
		stop := errors.New("stop")
		cancel(stop)
		w.release <- nil // the write in progress, [0], completes
		assert.Same(t, stop, <-closed)
		assert.NoError(t, s.result(0))
		assert.Same(t, stop, s.result(1))
		assert.Equal(t, []int{0}, w.items(), "no write starts once the context has ended")
		assert.Equal(t, stats(2, 1, 0, 0, 1, 0, 1), m.Stats())
	})
}

// TestMultiplexerCancelReportsPending: when ctx ends, queued items are
// reported to their producers with its cause, not written, not lost; new
// items are refused with it, and Close returns it.
func TestMultiplexerCancelReportsPending(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancelCause(context.Background())
		w := newBlockingWriter()
		m := fanout.NewMultiplexer(ctx, 4, w.write)
		s := newSender(t, m)
		for v := range 4 {
			s.send(context.Background(), v)
		}
		stop := errors.New("stop")
		cancel(stop)
		w.release <- nil // the write in progress, [0], completes
		synctest.Wait()
		assert.NoError(t, s.result(0))
		for v := 1; v < 4; v++ {
			assert.Same(t, stop, s.result(v), "item %d", v)
		}
		assert.Same(t, stop, m.Send(context.Background(), 9))
		assert.Equal(t, stats(4, 1, 0, 0, 3, 1, 1), m.Stats())
		assert.Same(t, stop, m.Close(), "Close after cancel")
		assert.Same(t, stop, m.Close())
		assert.Equal(t, []int{0}, w.items())
	})
}

// TestMultiplexerCancelWakesSendersWaitingForRoom: a Send waiting for
// room returns the context's cause when the context ends.
func TestMultiplexerCancelWakesSendersWaitingForRoom(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancelCause(context.Background())
		w := newBlockingWriter()
		m := fanout.NewMultiplexer(ctx, 1, w.write)
		s := newSender(t, m)
		for v := range 3 {
			s.send(context.Background(), v) // [0] in write; 1 queued; 2 waits
		}
		stop := errors.New("stop")
		cancel(stop)
		synctest.Wait()
		assert.Same(t, stop, s.result(2))
		close(w.release)
		assert.Same(t, stop, m.Close())
		assert.Same(t, stop, s.result(1))
		assert.Equal(t, stats(2, 1, 0, 0, 1, 1, 1), m.Stats())
	})
}

// TestMultiplexerSendContext: a Send's ctx bounds its wait. Ended before
// Send: refused. Ending while it waits for room: refused. Ending while
// its item is queued: Send returns at once, and the item is still
// written.
func TestMultiplexerSendContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newBlockingWriter()
		m := fanout.NewMultiplexer(context.Background(), 1, w.write)
		s := newSender(t, m)
		done, cancelDone := context.WithCancel(context.Background())
		cancelDone()
		assert.ErrorIs(t, m.Send(done, -1), context.Canceled)
		s.send(context.Background(), 0) // writes [0], blocks
		queued, cancelQueued := context.WithCancel(context.Background())
		s.send(queued, 1) // queued
		waiting, cancelWaiting := context.WithCancel(context.Background())
		s.send(waiting, 2) // waits for room
		cancelWaiting()
		synctest.Wait()
		assert.ErrorIs(t, s.result(2), context.Canceled)
		cancelQueued()
		synctest.Wait()
		assert.ErrorIs(t, s.result(1), context.Canceled, "Send returns while its item waits")
		close(w.release)
		require.NoError(t, m.Close())
		assert.Equal(t, []int{0, 1}, w.items(), "the item queued is written all the same")
		assert.Equal(t, stats(2, 2, 0, 0, 0, 2, 2), m.Stats())
	})
}

// TestMultiplexerItemsOfProducersThatLeftAreWrittenLater: when the
// leader leaves and every queued producer has stopped waiting, their
// items stay queued, and the next Send writes them before its own.
func TestMultiplexerItemsOfProducersThatLeftAreWrittenLater(t *testing.T) {
	for _, next := range []string{"Send", "Close"} {
		t.Run(next, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				w := newBlockingWriter()
				m := fanout.NewMultiplexer(context.Background(), 4, w.write)
				s := newSender(t, m)
				leader, cancelLeader := context.WithCancel(context.Background())
				s.send(leader, 0) // writes [0], blocks
				gone, cancelGone := context.WithCancel(context.Background())
				s.send(gone, 1)
				cancelGone()
				synctest.Wait() // 1's producer has left
				cancelLeader()
				w.release <- nil // [0]: the leader leaves, nobody to hand to
				synctest.Wait()
				assert.NoError(t, s.result(0))
				assert.ErrorIs(t, s.result(1), context.Canceled)
				assert.Equal(t, uint64(1), m.Stats().Queued)
				if next == "Send" {
					s.send(context.Background(), 2) // takes the role, writes [1 2]
					s.send(context.Background(), 3) // queues: one write at a time
					assert.Equal(t, uint64(1), m.Stats().Queued)
					assert.Equal(t, uint64(2), m.Stats().Running)
					w.release <- nil // [1 2]
					w.release <- nil // [3]
					assert.NoError(t, s.result(2))
					assert.NoError(t, s.result(3))
					assert.Equal(t, [][]int{{0}, {1, 2}, {3}}, w.got())
					assert.False(t, w.overlapped.Load(), "two writes overlapped")
					close(w.release)
					require.NoError(t, m.Close())
					return
				}
				closed := make([]chan error, 2)
				for i := range closed {
					closed[i] = make(chan error, 1)
					go func() { closed[i] <- m.Close() }() // one writes [1], the other waits
				}
				synctest.Wait()
				for i := range closed {
					select {
					case err := <-closed[i]:
						t.Fatalf("Close #%d returned %v during Close's write", i, err)
					default:
					}
				}
				w.release <- nil // [1], written by a Close
				require.NoError(t, <-closed[0])
				require.NoError(t, <-closed[1])
				assert.Equal(t, [][]int{{0}, {1}}, w.got())
				assert.False(t, w.overlapped.Load(), "two writes overlapped")
				assert.Equal(t, stats(2, 2, 0, 0, 0, 0, 2), m.Stats())
			})
		})
	}
}

// TestMultiplexerHandedOverAsProducerGivesUp: a queued producer whose ctx
// ends as the writer role, or its item's result, is handed to it takes
// what it was handed: it writes (its item among the batch), or returns
// the result, rather than leave. The hook holds it between seeing its ctx
// end and looking, the one interleaving no ordering of events can force.
func TestMultiplexerHandedOverAsProducerGivesUp(t *testing.T) {
	for _, handed := range []string{"role", "result"} {
		t.Run(handed, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				w := newBlockingWriter()
				m := fanout.NewMultiplexer(context.Background(), 1, w.write)
				proceed := make(chan struct{})
				m.SetBeforeLeave(func() { <-proceed })
				s := newSender(t, m)
				leader, leave := context.WithCancel(context.Background())
				defer leave()
				s.send(leader, 0) // writes [0]
				ctx, giveUp := context.WithCancel(context.Background())
				s.send(ctx, 1) // queued
				giveUp()
				synctest.Wait() // 1's producer saw ctx end, and is held before it looks
				if handed == "role" {
					leave() // so the leader hands the role on after [0]
				}
				w.release <- nil // [0]
				if handed == "result" {
					w.release <- nil // the leader goes on with [1]
				}
				synctest.Wait()
				assert.NoError(t, s.result(0))
				close(proceed)
				if handed == "role" {
					w.release <- nil // [1], written by its own producer
				}
				assert.NoError(t, s.result(1), "it took what it was handed")
				require.NoError(t, m.Close())
				assert.Equal(t, []int{0, 1}, w.items())
				assert.Equal(t, stats(2, 2, 0, 0, 0, 0, 2), m.Stats())
			})
		})
	}
}

// TestMultiplexerCloseWritesWhatALeavingLeaderLeaves: Close waits for a
// leader that then leaves (its ctx ended) with items queued whose
// producers have all gone: Close is woken, and writes them itself.
func TestMultiplexerCloseWritesWhatALeavingLeaderLeaves(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newBlockingWriter()
		m := fanout.NewMultiplexer(context.Background(), 4, w.write)
		s := newSender(t, m)
		leader, leave := context.WithCancel(context.Background())
		s.send(leader, 0) // writes [0]
		gone, giveUp := context.WithCancel(context.Background())
		s.send(gone, 1)
		giveUp()
		synctest.Wait() // 1's producer has left
		closed := make(chan error, 1)
		go func() { closed <- m.Close() }()
		synctest.Wait() // Close waits for the leader
		leave()
		w.release <- nil // [0]; the leader leaves, handing the role to nobody
		w.release <- nil // [1], written by Close
		require.NoError(t, <-closed)
		assert.NoError(t, s.result(0))
		assert.Equal(t, [][]int{{0}, {1}}, w.got())
	})
}

// opaqueContext hides its parent from the context package, which then
// watches it with a goroutine of its own for each context derived from it,
// until that context is canceled.
type opaqueContext struct{ context.Context }

func (opaqueContext) Value(any) any { return nil }

// TestMultiplexerCloseReleasesItsContext: Close cancels the context the
// Multiplexer derived from its parent, releasing what the context package
// keeps for it (here, a goroutine watching an opaque parent).
func TestMultiplexerCloseReleasesItsContext(t *testing.T) {
	before := goleak.IgnoreCurrent()
	parent, cancel := context.WithCancel(context.Background())
	defer cancel()
	m := fanout.NewMultiplexer(opaqueContext{parent}, 1, func([]int) error { return nil })
	require.NoError(t, m.Send(context.Background(), 1))
	require.NoError(t, m.Close())
	goleak.VerifyNone(t, before)
}

// TestMultiplexerCloseWaitsForTheLastWrite: Close returns only once the
// write in progress has returned, and write is never called after it.
func TestMultiplexerCloseWaitsForTheLastWrite(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newBlockingWriter()
		m := fanout.NewMultiplexer(context.Background(), 4, w.write)
		s := newSender(t, m)
		s.send(context.Background(), 0)
		closed := make([]chan error, 2)
		for i := range closed {
			closed[i] = make(chan error, 1)
			go func() { closed[i] <- m.Close() }() // two Closes at once
		}
		synctest.Wait()
		for i := range closed {
			select {
			case err := <-closed[i]:
				t.Fatalf("Close #%d returned %v during a write", i, err)
			default:
			}
		}
		boom := errors.New("boom")
		w.release <- boom
		assert.Same(t, boom, <-closed[0])
		assert.Same(t, boom, <-closed[1])
		assert.Same(t, boom, m.Close())
		assert.ErrorIs(t, m.Send(context.Background(), 1), compendium.ErrClosed)
		assert.Equal(t, uint64(1), m.Stats().Writes)
	})
}

// TestMultiplexerPanic: a write that panics fails its batch with the
// *compendium.PanicError, stops the Multiplexer (the items queued fail
// with the panic, unwritten; new ones are refused with it), and every
// Close re-panics with it.
func TestMultiplexerPanic(t *testing.T) {
	for _, alone := range []bool{true, false} {
		name := "queued batch"
		if alone {
			name = "item written alone"
		}
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				first, second := make(chan struct{}), make(chan struct{})
				calls := 0
				m := fanout.NewMultiplexer(context.Background(), 2, func(vs []int) error {
					calls++
					if vs[0] == 0 {
						<-first
						if alone {
							panic(errors.New("wire cut"))
						}
						return nil
					}
					<-second
					panic(errors.New("wire cut"))
				})
				s := newSender(t, m)
				for v := range 4 {
					s.send(context.Background(), v) // [0] in write; 1 2 queued; 3 waits for room
				}
				close(first)
				synctest.Wait() // alone: the panic; else [1 2] in write, and 3 queued
				close(second)
				synctest.Wait()
				var pe *compendium.PanicError
				failed := s.result(1)
				require.ErrorAs(t, failed, &pe)
				assert.EqualError(t, pe.Unwrap(), "wire cut")
				assert.NotEmpty(t, pe.Stack)
				assert.Same(t, pe, s.result(2))
				assert.Same(t, pe, s.result(3), "queued behind the panic, or waiting for room, it fails with it")
				assert.Same(t, pe, m.Send(context.Background(), 4), "the Multiplexer stopped")
				want := stats(4, 1, 0, 2, 1, 1, 2)
				if alone {
					assert.Same(t, pe, s.result(0))
					want = stats(3, 0, 0, 1, 2, 2, 1) // 3 was waiting for room: refused

				} else {
					assert.NoError(t, s.result(0))
				}
				assert.Equal(t, int(want.Writes), calls, "write is not called after a panic")
				assert.Equal(t, want, m.Stats())
				for range 2 {
					v := catchPanic(func() { _ = m.Close() })
					assert.Same(t, pe, v, "every Close re-panics with the write's panic")
				}
			})
		})
	}
}

// TestMultiplexerGoexit: a write that calls runtime.Goexit fails its
// batch with ErrGoexit and ends the goroutine that ran it; the
// Multiplexer goes on.
func TestMultiplexerGoexit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		m := fanout.NewMultiplexer(context.Background(), 4, func(vs []int) error {
			if vs[0] == 0 {
				<-release
				return nil
			}
			if vs[0] == 1 {
				runtime.Goexit()
			}
			return nil
		})
		leaderExited := make(chan struct{})
		go func() {
			defer close(leaderExited)
			_ = m.Send(context.Background(), 0)
			t.Error("the Send whose goroutine ran the write that called Goexit returned")
		}()
		synctest.Wait()
		s := newSender(t, m)
		s.send(context.Background(), 1)
		s.send(context.Background(), 2)
		close(release) // [0], then the leader writes [1 2], which calls Goexit
		<-leaderExited
		synctest.Wait()
		assert.ErrorIs(t, s.result(1), compendium.ErrGoexit)
		assert.ErrorIs(t, s.result(2), compendium.ErrGoexit)
		assert.NoError(t, m.Send(context.Background(), 3), "the Multiplexer goes on")
		assert.NoError(t, m.Close())
		assert.Equal(t, stats(4, 2, 2, 0, 0, 0, 3), m.Stats())
	})
}

// TestMultiplexerGoexitHandsTheRoleOn: when a write calls Goexit with
// items queued behind it, the role passes to a producer still waiting,
// which writes them.
func TestMultiplexerGoexitHandsTheRoleOn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		first, gate := make(chan struct{}), make(chan struct{})
		m := fanout.NewMultiplexer(context.Background(), 1, func(vs []int) error {
			switch vs[0] {
			case 0:
				<-first
			case 1:
				<-gate
				runtime.Goexit()
			}
			return nil
		})
		leaderExited := make(chan struct{})
		go func() {
			defer close(leaderExited)
			_ = m.Send(context.Background(), 0)
		}()
		synctest.Wait()
		s := newSender(t, m)
		s.send(context.Background(), 1) // queued
		s.send(context.Background(), 2) // waits for room
		close(first)                    // [0]; the leader takes [1], 2 queues
		synctest.Wait()
		assert.Equal(t, uint64(1), m.Stats().Queued)
		close(gate) // [1] calls Goexit
		<-leaderExited
		assert.ErrorIs(t, s.result(1), compendium.ErrGoexit)
		assert.NoError(t, s.result(2), "the producer handed the role wrote its item")
		require.NoError(t, m.Close())
		assert.Equal(t, stats(3, 2, 1, 0, 0, 0, 3), m.Stats())
	})
}

// TestMultiplexerGoexitInCloseFlush: if the batch that Close waits for
// calls runtime.Goexit and nothing else is queued, Close returns
// ErrGoexit. (It returned nil before.)
func TestMultiplexerGoexitInCloseFlush(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		m := fanout.NewMultiplexer(context.Background(), 4, func([]int) error {
			<-release
			runtime.Goexit()
			return nil
		})
		sent := make(chan error, 1)
		exited := make(chan struct{})
		go func() {
			defer close(exited)
			sent <- m.Send(context.Background(), 1)
		}()
		synctest.Wait() // the write of [1] is in progress
		closed := make(chan error, 1)
		go func() { closed <- m.Close() }()
		synctest.Wait()
		close(release)
		assert.ErrorIs(t, <-closed, compendium.ErrGoexit, "Close returns the error of the batch it waited for")
		<-exited
		select {
		case err := <-sent:
			assert.ErrorIs(t, err, compendium.ErrGoexit)
		default: // the producer ran the write itself, and exited with it
		}
	})
}

// TestMultiplexerGoexitWhileCloseWrites: Close writing items left queued
// and the write calling Goexit on Close's goroutine: a later Close still
// finishes the work and returns ErrGoexit.
func TestMultiplexerGoexitWhileCloseWrites(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newBlockingWriter()
		exit := false
		m := fanout.NewMultiplexer(context.Background(), 1, func(vs []int) error {
			if exit {
				runtime.Goexit()
			}
			return w.write(vs)
		})
		s := newSender(t, m)
		leader, cancelLeader := context.WithCancel(context.Background())
		s.send(leader, 0)
		gone, cancelGone := context.WithCancel(context.Background())
		s.send(gone, 1)
		cancelGone()
		synctest.Wait() // 1's producer has left
		cancelLeader()
		w.release <- nil // [0]: 1 stays queued
		synctest.Wait()
		exit = true
		exited := make(chan struct{})
		go func() {
			defer close(exited)
			_ = m.Close() // writes [1], which calls Goexit
			t.Error("Close returned from a write that called Goexit")
		}()
		<-exited
		assert.ErrorIs(t, m.Close(), compendium.ErrGoexit)
		assert.Equal(t, stats(2, 1, 1, 0, 0, 0, 2), m.Stats())
	})
}

// TestMultiplexerNoItemLostOnClose: producers race Close; every Send that
// returned nil was written exactly once, every other was refused with an
// error matching ErrClosed, and nothing else was written.
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
	for m.Stats().Submitted < producers*per/2 {
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
	assert.Equal(t, uint64(len(written)), st.Completed)
	assert.Equal(t, st.Submitted, st.Completed)
	assert.Equal(t, uint64(producers*per), st.Submitted+st.Rejected)
	assert.LessOrEqual(t, st.Writes, st.Completed)
}

// TestMultiplexerPerProducerOrder: each producer's items are written in
// the order it sent them, whoever writes them.
func TestMultiplexerPerProducerOrder(t *testing.T) {
	const producers, per = 8, 1000
	var s sink
	m := fanout.NewMultiplexer(context.Background(), 8, s.write)
	var wg sync.WaitGroup
	for p := range producers {
		wg.Go(func() {
			for i := range per {
				require.NoError(t, m.Send(context.Background(), p*per+i))
			}
		})
	}
	wg.Wait()
	require.NoError(t, m.Close())
	next := make([]int, producers)
	for _, v := range s.items() {
		p := v / per
		require.Equal(t, next[p], v%per, "producer %d out of order", p)
		next[p]++
	}
	st := m.Stats()
	assert.Equal(t, uint64(producers*per), st.Completed)
	assert.Equal(t, st.Writes, uint64(s.calls.Load()), "Writes counts the calls of write")
}

// TestMultiplexerStatsIdentityUnderConcurrency: the identity of
// compendium.TaskStats holds in every snapshot while producers send,
// writes fail, and producers give up waiting.
func TestMultiplexerStatsIdentityUnderConcurrency(t *testing.T) {
	boom := errors.New("boom")
	m := fanout.NewMultiplexer(context.Background(), 4, func(vs []int) error {
		if vs[0]%3 == 0 {
			return boom
		}
		return nil
	})
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for p := range 6 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				ctx, cancel := context.WithCancel(context.Background())
				if (p+i)%5 == 0 {
					go cancel() // gives up at some point, maybe before Send
				}
				_ = m.Send(ctx, i)
				cancel()
			}
		})
	}
	check := func(s fanout.MultiplexerStats) {
		t.Helper()
		require.Equal(t, s.Submitted, s.Queued+s.Running+s.Completed+s.Failed+s.Panicked+s.Canceled, "%+v", s)
		require.Less(t, s.Queued, uint64(math.MaxUint64/2), "Queued went negative: %+v", s)
		require.Less(t, s.Running, uint64(math.MaxUint64/2), "Running went negative: %+v", s)
	}
	for range 5000 {
		check(m.Stats())
	}
	close(stop)
	wg.Wait()
	require.NoError(t, m.Close())
	s := m.Stats()
	check(s)
	assert.Zero(t, s.Queued+s.Running, "closed: nothing queued or running: %+v", s)
	assert.NotZero(t, s.Failed)
	assert.NotZero(t, s.Completed)
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
	assert.Equal(t, st.Submitted, st.Completed+st.Canceled)
	assert.Equal(t, uint64(ok.Load()), st.Completed)
}

// catchPanic calls f and returns what it panicked with, or nil.
func catchPanic(f func()) (v any) {
	defer func() { v = recover() }()
	f()
	return nil
}
