package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/go-compendium/compendium/timeout"
)

// talker sends n messages on a new channel, one every gap, and closes it;
// it stops early when stop is closed. The returned wait blocks until it has.
func talker(n int, gap time.Duration, stop <-chan struct{}) (<-chan int, func()) {
	c := make(chan int)
	var wg sync.WaitGroup
	wg.Go(func() {
		defer close(c)
		t := time.NewTimer(gap)
		defer t.Stop()
		for i := 1; i <= n; i++ {
			select {
			case <-t.C:
			case <-stop:
				return
			}
			select {
			case c <- i:
			case <-stop:
				return
			}
			t.Reset(gap)
		}
	})
	return c, wg.Wait
}

// listen starts a talker of n messages, receives from it with recv until
// recv fails, and stops it. It returns how many messages it received and
// the error that ended the conversation.
func listen(n int, gap time.Duration, recv func(<-chan int) (int, error)) (int, error) {
	var quit timeout.Quit
	c, wait := talker(n, gap, quit.Done())
	defer wait()
	defer quit.Quit()
	for got := 0; ; got++ {
		if _, err := recv(c); err != nil {
			return got, err
		}
	}
}

// timeoutVsDeadline receives from a sender that keeps talking, once with
// a timeout per message (the slide's time.After inside the loop) and once
// with one deadline for the whole conversation.
func timeoutVsDeadline(ctx context.Context, p *printer, cfg config) error {
	const messages = 5
	gap := 2 * cfg.tick
	p.say("a sender sends %d messages, one every %v", messages, gap)

	// A timeout per message: each Recv starts its own, as time.After in
	// the loop does, so a sender that is never late is never cut off.
	perMessage := gap + cfg.tick
	n, err := listen(messages, gap, func(c <-chan int) (int, error) {
		return timeout.Recv(ctx, c, perMessage)
	})
	if !errors.Is(err, timeout.ErrChannelClosed) {
		return err
	}
	p.say("timeout of %v per message: received all %d, then the channel closed", perMessage, n)

	// One deadline, computed before the loop: the conversation ends at it
	// however the messages are spaced.
	whole := 2*gap + cfg.tick
	deadline := time.Now().Add(whole)
	n, err = listen(messages, gap, func(c <-chan int) (int, error) {
		return timeout.RecvUntil(ctx, c, deadline)
	})
	if !errors.Is(err, timeout.ErrTimeout) {
		return err
	}
	p.say("deadline %v after the start: received %d, then timed out", whole, n)

	// Call: a function under a timeout.
	_, err = timeout.Call(ctx, cfg.tick, func(ctx context.Context) (int, error) {
		t := time.NewTimer(10 * cfg.tick)
		defer t.Stop()
		select {
		case <-t.C:
			return 42, nil
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	})
	p.say("timeout.Call of a %v job with a %v timeout gives up at the timeout: ErrTimeout = %v",
		10*cfg.tick, cfg.tick, errors.Is(err, timeout.ErrTimeout))
	p.say("fixed: the slide's select { case <-time.After(d): } in a for loop restarts d at every")
	p.say("       message (and makes a timer each time): a per-message timeout that a sender who")
	p.say("       keeps talking stretches forever; for a limit on the whole exchange, take one")
	p.say("       deadline before the loop")
	return nil
}

// heartbeat runs a worker that beats a few times and then stalls, and a
// supervisor that waits for the watchdog's report.
func heartbeat(ctx context.Context, p *printer, cfg config) error {
	const beats = 3
	limit := 2 * cfg.tick // the watchdog's: no beat for this long is a stall
	hb := timeout.NewHeartbeat(limit)
	defer hb.Close()

	var (
		quit   timeout.Quit
		worker sync.WaitGroup
	)
	worker.Go(func() {
		t := time.NewTimer(cfg.tick)
		defer t.Stop()
		for range beats { // work a tick, beat, again
			select {
			case <-t.C:
			case <-quit.Done():
				return
			}
			hb.Beat()
			t.Reset(cfg.tick)
		}
		<-quit.Done() // stalled
	})
	defer worker.Wait()
	defer quit.Quit()

	select {
	case <-hb.Missed():
	case <-ctx.Done():
		return ctx.Err()
	}
	p.say("the worker beat %d times, one every %v, then stalled", beats, cfg.tick)
	p.say("the watchdog reported the stall: no beat for %v", limit)

	// A stalled worker is reported once, not every limit.
	t := time.NewTimer(3 * limit)
	defer t.Stop()
	select {
	case <-hb.Missed():
		return fmt.Errorf("the watchdog reported the same stall twice")
	case <-t.C:
	case <-ctx.Done():
		return ctx.Err()
	}
	p.say("and reported it once: nothing more in the next %v", 3*limit)
	p.say("a Beat is one atomic store: it never blocks the worker and never queues")
	return nil
}
