package semaphore

import (
	"context"
	"runtime"

	"github.com/go-compendium/compendium/internal/lifecycle"
)

// Counting is a counting semaphore: a buffered channel of n tokens, where
// holding a slot means having sent a token into the channel (Effective
// Go's semaphore). At most n slots are held at once. What it offers over
// [Weighted] is [Counting.Acquirer]: acquiring is a channel send, so it
// can sit in a select beside other channels.
//
// Create one with [NewCounting]; the zero value is not usable. A Counting
// must not be copied after first use. All methods are safe for concurrent
// use.
//
// A call to [Counting.Release] synchronizes before the [Counting.Acquire],
// [Counting.TryAcquire] or send on [Counting.Acquirer] that takes the
// freed slot, as a receive from a buffered channel synchronizes before
// the send that completes in its place (the Go memory model).
//
// Cost: see semaphore.Acquire (impl=chan) in bench/RESULTS.md.
type Counting struct {
	// tokens holds one token per slot in use: Acquire sends, Release
	// receives, so that Acquirer can be send-only and len counts the
	// slots in use.
	tokens chan struct{}
	// noYield turns the Gosched in acquireSlow off, for the benchmark
	// that shows what it gains (BenchmarkTuning, export_test.go).
	noYield bool
}

// NewCounting returns a counting semaphore with n slots, all free.
//
// NewCounting panics if n < 1 or if n slots would take more than 1 GiB.
func NewCounting(n int) *Counting {
	lifecycle.Min(pkg, "NewCounting", "n", n, 1)
	lifecycle.UpFront[struct{}](pkg, "NewCounting", "n", n)
	return &Counting{tokens: make(chan struct{}, n)}
}

// Acquire takes one slot, blocking until one is free or ctx is done.
//
// On success it returns nil. If ctx is done first it returns ctx.Err() and
// leaves the semaphore unchanged: a ctx that ends before a slot frees for
// this call never acquires, even if the call finds the slot free later. A
// ctx that is already done never acquires, even when slots are free, so a
// loop of Acquire calls stops at once when its context ends. Acquire
// panics if ctx is nil.
func (s *Counting) Acquire(ctx context.Context) error {
	lifecycle.Context(pkg, "Counting.Acquire", ctx)
	// Done is nil for contexts that never end (context.Background): then
	// the fast path is one non-blocking send.
	done := ctx.Done()
	if done != nil {
		select {
		case <-done:
			return ctx.Err()
		default:
		}
	}
	select {
	case s.tokens <- struct{}{}:
		return nil
	default:
		return s.acquireSlow(ctx, done)
	}
}

// acquireSlow waits for a slot. It first yields the processor once: the
// goroutines that hold the slots are often runnable right here, queued
// behind this one, and letting them run to their Release usually frees a
// slot without parking. Parking the acquirer as a blocked sender instead
// turns every later handoff into a goroutine switch (a convoy).
// BenchmarkTuning (type=counting, -cpu 1,2,4,8) measures the yield
// against waiting at once.
func (s *Counting) acquireSlow(ctx context.Context, done <-chan struct{}) error {
	if !s.noYield {
		runtime.Gosched()
	}
	// After the yield a slot is usually free: take it with a one-channel
	// try before paying for a two-channel select.
	select {
	case s.tokens <- struct{}{}:
	default:
		if done == nil {
			s.tokens <- struct{}{} // a plain send parks more cheaply than a select
			return nil
		}
		select {
		case s.tokens <- struct{}{}:
		case <-done:
			return ctx.Err()
		}
	}
	// The slot may have been freed by a goroutine that cancelled ctx
	// first, while we yielded or before the select looked at done; then
	// ctx ended first, and the caller must see ctx.Err(). The Release that
	// freed the slot synchronizes before our send, so this check sees such
	// a cancellation; the slot goes back. One check for both ways in, so
	// that the test that forces the first also holds the second. (The
	// fast path skips it: its window between the look at done and the
	// send is a few instructions, where this one spans a yield or a wait.)
	if done != nil {
		select {
		case <-done:
			<-s.tokens
			return ctx.Err()
		default:
		}
	}
	return nil
}

// TryAcquire takes one slot if one is free, without blocking, and reports
// whether it did.
func (s *Counting) TryAcquire() bool {
	select {
	case s.tokens <- struct{}{}:
		return true
	default:
		return false
	}
}

// Release frees one slot taken by [Counting.Acquire],
// [Counting.TryAcquire] or a send on [Counting.Acquirer].
//
// Release never blocks. It panics if no slot is held: an unbalanced
// Release is a bug that would otherwise surface as a silent limit of n+1.
func (s *Counting) Release() {
	select {
	case <-s.tokens:
	default:
		lifecycle.Panicf(pkg, "Counting.Release", "released more than held, got 0 of %d held", cap(s.tokens))
	}
}

// Acquirer returns the channel behind the semaphore, send-only: a send on
// it takes one slot, exactly as [Counting.Acquire] does, and must be
// matched by a [Counting.Release]. The send blocks while all slots are
// held, so it composes with other channels in a select:
//
//	select {
//	case s.Acquirer() <- struct{}{}:
//		defer s.Release()
//		// ... work under the limit ...
//	case v := <-results:
//		// ... something else happened first ...
//	case <-time.After(d):
//		// ... give up ...
//	}
//
// Never close the channel.
func (s *Counting) Acquirer() chan<- struct{} {
	return s.tokens
}

// Len returns the number of slots held at the moment of the call: for
// metrics and tests, not for deciding whether Acquire would block (that
// is [Counting.TryAcquire]).
func (s *Counting) Len() int {
	return len(s.tokens)
}

// Cap returns n, the number of slots the semaphore was created with.
func (s *Counting) Cap() int {
	return cap(s.tokens)
}
