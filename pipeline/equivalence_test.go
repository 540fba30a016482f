package pipeline_test

// TestChannelEquivalence runs random pipelines beside a reference built
// from plain buffered channels and goroutines, and holds the pipeline to
// what the reference does: the same items (in the same order where every
// stage keeps it), the same error or panic, and no hang where the
// reference finishes.

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/go-compendium/compendium"
	"github.com/go-compendium/compendium/pipeline"
	"github.com/stretchr/testify/require"
)

var (
	errItem  = errors.New("item failed")
	errPanic = errors.New("item panicked")
)

// graph is one random pipeline: a source, a chain of stages and a sink.
type graph struct {
	source string // FromSlice, FromSeq, Generate, FromChan
	items  []int
	stages []gstage
	sink   string // ForEach, All, ToChan: sinks that see each item as it comes
	slow   int    // the sink sleeps a millisecond on items that are 0 mod slow (0: never)
	cancel int    // cancel the parent once the sink has this many items (0: never)
}

// gstage is one stage of a graph.
type gstage struct {
	kind    string // Map, OrderedMap, Filter, OrderedFilter, FlatMap, OrderedFlatMap, Tap, Batch, Buffer, Ack, Barrier
	workers int
	size    int           // Batch's size, Buffer's room, Ack's window, Barrier's group
	wait    time.Duration // Batch's maxWait
	fail    int           // items that are 1 mod fail fail here (0: none)
	panics  bool          // ... by panicking rather than returning errItem
}

// ordered reports whether the stage keeps its input's order.
func (st gstage) ordered() bool {
	return st.workers <= 1 || strings.HasPrefix(st.kind, "Ordered")
}

func (g graph) ordered() bool {
	for _, st := range g.stages {
		if !st.ordered() {
			return false
		}
	}
	return true
}

func (g graph) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s(%d items)", g.source, len(g.items))
	for _, st := range g.stages {
		fmt.Fprintf(&b, " → %s(w=%d size=%d wait=%v fail=%d panic=%v)", st.kind, st.workers, st.size, st.wait, st.fail, st.panics)
	}
	fmt.Fprintf(&b, " → %s(slow=%d cancel=%d)", g.sink, g.slow, g.cancel)
	return b.String()
}

// randomGraph draws a graph from rng.
func randomGraph(rng *rand.Rand) graph {
	g := graph{
		source: []string{"FromSlice", "FromSeq", "Generate", "FromChan"}[rng.IntN(4)],
		items:  ints(rng.IntN(300)),
		sink:   []string{"ForEach", "All", "ToChan"}[rng.IntN(3)],
	}
	if rng.IntN(3) == 0 {
		g.slow = 1 + rng.IntN(20)
	}
	failing := rng.IntN(4) == 0
	if !failing && rng.IntN(5) == 0 {
		g.cancel = 1 + rng.IntN(100)
	}
	kinds := []string{"Map", "OrderedMap", "Filter", "OrderedFilter", "FlatMap", "OrderedFlatMap", "Tap", "Batch", "Buffer", "Ack", "Barrier"}
	for i := range 1 + rng.IntN(4) {
		st := gstage{kind: kinds[rng.IntN(len(kinds))], workers: 1 + rng.IntN(8)}
		switch st.kind {
		case "Tap", "Batch", "Buffer":
			st.workers = 1
		case "Barrier":
			if i > 0 {
				// A barrier needs a known number of items: right after
				// the source.
				st.kind = "Map"
				break
			}
			st.size = 1 + rng.IntN(st.workers)
			g.items = ints(len(g.items) / st.size * st.size)
		case "Ack":
			st.size = 1 + rng.IntN(3)
		}
		switch st.kind {
		case "Batch":
			st.size = 1 + rng.IntN(20)
			st.wait = time.Duration(rng.IntN(3)) * time.Millisecond
		case "Buffer":
			st.size = 1 + rng.IntN(20)
		}
		g.stages = append(g.stages, st)
	}
	// An Ack stage counts what the sink received against what it passed
	// on: a later stage that drops or adds items would make it wait
	// forever, in both runs, or not, depending on which items went first.
	for i := len(g.stages) - 1; i >= 0; i-- {
		if k := g.stages[i].kind; strings.Contains(k, "Filter") || strings.Contains(k, "FlatMap") {
			for j := range i {
				if g.stages[j].kind == "Ack" {
					g.stages[j].kind = "Map"
				}
			}
			break
		}
	}
	if failing {
		i := rng.IntN(len(g.stages))
		if k := g.stages[i].kind; k != "Batch" && k != "Buffer" {
			g.stages[i].fail = 2 + rng.IntN(40)
			g.stages[i].panics = rng.IntN(3) == 0
		}
	}
	return g
}

// outcome is how one run ended.
type outcome struct {
	items    []int
	err      error
	panicked any // the panic value, for a stage that panicked
}

// sinkState is what the stages that watch the sink (Ack) share with it.
type sinkState struct {
	received atomic.Int64
	progress chan struct{} // closed and replaced on every item received
	mu       sync.Mutex
}

func newSinkState() *sinkState { return &sinkState{progress: make(chan struct{})} }

func (s *sinkState) got() {
	s.received.Add(1)
	s.mu.Lock()
	close(s.progress)
	s.progress = make(chan struct{})
	s.mu.Unlock()
}

// await waits until the sink has received n items.
func (s *sinkState) await(ctx context.Context, n int64) error {
	for {
		s.mu.Lock()
		ch := s.progress
		s.mu.Unlock()
		if s.received.Load() >= n {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	}
}

// itemFunc returns the per-item function of st: what it computes, its
// failures, its sleeps, and its waits (Ack, Barrier). calls numbers the
// calls (Ack waits by position), groups holds the barriers.
func itemFunc(st gstage, sink *sinkState) func(ctx context.Context, v int) error {
	var calls atomic.Int64
	var mu sync.Mutex
	groups := map[int]chan struct{}{}
	arrived := map[int]int{}
	return func(ctx context.Context, v int) error {
		if st.fail > 0 && v%st.fail == 1 {
			if st.panics {
				panic(errPanic)
			}
			return errItem
		}
		if v%7 == 3 {
			time.Sleep(time.Duration(v%3) * time.Millisecond)
		}
		switch st.kind {
		case "Ack":
			// Wait until the sink has the items this stage passed on
			// st.size calls ago: an acknowledgement window.
			if n := calls.Add(1) - 1 - int64(st.size); n > 0 {
				return sink.await(ctx, n)
			}
		case "Barrier":
			// Calls in groups of st.size, in the order they start, wait
			// for each other: with st.size workers or more they all run
			// at once, as goroutines receiving from one channel do.
			k := int(calls.Add(1)-1) / st.size
			mu.Lock()
			ch, ok := groups[k]
			if !ok {
				ch = make(chan struct{})
				groups[k] = ch
			}
			arrived[k]++
			if arrived[k] == st.size {
				close(ch)
			}
			mu.Unlock()
			select {
			case <-ch:
			case <-ctx.Done():
				return context.Cause(ctx)
			}
		}
		return nil
	}
}

// Per-stage maps: what each kind does to an item, the same in both runs.
func mapped(v int) int { return v*3 + 1 }
func keep(v int) bool  { return v%4 != 2 }
func flat(v int) []int { return slices.Repeat([]int{v}, v%3) }

// buildOurs builds g on p.
func buildOurs(g graph, p *pipeline.Scope, sink *sinkState) *pipeline.Stream[int] {
	ctx := p.Context()
	var s *pipeline.Stream[int]
	switch g.source {
	case "FromSlice":
		s = pipeline.FromSlice(p, g.items)
	case "FromSeq":
		s = pipeline.FromSeq(p, slices.Values(g.items))
	case "Generate":
		s = pipeline.Generate(p, func(_ context.Context, yield func(int) bool) error {
			for _, v := range g.items {
				if !yield(v) {
					return nil
				}
			}
			return nil
		})
	case "FromChan":
		ch := make(chan int)
		go func() {
			defer close(ch)
			for _, v := range g.items {
				select {
				case ch <- v:
				case <-ctx.Done():
					return
				}
			}
		}()
		s = pipeline.FromChan(p, ch)
	}
	for _, st := range g.stages {
		f := itemFunc(st, sink)
		m := func(ctx context.Context, v int) (int, error) { return mapped(v), f(ctx, v) }
		k := func(ctx context.Context, v int) (bool, error) { return keep(v), f(ctx, v) }
		fm := func(ctx context.Context, v int) ([]int, error) { return flat(v), f(ctx, v) }
		switch st.kind {
		case "Map", "Ack", "Barrier":
			s = pipeline.Map(s, st.workers, m)
		case "OrderedMap":
			s = pipeline.OrderedMap(s, st.workers, m)
		case "Filter":
			s = pipeline.Filter(s, st.workers, k)
		case "OrderedFilter":
			s = pipeline.OrderedFilter(s, st.workers, k)
		case "FlatMap":
			s = pipeline.FlatMap(s, st.workers, fm)
		case "OrderedFlatMap":
			s = pipeline.OrderedFlatMap(s, st.workers, fm)
		case "Tap":
			s = pipeline.Tap(s, f)
		case "Batch":
			s = pipeline.Unbatch(pipeline.Batch(s, st.size, st.wait))
		case "Buffer":
			s = pipeline.Buffer(s, st.size, pipeline.Block)
		}
	}
	return s
}

// runOurs runs g with the pipeline package.
func runOurs(g graph, parent context.Context) (o outcome) {
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	sink := newSinkState()
	p := pipeline.New(ctx)
	out := buildOurs(g, p, sink)
	defer func() {
		if v := recover(); v != nil {
			pe, ok := v.(*compendium.PanicError)
			if !ok {
				panic(v)
			}
			o.panicked = pe.Value
		}
	}()
	receive := func(v int) {
		o.items = append(o.items, v)
		sink.got()
		if g.slow > 0 && v%g.slow == 0 {
			time.Sleep(time.Millisecond)
		}
		if len(o.items) == g.cancel {
			cancel()
		}
	}
	switch g.sink {
	case "ForEach":
		o.err = pipeline.ForEach(out, func(_ context.Context, v int) error { receive(v); return nil })
	case "All":
		for v := range pipeline.All(out) {
			receive(v)
		}
		o.err = p.Wait()
	case "ToChan":
		for v := range pipeline.ToChan(out) {
			receive(v)
		}
		o.err = p.Wait()
	}
	return o
}

// runReference runs g with plain channels and goroutines: each stage of w
// workers is w goroutines ranging over a buffered channel, the first
// error or panic closes a done channel that every send selects on, and
// the ordered stages keep order with a future per item.
func runReference(g graph, parent context.Context) (o outcome) {
	ctx, cancelParent := context.WithCancel(parent)
	defer cancelParent()
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	var firstPanic any
	fail := func(err error) {
		mu.Lock()
		if firstErr == nil && firstPanic == nil {
			firstErr = err
		}
		mu.Unlock()
		cancel(err)
	}
	// goCatch runs f on a goroutine that records a panic as the failure.
	goCatch := func(f func()) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				if v := recover(); v != nil {
					mu.Lock()
					if firstErr == nil && firstPanic == nil {
						firstPanic = v
					}
					mu.Unlock()
					cancel(errPanic)
				}
			}()
			f()
		}()
	}
	send := func(ch chan<- int, v int) bool {
		select {
		case ch <- v:
			return true
		case <-ctx.Done():
			return false
		}
	}
	const buf = 4
	sink := newSinkState()
	src := make(chan int, buf)
	goCatch(func() {
		defer close(src)
		for _, v := range g.items {
			if !send(src, v) {
				return
			}
		}
	})
	next := src
	for _, st := range g.stages {
		in := next // this stage's input, fixed for its goroutines
		f := itemFunc(st, sink)
		out := make(chan int, buf)
		// apply computes the stage's outputs for v, or reports false.
		apply := func(v int) ([]int, bool) {
			if ctx.Err() != nil {
				return nil, false
			}
			if err := f(ctx, v); err != nil {
				fail(err)
				return nil, false
			}
			switch st.kind {
			case "Map", "OrderedMap", "Ack", "Barrier":
				return []int{mapped(v)}, true
			case "Filter", "OrderedFilter":
				if keep(v) {
					return []int{v}, true
				}
				return nil, true
			case "FlatMap", "OrderedFlatMap":
				return flat(v), true
			}
			return []int{v}, true // Tap
		}
		switch {
		case st.kind == "Buffer":
			out = make(chan int, st.size)
			goCatch(func() {
				defer close(out)
				for v := range in {
					if !send(out, v) {
						return
					}
				}
			})
		case st.kind == "Batch":
			goCatch(func() { refBatch(ctx, in, out, st.size, st.wait) })
		case strings.HasPrefix(st.kind, "Ordered") && st.workers > 1:
			goCatch(func() { refOrdered(ctx, in, out, st.workers, apply, goCatch) })
		default:
			var stageWG sync.WaitGroup
			stageWG.Add(st.workers)
			for range st.workers {
				goCatch(func() {
					defer stageWG.Done()
					for v := range in {
						us, ok := apply(v)
						if !ok {
							return
						}
						for _, u := range us {
							if !send(out, u) {
								return
							}
						}
					}
				})
			}
			goCatch(func() { stageWG.Wait(); close(out) })
		}
		next = out
	}
	for v := range next {
		o.items = append(o.items, v)
		sink.got()
		if g.slow > 0 && v%g.slow == 0 {
			time.Sleep(time.Millisecond)
		}
		if len(o.items) == g.cancel {
			cancelParent()
		}
	}
	// The channels' stages do not drain: cancel what is left, as a
	// consumer that stops must, and join.
	cancel(context.Canceled)
	wg.Wait()
	o.err, o.panicked = firstErr, firstPanic
	if o.err == nil && o.panicked == nil && parent.Err() == nil && g.cancel > 0 && len(o.items) >= g.cancel {
		o.err = context.Canceled
	}
	return o
}

// refBatch is Batch then Unbatch with channels: items go on in groups cut
// by size or by wait since the group's first item.
func refBatch(ctx context.Context, in <-chan int, out chan<- int, size int, wait time.Duration) {
	defer close(out)
	var cur []int
	var tick <-chan time.Time
	flush := func() bool {
		for _, v := range cur {
			select {
			case out <- v:
			case <-ctx.Done():
				return false
			}
		}
		cur, tick = nil, nil
		return true
	}
	for {
		select {
		case v, ok := <-in:
			if !ok {
				flush()
				return
			}
			if len(cur) == 0 && wait > 0 {
				tick = time.After(wait)
			}
			cur = append(cur, v)
			if len(cur) == size && !flush() {
				return
			}
		case <-tick:
			if !flush() {
				return
			}
		case <-ctx.Done():
			return
		}
	}
}

// refOrdered is an order-keeping stage with channels: a future per item,
// queued in input order, computed by workers goroutines.
func refOrdered(ctx context.Context, in <-chan int, out chan<- int, workers int, apply func(int) ([]int, bool), goCatch func(func())) {
	type job struct {
		v   int
		res chan []int
	}
	jobs := make(chan job)
	futures := make(chan chan []int, 4*workers)
	goCatch(func() {
		defer close(jobs)
		defer close(futures)
		for v := range in {
			j := job{v, make(chan []int, 1)}
			select {
			case futures <- j.res:
			case <-ctx.Done():
				return
			}
			select {
			case jobs <- j:
			case <-ctx.Done():
				return
			}
		}
	})
	for range workers {
		goCatch(func() {
			for j := range jobs {
				us, ok := apply(j.v)
				if !ok {
					return
				}
				j.res <- us
			}
		})
	}
	defer close(out)
	for res := range futures {
		var us []int
		select {
		case us = <-res:
		case <-ctx.Done():
			return
		}
		for _, u := range us {
			select {
			case out <- u:
			case <-ctx.Done():
				return
			}
		}
	}
}

// fullOutput is what g produces if no item fails and nothing cancels it:
// the items in the order of a run whose every stage keeps it.
func fullOutput(g graph) []int {
	xs := slices.Clone(g.items)
	for _, st := range g.stages {
		var next []int
		for _, v := range xs {
			switch st.kind {
			case "Map", "OrderedMap", "Ack", "Barrier":
				next = append(next, mapped(v))
			case "Filter", "OrderedFilter":
				if keep(v) {
					next = append(next, v)
				}
			case "FlatMap", "OrderedFlatMap":
				next = append(next, flat(v)...)
			default:
				next = append(next, v)
			}
		}
		xs = next
	}
	return xs
}

// isSubset reports whether the multiset xs is contained in ys.
func isSubset(xs, ys []int) bool {
	count := map[int]int{}
	for _, y := range ys {
		count[y]++
	}
	for _, x := range xs {
		if count[x]--; count[x] < 0 {
			return false
		}
	}
	return true
}

func TestChannelEquivalence(t *testing.T) {
	graphs := 150
	if raceEnabled {
		graphs = 100
	}
	if testing.Short() {
		graphs = 30
	}
	rng := rand.New(rand.NewPCG(11, 17))
	for i := range graphs {
		g := randomGraph(rng)
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				// A hang ends at the deadline, an hour of the bubble's
				// clock, with context.DeadlineExceeded.
				parent, stop := context.WithTimeout(t.Context(), time.Hour)
				defer stop()
				ref := runReference(g, parent)
				if errors.Is(ref.err, context.DeadlineExceeded) {
					t.Skipf("the reference hangs too: %v", g)
				}
				refParent, stop2 := context.WithTimeout(t.Context(), time.Hour)
				defer stop2()
				ours := runOurs(g, refParent)
				checkEquivalent(t, g, ref, ours)
			})
		})
	}
}

func checkEquivalent(t *testing.T, g graph, ref, ours outcome) {
	t.Helper()
	require.NotErrorIs(t, ours.err, context.DeadlineExceeded, "hangs where channels do not: %v", g)
	full := fullOutput(g)
	switch {
	case ref.panicked != nil:
		require.Equal(t, ref.panicked, ours.panicked, "panic: %v", g)
	case ref.err != nil && !errors.Is(ref.err, context.Canceled):
		require.ErrorIs(t, ours.err, ref.err, "error: %v", g)
		require.Nil(t, ours.panicked, "%v", g)
	case g.cancel > 0:
		// Cancelled at the sink's g.cancel-th item, unless everything
		// was through by then: either way, no other error.
		if ours.err != nil {
			require.ErrorIs(t, ours.err, context.Canceled, "%v", g)
		}
		require.Nil(t, ours.panicked, "%v", g)
		require.True(t, isSubset(ours.items, full), "items not in the full output: %v", g)
		if g.ordered() {
			requirePrefix(t, full, ours.items, g)
		}
		return
	default:
		require.NoError(t, ours.err, "%v", g)
		require.Nil(t, ours.panicked, "%v", g)
		require.ElementsMatch(t, ref.items, ours.items, "%v", g)
		if g.ordered() {
			require.Equal(t, ref.items, ours.items, "order: %v", g)
		}
		return
	}
	// Failed or panicked: what came out is part of what would have.
	if g.ordered() {
		requirePrefix(t, full, ours.items, g)
	}
}

// requirePrefix fails unless got is a prefix of full.
func requirePrefix(t *testing.T, full, got []int, g graph) {
	t.Helper()
	if len(got) > len(full) || !slices.Equal(full[:len(got)], got) {
		t.Fatalf("%v: got %d items, not a prefix of the %d in order: %v", g, len(got), len(full), got)
	}
}
