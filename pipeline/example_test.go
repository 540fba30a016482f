package pipeline_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"runtime/pprof"
	"slices"
	"strings"
	"time"

	"github.com/go-compendium/compendium"
	"github.com/go-compendium/compendium/pipeline"
)

// The Go blog's pipeline: generate numbers, square them, sum them, under one
// scope whose Wait joins every stage.
func Example() {
	p := pipeline.New(context.Background())
	nums := pipeline.FromSlice(p, []int{1, 2, 3, 4})
	squares := pipeline.Map(nums, 2, func(_ context.Context, v int) (int, error) {
		return v * v, nil
	})
	sum, err := pipeline.Reduce(squares, 0, func(acc, v int) int { return acc + v })
	fmt.Println(sum, err)
	// Output: 30 <nil>
}

// A break out of the range loop cancels the endless source instead of
// draining it, and Wait, which joins every stage, returns nil: stopping
// early is not an error.
func Example_break() {
	p := pipeline.New(context.Background())
	naturals := pipeline.Generate(p, func(_ context.Context, yield func(int) bool) error {
		for i := 1; ; i++ {
			if !yield(i) {
				return nil // the scope was cancelled by the break
			}
		}
	})
	for v := range pipeline.All(naturals) {
		fmt.Println(v)
		if v == 3 {
			break
		}
	}
	fmt.Println(p.Wait())
	// Output:
	// 1
	// 2
	// 3
	// <nil>
}

// The first error cancels every stage, and Wait (here called by Collect)
// returns it.
func Example_error() {
	errOdd := errors.New("odd number")
	p := pipeline.New(context.Background())
	checked := pipeline.Map(pipeline.FromSlice(p, []int{2, 4, 5, 6}), 1, func(_ context.Context, v int) (int, error) {
		if v%2 == 1 {
			return 0, fmt.Errorf("%d: %w", v, errOdd)
		}
		return v, nil
	})
	_, err := pipeline.Collect(checked)
	fmt.Println(err, errors.Is(err, errOdd))
	// Output: 5: odd number true
}

// New makes the scope that owns a pipeline's goroutines.
func ExampleNew() {
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // a context already done: nothing runs
	p := pipeline.New(ctx)
	calls := 0
	out := pipeline.Map(pipeline.FromSlice(p, []int{1, 2, 3}), 1, func(_ context.Context, v int) (int, error) {
		calls++
		return v, nil
	})
	_, err := pipeline.Collect(out)
	fmt.Println(calls, err)
	// Output: 0 context canceled
}

// Every stage function receives the scope's context, which a failure
// anywhere in the pipeline cancels.
func ExampleScope_Context() {
	p := pipeline.New(context.Background())
	out := pipeline.Map(pipeline.FromSlice(p, []string{"a"}), 1, func(ctx context.Context, s string) (string, error) {
		return fmt.Sprint(s, " ", ctx == p.Context()), nil
	})
	got, _ := pipeline.Collect(out)
	fmt.Println(got)
	// Output: [a true]
}

// Wait joins every stage; call it after ranging over All.
func ExampleScope_Wait() {
	p := pipeline.New(context.Background())
	for w := range pipeline.All(pipeline.FromSlice(p, []string{"x", "y"})) {
		fmt.Print(w)
	}
	fmt.Println(" ", p.Wait())
	// Output: xy  <nil>
}

// A Scope is the first argument of every source.
func ExampleScope() {
	p := pipeline.New(context.Background())
	letters := pipeline.FromSlice(p, []string{"a", "b"})
	upper := pipeline.Map(letters, 1, func(_ context.Context, s string) (string, error) {
		return strings.ToUpper(s), nil
	})
	got, err := pipeline.Collect(upper)
	fmt.Println(got, err)
	// Output: [A B] <nil>
}

// A panic in a stage cancels the pipeline and comes back out of Wait as a
// *compendium.PanicError holding the original value and the stack where it
// happened.
func Example_panic() {
	p := pipeline.New(context.Background())
	out := pipeline.Map(pipeline.FromSlice(p, []int{0}), 1, func(_ context.Context, v int) (int, error) {
		return 1 / v, nil // integer divide by zero
	})
	defer func() {
		pe := recover().(*compendium.PanicError)
		fmt.Println(pe.Value)
	}()
	_ = pipeline.Drain(out)
	// Output: runtime error: integer divide by zero
}

// ErrEmpty is what Head returns when there was nothing to take.
func ExampleErrEmpty() {
	p := pipeline.New(context.Background())
	_, err := pipeline.Head(pipeline.FromSlice[int](p, nil))
	fmt.Println(errors.Is(err, pipeline.ErrEmpty))
	// Output: true
}

// A Stream flows from one stage to the next; each is consumed once.
func ExampleStream() {
	p := pipeline.New(context.Background())
	var s *pipeline.Stream[int] = pipeline.FromSlice(p, []int{1, 2, 3})
	s = pipeline.Map(s, 1, func(_ context.Context, v int) (int, error) { return v * 10, nil })
	got, _ := pipeline.Collect(s)
	fmt.Println(got)
	// Output: [10 20 30]
}

// FromSlice streams a slice's items in order.
func ExampleFromSlice() {
	p := pipeline.New(context.Background())
	got, _ := pipeline.Collect(pipeline.FromSlice(p, []string{"a", "b", "c"}))
	fmt.Println(got)
	// Output: [a b c]
}

// FromSeq streams an iterator's values, here from the slices package.
func ExampleFromSeq() {
	p := pipeline.New(context.Background())
	got, _ := pipeline.Collect(pipeline.FromSeq(p, slices.Values([]int{3, 1, 2})))
	fmt.Println(got)
	// Output: [3 1 2]
}

// Generate runs the talk's generator on the pipeline's goroutine; yield
// reports false once the pipeline no longer wants items.
func ExampleGenerate() {
	p := pipeline.New(context.Background())
	powers := pipeline.Generate(p, func(_ context.Context, yield func(int) bool) error {
		for v := 1; v <= 100; v *= 2 {
			if !yield(v) {
				return nil
			}
		}
		return nil
	})
	got, _ := pipeline.Collect(powers)
	fmt.Println(got)
	// Output: [1 2 4 8 16 32 64]
}

// FromChan reads an existing channel until it is closed.
func ExampleFromChan() {
	ch := make(chan string, 2)
	ch <- "ping"
	ch <- "pong"
	close(ch)
	p := pipeline.New(context.Background())
	got, _ := pipeline.Collect(pipeline.FromChan(p, ch))
	fmt.Println(got)
	// Output: [ping pong]
}

// Map with several workers delivers items as they finish; sort (or use
// OrderedMap) when the order matters.
func ExampleMap() {
	p := pipeline.New(context.Background())
	lengths := pipeline.Map(pipeline.FromSlice(p, []string{"a", "bbb", "cc"}), 3, func(_ context.Context, s string) (int, error) {
		return len(s), nil
	})
	got, _ := pipeline.Collect(lengths)
	slices.Sort(got)
	fmt.Println(got)
	// Output: [1 2 3]
}

// OrderedMap keeps the input order even when later items finish first.
// Here each item waits for the one after it to finish, so they finish in
// reverse order (3 workers, one item each), and still come out in order.
func ExampleOrderedMap() {
	finished := map[int]chan struct{}{1: make(chan struct{}), 2: make(chan struct{}), 3: make(chan struct{})}
	p := pipeline.New(context.Background())
	reversed := pipeline.OrderedMap(pipeline.FromSlice(p, []int{1, 2, 3}), 3, func(_ context.Context, v int) (string, error) {
		if next, ok := finished[v+1]; ok {
			<-next
		}
		close(finished[v])
		return fmt.Sprint("item ", v), nil
	})
	got, _ := pipeline.Collect(reversed)
	fmt.Println(got)
	// Output: [item 1 item 2 item 3]
}

// Filter keeps the items its function accepts.
func ExampleFilter() {
	p := pipeline.New(context.Background())
	evens := pipeline.Filter(pipeline.FromSlice(p, []int{1, 2, 3, 4}), 1, func(_ context.Context, v int) (bool, error) {
		return v%2 == 0, nil
	})
	got, _ := pipeline.Collect(evens)
	fmt.Println(got)
	// Output: [2 4]
}

// FlatMap turns each item into any number of items.
func ExampleFlatMap() {
	p := pipeline.New(context.Background())
	words := pipeline.FlatMap(pipeline.FromSlice(p, []string{"a b", "c"}), 1, func(_ context.Context, line string) ([]string, error) {
		return strings.Fields(line), nil
	})
	got, _ := pipeline.Collect(words)
	fmt.Println(got)
	// Output: [a b c]
}

// Tap observes items as they pass, without changing them.
func ExampleTap() {
	p := pipeline.New(context.Background())
	seen := 0
	counted := pipeline.Tap(pipeline.FromSlice(p, []int{5, 6, 7}), func(context.Context, int) error {
		seen++
		return nil
	})
	got, _ := pipeline.Collect(counted)
	fmt.Println(got, seen)
	// Output: [5 6 7] 3
}

// Batch groups items for a consumer that wants them together; the last
// batch may be short.
func ExampleBatch() {
	p := pipeline.New(context.Background())
	// A batch also goes out an hour after its first item came, which cannot
	// happen here: go test would time out first. (TestBatch shows maxWait
	// at work, on a synctest clock.)
	batches := pipeline.Batch(pipeline.FromSlice(p, []int{1, 2, 3, 4, 5}), 2, time.Hour)
	got, _ := pipeline.Collect(batches)
	fmt.Println(got)
	// Output: [[1 2] [3 4] [5]]
}

// Unbatch flattens a stream of slices, empty ones included.
func ExampleUnbatch() {
	p := pipeline.New(context.Background())
	flat := pipeline.Unbatch(pipeline.FromSlice(p, [][]int{{1, 2}, {}, {3}}))
	got, _ := pipeline.Collect(flat)
	fmt.Println(got)
	// Output: [1 2 3]
}

// Buffer lets the upstream run ahead of a bursty consumer; with Block it
// never loses an item.
func ExampleBuffer() {
	p := pipeline.New(context.Background())
	got, _ := pipeline.Collect(pipeline.Buffer(pipeline.FromSlice(p, []int{1, 2, 3}), 100, pipeline.Block))
	fmt.Println(got)
	// Output: [1 2 3]
}

// DropOldest keeps the latest items for a consumer that cannot keep up
// (a UI that shows the current state): however the consumer's pace and
// the source's compare, the last items always arrive.
func ExampleBuffer_dropOldest() {
	p := pipeline.New(context.Background())
	latest := pipeline.Buffer(pipeline.FromSlice(p, ints(1000)), 3, pipeline.DropOldest)
	got, err := pipeline.Collect(latest)
	fmt.Println(got[len(got)-3:], err)
	// Output: [997 998 999] <nil>
}

// DropNewest is the talk's leaky buffer: when it is full, what arrives is
// dropped, and the items it holds stay, so the first items that reach it
// always arrive.
func ExampleBuffer_dropNewest() {
	p := pipeline.New(context.Background())
	leaky := pipeline.Buffer(pipeline.FromSlice(p, ints(1000)), 3, pipeline.DropNewest)
	got, err := pipeline.Collect(leaky)
	fmt.Println(got[:3], err)
	// Output: [0 1 2] <nil>
}

// Dropped counts what a dropping Buffer discarded: every item either
// arrives or is counted.
func ExampleStream_Dropped() {
	p := pipeline.New(context.Background())
	leaky := pipeline.Buffer(pipeline.FromSlice(p, ints(1000)), 3, pipeline.DropNewest)
	received := 0
	_ = pipeline.ForEach(leaky, func(context.Context, int) error {
		received++
		return nil
	})
	fmt.Println(received+int(leaky.Dropped()) == 1000)
	// Output: true
}

// Policy names what a Buffer does when full.
func ExamplePolicy() {
	fmt.Println(pipeline.Block, pipeline.DropNewest, pipeline.DropOldest)
	// Output: Block DropNewest DropOldest
}

// All ranges over the final stream; Wait follows the loop.
func ExampleAll() {
	p := pipeline.New(context.Background())
	for s := range pipeline.All(pipeline.FromSlice(p, []string{"go", "stop"})) {
		fmt.Println(s)
	}
	fmt.Println(p.Wait())
	// Output:
	// go
	// stop
	// <nil>
}

// ForEach calls a function on each item, in order, then waits.
func ExampleForEach() {
	p := pipeline.New(context.Background())
	err := pipeline.ForEach(pipeline.FromSlice(p, []string{"a", "b"}), func(_ context.Context, s string) error {
		fmt.Println(s)
		return nil
	})
	fmt.Println(err)
	// Output:
	// a
	// b
	// <nil>
}

// Collect gathers the final stream into a slice.
func ExampleCollect() {
	p := pipeline.New(context.Background())
	got, err := pipeline.Collect(pipeline.FromSlice(p, []int{1, 2}))
	fmt.Println(got, err)
	// Output: [1 2] <nil>
}

// Reduce folds the items into one value: here the longest string.
func ExampleReduce() {
	p := pipeline.New(context.Background())
	longest, _ := pipeline.Reduce(pipeline.FromSlice(p, []string{"go", "channel", "pipe"}), "", func(acc, s string) string {
		if len(s) > len(acc) {
			return s
		}
		return acc
	})
	fmt.Println(longest)
	// Output: channel
}

// Head takes one item and stops the rest of the pipeline.
func ExampleHead() {
	p := pipeline.New(context.Background())
	v, err := pipeline.Head(pipeline.Filter(pipeline.FromSlice(p, []int{1, 3, 4, 5, 6}), 1, func(_ context.Context, v int) (bool, error) {
		return v%2 == 0, nil
	}))
	fmt.Println(v, err)
	// Output: 4 <nil>
}

// Drain is the sink for a pipeline run for its side effects.
func ExampleDrain() {
	p := pipeline.New(context.Background())
	printed := pipeline.Tap(pipeline.FromSlice(p, []string{"x", "y"}), func(_ context.Context, s string) error {
		fmt.Println(s)
		return nil
	})
	fmt.Println(pipeline.Drain(printed))
	// Output:
	// x
	// y
	// <nil>
}

// OrderedFilter keeps the input's order with several workers, though the
// items finish in reverse order here (each waits for the one after it).
func ExampleOrderedFilter() {
	finished := map[int]chan struct{}{}
	for v := range 6 {
		finished[v] = make(chan struct{})
	}
	p := pipeline.New(context.Background())
	odd := pipeline.OrderedFilter(pipeline.FromSlice(p, ints(6)), 6, func(_ context.Context, v int) (bool, error) {
		if next, ok := finished[v+1]; ok {
			<-next
		}
		close(finished[v])
		return v%2 == 1, nil
	})
	got, _ := pipeline.Collect(odd)
	fmt.Println(got)
	// Output: [1 3 5]
}

// OrderedFlatMap keeps each call's items together and the calls in the
// input's order, with several workers.
func ExampleOrderedFlatMap() {
	p := pipeline.New(context.Background())
	words := pipeline.OrderedFlatMap(pipeline.FromSlice(p, []string{"a b", "c", "d e f"}), 3, func(_ context.Context, line string) ([]string, error) {
		return strings.Fields(line), nil
	})
	got, _ := pipeline.Collect(words)
	fmt.Println(got)
	// Output: [a b c d e f]
}

// ToChan puts a stream in a select of yours, here beside a context that
// could end the wait; once the channel closes, Wait says how the
// pipeline ended.
func ExampleToChan() {
	ctx := context.Background()
	p := pipeline.New(ctx)
	squares := pipeline.ToChan(pipeline.Map(pipeline.FromSlice(p, []int{1, 2, 3}), 1, func(_ context.Context, v int) (int, error) {
		return v * v, nil
	}))
	for {
		select {
		case v, ok := <-squares:
			if !ok {
				fmt.Println("done:", p.Wait())
				return
			}
			fmt.Println(v)
		case <-ctx.Done():
			fmt.Println(p.Close())
			return
		}
	}
	// Output:
	// 1
	// 4
	// 9
	// done: <nil>
}

// Close cancels a pipeline nobody reads any more, joins every stage and
// returns the first failure: none here, since the cancellation is Close's.
func ExampleScope_Close() {
	p := pipeline.New(context.Background())
	naturals := pipeline.Generate(p, func(_ context.Context, yield func(int) bool) error {
		for i := 0; yield(i); i++ {
		}
		return nil
	})
	squares := pipeline.ToChan(pipeline.Map(naturals, 2, func(_ context.Context, v int) (int, error) {
		return v * v, nil
	}))
	fmt.Println(<-squares >= 0)
	fmt.Println(p.Close())
	// Output:
	// true
	// <nil>
}

// ints returns 0, 1, ... n-1.
func ints(n int) []int {
	xs := make([]int, n)
	for i := range xs {
		xs[i] = i
	}
	return xs
}

// Every goroutine of a pipeline carries pprof labels naming its package,
// stage and worker, so a goroutine profile (or a dump, or go tool pprof)
// shows which stage is stuck. Here a Map stage waits on a channel nobody
// sends on, and the profile's record of the stuck goroutine names it.
func Example_goroutineProfile() {
	stuck := make(chan struct{})
	waiting := make(chan struct{})
	p := pipeline.New(context.Background())
	src := pipeline.FromSlice(p, []string{"a.txt"})
	sizes := pipeline.Map(src, 1, func(ctx context.Context, name string) (int, error) {
		close(waiting)
		<-stuck // the bug: nobody ever sends on stuck
		return 0, nil
	})
	results := pipeline.ToChan(sizes)
	<-waiting

	var profile bytes.Buffer
	_ = pprof.Lookup("goroutine").WriteTo(&profile, 1)
	for _, record := range strings.Split(profile.String(), "\n\n") {
		if strings.Contains(record, "Example_goroutineProfile.func") { // the stuck function
			for _, line := range strings.Split(record, "\n") {
				if strings.HasPrefix(line, "# labels:") {
					fmt.Println(line)
				}
			}
		}
	}
	close(stuck)
	for range results {
	}
	fmt.Println(p.Wait())
	// Output:
	// # labels: {"compendium":"pipeline", "stage":"Map#2", "type":"Map", "worker":"1"}
	// <nil>
}
