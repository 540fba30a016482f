package fanout_test

import (
	"context"
	"fmt"
	"slices"
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

// This example is the Go blog's pipeline shape: three workers fan out by
// receiving from one shared channel, each taking whichever value is next
// when it is free, and Merge fans their results back in.
func Example() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel() // frees every goroutine if we stop reading early

	work := gen(1, 2, 3, 4, 5, 6)
	squares := make([]<-chan int, 3)
	for i := range squares {
		out := make(chan int)
		squares[i] = out
		go func() {
			defer close(out)
			for v := range work { // the same channel for every worker
				select {
				case out <- v * v:
				case <-ctx.Done():
					return
				}
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

// This example fans out without any function of this package: several
// consumers range over one channel, and each value goes to exactly one of
// them, whichever is ready first ("Pipelines and cancellation", Go blog).
// The channel closes once for all of them.
func Example_shareTheChannel() {
	jobs := gen("a", "b", "c", "d", "e")
	var mu sync.Mutex
	done := map[string]int{} // job -> how many consumers did it
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() {
			for j := range jobs {
				mu.Lock()
				done[j]++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	fmt.Println(done)
	// Output: map[a:1 b:1 c:1 d:1 e:1]
}
