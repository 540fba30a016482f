package pipeline_test

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/go-compendium/compendium/pipeline"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestBadInput holds every constructor and function of the package to
// the module's policy for programming errors: a panic at the call, on the
// caller's goroutine, before any goroutine starts, with the message
// "pipeline: Func: what, got v". A call that panics leaves its input
// stream free for another consumer, and starts nothing (goleak checks
// that nothing is left running).
func TestBadInput(t *testing.T) {
	var nilCtx context.Context
	var nilScope *pipeline.Scope
	var nilStream *pipeline.Stream[int]
	var nilSlices *pipeline.Stream[[]int]
	// Each case gets a fresh scope p and stream in, closed at its end.
	var p *pipeline.Scope
	var in *pipeline.Stream[int]
	mapF := func(_ context.Context, v int) (int, error) { return v, nil }
	keepF := func(context.Context, int) (bool, error) { return true, nil }
	flatF := func(_ context.Context, v int) ([]int, error) { return []int{v}, nil }
	const tooMany = "would allocate more than 16 EiB up front, more than the 1 GiB limit"
	cases := []struct {
		name string
		call func()
		want string
	}{
		{"New nil ctx", func() { pipeline.New(nilCtx) }, "pipeline: New: ctx must not be nil, got nil (use context.Background or context.TODO)"},
		{"FromSlice nil scope", func() { pipeline.FromSlice(nilScope, []int{1}) }, "pipeline: FromSlice: s must not be nil, got nil"},
		{"FromSeq nil scope", func() { pipeline.FromSeq[int](nilScope, func(func(int) bool) {}) }, "pipeline: FromSeq: s must not be nil, got nil"},
		{"FromSeq nil seq", func() { pipeline.FromSeq[int](p, nil) }, "pipeline: FromSeq: seq must not be nil, got nil"},
		{"Generate nil scope", func() {
			pipeline.Generate(nilScope, func(context.Context, func(int) bool) error { return nil })
		}, "pipeline: Generate: s must not be nil, got nil"},
		{"Generate nil gen", func() { pipeline.Generate[int](p, nil) }, "pipeline: Generate: gen must not be nil, got nil"},
		{"FromChan nil scope", func() { pipeline.FromChan(nilScope, make(chan int)) }, "pipeline: FromChan: s must not be nil, got nil"},

		{"Map nil in", func() { pipeline.Map(nilStream, 1, mapF) }, "pipeline: Map: in must not be nil, got nil"},
		{"Map workers=0", func() { pipeline.Map(in, 0, mapF) }, "pipeline: Map: workers must be at least 1, got 0"},
		{"Map workers<0", func() { pipeline.Map(in, -1, mapF) }, "pipeline: Map: workers must be at least 1, got -1"},
		{"Map workers=MaxInt", func() { pipeline.Map(in, math.MaxInt, mapF) }, "pipeline: Map: workers 9223372036854775807 " + tooMany},
		{"Map workers=1<<32+1", func() { pipeline.Map(in, 1<<32+1, mapF) }, "pipeline: Map: workers 4294967297 would allocate 8 TiB up front, more than the 1 GiB limit"},
		{"Map nil f", func() { pipeline.Map[int, int](in, 1, nil) }, "pipeline: Map: f must not be nil, got nil"},
		{"OrderedMap nil in", func() { pipeline.OrderedMap(nilStream, 2, mapF) }, "pipeline: OrderedMap: in must not be nil, got nil"},
		{"OrderedMap workers=0", func() { pipeline.OrderedMap(in, 0, mapF) }, "pipeline: OrderedMap: workers must be at least 1, got 0"},
		{"OrderedMap workers=MaxInt", func() { pipeline.OrderedMap(in, math.MaxInt, mapF) }, "pipeline: OrderedMap: workers 9223372036854775807 " + tooMany},
		{"OrderedMap nil f", func() { pipeline.OrderedMap[int, int](in, 2, nil) }, "pipeline: OrderedMap: f must not be nil, got nil"},
		{"Filter nil in", func() { pipeline.Filter(nilStream, 1, keepF) }, "pipeline: Filter: in must not be nil, got nil"},
		{"Filter workers=0", func() { pipeline.Filter(in, 0, keepF) }, "pipeline: Filter: workers must be at least 1, got 0"},
		{"Filter workers=MaxInt", func() { pipeline.Filter(in, math.MaxInt, keepF) }, "pipeline: Filter: workers 9223372036854775807 " + tooMany},
		{"Filter nil keep", func() { pipeline.Filter(in, 1, nil) }, "pipeline: Filter: keep must not be nil, got nil"},
		{"OrderedFilter nil in", func() { pipeline.OrderedFilter(nilStream, 2, keepF) }, "pipeline: OrderedFilter: in must not be nil, got nil"},
		{"OrderedFilter workers<0", func() { pipeline.OrderedFilter(in, -5, keepF) }, "pipeline: OrderedFilter: workers must be at least 1, got -5"},
		{"OrderedFilter nil keep", func() { pipeline.OrderedFilter(in, 2, nil) }, "pipeline: OrderedFilter: keep must not be nil, got nil"},
		{"FlatMap nil in", func() { pipeline.FlatMap(nilStream, 1, flatF) }, "pipeline: FlatMap: in must not be nil, got nil"},
		{"FlatMap workers=0", func() { pipeline.FlatMap(in, 0, flatF) }, "pipeline: FlatMap: workers must be at least 1, got 0"},
		{"FlatMap nil f", func() { pipeline.FlatMap[int, int](in, 1, nil) }, "pipeline: FlatMap: f must not be nil, got nil"},
		{"OrderedFlatMap nil in", func() { pipeline.OrderedFlatMap(nilStream, 2, flatF) }, "pipeline: OrderedFlatMap: in must not be nil, got nil"},
		{"OrderedFlatMap workers=MaxInt", func() { pipeline.OrderedFlatMap(in, math.MaxInt, flatF) }, "pipeline: OrderedFlatMap: workers 9223372036854775807 " + tooMany},
		{"OrderedFlatMap nil f", func() { pipeline.OrderedFlatMap[int, int](in, 2, nil) }, "pipeline: OrderedFlatMap: f must not be nil, got nil"},
		{"Tap nil in", func() { pipeline.Tap(nilStream, func(context.Context, int) error { return nil }) }, "pipeline: Tap: in must not be nil, got nil"},
		{"Tap nil f", func() { pipeline.Tap(in, nil) }, "pipeline: Tap: f must not be nil, got nil"},

		{"Batch nil in", func() { pipeline.Batch(nilStream, 1, 0) }, "pipeline: Batch: in must not be nil, got nil"},
		{"Batch size=0", func() { pipeline.Batch(in, 0, time.Second) }, "pipeline: Batch: size must be at least 1, got 0"},
		{"Batch size<0", func() { pipeline.Batch(in, -1, time.Second) }, "pipeline: Batch: size must be at least 1, got -1"},
		{"Batch size=MaxInt", func() { pipeline.Batch(in, math.MaxInt, time.Second) }, "pipeline: Batch: size 9223372036854775807 " + tooMany},
		{"Batch maxWait<0", func() { pipeline.Batch(in, 1, -time.Nanosecond) }, "pipeline: Batch: maxWait must not be negative, got -1ns"},
		{"Unbatch nil in", func() { pipeline.Unbatch(nilSlices) }, "pipeline: Unbatch: in must not be nil, got nil"},
		{"Buffer nil in", func() { pipeline.Buffer(nilStream, 1, pipeline.Block) }, "pipeline: Buffer: in must not be nil, got nil"},
		{"Buffer n=0", func() { pipeline.Buffer(in, 0, pipeline.Block) }, "pipeline: Buffer: n must be at least 1, got 0"},
		{"Buffer n<0", func() { pipeline.Buffer(in, -3, pipeline.DropOldest) }, "pipeline: Buffer: n must be at least 1, got -3"},
		{"Buffer n=MaxInt", func() { pipeline.Buffer(in, math.MaxInt, pipeline.Block) }, "pipeline: Buffer: n 9223372036854775807 " + tooMany},
		{"Buffer n=1<<28", func() { pipeline.Buffer(in, 1<<28, pipeline.DropNewest) }, "pipeline: Buffer: n 268435456 would allocate 2 GiB up front, more than the 1 GiB limit"},
		{"Buffer bad policy", func() { pipeline.Buffer(in, 1, pipeline.Policy(3)) }, "pipeline: Buffer: policy must be Block, DropNewest or DropOldest, got Policy(3)"},
		{"Buffer negative policy", func() { pipeline.Buffer(in, 1, pipeline.Policy(-1)) }, "pipeline: Buffer: policy must be Block, DropNewest or DropOldest, got Policy(-1)"},

		{"All nil in", func() { pipeline.All(nilStream) }, "pipeline: All: in must not be nil, got nil"},
		{"ForEach nil in", func() { _ = pipeline.ForEach(nilStream, func(context.Context, int) error { return nil }) }, "pipeline: ForEach: in must not be nil, got nil"},
		{"ForEach nil f", func() { _ = pipeline.ForEach(in, nil) }, "pipeline: ForEach: f must not be nil, got nil"},
		{"Collect nil in", func() { _, _ = pipeline.Collect(nilStream) }, "pipeline: Collect: in must not be nil, got nil"},
		{"Reduce nil in", func() { _, _ = pipeline.Reduce(nilStream, 0, func(a, v int) int { return a }) }, "pipeline: Reduce: in must not be nil, got nil"},
		{"Reduce nil f", func() { _, _ = pipeline.Reduce[int, int](in, 0, nil) }, "pipeline: Reduce: f must not be nil, got nil"},
		{"Head nil in", func() { _, _ = pipeline.Head(nilStream) }, "pipeline: Head: in must not be nil, got nil"},
		{"Drain nil in", func() { _ = pipeline.Drain(nilStream) }, "pipeline: Drain: in must not be nil, got nil"},
		{"ToChan nil in", func() { pipeline.ToChan(nilStream) }, "pipeline: ToChan: in must not be nil, got nil"},
		{"consumed twice", func() {
			pipeline.Tap(in, func(context.Context, int) error { return nil })
			pipeline.Collect(in)
		}, "pipeline: Collect: in already has a consumer (Tap), got a second one"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p = pipeline.New(t.Context())
			in = pipeline.FromSlice(p, []int{1, 2, 3})
			assert.PanicsWithValue(t, c.want, c.call)
			if c.name != "consumed twice" {
				// The call that panicked took nothing: in is still free.
				got, err := pipeline.Collect(in)
				require.NoError(t, err)
				assert.Equal(t, []int{1, 2, 3}, got)
			}
			assert.NoError(t, p.Close())
		})
	}
}

// TestBatchZeroWaitIsNoLimit: a maxWait of 0 is not a bad input: it means
// no time limit.
func TestBatchZeroWaitIsNoLimit(t *testing.T) {
	p := pipeline.New(t.Context())
	got, err := pipeline.Collect(pipeline.Batch(pipeline.FromSlice(p, ints(5)), 2, 0))
	require.NoError(t, err)
	assert.Equal(t, [][]int{{0, 1}, {2, 3}, {4}}, got)
}
