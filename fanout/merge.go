package fanout

import (
	"context"
	"sync"
)

// mergeBuffer is the capacity of the channel returned by [Merge] and
// [MergeSelect]. A buffered output lets a forwarding goroutine hand over an
// item without parking until the reader is ready: in BenchmarkMerge it takes
// the Go blog's shape from about 290-630 ns/item to about 200-280 ns/item at
// k=2, 8 and 64. Capacities of 8 and 32 gained less at k=64; 128 gained
// little more than 64 and doubles the memory held per merge.
const mergeBuffer = 64

// Merge returns a channel that receives every value received from the
// inputs (fan-in), and that is closed exactly once: after the last input is
// closed, or after ctx ends, whichever comes first. With no inputs, the
// returned channel is already closed; a nil input is never closed, so with
// one the output closes only when ctx ends.
//
// Merge is the Go blog's merge: one goroutine per input forwards its values
// to the output, and one more closes the output once they have all returned.
// Unlike the blog's first version, every send and receive also selects on
// ctx.Done, so when ctx ends every goroutine returns even if nobody reads
// the output or an input is never closed; cancelling ctx is how a reader
// that stops early frees them.
//
// Values from one input arrive in the order that input sent them; values
// from different inputs interleave in no particular order. The output is
// buffered (64 values): a value a forwarder has taken from its input is
// never dropped, except by a forwarder that still holds one when ctx ends.
// After ctx ends the reader may still receive values that were already
// buffered, then sees the channel closed.
//
// Cost: k+1 goroutines (about 2 KiB each) and about 200-280 ns per value on
// 2 cores at k=2, 8 and 64 (BenchmarkMerge: at or below the unbuffered
// goroutine-per-input shape, and 20-30x faster than reflect.Select at
// k=64). Use [MergeSelect] to merge with a quarter as many goroutines.
func Merge[T any](ctx context.Context, ins ...<-chan T) <-chan T {
	out := make(chan T, mergeBuffer)
	if len(ins) == 0 {
		close(out)
		return out
	}
	var wg sync.WaitGroup
	wg.Add(len(ins))
	for _, in := range ins {
		go func() {
			defer wg.Done()
			forward(ctx, in, out)
		}()
	}
	go func() {
		wg.Wait()
		close(out)
	}()
	return out
}

// forward copies in to out until in is closed or ctx ends.
func forward[T any](ctx context.Context, in <-chan T, out chan<- T) {
	done := ctx.Done()
	for {
		// A plain `for v := range in` is about 10% cheaper, but a
		// forwarder parked on an input that is never closed would then
		// outlive ctx.
		v, ok := recv(done, in)
		if !ok || !send(done, out, v) {
			return
		}
	}
}

// recv receives from in, reporting false if in is closed or done is.
func recv[T any](done <-chan struct{}, in <-chan T) (T, bool) {
	select {
	case v, ok := <-in:
		return v, ok
	case <-done:
		var zero T
		return zero, false
	}
}

// send sends v on out, reporting false if done is closed first.
func send[T any](done <-chan struct{}, out chan<- T, v T) bool {
	select {
	case out <- v:
		return true
	case <-done:
		return false
	}
}

// selectWidth is how many inputs one [MergeSelect] goroutine serves: the
// number of input cases in its select statement. A select locks every
// channel it waits on and shuffles its cases on every call, so its cost
// grows with the number of cases; four inputs plus ctx.Done keep it small
// while cutting the goroutines to a quarter.
const selectWidth = 4

// MergeSelect is [Merge] with fewer goroutines: each goroutine serves up to
// four inputs with a single select loop that switches an exhausted input
// off by setting it to nil, so that its case never fires again (the talk's
// NIL CHANNELS slide). It has Merge's contract: every value delivered, the
// output closed exactly once after the last input closes or ctx ends, all
// goroutines gone after ctx ends even if nobody reads.
//
// It starts ceil(k/4) goroutines, plus one that closes the output when
// there are more than four inputs. In BenchmarkMerge it is 10-60% slower
// per value than Merge (a select over five cases costs more than a receive
// over two), so choose it when goroutines, not throughput, are what you
// count: many small merges, or a pipeline that already has a goroutine per
// core busy.
func MergeSelect[T any](ctx context.Context, ins ...<-chan T) <-chan T {
	out := make(chan T, mergeBuffer)
	switch {
	case len(ins) == 0:
		close(out)
	case len(ins) <= selectWidth:
		go func() {
			defer close(out)
			selectLoop(ctx, ins, out)
		}()
	default:
		var wg sync.WaitGroup
		for i := 0; i < len(ins); i += selectWidth {
			group := ins[i:min(i+selectWidth, len(ins))]
			wg.Add(1)
			go func() {
				defer wg.Done()
				selectLoop(ctx, group, out)
			}()
		}
		go func() {
			wg.Wait()
			close(out)
		}()
	}
	return out
}

// selectLoop copies up to selectWidth inputs to out until every input is
// closed or ctx ends. A receive from a nil channel blocks forever, so a nil
// slot in in is a case that can never fire: unused slots start nil and a
// closed input is set to nil. That is cheaper than rebuilding a
// reflect.Select case list, which BenchmarkMerge measures at 2-30x the
// cost per value.
func selectLoop[T any](ctx context.Context, ins []<-chan T, out chan<- T) {
	var in [selectWidth]<-chan T
	open := copy(in[:], ins)
	done := ctx.Done()
	for open > 0 {
		var (
			v  T
			ok bool
			i  int
		)
		select {
		case v, ok = <-in[0]:
			i = 0
		case v, ok = <-in[1]:
			i = 1
		case v, ok = <-in[2]:
			i = 2
		case v, ok = <-in[3]:
			i = 3
		case <-done:
			return
		}
		if !ok {
			in[i] = nil
			open--
			continue
		}
		if !send(done, out, v) {
			return
		}
	}
}
