package fanout_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/go-compendium/compendium/fanout"
)

// gen sends vs on a new channel and closes it.
func gen[T any](vs ...T) <-chan T {
	c := make(chan T)
	go func() {
		defer close(c)
		for _, v := range vs {
			c <- v
		}
	}()
	return c
}

// This example fans work out to three workers with Distribute and fans
// their results back in with Merge: the Go blog's pipeline shape.
func Example() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel() // frees every goroutine if we stop reading early

	work := fanout.Distribute(ctx, gen(1, 2, 3, 4, 5, 6), 3)
	squares := make([]<-chan int, len(work))
	for i, in := range work {
		out := make(chan int)
		squares[i] = out
		go func() {
			defer close(out)
			for v := range in {
				out <- v * v
			}
		}()
	}
	var got []int
	for v := range fanout.Merge(ctx, squares...) {
		got = append(got, v)
	}
	slices.Sort(got)
	fmt.Println(got)
	// Output: [1 4 9 16 25 36]
}

// This example hands each job to whichever of two consumers is free.
func ExampleDistribute() {
	outs := fanout.Distribute(context.Background(), gen("a", "b", "c", "d"), 2)
	var mu sync.Mutex
	var done []string
	var wg sync.WaitGroup
	for _, jobs := range outs {
		wg.Go(func() {
			for j := range jobs {
				mu.Lock()
				done = append(done, j)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	slices.Sort(done)
	fmt.Println(done)
	// Output: [a b c d]
}

// This example starts a Balancer of two workers, each queueing at most
// four requests, and makes a request.
func ExampleNewBalancer() {
	b := fanout.NewBalancer(context.Background(), 2, 4, func(_ context.Context, s string) (string, error) {
		return strings.ToUpper(s), nil
	})
	defer b.Close()
	fmt.Println(b.Do(context.Background(), "hello"))
	// Output: HELLO <nil>
}

// This example shows a Balancer serving many concurrent callers, the
// talk's HTTP load balancer.
func ExampleBalancer() {
	b := fanout.NewBalancer(context.Background(), 4, 2, func(_ context.Context, n int) (int, error) {
		return n * n, nil
	})
	var mu sync.Mutex
	sum := 0
	var wg sync.WaitGroup
	for n := 1; n <= 10; n++ {
		wg.Go(func() {
			sq, _ := b.Do(context.Background(), n)
			mu.Lock()
			sum += sq
			mu.Unlock()
		})
	}
	wg.Wait()
	b.Close()
	fmt.Println(sum)
	// Output: 385
}

// This example gives each worker of a Balancer a resource of its own, here
// a counter, which the handler finds by its worker's index. A worker runs
// one handler at a time, so the counters need no lock; Close waits for the
// workers, so reading them after it is safe.
func ExampleWorkerIndex() {
	const workers = 3
	served := make([]int, workers) // served[i] belongs to worker i
	b := fanout.NewBalancer(context.Background(), workers, 2, func(ctx context.Context, s string) (string, error) {
		i, _ := fanout.WorkerIndex(ctx)
		served[i]++
		return strings.ToUpper(s), nil
	})
	var wg sync.WaitGroup
	for range 9 {
		wg.Go(func() { _, _ = b.Do(context.Background(), "hello") })
	}
	wg.Wait()
	b.Close()
	fmt.Println("requests served:", served[0]+served[1]+served[2])

	_, ok := fanout.WorkerIndex(context.Background())
	fmt.Println("outside a handler:", ok)
	// Output:
	// requests served: 9
	// outside a handler: false
}

// This example makes a request and waits for its answer; the handler's
// error comes back to the caller.
func ExampleBalancer_Do() {
	b := fanout.NewBalancer(context.Background(), 1, 1, func(_ context.Context, name string) (string, error) {
		if name == "" {
			return "", errors.New("no name")
		}
		return "hello, " + name, nil
	})
	defer b.Close()
	fmt.Println(b.Do(context.Background(), "gopher"))
	_, err := b.Do(context.Background(), "")
	fmt.Println(err)
	// Output:
	// hello, gopher <nil>
	// no name
}

// This example passes a response channel with each request (the talk's
// slide): one client sends three requests, then collects the answers.
func ExampleBalancer_Submit() {
	b := fanout.NewBalancer(context.Background(), 2, 2, func(_ context.Context, n int) (int, error) {
		return 2 * n, nil
	})
	defer b.Close()
	replies := make(chan fanout.Result[int], 3) // room for every answer
	for n := range 3 {
		if err := b.Submit(context.Background(), n, replies); err != nil {
			fmt.Println(err)
		}
	}
	var got []int
	for range 3 {
		r := <-replies
		got = append(got, r.Value)
	}
	slices.Sort(got)
	fmt.Println(got)
	// Output: [0 2 4]
}

// This example reads a request's Result, which carries the handler's
// value and error.
func ExampleResult() {
	b := fanout.NewBalancer(context.Background(), 1, 1, func(_ context.Context, n int) (int, error) {
		return n + 1, nil
	})
	defer b.Close()
	reply := make(chan fanout.Result[int], 1)
	_ = b.Submit(context.Background(), 41, reply)
	r := <-reply
	fmt.Println(r.Value, r.Err)
	// Output: 42 <nil>
}

// This example reads a Balancer's counters after its work is done.
func ExampleBalancer_Stats() {
	b := fanout.NewBalancer(context.Background(), 2, 3, func(_ context.Context, n int) (int, error) {
		if n < 0 {
			return 0, errors.New("negative")
		}
		return n, nil
	})
	for _, n := range []int{1, -1, 2} {
		_, _ = b.Do(context.Background(), n)
	}
	b.Close()
	s := b.Stats()
	fmt.Println(s.Submitted, s.Completed, s.Failed, s.Pending)
	// Output: 3 3 1 [0 0]
}

// This example shows that Close lets accepted requests finish and then
// turns new ones away with ErrClosed.
func ExampleBalancer_Close() {
	b := fanout.NewBalancer(context.Background(), 1, 1, func(_ context.Context, n int) (int, error) {
		return n, nil
	})
	reply := make(chan fanout.Result[int], 1)
	_ = b.Submit(context.Background(), 7, reply)
	b.Close()
	fmt.Println((<-reply).Value)
	_, err := b.Do(context.Background(), 8)
	fmt.Println(errors.Is(err, fanout.ErrClosed))
	// Output:
	// 7
	// true
}

// This example recovers a handler's panic: the request fails with a
// *PanicError, and Close re-panics with it for the Balancer's owner.
func ExamplePanicError() {
	b := fanout.NewBalancer(context.Background(), 1, 1, func(_ context.Context, n int) (int, error) {
		return 10 / n, nil
	})
	_, err := b.Do(context.Background(), 0)
	var pe *fanout.PanicError
	fmt.Println(errors.As(err, &pe), pe.Value)
	defer func() {
		p := recover().(*fanout.PanicError)
		fmt.Println("Close re-panicked:", p == pe)
	}()
	b.Close()
	// Output:
	// true runtime error: integer divide by zero
	// Close re-panicked: true
}

// This example shows that a Balancer's Pending loads return to zero once
// every request has been answered.
func ExampleBalancerStats() {
	b := fanout.NewBalancer(context.Background(), 3, 1, func(_ context.Context, n int) (int, error) {
		return n, nil
	})
	for n := range 5 {
		_, _ = b.Do(context.Background(), n)
	}
	b.Close()
	s := b.Stats()
	fmt.Println(s.Submitted, s.Completed, s.Pending)
	// Output: 5 5 [0 0 0]
}
