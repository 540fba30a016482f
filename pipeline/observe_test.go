package pipeline_test

import (
	"bytes"
	"context"
	"regexp"
	"runtime/pprof"
	"runtime/trace"
	"slices"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/go-compendium/compendium/pipeline"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// labelSets returns the pprof label sets of the running goroutines whose
// labels include every key=value of want, each as "k=v k=v ..." sorted.
func labelSets(t *testing.T, want ...string) []string {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, pprof.Lookup("goroutine").WriteTo(&buf, 1))
	pair := regexp.MustCompile(`"([^"]*)":"([^"]*)"`)
	var sets []string
	for _, line := range strings.Split(buf.String(), "\n") {
		rest, ok := strings.CutPrefix(line, "# labels: ")
		if !ok {
			continue
		}
		var kv []string
		for _, m := range pair.FindAllStringSubmatch(rest, -1) {
			kv = append(kv, m[1]+"="+m[2])
		}
		slices.Sort(kv)
		if containsAll(kv, want) {
			sets = append(sets, strings.Join(kv, " "))
		}
	}
	slices.Sort(sets)
	return sets
}

func containsAll(kv, want []string) bool {
	for _, w := range want {
		if !slices.Contains(kv, w) {
			return false
		}
	}
	return true
}

// TestLabels: every goroutine of a running pipeline carries the labels
// compendium=pipeline type=<stage> stage=<stage>#k worker=i, on top of the
// caller's own labels, read back from a goroutine profile.
func TestLabels(t *testing.T) {
	synctest.Test(t, testLabels)
}

func testLabels(t *testing.T) {
	pprof.Do(t.Context(), pprof.Labels("job", "TestLabels"), func(ctx context.Context) {
		stuck := make(chan struct{})
		entered := make(chan struct{}, 3)
		p := pipeline.New(ctx)
		src := pipeline.FromSlice(p, ints(3))
		out := pipeline.Map(src, 3, func(_ context.Context, v int) (int, error) {
			entered <- struct{}{}
			<-stuck
			return v, nil
		})
		ordered := pipeline.OrderedMap(out, 2, square)
		_ = pipeline.ToChan(ordered)
		for range 3 {
			<-entered // all three workers are in f: none has exited
		}
		synctest.Wait() // every goroutine has started and applied its labels
		got := labelSets(t, "job=TestLabels")
		for _, want := range []string{
			"compendium=pipeline job=TestLabels stage=Map#2 type=Map worker=1",
			"compendium=pipeline job=TestLabels stage=Map#2 type=Map worker=2",
			"compendium=pipeline job=TestLabels stage=Map#2 type=Map worker=3",
			"compendium=pipeline job=TestLabels role=dispatch stage=OrderedMap#3 type=OrderedMap worker=1",
			"compendium=pipeline job=TestLabels stage=OrderedMap#3 type=OrderedMap worker=1",
			"compendium=pipeline job=TestLabels stage=OrderedMap#3 type=OrderedMap worker=2",
			"compendium=pipeline job=TestLabels role=collect stage=OrderedMap#3 type=OrderedMap",
			"compendium=pipeline job=TestLabels stage=ToChan#4 type=ToChan worker=1",
		} {
			assert.Contains(t, got, want)
		}
		close(stuck)
		assert.NoError(t, p.Close())
	})
}

// TestTraceRegions: with runtime/trace on, each batch a stage processes is
// a region named like the stage's labels.
func TestTraceRegions(t *testing.T) {
	if trace.IsEnabled() {
		t.Skip("a trace is already running (go test -trace)")
	}
	var buf bytes.Buffer
	require.NoError(t, trace.Start(&buf))
	p := pipeline.New(t.Context())
	out := pipeline.Map(pipeline.FromSlice(p, ints(1000)), 2, square)
	out = pipeline.Filter(out, 1, func(_ context.Context, v int) (bool, error) { return v%2 == 0, nil })
	out = pipeline.OrderedMap(out, 2, square)
	_, err := pipeline.Collect(out)
	trace.Stop()
	require.NoError(t, err)
	for _, region := range []string{"pipeline.Map#2", "pipeline.Filter#3", "pipeline.OrderedMap#4"} {
		assert.True(t, bytes.Contains(buf.Bytes(), []byte(region)), "the trace has no region %q", region)
	}
}
