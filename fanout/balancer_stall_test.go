package fanout_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/go-compendium/compendium"
	"github.com/go-compendium/compendium/fanout"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// job is a request for the stall tests: how long it takes (virtual time),
// or, if hang is set, that it blocks until hang is closed or its context
// ends.
type job struct {
	id   int
	d    time.Duration
	hang chan struct{}
}

// ran is what a job's handler reports: which worker ran it, and when it
// finished, since the test began.
type ran struct {
	worker int
	at     time.Duration
}

// jobHandler runs jobs, reporting the worker that ran each and when.
func jobHandler(start time.Time) func(context.Context, job) (ran, error) {
	return func(ctx context.Context, j job) (ran, error) {
		i, _ := fanout.WorkerIndex(ctx)
		if j.hang != nil {
			select {
			case <-j.hang:
			case <-ctx.Done():
				return ran{i, time.Since(start)}, context.Cause(ctx)
			}
		}
		select {
		case <-time.After(j.d):
		case <-ctx.Done():
			return ran{i, time.Since(start)}, context.Cause(ctx)
		}
		return ran{i, time.Since(start)}, nil
	}
}

// TestBalancerStuckWorkerQueueMoves is issue 13's stuck worker: one
// handler hangs, and the requests queued behind it are moved to the other
// workers and answered there, at the time the watchdog's d allows, instead
// of waiting for the hung handler. The hung worker takes no new requests
// while stalled, and takes them again once its handler returns.
func TestBalancerStuckWorkerQueueMoves(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const workers, depth, d = 3, 3, 50 * time.Millisecond
		start := time.Now()
		b := fanout.NewBalancer(context.Background(), workers, depth, jobHandler(start), fanout.StallAfter(d))
		replies := make(chan fanout.Result[job, ran], workers*depth)
		hang := make(chan struct{})
		require.NoError(t, b.Submit(context.Background(), job{id: 0, hang: hang}, replies))
		for id := 1; id < workers*depth; id++ {
			require.NoError(t, b.Submit(context.Background(), job{id: id, d: 10 * time.Millisecond}, replies))
		}
		// Every worker has three; the hung one keeps all three until the
		// watchdog speaks, the others work theirs off by 30ms.
		time.Sleep(40 * time.Millisecond)
		s := b.Stats()
		stuck := slices.Index(s.Pending, depth)
		require.GreaterOrEqual(t, stuck, 0, "no worker still holds its queue at 40ms: %v", s.Pending)
		assert.Equal(t, []bool{false, false, false}, s.Stalled, "stalled before d")

		var moved []ran
		for range workers*depth - 1 {
			r := <-replies
			require.NoError(t, r.Err, "job %d", r.Req.id)
			assert.NotEqual(t, stuck, r.Value.worker, "job %d ran on the stuck worker", r.Req.id)
			if r.Value.at > 30*time.Millisecond {
				moved = append(moved, r.Value)
			}
		}
		// The two jobs queued behind the hung one waited for the stall to
		// be noticed (50ms), then took 10ms on a healthy worker.
		assert.Equal(t, []time.Duration{60 * time.Millisecond, 60 * time.Millisecond}, []time.Duration{moved[0].at, moved[1].at}, "%v", moved)
		assert.Equal(t, 60*time.Millisecond, time.Since(start))
		s = b.Stats()
		assert.True(t, s.Stalled[stuck], "%+v", s)
		assert.Equal(t, uint64(1), s.Pending[stuck], "only the hung request is left on it: %v", s.Pending)
		assert.Equal(t, uint64(1), s.Running)

		// While it is stalled, new requests go elsewhere, even when the
		// others are full: they are moved off it as soon as there is room.
		for id := 100; id < 100+2*depth+1; id++ {
			require.NoError(t, b.Submit(context.Background(), job{id: id, d: time.Millisecond}, replies))
		}
		for range 2*depth + 1 {
			r := <-replies
			require.NoError(t, r.Err)
			assert.NotEqual(t, stuck, r.Value.worker, "job %d ran on the stuck worker", r.Req.id)
		}

		// Released, the hung job is answered, and its worker is healthy:
		// it takes work again, and every slot is free again.
		close(hang)
		r := <-replies
		assert.Equal(t, 0, r.Req.id)
		assert.Equal(t, stuck, r.Value.worker)
		synctest.Wait()
		s = b.Stats()
		assert.Equal(t, []bool{false, false, false}, s.Stalled)
		assert.Equal(t, []uint64{0, 0, 0}, s.Pending)
		gate := make(chan struct{})
		for id := 200; id < 200+workers*depth; id++ {
			require.NoError(t, b.Submit(context.Background(), job{id: id, hang: gate}, replies), "a slot held for a moved job was not freed")
		}
		synctest.Wait()
		assert.Equal(t, []uint64{depth, depth, depth}, b.Stats().Pending)
		close(gate)
		seen := map[int]bool{}
		for range workers * depth {
			seen[(<-replies).Value.worker] = true
		}
		assert.True(t, seen[stuck], "the healed worker took no work")
		require.NoError(t, b.Close())
		s = b.Stats()
		assert.Equal(t, s.Submitted, s.Completed, "%+v", s.TaskStats)
	})
}

// TestBalancerAnyWorkerCanBeMovedOff: whichever worker is stuck, its
// queue moves: the first, the last, and one between.
func TestBalancerAnyWorkerCanBeMovedOff(t *testing.T) {
	const workers = 3
	for stuck := range workers {
		t.Run(fmt.Sprint("worker=", stuck), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				hang := make(chan struct{})
				var hung atomic.Bool
				b := fanout.NewBalancer(context.Background(), workers, 2, func(ctx context.Context, v int) (int, error) {
					i, _ := fanout.WorkerIndex(ctx)
					if i == stuck && hung.CompareAndSwap(false, true) {
						<-hang // the first call on this worker hangs
					}
					time.Sleep(time.Millisecond)
					return i, nil
				}, fanout.StallAfter(10*time.Millisecond))
				replies := make(chan fanout.Result[int, int], 2*workers)
				for v := range 2 * workers {
					require.NoError(t, b.Submit(context.Background(), v, replies))
				}
				for range 2*workers - 1 {
					r := <-replies // the one queued behind the hang is moved
					assert.NotEqual(t, stuck, r.Value, "request %d", r.Req)
				}
				close(hang)
				assert.Equal(t, stuck, (<-replies).Value)
				require.NoError(t, b.Close())
			})
		})
	}
}

// TestBalancerStalledWorkerWithRoomPassedOver: a stalled worker with room
// in its queue gets no new request while another worker has room: the
// requests go where they can be answered.
func TestBalancerStalledWorkerWithRoomPassedOver(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const depth = 4
		start := time.Now()
		b := fanout.NewBalancer(context.Background(), 2, depth, jobHandler(start), fanout.StallAfter(time.Millisecond))
		replies := make(chan fanout.Result[job, ran], 2*depth)
		hang, wait := make(chan struct{}), make(chan struct{})
		require.NoError(t, b.Submit(context.Background(), job{id: 0, hang: hang}, replies))
		time.Sleep(time.Second) // stalled, with room for three
		s := b.Stats()
		stuck := slices.Index(s.Stalled, true)
		require.GreaterOrEqual(t, stuck, 0)
		for id := 1; id <= depth; id++ {
			require.NoError(t, b.Submit(context.Background(), job{id: id, hang: wait}, replies))
		}
		synctest.Wait()
		s = b.Stats()
		assert.Equal(t, uint64(1), s.Pending[stuck], "a request went to the stalled worker: %v", s.Pending)
		assert.Equal(t, uint64(depth), s.Pending[1-stuck], "%v", s.Pending)
		// The stalled worker's room still counts: with the healthy worker
		// full, one more request is accepted, not kept waiting in Submit
		// (it is moved on once the healthy worker has room).
		accepted := make(chan error, 1)
		go func() { accepted <- b.Submit(context.Background(), job{id: depth + 1, hang: wait}, replies) }()
		synctest.Wait()
		select {
		case err := <-accepted:
			require.NoError(t, err)
		default:
			t.Fatal("a Submit waits while the stalled worker has room: that room was spent")
		}
		close(wait)
		for range depth + 1 {
			r := <-replies
			require.NoError(t, r.Err)
			assert.NotEqual(t, stuck, r.Value.worker, "job %d", r.Req.id)
		}
		close(hang)
		require.NoError(t, (<-replies).Err)
		require.NoError(t, b.Close())
	})
}

// TestBalancerFullHealthyWorkersOverflowToStalled: when every healthy
// worker is full, a request may land on a stalled worker that has room;
// the supervisor then moves it on as soon as a healthy worker has room,
// and it is answered there, while the stuck handler still hangs.
func TestBalancerFullHealthyWorkersOverflowToStalled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		b := fanout.NewBalancer(context.Background(), 2, 2, jobHandler(start), fanout.StallAfter(time.Millisecond))
		replies := make(chan fanout.Result[job, ran], 4)
		hang, wait := make(chan struct{}), make(chan struct{})
		require.NoError(t, b.Submit(context.Background(), job{id: 0, hang: hang}, replies))
		time.Sleep(time.Second)
		stuck := slices.Index(b.Stats().Stalled, true)
		require.GreaterOrEqual(t, stuck, 0)
		for id := 1; id <= 2; id++ { // fill the healthy worker
			require.NoError(t, b.Submit(context.Background(), job{id: id, hang: wait}, replies))
		}
		synctest.Wait() // the supervisor has nothing to do: it waits
		require.NoError(t, b.Submit(context.Background(), job{id: 3, d: time.Millisecond}, replies))
		synctest.Wait()
		close(wait)
		for range 3 {
			r := <-replies // job 3 too: never comes if it waits for the hang
			require.NoError(t, r.Err)
			assert.Equal(t, 1-stuck, r.Value.worker, "job %d", r.Req.id)
		}
		close(hang)
		<-replies
		require.NoError(t, b.Close())
	})
}

// TestBalancerStallWithoutSupervision is the same stuck worker without
// StallAfter: the requests queued behind the hung handler wait for it.
// (The contrast the option exists for.)
func TestBalancerStallWithoutSupervision(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		b := fanout.NewBalancer(context.Background(), 2, 2, jobHandler(start))
		replies := make(chan fanout.Result[job, ran], 4)
		hang := make(chan struct{})
		time.AfterFunc(time.Hour, func() { close(hang) })
		require.NoError(t, b.Submit(context.Background(), job{id: 0, hang: hang}, replies))
		for id := 1; id < 4; id++ {
			require.NoError(t, b.Submit(context.Background(), job{id: id, d: 10 * time.Millisecond}, replies))
		}
		var last time.Duration
		for range 4 {
			last = max(last, (<-replies).Value.at)
		}
		assert.Equal(t, time.Hour+10*time.Millisecond, last, "the job behind the hung one waited for it")
		assert.Nil(t, b.Stats().Stalled)
		require.NoError(t, b.Close())
	})
}

// TestBalancerEveryWorkerStalled: with every worker stuck there is nowhere
// to move a request; the Balancer waits (without spinning: virtual time
// could not advance if a goroutine spun) until a handler returns, and then
// everything is answered.
func TestBalancerEveryWorkerStalled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		b := fanout.NewBalancer(context.Background(), 2, 3, jobHandler(start), fanout.StallAfter(time.Millisecond))
		replies := make(chan fanout.Result[job, ran], 6)
		hang := make(chan struct{})
		require.NoError(t, b.Submit(context.Background(), job{id: 0, hang: hang}, replies))
		require.NoError(t, b.Submit(context.Background(), job{id: 1, hang: hang}, replies))
		for id := 2; id < 6; id++ {
			require.NoError(t, b.Submit(context.Background(), job{id: id, d: time.Millisecond}, replies))
		}
		time.Sleep(time.Hour)
		s := b.Stats()
		assert.Equal(t, []bool{true, true}, s.Stalled)
		assert.Equal(t, uint64(6), s.Queued+s.Running)
		close(hang)
		for range 6 {
			require.NoError(t, (<-replies).Err)
		}
		// Four jobs for two workers once they are free: two each, or three
		// on one if the job in the supervisor's hands got its slot from the
		// first worker to recover, before the other recovered.
		took := time.Since(start) - time.Hour
		assert.True(t, took == 2*time.Millisecond || took == 3*time.Millisecond, "answered %v after the release", took)
		require.NoError(t, b.Close())
		s = b.Stats()
		assert.Equal(t, []bool{false, false}, s.Stalled)
		assert.Equal(t, uint64(6), s.Completed)
	})
}

// TestBalancerCloseWithStalledWorker: Close cancels a stuck handler that
// heeds its context, and the requests queued on a stalled worker and the
// one the supervisor is moving are answered with Close's error; nothing is
// left pending or held.
func TestBalancerCloseWithStalledWorker(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		b := fanout.NewBalancer(context.Background(), 2, 2, jobHandler(start), fanout.StallAfter(10*time.Millisecond))
		replies := make(chan fanout.Result[job, ran], 4)
		hang := make(chan struct{}) // never closed
		for id := range 4 {
			require.NoError(t, b.Submit(context.Background(), job{id: id, hang: hang}, replies))
		}
		time.Sleep(time.Second) // both stalled, one request queued on each
		s := b.Stats()
		assert.Equal(t, []bool{true, true}, s.Stalled)
		require.NoError(t, b.Close())
		for range 4 {
			assert.ErrorIs(t, (<-replies).Err, compendium.ErrClosed)
		}
		s = b.Stats()
		assert.Equal(t, compendium.TaskStats{Submitted: 4, Failed: 2, Canceled: 2}, s.TaskStats)
		assert.Equal(t, []uint64{0, 0}, s.Pending)
		assert.Equal(t, []bool{false, false}, s.Stalled)
	})
}

// TestBalancerStalledHandlerGoexitOrError: a stalled worker whose handler
// ends by runtime.Goexit (its goroutine replaced) or with an error is
// healthy again and takes new work.
func TestBalancerStalledHandlerGoexitOrError(t *testing.T) {
	for _, end := range []string{"goexit", "error"} {
		t.Run(end, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				release := make(chan struct{})
				var stuckOn atomic.Int32
				block := make(chan struct{})
				b := fanout.NewBalancer(context.Background(), 2, 2, func(ctx context.Context, v int) (int, error) {
					i, _ := fanout.WorkerIndex(ctx)
					if v == 1 {
						<-block
					}
					if v == 0 {
						stuckOn.Store(int32(i))
						<-release
						if end == "goexit" {
							runtime.Goexit()
						}
						return i, errors.New("gave up")
					}
					return i, nil
				}, fanout.StallAfter(time.Millisecond))
				replies := make(chan fanout.Result[int, int], 8)
				require.NoError(t, b.Submit(context.Background(), 0, replies))
				time.Sleep(time.Second)
				stuck := int(stuckOn.Load())
				require.True(t, b.Stats().Stalled[stuck])
				close(release)
				r := <-replies
				assert.Error(t, r.Err)
				synctest.Wait()
				assert.Equal(t, []bool{false, false}, b.Stats().Stalled)
				// Four requests that wait fill both workers' queues: the
				// healed worker must take two.
				for range 4 {
					require.NoError(t, b.Submit(context.Background(), 1, replies))
				}
				synctest.Wait()
				assert.Equal(t, []uint64{2, 2}, b.Stats().Pending)
				close(block)
				seen := map[int]bool{}
				for range 4 {
					r := <-replies
					require.NoError(t, r.Err)
					seen[r.Value] = true
				}
				assert.True(t, seen[stuck], "the healed worker took no work")
				require.NoError(t, b.Close())
			})
		})
	}
}

// TestBalancerStatsIdentityWithStalls holds the Stats identity and loads
// of at most depth in every snapshot, while workers
// stall, recover and their requests move, from many goroutines at once.
func TestBalancerStatsIdentityWithStalls(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const workers, depth = 4, 3
		b := fanout.NewBalancer(context.Background(), workers, depth, func(ctx context.Context, v int) (int, error) {
			d := time.Millisecond
			if v%17 == 0 {
				d = 20 * time.Millisecond // stalls a worker for a while
			}
			select {
			case <-time.After(d):
			case <-ctx.Done():
			}
			if v%5 == 0 {
				return 0, errors.New("odd one out")
			}
			return v, nil
		}, fanout.StallAfter(5*time.Millisecond))
		var wg sync.WaitGroup
		for c := range 6 {
			wg.Go(func() {
				for v := c; v < 600; v += 6 {
					ctx, cancel := context.WithTimeout(context.Background(), 3*time.Millisecond)
					if v%3 != 0 {
						cancel()
						ctx = context.Background()
					}
					_, _ = b.Do(ctx, v)
					cancel()
				}
			})
		}
		done := make(chan struct{})
		sawStall := false
		go func() {
			defer close(done)
			for {
				s := b.Stats()
				ts := s.TaskStats
				require.Equal(t, ts.Submitted, ts.Queued+ts.Running+ts.Completed+ts.Failed+ts.Panicked+ts.Canceled, "%+v", ts)
				for i, p := range s.Pending {
					require.LessOrEqual(t, p, uint64(depth), "worker %d: %v", i, s.Pending)
					sawStall = sawStall || s.Stalled[i]
				}
				if ts.Submitted+ts.Rejected == 600 && ts.Queued+ts.Running == 0 {
					return
				}
				time.Sleep(500 * time.Microsecond)
			}
		}()
		wg.Wait()
		<-done
		assert.True(t, sawStall, "no worker ever stalled: the test tests nothing")
		require.NoError(t, b.Close())
		s := b.Stats()
		assert.Equal(t, make([]uint64, workers), s.Pending)
		assert.Equal(t, uint64(600), s.Completed+s.Failed+s.Canceled+s.Rejected)
	})
}
