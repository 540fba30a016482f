package pool_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/go-compendium/compendium/pool"
)

// This example runs ten tasks on three workers and collects their results:
// Go blocks while the queue is full, Wait returns once every task has
// finished, and Close stops the workers.
func Example_workers() {
	ctx := context.Background()
	w := pool.NewWorkers(ctx, 3)
	defer w.Close()

	squares := make([]int, 10) // each task writes its own element
	for i := range squares {
		err := w.Go(ctx, func(ctx context.Context) error {
			squares[i] = i * i
			return nil
		})
		if err != nil {
			fmt.Println("not submitted:", err)
			return
		}
	}
	if err := w.Wait(); err != nil {
		fmt.Println("failed:", err)
		return
	}
	fmt.Println(squares) // Wait synchronizes after every task
	// Output:
	// [0 1 4 9 16 25 36 49 64 81]
}

// This example creates a pool with every option, and shows that workers
// start only when tasks arrive.
func ExampleNewWorkers() {
	w := pool.NewWorkers(context.Background(), 4,
		pool.QueueCapacity(16), pool.JoinErrors(), pool.IdleTimeout(time.Minute))
	defer w.Close()
	fmt.Println("workers before any task:", w.Stats().Workers)
	for range 4 {
		_ = w.Go(context.Background(), func(context.Context) error { return nil })
	}
	_ = w.Wait()
	fmt.Println("workers after 4 tasks:", w.Stats().Workers > 0)
	// Output:
	// workers before any task: 0
	// workers after 4 tasks: true
}

// This example shows the type's whole life: submit, wait, reuse, close.
func ExampleWorkers() {
	ctx := context.Background()
	w := pool.NewWorkers(ctx, 2)
	var mu sync.Mutex
	total := 0
	add := func(n int) func(context.Context) error {
		return func(context.Context) error {
			mu.Lock()
			defer mu.Unlock()
			total += n
			return nil
		}
	}
	for batch := 1; batch <= 2; batch++ {
		for i := 1; i <= 100; i++ {
			_ = w.Go(ctx, add(i))
		}
		_ = w.Wait() // the pool is reusable after Wait
		fmt.Printf("after batch %d: %d\n", batch, total)
	}
	fmt.Println("Close:", w.Close())
	// Output:
	// after batch 1: 5050
	// after batch 2: 10100
	// Close: <nil>
}

// This example shows Go's backpressure with a context: the pool's only
// worker is busy and there is no queue, so Go waits until its context's
// deadline and returns the context's error.
func ExampleWorkers_Go() {
	w := pool.NewWorkers(context.Background(), 1, pool.QueueCapacity(0))
	defer w.Close()
	release := make(chan struct{})
	_ = w.Go(context.Background(), func(context.Context) error { <-release; return nil })

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	err := w.Go(ctx, func(context.Context) error { return nil })
	fmt.Println("Go on a busy pool:", err)
	close(release)
	fmt.Println("Wait:", w.Wait())
	// Output:
	// Go on a busy pool: context deadline exceeded
	// Wait: <nil>
}

// This example shows TryGo refusing a task, without blocking, when the
// pool has no room for it.
func ExampleWorkers_TryGo() {
	w := pool.NewWorkers(context.Background(), 1, pool.QueueCapacity(1))
	defer w.Close()
	release := make(chan struct{})
	block := func(context.Context) error { <-release; return nil }
	fmt.Println("for the worker:", w.TryGo(block))
	fmt.Println("for the queue: ", w.TryGo(block))
	fmt.Println("no room:       ", w.TryGo(block))
	close(release)
	_ = w.Wait()
	fmt.Printf("%+v\n", w.Stats())
	// Output:
	// for the worker: true
	// for the queue:  true
	// no room:        false
	// {Submitted:2 Queued:0 Running:0 Completed:2 Failed:0 Panicked:0 Cancelled:0 Rejected:1 Workers:1}
}

// This example shows errgroup's semantics: the first error cancels the
// pool's context, which the other tasks see, and Wait returns that error.
func ExampleWorkers_Wait() {
	w := pool.NewWorkers(context.Background(), 2)
	defer w.Close()
	started := make(chan struct{})
	_ = w.Go(context.Background(), func(ctx context.Context) error {
		close(started)
		<-ctx.Done() // cancelled by the other task's failure
		return ctx.Err()
	})
	<-started
	_ = w.Go(context.Background(), func(context.Context) error {
		return errors.New("disk full")
	})
	fmt.Println("Wait:", w.Wait())
	// Output:
	// Wait: disk full
}

// This example closes a pool that still has queued tasks: they are skipped
// and counted, Close says so, and the pool refuses new tasks.
func ExampleWorkers_Close() {
	w := pool.NewWorkers(context.Background(), 1)
	started := make(chan struct{})
	_ = w.Go(context.Background(), func(ctx context.Context) error {
		close(started)
		<-ctx.Done() // Close cancels the running task
		return nil
	})
	<-started
	for range 3 {
		_ = w.Go(context.Background(), func(context.Context) error { return nil })
	}
	fmt.Println("Close:", w.Close())
	fmt.Println("cancelled:", w.Stats().Cancelled)
	fmt.Println("Go after Close:", w.Go(context.Background(), func(context.Context) error { return nil }))
	// Output:
	// Close: pool: closed
	// cancelled: 3
	// Go after Close: pool: closed
}

// This example stops a producer when the pool fails: the producer selects
// on the pool's context, whose cause is the first error.
func ExampleWorkers_Context() {
	w := pool.NewWorkers(context.Background(), 2)
	defer w.Close()
	produced := 0
	for i := range 1_000_000 {
		select {
		case <-w.Context().Done():
			fmt.Println("stopped early:", produced < 1_000_000)
			fmt.Println("cause:", context.Cause(w.Context()))
			fmt.Println("Wait:", w.Wait())
			return
		default:
		}
		err := w.Go(context.Background(), func(context.Context) error {
			if i == 10 {
				return errors.New("record 10 is corrupt")
			}
			return nil
		})
		if err != nil {
			continue // the pool is cancelled; the select above sees it
		}
		produced++
	}
	// Output:
	// stopped early: true
	// cause: record 10 is corrupt
	// Wait: record 10 is corrupt
}

// This example reads the counters after a run, where they satisfy the
// identity that WorkersStats documents.
func ExampleWorkers_Stats() {
	w := pool.NewWorkers(context.Background(), 4, pool.JoinErrors())
	defer w.Close()
	for i := range 10 {
		_ = w.Go(context.Background(), func(context.Context) error {
			if i%5 == 0 {
				return fmt.Errorf("task %d", i)
			}
			return nil
		})
	}
	_ = w.Wait()
	st := w.Stats()
	fmt.Println("submitted:", st.Submitted, "completed:", st.Completed, "failed:", st.Failed)
	fmt.Println("identity holds:", st.Submitted == st.Completed+st.Failed+st.Panicked+st.Cancelled)
	// Output:
	// submitted: 10 completed: 8 failed: 2
	// identity holds: true
}

// This example shows what WorkersStats counts when a pool is cancelled with
// work still queued.
func ExampleWorkersStats() {
	ctx, cancel := context.WithCancel(context.Background())
	w := pool.NewWorkers(ctx, 1)
	defer w.Close()
	started := make(chan struct{})
	_ = w.Go(context.Background(), func(ctx context.Context) error {
		close(started)
		<-ctx.Done()
		return ctx.Err()
	})
	<-started
	for range 4 {
		_ = w.Go(context.Background(), func(context.Context) error { return nil })
	}
	cancel()
	fmt.Println("Wait:", w.Wait())
	fmt.Printf("%+v\n", w.Stats())
	// Output:
	// Wait: context canceled
	// {Submitted:5 Queued:0 Running:0 Completed:0 Failed:1 Panicked:0 Cancelled:4 Rejected:0 Workers:1}
}

// This example uses a queue capacity of 0, hand-off: a task is accepted
// only if a worker can take it at once.
func ExampleQueueCapacity() {
	w := pool.NewWorkers(context.Background(), 2, pool.QueueCapacity(0))
	defer w.Close()
	release := make(chan struct{})
	block := func(context.Context) error { <-release; return nil }
	for i := range 3 {
		fmt.Printf("task %d accepted: %v\n", i, w.TryGo(block))
	}
	close(release)
	_ = w.Wait()
	// Output:
	// task 0 accepted: true
	// task 1 accepted: true
	// task 2 accepted: false
}

// This example keeps the pool running after errors and gets them all.
func ExampleJoinErrors() {
	w := pool.NewWorkers(context.Background(), 1, pool.JoinErrors())
	defer w.Close()
	for _, name := range []string{"a.txt", "b.txt", "c.txt"} {
		_ = w.Go(context.Background(), func(context.Context) error {
			if name == "b.txt" {
				return nil
			}
			return fmt.Errorf("%s: not found", name)
		})
	}
	fmt.Println(w.Wait())
	// Output:
	// a.txt: not found
	// c.txt: not found
}

// This example shows the light load IdleTimeout is for: workers start only
// when tasks arrive, and tasks that come one at a time all go to the same
// worker (the one that parked last), so the seven others never start and,
// had they been started by a burst, would exit after a minute idle. The
// retirement itself is timed on virtual time in TestIdleTimeout: on the
// real clock an example could only sleep and hope.
func ExampleIdleTimeout() {
	w := pool.NewWorkers(context.Background(), 8, pool.IdleTimeout(time.Minute))
	defer w.Close()
	fmt.Println("workers before any task:", w.Stats().Workers)
	for range 5 {
		_ = w.Go(context.Background(), func(context.Context) error { return nil })
		_ = w.Wait() // the worker parks before Wait returns
	}
	fmt.Println("workers after 5 tasks one at a time:", w.Stats().Workers)
	// Output:
	// workers before any task: 0
	// workers after 5 tasks one at a time: 1
}

// This example tells a refusal by a closed pool apart with errors.Is.
func ExampleErrClosed() {
	w := pool.NewWorkers(context.Background(), 1)
	_ = w.Close()
	err := w.Go(context.Background(), func(context.Context) error { return nil })
	fmt.Println(errors.Is(err, pool.ErrClosed))
	// Output:
	// true
}

// This example recovers a task's panic from Wait, which re-panics with a
// *PanicError on the caller's goroutine.
func ExamplePanicError() {
	w := pool.NewWorkers(context.Background(), 1)
	defer w.Close()
	_ = w.Go(context.Background(), func(context.Context) error {
		panic("bad record 7")
	})
	func() {
		defer func() {
			p := recover().(*pool.PanicError)
			fmt.Println("recovered:", p.Value)
			fmt.Println("with the worker's stack:", len(p.Stack) > 0)
		}()
		_ = w.Wait()
	}()
	// Output:
	// recovered: bad record 7
	// with the worker's stack: true
}

// This example builds the options from configuration: WorkersOption values
// are ordinary values, and NewWorkers applies them in any order.
func ExampleWorkersOption() {
	strict := false
	opts := []pool.WorkersOption{pool.QueueCapacity(8)}
	if !strict {
		opts = append(opts, pool.JoinErrors())
	}
	w := pool.NewWorkers(context.Background(), 2, opts...)
	defer w.Close()
	_ = w.Go(context.Background(), func(context.Context) error { return errors.New("one") })
	_ = w.Go(context.Background(), func(context.Context) error { return errors.New("two") })
	err := w.Wait()
	fmt.Println("errors kept:", len(err.(interface{ Unwrap() []error }).Unwrap()))
	// Output:
	// errors kept: 2
}
