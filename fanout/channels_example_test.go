package fanout_test

import (
	"context"
	"fmt"
	"sync"

	"github.com/go-compendium/compendium/fanout"
)

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
