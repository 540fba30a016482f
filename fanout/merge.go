package fanout

import (
	"context"
	"sync"

	"github.com/go-compendium/compendium/internal/lifecycle"
)

// mergeBuffer is the capacity of the channel returned by [Merge] and
// [MergeSelect]. A buffered output lets a forwarding goroutine hand over an
// item without parking until the reader is ready. BenchmarkMerge chose 64:
// smaller buffers gained less at k=64, and larger ones little more for
// more memory held per merge.
const mergeBuffer = 64

// Merge returns a channel that receives every value received from the
// inputs (fan-in), and that is closed exactly once: after the last input is
// closed, or after ctx ends, whichever comes first. With no inputs, the
// returned channel is already closed; a nil input is never closed, so with
// one the output closes only when ctx ends.
//
// Merge is the Go blog's merge: one goroutine per input forwards its values
// to the output, and one more closes the output once they have all returned.
// Unlike the blog's first version, every goroutine also watches ctx, so when
// ctx ends every goroutine returns even if nobody reads the output or an
// input is never closed; cancelling ctx is how a reader that stops early
// frees them. The goroutines carry the pprof labels compendium=fanout
// type=Merge and role=forward or role=close, on top of those in ctx.
//
// Values from one input arrive in the order that input sent them; values
// from different inputs interleave in no particular order. The output is
// buffered (64 values): a value a forwarder has taken from its input is
// never dropped, except by a forwarder that still holds one when ctx ends.
// Once ctx has ended, each forwarder forwards at most one more value; the
// reader may still receive values already buffered, then sees the channel
// closed. Merge panics if ctx is nil.
//
// Cost: k+1 goroutines; see fanout.Merge in bench/RESULTS.md, beside the
// blog's merge with the same buffer. [MergeSelect] merges with a quarter as
// many goroutines.
func Merge[T any](ctx context.Context, ins ...<-chan T) <-chan T {
	lifecycle.Context("fanout", "Merge", ctx)
	out := make(chan T, mergeBuffer)
	if len(ins) == 0 {
		// Nothing will ever be sent: closed now, rather than a goroutine
		// started only to close it.
		close(out)
		return out
	}
	// The labels are made once per Merge and shared by its forwarders: a
	// label set of its own per forwarder (input=3, say) would cost a few
	// allocations for every input of every Merge.
	labels := lifecycle.NewLabels(ctx, "fanout", "Merge")
	forwarder := labels.With("role", "forward")
	var wg sync.WaitGroup
	wg.Add(len(ins)) // before any goroutine starts, so the closer cannot see zero early
	for _, in := range ins {
		go func() {
			defer wg.Done()
			forwarder.Apply()
			forward(ctx, in, out)
		}()
	}
	closeWhenDone(labels.With("role", "close"), &wg, out)
	return out
}

// closeWhenDone starts the goroutine that closes out once wg's goroutines
// have all returned: out has several senders, so none of them may close
// it, and the last to leave cannot know it is the last without this
// count.
func closeWhenDone[T any](l lifecycle.Labels, wg *sync.WaitGroup, out chan T) {
	go func() {
		l.Apply()
		wg.Wait()
		close(out)
	}()
}

// forward copies in to out until in is closed or ctx ends.
//
// A receive or a send that is ready at once is made without a select: a
// two-case select locks both channels, and done, the one channel every
// forwarder of a Merge shares, would be locked for every value by every
// forwarder. Only an operation that has to wait selects on done too. done
// is checked (without a lock) before each value, so that once ctx has
// ended a forwarder forwards at most the value it holds.
func forward[T any](ctx context.Context, in <-chan T, out chan<- T) {
	done := ctx.Done()
	for {
		if isClosed(done) {
			return
		}
		var (
			v  T
			ok bool
		)
		select {
		case v, ok = <-in:
		default:
			v, ok = recv(done, in)
		}
		if !ok {
			return
		}
		select {
		case out <- v:
		default:
			if !send(done, out, v) {
				return
			}
		}
	}
}

// isClosed reports whether done is closed, without blocking. A nil done
// (a context that never ends) is never closed.
func isClosed(done <-chan struct{}) bool {
	select {
	case <-done:
		return true
	default:
		return false
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
// goroutines gone after ctx ends even if nobody reads. Its goroutines
// carry the pprof labels compendium=fanout type=MergeSelect and role=select
// or role=close. MergeSelect panics if ctx is nil.
//
// It starts ceil(k/4) goroutines, plus one that closes the output when
// there are more than four inputs. A select over five cases costs more
// than Merge's receive, so choose it when goroutines, not throughput, are
// what you count: many small merges, or a pipeline that already has a
// goroutine per core busy. Cost: see fanout.Merge in bench/RESULTS.md
// (impl=nilselect).
func MergeSelect[T any](ctx context.Context, ins ...<-chan T) <-chan T {
	lifecycle.Context("fanout", "MergeSelect", ctx)
	out := make(chan T, mergeBuffer)
	if len(ins) == 0 {
		close(out)
		return out
	}
	labels := lifecycle.NewLabels(ctx, "fanout", "MergeSelect")
	selector := labels.With("role", "select")
	if len(ins) <= selectWidth {
		go func() {
			defer close(out)
			selector.Apply()
			selectLoop(ctx, ins, out)
		}()
		return out
	}
	var wg sync.WaitGroup
	for i := 0; i < len(ins); i += selectWidth {
		group := ins[i:min(i+selectWidth, len(ins))]
		wg.Add(1)
		go func() {
			defer wg.Done()
			selector.Apply()
			selectLoop(ctx, group, out)
		}()
	}
	closeWhenDone(labels.With("role", "close"), &wg, out)
	return out
}

// selectLoop copies up to selectWidth inputs to out until every input is
// closed or ctx ends. A receive from a nil channel blocks forever, so a nil
// slot in in is a case that can never fire: unused slots start nil and a
// closed input is set to nil. That is cheaper than rebuilding a
// reflect.Select case list (impl=reflectselect in BenchmarkMerge).
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
