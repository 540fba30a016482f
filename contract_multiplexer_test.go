package compendium_test

import (
	"context"
	"testing/synctest"

	"github.com/go-compendium/compendium/fanout"
)

func init() {
	subjects = append(subjects, subject{
		name:   "fanout.Multiplexer",
		run:    runMultiplexer,
		unread: unreadMultiplexer,
		// A write's error is its producers' (Send's); Close returns only
		// the errors of the writes it waited for.
		closeReports: false,
	})
}

// runMultiplexer submits one item whose write runs work.
//
// A Multiplexer calls write on the goroutine of a producer (it combines
// writes rather than handing them to a goroutine of its own), so a write
// that calls runtime.Goexit ends that producer's goroutine, and its own
// Send never returns; the other producers of the batch get ErrGoexit. So
// that the unit's submitter is such an other producer, a first producer
// takes the writer role with an item whose write waits until the unit is
// queued behind it, and then writes the unit in its next batch. (The
// contract test runs every case in a synctest bubble, which synctest.Wait
// needs.)
//
// write takes no ctx, and Close writes what was accepted before it rather
// than cancelling it: a write that waits for something ends when its own
// context ends. close cancels the context the unit's work was given, as a
// user stops what their write waits on, and then calls Close.
func runMultiplexer(parent context.Context, work func(context.Context) error) (unit, closeFn func() error) {
	workCtx, stopWork := context.WithCancel(parent)
	gate := make(chan struct{})
	m := fanout.NewMultiplexer(parent, 4, func(vs []int) error {
		if vs[0] == 0 {
			<-gate
			return nil
		}
		return work(workCtx)
	})
	go func() { _ = m.Send(context.Background(), 0) }()
	synctest.Wait() // the first producer is in write([0]), at the gate
	res := make(chan error, 1)
	go func() { res <- m.Send(context.Background(), 1) }()
	synctest.Wait() // the unit is queued behind it
	close(gate)
	return func() error { return <-res }, func() error {
		stopWork()
		return m.Close()
	}
}

// unreadMultiplexer leaves items whose producers stopped waiting for their
// results: nobody reads those results, and Close, which writes the items,
// must not hang on them.
func unreadMultiplexer(parent context.Context) (closeFn func() error) {
	gate := make(chan struct{})
	m := fanout.NewMultiplexer(parent, 4, func([]int) error {
		<-gate
		return nil
	})
	leader, leave := context.WithCancel(context.Background())
	go func() { _ = m.Send(leader, 0) }()
	synctest.Wait() // in write([0])
	gone, giveUp := context.WithCancel(context.Background())
	for v := 1; v <= 3; v++ {
		go func() { _ = m.Send(gone, v) }()
	}
	synctest.Wait() // 1-3 queued
	giveUp()
	leave()
	synctest.Wait()
	close(gate) // the leader leaves 1-3 queued, for Close
	return m.Close
}
