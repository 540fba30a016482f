package semaphore_test

import (
	"context"
	"testing"
	"testing/synctest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-compendium/compendium/semaphore"
)

// fuzzWaiter is one Acquire the model expects to be blocked.
type fuzzWaiter struct {
	k      int64
	errc   chan error
	cancel context.CancelFunc
}

// FuzzWeighted runs a random sequence of Acquire, TryAcquire, Release and
// cancellations of queued waiters against a model: a count of the weight
// held and a FIFO queue. Each Acquire runs on its own goroutine inside a
// synctest bubble, so synctest.Wait tells exactly which ones are blocked,
// and after every step the waiters the model says were granted must have
// returned nil and the others must still be blocked.
//
// Each op is two bytes: the operation, then the weight (0..size+1, so that
// oversize requests appear) or, for a cancellation, the queue position.
func FuzzWeighted(f *testing.F) {
	f.Add(uint8(3), []byte{0, 2, 0, 2, 0, 1, 2, 2, 2, 1})          // FIFO: 1 waits behind 2
	f.Add(uint8(3), []byte{0, 3, 0, 2, 0, 1, 3, 0, 2, 3})          // cancel at head wakes those behind
	f.Add(uint8(4), []byte{1, 4, 0, 1, 3, 0, 1, 0, 2, 4, 2, 1})    // TryAcquire never barges
	f.Add(uint8(1), []byte{0, 5, 2, 3, 1, 2, 0, 0, 2, 0})          // oversize, over-release, zero
	f.Add(uint8(7), []byte{0, 8, 0, 4, 0, 4, 0, 1, 3, 1, 2, 4, 2}) // cancel behind the head
	f.Fuzz(func(t *testing.T, size uint8, ops []byte) {
		n := int64(size%8) + 1
		if len(ops) > 128 {
			ops = ops[:128]
		}
		synctest.Test(t, func(t *testing.T) {
			w := semaphore.NewWeighted(n)
			var held int64          // weight held, by the model
			var queue []*fuzzWaiter // blocked Acquires, oldest first

			// settle grants the head of the model's queue while it fits,
			// then checks the real waiters agree.
			settle := func() {
				synctest.Wait()
				for len(queue) > 0 && queue[0].k <= n-held {
					held += queue[0].k
					select {
					case err := <-queue[0].errc:
						require.NoError(t, err, "granted waiter for %d", queue[0].k)
					default:
						require.FailNow(t, "waiter not granted", "head wants %d, %d of %d held", queue[0].k, held-queue[0].k, n)
					}
					queue[0].cancel()
					queue = queue[1:]
				}
				for i, q := range queue {
					require.Empty(t, q.errc, "waiter %d (k=%d) returned; %d of %d held", i, q.k, held, n)
				}
			}

			for i := 0; i+1 < len(ops); i += 2 {
				op, arg := ops[i]%4, int64(ops[i+1])
				k := arg % (n + 2)
				switch op {
				case 0: // Acquire, on its own goroutine
					ctx, cancel := context.WithCancel(context.Background())
					q := &fuzzWaiter{k: k, errc: make(chan error, 1), cancel: cancel}
					go func() { q.errc <- w.Acquire(ctx, k) }()
					synctest.Wait()
					switch {
					case k > n:
						require.ErrorIs(t, <-q.errc, semaphore.ErrTooLarge)
						cancel()
					case len(queue) == 0 && k <= n-held:
						require.NoError(t, <-q.errc, "Acquire(%d) with %d of %d held", k, held, n)
						held += k
						cancel()
					default:
						queue = append(queue, q)
						settle()
					}
				case 1: // TryAcquire
					want := len(queue) == 0 && k <= n-held
					require.Equal(t, want, w.TryAcquire(k), "TryAcquire(%d) with %d of %d held, %d queued", k, held, n, len(queue))
					if want {
						held += k
					}
				case 2: // Release
					if k > held {
						assert.PanicsWithValue(t, weightedReleasedMore(k, held), func() { w.Release(k) }, "Release(%d) holding %d", k, held)
						break
					}
					w.Release(k)
					held -= k
					settle()
				case 3: // cancel a queued Acquire
					if len(queue) == 0 {
						break
					}
					j := int(arg) % len(queue)
					q := queue[j]
					q.cancel()
					synctest.Wait()
					require.ErrorIs(t, <-q.errc, context.Canceled)
					queue = append(queue[:j], queue[j+1:]...)
					settle()
				}
			}

			// Give up the rest, newest first so that nothing is granted on
			// the way, then check that all the weight came back.
			for len(queue) > 0 {
				q := queue[len(queue)-1]
				q.cancel()
				require.ErrorIs(t, <-q.errc, context.Canceled)
				queue = queue[:len(queue)-1]
			}
			if held > 0 {
				w.Release(held)
			}
			assert.True(t, w.TryAcquire(n), "weight lost: TryAcquire(%d) after releasing everything", n)
		})
	})
}

// FuzzSemaphore runs a random sequence of Acquire (on its own goroutine),
// TryAcquire, sends on Acquirer, Release and cancellations of blocked
// Acquires against a model: the slots held and the Acquires blocked. The
// channel does not promise which blocked Acquire a Release wakes, so the
// model checks counts: after each step exactly as many have returned as
// could be granted, and Len agrees.
//
// Each op is two bytes: the operation, then, for a cancellation, which
// blocked Acquire to cancel.
func FuzzSemaphore(f *testing.F) {
	f.Add(uint8(1), []byte{0, 0, 0, 0, 0, 0, 3, 1, 3, 0, 3, 0})       // two wait, one cancelled, one granted
	f.Add(uint8(2), []byte{1, 0, 2, 0, 1, 0, 0, 0, 3, 0, 4, 0, 3, 0}) // Acquirer, TryAcquire, over-release
	f.Add(uint8(0), []byte{0, 1, 0, 1, 0, 0, 4, 2, 3, 0, 3, 0, 3, 0}) // waiters under Background, which cannot be cancelled
	f.Fuzz(func(t *testing.T, size uint8, ops []byte) {
		n := int(size%4) + 1
		if len(ops) > 128 {
			ops = ops[:128]
		}
		synctest.Test(t, func(t *testing.T) {
			s := semaphore.NewCounting(n)
			held := 0
			var blocked []*fuzzWaiter // in no particular order

			// settle checks that as many blocked Acquires returned as
			// there were free slots to give them, and no more.
			settle := func() {
				synctest.Wait()
				var still []*fuzzWaiter
				for _, q := range blocked {
					select {
					case err := <-q.errc:
						require.NoError(t, err, "a blocked Acquire returned")
						held++
					default:
						still = append(still, q)
					}
				}
				blocked = still
				require.LessOrEqual(t, held, n, "slots held")
				if len(blocked) > 0 {
					require.Equal(t, n, held, "%d Acquires blocked with a slot free", len(blocked))
				}
				require.Equal(t, held, s.Len(), "Len()")
			}

			for i := 0; i+1 < len(ops); i += 2 {
				switch ops[i] % 5 {
				case 0: // Acquire, on its own goroutine
					// An odd argument waits under context.Background, whose
					// nil Done takes Acquire's plain-send path; such a
					// waiter cannot be cancelled.
					ctx, cancel := context.Background(), context.CancelFunc(nil)
					if ops[i+1]%2 == 0 {
						ctx, cancel = context.WithCancel(ctx)
					}
					q := &fuzzWaiter{errc: make(chan error, 1), cancel: cancel}
					go func() { q.errc <- s.Acquire(ctx) }()
					blocked = append(blocked, q)
					settle()
				case 1: // TryAcquire
					want := held < n
					require.Equal(t, want, s.TryAcquire(), "TryAcquire() with %d of %d held", held, n)
					if want {
						held++
					}
				case 2: // a send on Acquirer that gives up at once
					select {
					case s.Acquirer() <- struct{}{}:
						require.Less(t, held, n, "sent on Acquirer with every slot held")
						held++
					default:
						require.Equal(t, n, held, "send on Acquirer blocked with a slot free")
					}
				case 3: // Release
					if held == 0 {
						assert.PanicsWithValue(t, countingReleasedMore(n), s.Release, "Release() holding nothing")
						break
					}
					s.Release()
					held--
					settle()
				case 4: // cancel a blocked Acquire
					j := int(ops[i+1]) % (len(blocked) + 1)
					if j == len(blocked) || blocked[j].cancel == nil {
						break
					}
					q := blocked[j]
					q.cancel()
					synctest.Wait()
					require.ErrorIs(t, <-q.errc, context.Canceled)
					blocked = append(blocked[:j], blocked[j+1:]...)
					settle()
				}
			}

			// Cancel what can be cancelled, then free a slot for each
			// Acquire that cannot, and release everything.
			for _, q := range blocked {
				if q.cancel != nil {
					q.cancel()
					require.ErrorIs(t, <-q.errc, context.Canceled)
				}
			}
			for _, q := range blocked {
				if q.cancel == nil {
					s.Release()
					require.NoError(t, <-q.errc)
				}
			}
			for range held {
				s.Release()
			}
			assert.Equal(t, 0, s.Len(), "slots held after releasing everything")
		})
	})
}
