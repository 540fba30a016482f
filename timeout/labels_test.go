package timeout_test

import (
	"bytes"
	"context"
	"runtime/pprof"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/go-compendium/compendium/timeout"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// goroutineLabels returns the label sets of the goroutines in a goroutine
// profile that carry compendium=timeout, as the profile prints them
// (`labels: {"compendium":"timeout", ...}`).
func goroutineLabels(t *testing.T) []string {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, pprof.Lookup("goroutine").WriteTo(&buf, 1))
	var sets []string
	for _, line := range strings.Split(buf.String(), "\n") {
		if strings.Contains(line, `"compendium":"timeout"`) {
			sets = append(sets, line)
		}
	}
	return sets
}

// findLabels returns the one label set that contains every want, failing
// the test if there is none.
func findLabels(t *testing.T, want ...string) string {
	t.Helper()
	sets := goroutineLabels(t)
	for _, set := range sets {
		all := true
		for _, w := range want {
			all = all && strings.Contains(set, w)
		}
		if all {
			return set
		}
	}
	t.Fatalf("no goroutine labelled %v among:\n%s", want, strings.Join(sets, "\n"))
	return ""
}

// TestStopperWorkerLabels reads the labels back from running workers: a
// goroutine profile names the package, the type and each worker. (In a
// bubble, so that synctest.Wait can let the joined goroutines finish
// exiting before the profile that must not find them.)
func TestStopperWorkerLabels(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := timeout.NewStopper()
		worker := func(quit <-chan struct{}) { <-quit }
		require.NoError(t, s.GoNamed("labels-test-flusher", worker))
		require.NoError(t, s.Go(worker))
		synctest.Wait()
		findLabels(t, `"type":"Stopper"`, `"worker":"labels-test-flusher"`)
		findLabels(t, `"type":"Stopper"`, `"worker":"worker 2"`)
		require.NoError(t, s.Close())
		synctest.Wait()
		for _, set := range goroutineLabels(t) { // other tests' may be exiting still
			assert.NotContains(t, set, "labels-test-flusher", "a worker left after Close")
		}
	})
}

// TestCallAndFirstLabels: the goroutines of Call and First carry their
// type, First's its function's index, and both the labels of the ctx they
// were given.
func TestCallAndFirstLabels(t *testing.T) {
	var ctx context.Context
	pprof.Do(context.Background(), pprof.Labels("request", "r42"), func(c context.Context) { ctx = c })
	for _, c := range []struct {
		name string
		ctx  context.Context
		want []string
	}{
		{"plain ctx", context.Background(), nil},
		{"labelled ctx", ctx, []string{`"request":"r42"`}},
	} {
		t.Run(c.name, func(t *testing.T) {
			running := make(chan struct{})
			release := make(chan struct{})
			blocked := func(context.Context) (int, error) { running <- struct{}{}; <-release; return 1, nil }
			done := make(chan struct{})
			go func() {
				defer close(done)
				_, _ = timeout.Call(c.ctx, time.Hour, blocked)
			}()
			<-running
			findLabels(t, append([]string{`"type":"Call"`}, c.want...)...)
			release <- struct{}{}
			<-done

			go func() {
				defer close(running)
				fs := make([]func(context.Context) (int, error), 10) // past the table of fs=i labels
				for i := range fs {
					fs[i] = blocked
				}
				_, _ = timeout.First(c.ctx, fs...)
			}()
			for range 10 {
				<-running
			}
			for _, i := range []string{"0", "7", "9"} {
				findLabels(t, append([]string{`"type":"First"`, `"fs":"` + i + `"`}, c.want...)...)
			}
			close(release)
			<-running // First returned
		})
	}
}

// TestIdleTimerLabels: f runs on a goroutine labelled with the type.
func TestIdleTimerLabels(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		it := timeout.NewIdleTimer(time.Millisecond, func() { <-release })
		time.Sleep(time.Millisecond)
		synctest.Wait() // f is running
		findLabels(t, `"type":"IdleTimer"`)
		close(release)
		require.NoError(t, it.Close())
	})
}

// TestCallWithoutLabelsBuildsNone: the labels of a call whose ctx carries
// none are made once, not per call. A call whose ctx carries labels must
// build its own (ours over the caller's): so it allocates at least one
// label set more than a call whose ctx carries none.
func TestCallWithoutLabelsBuildsNone(t *testing.T) {
	var labelled context.Context
	pprof.Do(context.Background(), pprof.Labels("request", "r42"), func(c context.Context) { labelled = c })
	f := func(context.Context) (int, error) { return 1, nil }
	allocs := func(ctx context.Context) float64 {
		return testing.AllocsPerRun(200, func() { _, _ = timeout.Call(ctx, time.Hour, f) })
	}
	labelSet := testing.AllocsPerRun(200, func() {
		_ = pprof.WithLabels(context.Background(), pprof.Labels("compendium", "timeout", "type", "Call"))
	})
	plain, merged := allocs(context.Background()), allocs(labelled)
	assert.LessOrEqual(t, plain+labelSet, merged,
		"allocations per Call: %v without labels, %v with; one label set: %v", plain, merged, labelSet)
}
