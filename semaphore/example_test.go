package semaphore_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-compendium/compendium"
	"github.com/go-compendium/compendium/semaphore"
)

// This example shows the pattern: a semaphore of 3 slots bounds how many of
// ten goroutines do their work at once (Effective Go's "limit
// concurrency"), and a gauge records the peak.
func Example() {
	s := semaphore.NewCounting(3)
	var inFlight, peak atomic.Int64
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			if err := s.Acquire(context.Background()); err != nil {
				return
			}
			defer s.Release()
			n := inFlight.Add(1)
			for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
			}
			inFlight.Add(-1)
		})
	}
	wg.Wait()
	fmt.Println("at most 3 at once:", peak.Load() <= 3)
	// Output:
	// at most 3 at once: true
}

// This example bounds a fan-out of fetches to 2 at a time with a
// Counting, acquiring in the loop so that no goroutine starts before it
// has a slot.
func ExampleCounting() {
	s := semaphore.NewCounting(2)
	ctx := context.Background()
	pages := []string{"a", "b", "c", "d", "e"}
	sizes := make([]int, len(pages))
	var wg sync.WaitGroup
	for i, p := range pages {
		if err := s.Acquire(ctx); err != nil {
			break
		}
		wg.Go(func() {
			defer s.Release()
			sizes[i] = len(p) * 100 // stands in for a fetch
		})
	}
	wg.Wait()
	fmt.Println(sizes)
	// Output:
	// [100 100 100 100 100]
}

// This example creates a semaphore and shows its capacity.
func ExampleNewCounting() {
	s := semaphore.NewCounting(4)
	fmt.Println(s.Cap(), "slots,", s.Len(), "held")
	// Output:
	// 4 slots, 0 held
}

// This example shows that Acquire gives up when its context ends, and
// leaves the semaphore as it was.
func ExampleCounting_Acquire() {
	s := semaphore.NewCounting(1)
	_ = s.Acquire(context.Background()) // the only slot

	ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
	defer cancel()
	err := s.Acquire(ctx)
	fmt.Println(err, "- held:", s.Len())
	// Output:
	// context deadline exceeded - held: 1
}

// This example shows TryAcquire taking the free slots and then reporting
// false instead of blocking.
func ExampleCounting_TryAcquire() {
	s := semaphore.NewCounting(2)
	fmt.Println(s.TryAcquire(), s.TryAcquire(), s.TryAcquire())
	// Output:
	// true true false
}

// This example shows that Release frees a slot, and that releasing a slot
// nobody holds panics.
func ExampleCounting_Release() {
	s := semaphore.NewCounting(1)
	_ = s.Acquire(context.Background())
	s.Release()
	fmt.Println("held:", s.Len())

	defer func() { fmt.Println("recovered:", recover()) }()
	s.Release()
	// Output:
	// held: 0
	// recovered: semaphore: Counting.Release: released more than held, got 0 of 1 held
}

// This example waits for a slot and for a result in one select, which no
// mutex-based semaphore can do: here the result arrives first, because the
// only slot is held.
func ExampleCounting_Acquirer() {
	s := semaphore.NewCounting(1)
	_ = s.Acquire(context.Background()) // someone else holds the slot

	results := make(chan string, 1)
	results <- "a result"
	select {
	case s.Acquirer() <- struct{}{}:
		defer s.Release()
		fmt.Println("got a slot")
	case r := <-results:
		fmt.Println("got", r, "while waiting for a slot")
	}
	// Output:
	// got a result while waiting for a slot
}

// This example reads how many slots are held.
func ExampleCounting_Len() {
	s := semaphore.NewCounting(3)
	s.TryAcquire()
	s.TryAcquire()
	fmt.Println(s.Len(), "of", s.Cap())
	// Output:
	// 2 of 3
}

// This example reads the capacity.
func ExampleCounting_Cap() {
	fmt.Println(semaphore.NewCounting(8).Cap())
	// Output:
	// 8
}

// This example shares a memory budget of 10 units between jobs of
// different sizes; each takes its whole size at once.
func ExampleNewWeighted() {
	budget := semaphore.NewWeighted(10)
	ctx := context.Background()
	var wg sync.WaitGroup
	var mu sync.Mutex
	var done []int
	for _, size := range []int64{6, 4, 8, 2} {
		wg.Go(func() {
			if err := budget.Acquire(ctx, size); err != nil {
				return
			}
			defer budget.Release(size)
			mu.Lock()
			done = append(done, int(size))
			mu.Unlock()
		})
	}
	wg.Wait()
	slices.Sort(done)
	fmt.Println(done)
	// Output:
	// [2 4 6 8]
}

// This example takes weight all or nothing: two jobs that each need 3 of
// 4 units run one after the other, never each holding part of what the
// other needs.
func ExampleWeighted() {
	w := semaphore.NewWeighted(4)
	ctx := context.Background()
	var wg sync.WaitGroup
	var running, peak atomic.Int64
	for range 2 {
		wg.Go(func() {
			if err := w.Acquire(ctx, 3); err != nil {
				return
			}
			defer w.Release(3)
			n := running.Add(3)
			for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
			}
			running.Add(-3)
		})
	}
	wg.Wait()
	fmt.Println("peak weight:", peak.Load())
	// Output:
	// peak weight: 3
}

// This example shows Acquire failing at once for a weight larger than the
// semaphore, where x/sync's semaphore would block until ctx ended.
func ExampleWeighted_Acquire() {
	w := semaphore.NewWeighted(4)
	fmt.Println(w.Acquire(context.Background(), 3))
	err := w.Acquire(context.Background(), 5)
	fmt.Println(errors.Is(err, semaphore.ErrTooLarge), err)
	// Output:
	// <nil>
	// true semaphore: weight exceeds the semaphore's size: 5 > 4
}

// This example shows that TryAcquire does not barge past a waiter: once a
// large request waits, a small one is refused though it would fit.
func ExampleWeighted_TryAcquire() {
	w := semaphore.NewWeighted(4)
	fmt.Println(w.TryAcquire(3)) // 1 left

	ctx, cancel := context.WithCancel(context.Background())
	waiting := make(chan error)
	go func() { waiting <- w.Acquire(ctx, 4) }() // waits for all 4
	for w.TryAcquire(0) {
		// TryAcquire(0) succeeds until the Acquire above is queued.
		runtime.Gosched()
	}
	fmt.Println(w.TryAcquire(1)) // would fit, but the waiter is first
	cancel()
	fmt.Println(<-waiting)
	fmt.Println(w.TryAcquire(1)) // nobody waits now
	// Output:
	// true
	// false
	// context canceled
	// true
}

// This example shows Release handing weight to a waiter, and that
// releasing weight nobody holds panics.
func ExampleWeighted_Release() {
	w := semaphore.NewWeighted(2)
	_ = w.Acquire(context.Background(), 2)
	acquired := make(chan error)
	go func() { acquired <- w.Acquire(context.Background(), 2) }()
	for w.TryAcquire(0) {
		// TryAcquire(0) succeeds until the Acquire above is queued.
		runtime.Gosched()
	}
	w.Release(2) // the queued Acquire gets the 2
	fmt.Println("waiter:", <-acquired)
	w.Release(2)

	defer func() { fmt.Println("recovered:", recover()) }()
	w.Release(1)
	// Output:
	// waiter: <nil>
	// recovered: semaphore: Weighted.Release: released more than held, got 1 with 0 held
}

// ErrTooLarge is checked with errors.Is.
func ExampleErrTooLarge() {
	w := semaphore.NewWeighted(1)
	err := w.Acquire(context.Background(), 2)
	fmt.Println(errors.Is(err, semaphore.ErrTooLarge))
	// Output:
	// true
}

// This example is Mills' "acquire before go": Go blocks while 2 tasks run,
// so the loop never has more than 2 goroutines out, and Wait returns the
// first error.
func ExampleGroup() {
	ctx := context.Background()
	g := semaphore.NewGroup(ctx, 2)
	for _, name := range []string{"ok.txt", "missing.txt", "ok2.txt"} {
		if err := g.Go(ctx, func(ctx context.Context) error {
			if name == "missing.txt" {
				return fmt.Errorf("open %s: no such file", name)
			}
			return nil
		}); err != nil {
			break // the group failed: stop submitting
		}
	}
	fmt.Println(g.Wait())
	// Output:
	// open missing.txt: no such file
}

// This example runs 20 tasks, at most 4 at a time, and collects their sum.
func ExampleNewGroup() {
	ctx := context.Background()
	g := semaphore.NewGroup(ctx, 4)
	var sum atomic.Int64
	for i := 1; i <= 20; i++ {
		if err := g.Go(ctx, func(context.Context) error {
			sum.Add(int64(i))
			return nil
		}); err != nil {
			break
		}
	}
	fmt.Println(g.Wait(), sum.Load())
	// Output:
	// <nil> 210
}

// This example shows Go giving up when its caller's context ends while
// every slot is busy; errgroup's Go would block until a slot freed.
func ExampleGroup_Go() {
	g := semaphore.NewGroup(context.Background(), 1)
	release := make(chan struct{})
	_ = g.Go(context.Background(), func(context.Context) error {
		<-release // hold the only slot
		return nil
	})

	ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
	defer cancel()
	err := g.Go(ctx, func(context.Context) error { return nil })
	fmt.Println(err)

	close(release)
	fmt.Println(g.Wait())
	// Output:
	// context deadline exceeded
	// <nil>
}

// This example shows TryGo refusing a task while the group is full.
func ExampleGroup_TryGo() {
	g := semaphore.NewGroup(context.Background(), 1)
	release := make(chan struct{})
	fmt.Println(g.TryGo(func(context.Context) error { <-release; return nil }))
	fmt.Println(g.TryGo(func(context.Context) error { return nil }))
	close(release)
	fmt.Println(g.Wait())
	// Output:
	// true
	// false
	// <nil>
}

// This example shows Wait returning the first error, after it cancelled
// the other tasks.
func ExampleGroup_Wait() {
	g := semaphore.NewGroup(context.Background(), 2)
	_ = g.Go(context.Background(), func(ctx context.Context) error {
		<-ctx.Done() // runs until the other task fails
		return ctx.Err()
	})
	_ = g.Go(context.Background(), func(context.Context) error {
		return errors.New("disk full")
	})
	fmt.Println(g.Wait())
	// Output:
	// disk full
}

// This example reads why the group's context ended.
func ExampleGroup_Context() {
	g := semaphore.NewGroup(context.Background(), 1)
	_ = g.Go(context.Background(), func(context.Context) error {
		return errors.New("bad input")
	})
	<-g.Context().Done()
	fmt.Println(context.Cause(g.Context()))
	_ = g.Wait()
	// Output:
	// bad input
}

// This example recovers the panic that Wait re-raises from a task, with the
// original value and the task's stack; Close re-raises the same one.
func ExampleGroup_Wait_panic() {
	g := semaphore.NewGroup(context.Background(), 1)
	_ = g.Go(context.Background(), func(context.Context) error {
		panic("index out of range")
	})
	for _, call := range []func() error{g.Wait, g.Close} {
		func() {
			defer func() {
				p := recover().(*compendium.PanicError)
				fmt.Println("task panicked:", p.Value, "- stack captured:", len(p.Stack) > 0)
			}()
			_ = call()
		}()
	}
	// Output:
	// task panicked: index out of range - stack captured: true
	// task panicked: index out of range - stack captured: true
}

// This example walks a tree: each task submits its node's children with
// the context it received, which never blocks, so the walk cannot
// deadlock even at a limit of 1; Wait returns once every node is done.
func ExampleGroup_recursive() {
	children := map[string][]string{
		"/":      {"/a", "/b"},
		"/a":     {"/a/x", "/a/y"},
		"/b":     {"/b/z"},
		"/a/x":   {"/a/x/1"},
		"/b/z":   {},
		"/a/y":   {},
		"/a/x/1": {},
	}
	g := semaphore.NewGroup(context.Background(), 1)
	defer g.Close()
	var mu sync.Mutex
	var seen []string
	var visit func(node string) func(context.Context) error
	visit = func(node string) func(context.Context) error {
		return func(ctx context.Context) error {
			mu.Lock()
			seen = append(seen, node)
			mu.Unlock()
			for _, c := range children[node] {
				if err := g.Go(ctx, visit(c)); err != nil {
					return err
				}
			}
			return nil
		}
	}
	_ = g.Go(context.Background(), visit("/"))
	fmt.Println(g.Wait())
	slices.Sort(seen)
	fmt.Println(seen)
	// Output:
	// <nil>
	// [/ /a /a/x /a/x/1 /a/y /b /b/z]
}

// This example closes a group whose task waits for its context: Close
// cancels it, waits for it, and refuses work from then on.
func ExampleGroup_Close() {
	g := semaphore.NewGroup(context.Background(), 2)
	_ = g.Go(context.Background(), func(ctx context.Context) error {
		<-ctx.Done() // runs until the group is closed
		return ctx.Err()
	})
	fmt.Println(g.Close()) // the task's ctx.Err() is a consequence, not a failure
	err := g.Go(context.Background(), func(context.Context) error { return nil })
	fmt.Println(err, errors.Is(err, compendium.ErrClosed))
	// Output:
	// <nil>
	// semaphore: Group is closed true
}

// This example raises the limit of a running group: the waiting work
// starts at once.
func ExampleGroup_SetLimit() {
	g := semaphore.NewGroup(context.Background(), 1)
	defer g.Close()
	release := make(chan struct{})
	var running atomic.Int64
	hold := func(context.Context) error {
		running.Add(1)
		<-release
		return nil
	}
	_ = g.Go(context.Background(), hold)
	go func() { _ = g.Go(context.Background(), hold) }() // waits: the slot is taken
	for g.Stats().Waiting == 0 {
		runtime.Gosched()
	}
	g.SetLimit(2)
	for running.Load() < 2 {
		runtime.Gosched()
	}
	fmt.Println("running:", running.Load())
	close(release)
	fmt.Println(g.Wait())
	// Output:
	// running: 2
	// <nil>
}

// This example reads a group's counters once its work is done.
func ExampleGroup_Stats() {
	g := semaphore.NewGroup(context.Background(), 2)
	defer g.Close()
	for i := range 5 {
		_ = g.Go(context.Background(), func(context.Context) error {
			if i == 4 {
				return errors.New("the fifth fails")
			}
			return nil
		})
	}
	_ = g.Wait()
	s := g.Stats()
	fmt.Println("submitted", s.Submitted, "completed", s.Completed, "failed", s.Failed)
	// Output:
	// submitted 5 completed 4 failed 1
}

// This example shows the identity every GroupStats snapshot satisfies.
func ExampleGroupStats() {
	g := semaphore.NewGroup(context.Background(), 1)
	defer g.Close()
	_ = g.Go(context.Background(), func(context.Context) error { return nil })
	_ = g.Wait()
	s := g.Stats()
	fmt.Println(s.Submitted == s.Queued+s.Running+s.Completed+s.Failed+s.Panicked+s.Canceled)
	// Output:
	// true
}

// This example bounds the pending list to 1: of the three tasks a task
// submits with every slot taken, the first waits for a slot and the next
// two run inline, in the submitting task's slot, before their Go returns.
func ExampleMaxPending() {
	g := semaphore.NewGroup(context.Background(), 1, semaphore.MaxPending(1))
	defer g.Close()
	_ = g.Go(context.Background(), func(ctx context.Context) error {
		for i := 1; i <= 3; i++ {
			_ = g.Go(ctx, func(context.Context) error {
				fmt.Println("child", i)
				return nil
			})
		}
		fmt.Println("parent returns")
		return nil
	})
	_ = g.Wait()
	fmt.Println("inline:", g.Stats().Inline)
	// Output:
	// child 2
	// child 3
	// parent returns
	// child 1
	// inline: 2
}

// This example gives each task a deadline on its context; a task that
// treats the deadline as an expected outcome returns nil.
func ExampleTaskTimeout() {
	g := semaphore.NewGroup(context.Background(), 2, semaphore.TaskTimeout(time.Millisecond))
	defer g.Close()
	_ = g.Go(context.Background(), func(ctx context.Context) error {
		select {
		case <-ctx.Done(): // a slow answer: give up on it
			fmt.Println("gave up:", ctx.Err())
			return nil
		case <-time.After(time.Hour):
			return nil
		}
	})
	fmt.Println(g.Wait())
	// Output:
	// gave up: context deadline exceeded
	// <nil>
}

// This example passes options to NewGroup.
func ExampleGroupOption() {
	opts := []semaphore.GroupOption{semaphore.MaxPending(16), semaphore.TaskTimeout(time.Second)}
	g := semaphore.NewGroup(context.Background(), 4, opts...)
	fmt.Println(g.Close())
	// Output:
	// <nil>
}
