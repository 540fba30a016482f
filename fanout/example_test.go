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

// This example merges two streams; each keeps its own order.
func ExampleMerge() {
	var letters, digits []string
	for v := range fanout.Merge(context.Background(), gen("a", "b", "c"), gen("1", "2")) {
		if v >= "a" {
			letters = append(letters, v)
		} else {
			digits = append(digits, v)
		}
	}
	fmt.Println(letters, digits)
	// Output: [a b c] [1 2]
}

// This example merges with the nil-channel select loop: one goroutine
// for both inputs.
func ExampleMergeSelect() {
	sum := 0
	for v := range fanout.MergeSelect(context.Background(), gen(1, 2, 3), gen(10, 20)) {
		sum += v
	}
	fmt.Println(sum)
	// Output: 36
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

// This example sends every event to both an audit log and a counter.
func ExampleBroadcast() {
	outs := fanout.Broadcast(context.Background(), gen("login", "logout"), 2)
	var audit []string
	n := 0
	var wg sync.WaitGroup
	wg.Go(func() {
		for e := range outs[0] {
			audit = append(audit, e)
		}
	})
	wg.Go(func() {
		for range outs[1] {
			n++
		}
	})
	wg.Wait()
	fmt.Println(audit, n)
	// Output: [login logout] 2
}

// This example processes each user's events in order while different
// users are processed in parallel.
func ExamplePartition() {
	type event struct {
		user string
		seq  int
	}
	in := gen(event{"ann", 1}, event{"bob", 1}, event{"ann", 2}, event{"bob", 2}, event{"ann", 3})
	outs := fanout.Partition(context.Background(), in, 3, func(e event) string { return e.user })
	var mu sync.Mutex
	byUser := map[string][]int{}
	var wg sync.WaitGroup
	for _, events := range outs {
		wg.Go(func() {
			for e := range events {
				mu.Lock()
				byUser[e.user] = append(byUser[e.user], e.seq)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	fmt.Println(byUser["ann"], byUser["bob"])
	// Output: [1 2 3] [1 2]
}

// conn stands in for a network connection: every Write is one "packet".
type conn struct{ packets []string }

func (c *conn) Write(p []byte) (int, error) {
	c.packets = append(c.packets, string(p))
	return len(p), nil
}

// This example is the talk's network multiplexor: three producers share
// one connection, which only the Multiplexer's goroutine writes to.
func ExampleNewMultiplexer() {
	c := &conn{}
	m := fanout.NewMultiplexer(context.Background(), 16, func(msgs []string) error {
		_, err := c.Write([]byte(strings.Join(msgs, "")))
		return err
	})
	var wg sync.WaitGroup
	for _, msg := range []string{"a", "b", "c"} {
		wg.Go(func() {
			if err := m.Send(context.Background(), msg); err != nil {
				fmt.Println(err)
			}
		})
	}
	wg.Wait()
	_ = m.Close()
	all := strings.Join(c.packets, "")
	fmt.Println(len(all), len(c.packets) <= 3)
	// Output: 3 true
}

// This example shows a producer learning of its write's failure.
func ExampleMultiplexer_Send() {
	m := fanout.NewMultiplexer(context.Background(), 4, func(lines []string) error {
		return errors.New("disk full")
	})
	defer m.Close()
	fmt.Println(m.Send(context.Background(), "log line"))
	// Output: disk full
}

// This example shows the Multiplexer type's shape: a value of it has one
// owner goroutine and any number of producers.
func ExampleMultiplexer() {
	var total int
	m := fanout.NewMultiplexer(context.Background(), 8, func(ns []int) error {
		for _, n := range ns {
			total += n // only the owner goroutine runs this: no lock needed
		}
		return nil
	})
	var wg sync.WaitGroup
	for n := 1; n <= 100; n++ {
		wg.Go(func() { _ = m.Send(context.Background(), n) })
	}
	wg.Wait()
	_ = m.Close()
	fmt.Println(total)
	// Output: 5050
}

// This example closes a Multiplexer: Close writes what is pending and
// reports the write error, if any.
func ExampleMultiplexer_Close() {
	var written []int
	m := fanout.NewMultiplexer(context.Background(), 8, func(ns []int) error {
		written = append(written, ns...)
		return nil
	})
	_ = m.Send(context.Background(), 1)
	fmt.Println(m.Close(), written)
	// Output: <nil> [1]
}

// This example reads a Multiplexer's counters.
func ExampleMultiplexer_Stats() {
	m := fanout.NewMultiplexer(context.Background(), 8, func([]int) error { return nil })
	for n := range 3 {
		_ = m.Send(context.Background(), n)
	}
	_ = m.Close()
	s := m.Stats()
	fmt.Println(s.Sent, s.Written, s.Failed, s.Writes)
	// Output: 3 3 0 3
}

// This example computes the mean batch size from MultiplexerStats.
func ExampleMultiplexerStats() {
	m := fanout.NewMultiplexer(context.Background(), 8, func([]int) error { return nil })
	_ = m.Send(context.Background(), 1)
	_ = m.Close()
	s := m.Stats()
	fmt.Printf("%.1f items per write\n", float64(s.Written+s.Failed)/float64(s.Writes))
	// Output: 1.0 items per write
}
