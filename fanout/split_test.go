package fanout_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
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

// TestSplitOneOutput: n = 1 is a valid number of outputs, which gets
// every value.
func TestSplitOneOutput(t *testing.T) {
	const n = 100
	for name, outs := range map[string][]<-chan int{
		"Broadcast": fanout.Broadcast(context.Background(), count(context.Background(), n), 1),
		"Partition": fanout.Partition(context.Background(), count(context.Background(), n), 1, func(v int) int { return v }),
	} {
		require.Len(t, outs, 1, name)
		got := collect(outs)[0]
		assert.Len(t, got, n, name)
		for i, v := range got {
			require.Equal(t, i, v, "%s: out of order", name)
		}
	}
}

// TestPartitionKeyPanicCrashes: a panic in key is not recovered (there is
// no Wait to re-raise it on): it ends the program with key's panic and
// stack, as Partition's doc says. The crash happens in a child process.
func TestPartitionKeyPanicCrashes(t *testing.T) {
	if os.Getenv("FANOUT_PARTITION_KEY_PANIC") == "1" {
		in := make(chan int)
		fanout.Partition(context.Background(), in, 2, func(v int) int { panic(fmt.Sprintf("bad key %d", v)) })
		in <- 7
		select {} // the panic ends the process
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestPartitionKeyPanicCrashes$")
	cmd.Env = append(os.Environ(), "FANOUT_PARTITION_KEY_PANIC=1")
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit, "the child did not crash:\n%s", out)
	assert.Contains(t, string(out), "panic: bad key 7")
	assert.Contains(t, string(out), "TestPartitionKeyPanicCrashes.func", "the stack shows key's frame")
	assert.Contains(t, string(out), "created by github.com/go-compendium/compendium/fanout.Partition", "and the goroutine Partition started")
}
