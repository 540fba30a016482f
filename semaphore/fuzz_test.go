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
						assert.PanicsWithValue(t, releasedMore, func() { w.Release(k) }, "Release(%d) holding %d", k, held)
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
