package fanout_test

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"

	"github.com/go-compendium/compendium/fanout"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// count sends 0..n-1 on a new channel and closes it.
func count(ctx context.Context, n int) <-chan int {
	c := make(chan int)
	go func() {
		defer close(c)
		for i := range n {
			select {
			case c <- i:
			case <-ctx.Done():
				return
			}
		}
	}()
	return c
}

// collect reads every output to its end, concurrently, and returns what
// each received.
func collect[T any](outs []<-chan T) [][]T {
	got := make([][]T, len(outs))
	var wg sync.WaitGroup
	for i, o := range outs {
		wg.Go(func() {
			for v := range o {
				got[i] = append(got[i], v)
			}
		})
	}
	wg.Wait()
	return got
}

func TestBroadcastEveryReaderGetsAllInOrder(t *testing.T) {
	const n = 10_000
	got := collect(fanout.Broadcast(context.Background(), count(context.Background(), n), 3))
	for r, vs := range got {
		require.Len(t, vs, n, "reader %d", r)
		for i, v := range vs {
			if v != i {
				t.Fatalf("reader %d got %d at position %d", r, v, i)
			}
		}
	}
}

// TestBroadcastSlowestSetsPaceCancelFrees: a reader that stops reading
// stops every reader, and cancelling frees them all.
func TestBroadcastSlowestSetsPaceCancelFrees(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		outs := fanout.Broadcast(ctx, count(ctx, 1000), 2)
		<-outs[0] // reader 0 takes value 0 and stops
		var got []int
		done := make(chan struct{})
		go func() {
			defer close(done)
			for v := range outs[1] {
				got = append(got, v)
			}
		}()
		synctest.Wait()
		// Reader 1 got value 0 and maybe value 1 (offered to reader 1
		// first when reader 0 was not ready); it cannot get ahead further.
		assert.LessOrEqual(t, len(got), 2, "reader 1 ran ahead of a stopped reader: %v", got)
		cancel()
		<-done
		_, ok := <-outs[0]
		assert.False(t, ok, "outs[0] still open after cancel")
	})
}

func TestPartitionKeepsKeysTogetherInOrder(t *testing.T) {
	const n, keys = 20_000, 37
	outs := fanout.Partition(context.Background(), count(context.Background(), n), 4, func(v int) int { return v % keys })
	got := collect(outs)
	where := map[int]int{} // key -> output
	total := 0
	for o, vs := range got {
		total += len(vs)
		last := map[int]int{}
		for _, v := range vs {
			k := v % keys
			if w, ok := where[k]; ok && w != o {
				t.Fatalf("key %d went to outputs %d and %d", k, w, o)
			}
			where[k] = o
			if l, ok := last[k]; ok && l >= v {
				t.Fatalf("key %d: %d after %d on output %d", k, v, l, o)
			}
			last[k] = v
		}
	}
	assert.Equal(t, n, total)
	used := map[int]bool{}
	for _, o := range where {
		used[o] = true
	}
	assert.Len(t, used, 4, "37 keys should reach all 4 outputs")
}

// TestSplitCancelFreesStoppedReaders: with no reader at all, cancel ends
// every goroutine and closes every output.
func TestSplitCancelFreesStoppedReaders(t *testing.T) {
	splits := []struct {
		name  string
		split func(context.Context, <-chan int, int) []<-chan int
	}{
		{"Broadcast", fanout.Broadcast[int]},
		{"Partition", func(ctx context.Context, in <-chan int, n int) []<-chan int {
			return fanout.Partition(ctx, in, n, func(v int) int { return v })
		}},
	}
	for _, s := range splits {
		t.Run(s.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx, cancel := context.WithCancel(context.Background())
				in := make(chan int)
				outs := s.split(ctx, in, 3)
				in <- 1 // taken by the split goroutine, which now blocks sending it
				synctest.Wait()
				cancel()
				for i, o := range outs {
					for range o {
					}
					_, ok := <-o
					assert.False(t, ok, "output %d open after cancel", i)
				}
			})
		})
	}
}

func TestSplitBadArguments(t *testing.T) {
	in := make(chan int)
	cases := []struct {
		name string
		f    func()
		want string
	}{
		{"Broadcast n=-1", func() { fanout.Broadcast(context.Background(), in, -1) }, "fanout: Broadcast needs at least 1 output, got -1"},
		{"Partition n=0", func() { fanout.Partition(context.Background(), in, 0, func(int) int { return 0 }) }, "fanout: Partition needs at least 1 output, got 0"},
		{"Partition nil key", func() { fanout.Partition[int, int](context.Background(), in, 2, nil) }, "fanout: Partition needs a key func, got nil"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			assert.PanicsWithValue(t, c.want, c.f)
		})
	}
}
