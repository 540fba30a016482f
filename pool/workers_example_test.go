package pool_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"regexp"
	"runtime/pprof"
	"slices"
	"sync"
	"time"

	"github.com/go-compendium/compendium"
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
		pool.QueueCapacity(16), pool.CancelOnError(),
		pool.IdleTimeout(time.Minute), pool.TaskTimeout(time.Second))
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

// This example walks a tree with tasks that submit their children to
// their own pool, with the ctx they received: at a limit of 2 with no
// queue at all, nothing deadlocks (a submission from inside that finds no
// worker runs on the submitter's goroutine), and Wait returns once the
// whole tree is done.
func ExampleWorkers_Go_recursive() {
	tree := map[string][]string{
		"/":    {"/a", "/b"},
		"/a":   {"/a/1", "/a/2", "/a/3"},
		"/b":   {"/b/1"},
		"/b/1": {"/b/1/x"},
		"/a/2": {"/a/2/y", "/a/2/z"},
	}
	w := pool.NewWorkers(context.Background(), 2, pool.QueueCapacity(0))
	defer w.Close()
	var mu sync.Mutex
	var visited []string
	var visit func(path string) func(context.Context) error
	visit = func(path string) func(context.Context) error {
		return func(ctx context.Context) error {
			mu.Lock()
			visited = append(visited, path)
			mu.Unlock()
			for _, child := range tree[path] {
				if err := w.Go(ctx, visit(child)); err != nil {
					return err
				}
			}
			return nil
		}
	}
	_ = w.Go(context.Background(), visit("/"))
	fmt.Println("Wait:", w.Wait())
	slices.Sort(visited)
	fmt.Println(visited)
	// Output:
	// Wait: <nil>
	// [/ /a /a/1 /a/2 /a/2/y /a/2/z /a/3 /b /b/1 /b/1/x]
}

// This example shows that the ctx given to Go reaches the task: a request's
// context, cancelled by its client, cancels the task, with its cause.
func ExampleWorkers_Go_requestContext() {
	w := pool.NewWorkers(context.Background(), 1)
	defer w.Close()
	request, hangUp := context.WithCancelCause(context.Background())
	started := make(chan struct{})
	_ = w.Go(request, func(ctx context.Context) error {
		close(started)
		<-ctx.Done()
		return context.Cause(ctx)
	})
	<-started
	hangUp(errors.New("client went away"))
	fmt.Println("Wait:", w.Wait())
	// Output:
	// Wait: client went away
}

// This example shows TryGo refusing a task, without blocking, when the
// pool has no room for it.
func ExampleWorkers_TryGo() {
	ctx := context.Background()
	w := pool.NewWorkers(ctx, 1, pool.QueueCapacity(1))
	defer w.Close()
	release := make(chan struct{})
	block := func(context.Context) error { <-release; return nil }
	fmt.Println("for the worker:", w.TryGo(ctx, block))
	fmt.Println("for the queue: ", w.TryGo(ctx, block))
	fmt.Println("no room:       ", w.TryGo(ctx, block))
	close(release)
	_ = w.Wait()
	fmt.Printf("%+v\n", w.Stats())
	// Output:
	// for the worker: true
	// for the queue:  true
	// no room:        false
	// {TaskStats:{Submitted:2 Rejected:1 Queued:0 Running:0 Completed:2 Failed:0 Panicked:0 Canceled:0} Workers:1}
}

// This example uses a pool as a long-lived server pool does: a task's
// error cancels nothing, and each Wait returns the errors of the tasks it
// waited for.
func ExampleWorkers_Wait() {
	w := pool.NewWorkers(context.Background(), 1)
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
	fmt.Println("next Wait:", w.Wait())
	// Output:
	// a.txt: not found
	// c.txt: not found
	// next Wait: <nil>
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
	fmt.Println("canceled:", w.Stats().Canceled)
	err := w.Go(context.Background(), func(context.Context) error { return nil })
	fmt.Println("Go after Close:", err, errors.Is(err, compendium.ErrClosed))
	// Output:
	// Close: pool: Workers is closed
	// canceled: 3
	// Go after Close: pool: Workers is closed true
}

// This example shuts a pool down gracefully: the queued tasks run, new
// ones are refused, and Shutdown returns once all is done.
func ExampleWorkers_Shutdown() {
	w := pool.NewWorkers(context.Background(), 1)
	var mu sync.Mutex
	done := 0
	for range 5 {
		_ = w.Go(context.Background(), func(context.Context) error {
			mu.Lock()
			done++
			mu.Unlock()
			return nil
		})
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	fmt.Println("Shutdown:", w.Shutdown(ctx))
	fmt.Println("tasks done:", done)
	fmt.Println("canceled:", w.Stats().Canceled)
	// Output:
	// Shutdown: <nil>
	// tasks done: 5
	// canceled: 0
}

// This example widens a running pool: the queued tasks start at once on
// the new workers.
func ExampleWorkers_Resize() {
	w := pool.NewWorkers(context.Background(), 1)
	defer w.Close()
	release := make(chan struct{})
	started := make(chan struct{}, 3)
	for range 3 {
		_ = w.Go(context.Background(), func(context.Context) error {
			started <- struct{}{}
			<-release
			return nil
		})
	}
	<-started
	fmt.Println("running at limit 1:", len(started)+1)
	w.Resize(3)
	<-started
	<-started
	fmt.Println("running at limit 3: 3")
	close(release)
	_ = w.Wait()
	// Output:
	// running at limit 1: 1
	// running at limit 3: 3
}

// This example stops a producer when the pool fails: the producer selects
// on the pool's context, whose cause is the first error.
func ExampleWorkers_Context() {
	w := pool.NewWorkers(context.Background(), 2, pool.CancelOnError())
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
	w := pool.NewWorkers(context.Background(), 4)
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
	fmt.Println("identity holds:", st.Submitted == st.Queued+st.Running+st.Completed+st.Failed+st.Panicked+st.Canceled)
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
	st := w.Stats()
	fmt.Printf("%+v workers=%d\n", st.TaskStats, st.Workers)
	// Output:
	// Wait: context canceled
	// {Submitted:5 Rejected:0 Queued:0 Running:0 Completed:0 Failed:1 Panicked:0 Canceled:4} workers=1
}

// This example uses a queue capacity of 0, hand-off: a task is accepted
// only if a worker can take it at once.
func ExampleQueueCapacity() {
	ctx := context.Background()
	w := pool.NewWorkers(ctx, 2, pool.QueueCapacity(0))
	defer w.Close()
	release := make(chan struct{})
	block := func(context.Context) error { <-release; return nil }
	for i := range 3 {
		fmt.Printf("task %d accepted: %v\n", i, w.TryGo(ctx, block))
	}
	close(release)
	_ = w.Wait()
	// Output:
	// task 0 accepted: true
	// task 1 accepted: true
	// task 2 accepted: false
}

// This example uses errgroup's rule: the first error cancels the pool's
// context, which the other tasks see, and Wait returns that error.
func ExampleCancelOnError() {
	w := pool.NewWorkers(context.Background(), 2, pool.CancelOnError())
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

// This example gives each task a deadline that keeps its worker: a task
// that ignores its context still holds its worker until it returns, so the
// limit holds.
func ExampleTaskTimeout() {
	w := pool.NewWorkers(context.Background(), 1, pool.TaskTimeout(10*time.Millisecond))
	defer w.Close()
	_ = w.Go(context.Background(), func(ctx context.Context) error {
		<-ctx.Done()
		return ctx.Err()
	})
	fmt.Println("Wait:", w.Wait())
	// Output:
	// Wait: context deadline exceeded
}

// This example builds the options from configuration: WorkersOption values
// are ordinary values, and NewWorkers applies them in any order.
func ExampleWorkersOption() {
	strict := true
	opts := []pool.WorkersOption{pool.QueueCapacity(8)}
	if strict {
		opts = append(opts, pool.CancelOnError())
	}
	w := pool.NewWorkers(context.Background(), 1, opts...)
	defer w.Close()
	_ = w.Go(context.Background(), func(context.Context) error { return errors.New("one") })
	_ = w.Go(context.Background(), func(context.Context) error { return errors.New("two") })
	fmt.Println("Wait:", w.Wait())
	// Output:
	// Wait: one
}

// This example recovers a task's panic from Wait, which re-panics with the
// same *compendium.PanicError on every call.
func ExampleWorkers_panic() {
	w := pool.NewWorkers(context.Background(), 1)
	_ = w.Go(context.Background(), func(context.Context) error {
		panic("bad record 7")
	})
	recovered := func(f func() error) {
		defer func() {
			p := recover().(*compendium.PanicError)
			fmt.Println("recovered:", p.Value, "with the worker's stack:", len(p.Stack) > 0)
		}()
		_ = f()
	}
	recovered(w.Wait)
	recovered(w.Close)
	// Output:
	// recovered: bad record 7 with the worker's stack: true
	// recovered: bad record 7 with the worker's stack: true
}

// This example finds a pool's workers in a goroutine profile by their
// labels: compendium=pool, type=Workers and worker=<index>, on top of the
// labels of the context the pool was made with.
func ExampleWorkers_labels() {
	var ctx context.Context
	pprof.Do(context.Background(), pprof.Labels("service", "resizer"), func(c context.Context) { ctx = c })
	w := pool.NewWorkers(ctx, 1)
	release := make(chan struct{})
	started := make(chan struct{})
	_ = w.Go(context.Background(), func(context.Context) error {
		close(started)
		<-release // stuck, as far as the profile can tell
		return nil
	})
	<-started
	var profile bytes.Buffer
	_ = pprof.Lookup("goroutine").WriteTo(&profile, 1)
	close(release)
	_ = w.Close()
	fmt.Println(regexp.MustCompile(`# labels: \{.*"service":"resizer".*\}`).FindString(profile.String()))
	// Output:
	// # labels: {"compendium":"pool", "service":"resizer", "type":"Workers", "worker":"0"}
}
