package fanout_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-compendium/compendium"
	"github.com/go-compendium/compendium/fanout"
)

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
	fmt.Println(sum, b.Close())
	// Output: 385 <nil>
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
	_ = b.Close()
	fmt.Println("requests served:", served[0]+served[1]+served[2])

	_, ok := fanout.WorkerIndex(context.Background())
	fmt.Println("outside a handler:", ok)
	// Output:
	// requests served: 9
	// outside a handler: false
}

// This example makes a request and waits for its answer; the handler's
// error comes back to the caller, and only to the caller: the Balancer
// goes on serving.
func ExampleBalancer_Do() {
	b := fanout.NewBalancer(context.Background(), 1, 1, func(_ context.Context, name string) (string, error) {
		if name == "" {
			return "", errors.New("no name")
		}
		return "hello, " + name, nil
	})
	_, err := b.Do(context.Background(), "")
	fmt.Println(err)
	fmt.Println(b.Do(context.Background(), "gopher"))
	fmt.Println(b.Close())
	// Output:
	// no name
	// hello, gopher <nil>
	// <nil>
}

// This example passes a response channel with each request (the talk's
// slide): one client sends three requests, then collects the answers,
// which arrive in any order and say which request each answers.
func ExampleBalancer_Submit() {
	b := fanout.NewBalancer(context.Background(), 2, 2, func(_ context.Context, n int) (int, error) {
		return 2 * n, nil
	})
	defer b.Close()
	replies := make(chan fanout.Result[int, int], 3) // room for every answer
	for n := range 3 {
		if err := b.Submit(context.Background(), n, replies); err != nil {
			fmt.Println(err)
		}
	}
	got := make([]string, 0, 3)
	for range 3 {
		r := <-replies
		got = append(got, fmt.Sprintf("%d->%d", r.Req, r.Value))
	}
	slices.Sort(got)
	fmt.Println(got)
	// Output: [0->0 1->2 2->4]
}

// This example reads a request's Result, which carries the request, the
// handler's value and its error.
func ExampleResult() {
	b := fanout.NewBalancer(context.Background(), 1, 1, func(_ context.Context, n int) (int, error) {
		return n + 1, nil
	})
	defer b.Close()
	reply := make(chan fanout.Result[int, int], 1)
	_ = b.Submit(context.Background(), 41, reply)
	r := <-reply
	fmt.Println(r.Req, r.Value, r.Err)
	// Output: 41 42 <nil>
}

// This example drives a Balancer from a channel of requests and reads the
// answers from a channel, each carrying its request. The output closes once
// the input is closed and every request is answered.
func ExampleBalancer_Serve() {
	b := fanout.NewBalancer(context.Background(), 3, 2, func(_ context.Context, word string) (int, error) {
		return len(word), nil
	})
	defer b.Close()
	in := make(chan string)
	go func() {
		defer close(in)
		for _, w := range []string{"a", "channel", "compendium"} {
			in <- w
		}
	}()
	var got []string
	for r := range b.Serve(context.Background(), in) {
		got = append(got, fmt.Sprintf("%s:%d", r.Req, r.Value))
	}
	slices.Sort(got)
	fmt.Println(got)
	// Output: [a:1 channel:7 compendium:10]
}

// This example reads a Balancer's counters after its work is done: a
// failed request is Failed, not Completed.
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
	_ = b.Close()
	s := b.Stats()
	fmt.Println(s.Submitted, s.Completed, s.Failed, s.Pending)
	// Output: 3 2 1 [0 0]
}

// This example shows that a Balancer's counters add up: every request
// accepted is queued, running, or ended in exactly one way.
func ExampleBalancerStats() {
	b := fanout.NewBalancer(context.Background(), 3, 1, func(_ context.Context, n int) (int, error) {
		return n, nil
	})
	for n := range 5 {
		_, _ = b.Do(context.Background(), n)
	}
	_ = b.Close()
	s := b.Stats()
	fmt.Println(s.Submitted == s.Queued+s.Running+s.Completed+s.Failed+s.Panicked+s.Canceled, s.Completed, s.Pending)
	// Output: true 5 [0 0 0]
}

// This example shows what Close does to work in flight: the running
// handler's context ends, the queued request is answered without running,
// an answer nobody reads does not hold Close up, and later requests are
// refused with an error matching compendium.ErrClosed.
func ExampleBalancer_Close() {
	started := make(chan struct{})
	b := fanout.NewBalancer(context.Background(), 1, 3, func(ctx context.Context, n int) (int, error) {
		close(started)
		<-ctx.Done() // the first request waits for Close
		return 0, ctx.Err()
	})
	replies := make(chan fanout.Result[int, int], 2)
	_ = b.Submit(context.Background(), 1, replies)
	_ = b.Submit(context.Background(), 2, replies)
	unread := make(chan fanout.Result[int, int]) // never read
	_ = b.Submit(context.Background(), 3, unread)
	<-started
	fmt.Println(b.Close())
	fmt.Println((<-replies).Err)
	fmt.Println((<-replies).Err)
	_, err := b.Do(context.Background(), 4)
	fmt.Println(errors.Is(err, compendium.ErrClosed))
	// Output:
	// <nil>
	// context canceled
	// fanout: Balancer is closed
	// true
}

// This example recovers a handler's panic: the request fails with a
// *compendium.PanicError, and Close re-panics with it for the Balancer's
// owner.
func ExampleBalancer_Close_panic() {
	b := fanout.NewBalancer(context.Background(), 1, 1, func(_ context.Context, n int) (int, error) {
		return 10 / n, nil
	})
	_, err := b.Do(context.Background(), 0)
	var pe *compendium.PanicError
	fmt.Println(errors.As(err, &pe), pe.Value)
	defer func() {
		p := recover().(*compendium.PanicError)
		fmt.Println("Close re-panicked:", p == pe)
	}()
	_ = b.Close()
	// Output:
	// true runtime error: integer divide by zero
	// Close re-panicked: true
}

// This example supervises a Balancer's workers: one request hangs its
// worker, and the requests that would have waited behind it are answered
// by the other worker. The hung request is answered when its handler
// returns.
func ExampleStallAfter() {
	release := make(chan struct{})
	b := fanout.NewBalancer(context.Background(), 2, 2, func(_ context.Context, job string) (string, error) {
		if job == "hang" {
			<-release // stuck until the example lets it go
		}
		return job + " done", nil
	}, fanout.StallAfter(10*time.Millisecond))
	defer b.Close()
	replies := make(chan fanout.Result[string, string], 4)
	for _, job := range []string{"hang", "a", "b", "c"} {
		_ = b.Submit(context.Background(), job, replies)
	}
	var got []string
	for range 3 {
		got = append(got, (<-replies).Value)
	}
	slices.Sort(got)
	fmt.Println(got)
	close(release)
	fmt.Println((<-replies).Value)
	// Output:
	// [a done b done c done]
	// hang done
}

// This example passes options to NewBalancer: a BalancerOption is made by
// one of this package's functions, here StallAfter.
func ExampleBalancerOption() {
	opts := []fanout.BalancerOption{fanout.StallAfter(time.Second)}
	b := fanout.NewBalancer(context.Background(), 2, 1, func(_ context.Context, n int) (int, error) {
		return -n, nil
	}, opts...)
	defer b.Close()
	fmt.Println(b.Do(context.Background(), 7))
	fmt.Println(b.Stats().Stalled)
	// Output:
	// -7 <nil>
	// [false false]
}
