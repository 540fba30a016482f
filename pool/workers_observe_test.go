package pool_test

import (
	"bytes"
	"context"
	"fmt"
	"runtime"
	"runtime/pprof"
	"runtime/trace"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-compendium/compendium"
	"github.com/go-compendium/compendium/pool"
)

// TestStatsIdentityUnderConcurrency reads Stats while submitters race
// tasks that complete, fail and call Goexit, then closes the pool with
// tasks queued: every snapshot satisfies the identity, queued, running and
// canceled tasks included.
func TestStatsIdentityUnderConcurrency(t *testing.T) {
	w := pool.NewWorkers(bg, 4, pool.QueueCapacity(32))
	tasks := []func(context.Context) error{
		nop,
		func(context.Context) error { return errTask },
		func(context.Context) error { runtime.Gosched(); return nil },
		func(context.Context) error { runtime.Goexit(); return nil },
	}
	var stop atomic.Bool
	var readers, submitters sync.WaitGroup
	var snapshots atomic.Int64
	for range 2 {
		readers.Go(func() {
			for !stop.Load() {
				if st := w.Stats(); !identity(st) {
					t.Errorf("inconsistent snapshot %+v", st)
					return
				}
				snapshots.Add(1)
				runtime.Gosched()
			}
		})
	}
	for s := range 3 {
		submitters.Go(func() {
			for i := range 2000 {
				if w.Go(bg, tasks[(i+s)%len(tasks)]) != nil {
					return // closed
				}
			}
		})
	}
	submitters.Wait()
	err := w.Wait()
	assert.ErrorIs(t, err, errTask)
	assert.ErrorIs(t, err, compendium.ErrGoexit)
	// Queue more, and close with them queued.
	g := newGate()
	for range 4 {
		require.NoError(t, w.Go(bg, g.task))
	}
	for range 4 {
		<-g.started
	}
	for range 32 {
		require.NoError(t, w.Go(bg, nop))
	}
	go func() { _ = w.Close() }()
	_ = w.Wait()
	stop.Store(true)
	readers.Wait()
	st := w.Stats()
	assertAccounted(t, st)
	assert.Equal(t, uint64(6000+36), st.Submitted)
	assert.Equal(t, uint64(3000), st.Failed-4, "the errors and Goexits, besides the four gated tasks Close cancelled")
	assert.Equal(t, uint64(32), st.Canceled)
	assert.Positive(t, snapshots.Load())
}

// TestLabels reads the labels of a running pool's worker goroutines back
// from a goroutine profile: compendium=pool type=Workers worker=<i>, over
// the labels of the context the pool was made with.
func TestLabels(t *testing.T) {
	var ctx context.Context
	pprof.Do(bg, pprof.Labels("test", t.Name()), func(c context.Context) { ctx = c })
	const n = 3
	w := pool.NewWorkers(ctx, n)
	g := newGate()
	for range n {
		require.NoError(t, w.Go(bg, g.task))
	}
	for range n {
		<-g.started
	}
	var buf bytes.Buffer
	require.NoError(t, pprof.Lookup("goroutine").WriteTo(&buf, 1))
	g.release()
	require.NoError(t, w.Close())

	var workers []string
	for _, line := range strings.Split(buf.String(), "\n") {
		if strings.Contains(line, `"test":"`+t.Name()+`"`) {
			workers = append(workers, line)
		}
	}
	require.Len(t, workers, n, "labelled goroutines of this pool in:\n%s", buf.String())
	seen := map[string]bool{}
	for _, line := range workers {
		assert.Contains(t, line, `"compendium":"pool"`)
		assert.Contains(t, line, `"type":"Workers"`)
		for i := range n {
			if strings.Contains(line, fmt.Sprintf(`"worker":"%d"`, i)) {
				seen[fmt.Sprint(i)] = true
			}
		}
	}
	assert.Len(t, seen, n, "workers 0 to %d, each once: %v", n-1, workers)
}

// TestTraceRegions captures a runtime/trace while a pool runs tasks and
// checks that the trace holds the "pool.Workers" regions. The trace's
// binary format has no parser in the standard library, so the test looks
// for the region's name among the trace's strings.
func TestTraceRegions(t *testing.T) {
	if trace.IsEnabled() {
		t.Skip("a trace is already running (go test -trace)")
	}
	var buf bytes.Buffer
	require.NoError(t, trace.Start(&buf))
	w := pool.NewWorkers(bg, 2)
	var inRegion atomic.Int64
	for range 10 {
		require.NoError(t, w.Go(bg, func(context.Context) error {
			inRegion.Add(1)
			return nil
		}))
	}
	require.NoError(t, w.Wait())
	require.NoError(t, w.Close())
	trace.Stop()
	assert.Equal(t, int64(10), inRegion.Load())
	assert.True(t, bytes.Contains(buf.Bytes(), []byte("pool.Workers")), "the trace names the pool's task regions")
}
