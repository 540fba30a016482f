package main

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/go-compendium/compendium/fanout"
	"github.com/go-compendium/compendium/semaphore"
	"github.com/go-compendium/compendium/timeout"
)

// closedAndNil shows the two channel states that make the patterns work:
// a closed channel is always ready (with its buffered values, then the zero
// value), and a nil channel never is, which switches a select case off.
func closedAndNil(ctx context.Context, p *printer, _ config) error {
	c := make(chan int, 2)
	c <- 1
	c <- 2
	close(c)
	v1, ok1 := <-c
	v2, ok2 := <-c
	v3, ok3 := <-c
	p.say("a closed channel gives its buffered values, then the zero value at once: %d %v, %d %v, %d %v",
		v1, ok1, v2, ok2, v3, ok3)
	p.say("send on a closed channel: panic: %v", recovered(func() { c <- 3 }))
	p.say("close of a closed channel: panic: %v", recovered(func() { close(c) }))

	var off chan int // nil
	select {
	case <-off:
		return fmt.Errorf("a receive from a nil channel succeeded")
	default:
		p.say("a receive from a nil channel is never ready: the select took its default")
	}

	// MergeSelect merges in one select loop and switches each input off,
	// when it closes, by setting it to nil.
	odd, even := make(chan int), make(chan int)
	var senders sync.WaitGroup
	senders.Go(func() { send(ctx, odd, 1, 3, 5) })
	senders.Go(func() { send(ctx, even, 2, 4) })
	var merged []int
	for v := range fanout.MergeSelect(ctx, odd, even) {
		merged = append(merged, v)
	}
	// Once ctx ends MergeSelect stops reading: the senders give up too,
	// rather than block forever on a send nobody takes.
	senders.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}
	slices.Sort(merged) // the two inputs interleave in any order
	p.say("fanout.MergeSelect of [1 3 5] and [2 4], nil-ing each input as it closes: %v", merged)
	return nil
}

// send sends vs on c and closes it, or stops early when ctx ends.
func send(ctx context.Context, c chan<- int, vs ...int) {
	defer close(c)
	for _, v := range vs {
		select {
		case c <- v:
		case <-ctx.Done():
			return
		}
	}
}

// recovered runs f and returns what it panicked with, or nil.
func recovered(f func()) (v any) {
	defer func() { v = recover() }()
	f()
	return nil
}

// nonBlocking tries sends and receives that would block, and does
// something else instead: a select with a default case.
func nonBlocking(ctx context.Context, p *printer, _ config) error {
	c := make(chan int, 1)
	trySend := func(v int) bool {
		select {
		case c <- v:
			return true
		default:
			return false
		}
	}
	tryRecv := func() (int, bool) {
		select {
		case v := <-c:
			return v, true
		default:
			return 0, false
		}
	}
	p.say("channel of capacity 1: send 1 = %v, send 2 = %v (full)", trySend(1), trySend(2))
	v, ok := tryRecv()
	p.say("receive = %d %v, receive again = %v (empty)", v, ok, second(tryRecv()))

	// The same select, packaged: a timeout of zero is a poll.
	err := timeout.Send(ctx, c, 7, 0)
	p.say("timeout.Send with d=0 on room: %v; again, full: %v", err, timeout.Send(ctx, c, 8, 0))
	sem := semaphore.NewCounting(1)
	p.say("semaphore.TryAcquire: %v, then %v (the one token is taken)", sem.TryAcquire(), sem.TryAcquire())
	sem.Release()
	return nil
}

// second returns its second argument.
func second[A, B any](_ A, b B) B { return b }
