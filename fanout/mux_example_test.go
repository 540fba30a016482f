package fanout_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/go-compendium/compendium"
	"github.com/go-compendium/compendium/fanout"
)

// conn stands in for a network connection: every Write is one "packet".
// It is not safe for concurrent use, and needs no lock behind a
// Multiplexer, which calls write once at a time.
type conn struct{ packets []string }

func (c *conn) Write(p []byte) (int, error) {
	c.packets = append(c.packets, string(p))
	return len(p), nil
}

// This example is the talk's network multiplexor: three producers share
// one connection, and each learns whether its message was written.
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

// This example shows the Multiplexer type's shape: any number of
// producers, and a write that runs once at a time, so the state it
// touches needs no lock.
func ExampleMultiplexer() {
	var total int
	m := fanout.NewMultiplexer(context.Background(), 8, func(ns []int) error {
		for _, n := range ns {
			total += n // write runs once at a time: no lock needed
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
// reports the write error, if any; a Send after it is refused with an
// error that matches compendium.ErrClosed.
func ExampleMultiplexer_Close() {
	var written []int
	m := fanout.NewMultiplexer(context.Background(), 8, func(ns []int) error {
		written = append(written, ns...)
		return nil
	})
	_ = m.Send(context.Background(), 1)
	fmt.Println(m.Close(), written)
	err := m.Send(context.Background(), 2)
	fmt.Println(err, errors.Is(err, compendium.ErrClosed))
	// Output:
	// <nil> [1]
	// fanout: Multiplexer is closed true
}

// This example reads a Multiplexer's counters: three items sent one after
// another, each written alone, since nothing else was queued.
func ExampleMultiplexer_Stats() {
	m := fanout.NewMultiplexer(context.Background(), 8, func([]int) error { return nil })
	for n := range 3 {
		_ = m.Send(context.Background(), n)
	}
	_ = m.Close()
	s := m.Stats()
	fmt.Println(s.Submitted, s.Completed, s.Failed, s.Writes)
	// Output: 3 3 0 3
}

// This example computes the mean batch size from MultiplexerStats.
func ExampleMultiplexerStats() {
	m := fanout.NewMultiplexer(context.Background(), 8, func([]int) error { return nil })
	_ = m.Send(context.Background(), 1)
	_ = m.Close()
	s := m.Stats()
	written := s.Completed + s.Failed + s.Panicked
	fmt.Printf("%.1f items per write\n", float64(written)/float64(s.Writes))
	// Output: 1.0 items per write
}
