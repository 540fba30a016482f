package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-compendium/compendium/fanout"
	"github.com/go-compendium/compendium/timeout"
)

// multiplexor lets several producers write lines to one connection (here
// a strings.Builder) that one writer at a time touches: the slide gives it
// to an owner goroutine; fanout.Multiplexer lets whichever producer finds
// it idle write, with whatever the others queued meanwhile.
func multiplexor(ctx context.Context, p *printer, cfg config) error {
	const perProducer, batch = 5, 16
	var conn strings.Builder // one write call at a time: no lock
	m := fanout.NewMultiplexer(ctx, batch, func(lines []string) error {
		for _, l := range lines {
			conn.WriteString(l + "\n")
		}
		return nil
	})
	var (
		producers sync.WaitGroup
		errs      = make([]error, cfg.workers)
	)
	for w := range cfg.workers {
		producers.Go(func() {
			for i := range perProducer {
				if err := m.Send(ctx, fmt.Sprintf("p%d-%d", w, i)); err != nil {
					errs[w] = err
					return
				}
			}
		})
	}
	producers.Wait()
	if err := errors.Join(append(errs, m.Close())...); err != nil {
		return err
	}
	// Each producer's lines must be in the order it sent them.
	lines := strings.Fields(conn.String())
	inOrder := true
	next := make([]int, cfg.workers)
	for _, l := range lines {
		var w, i int
		if _, err := fmt.Sscanf(l, "p%d-%d", &w, &i); err != nil {
			return err
		}
		inOrder = inOrder && i == next[w]
		next[w]++
	}
	p.say("%d producers sent %d lines each; %d were written, in batches of at most %d",
		cfg.workers, perProducer, len(lines), batch)
	p.say("each producer's lines arrived in the order it sent them: %v", inOrder)

	// A write error reaches the producer whose item was in that write.
	broken := fanout.NewMultiplexer(ctx, 1, func(lines []string) error {
		if lines[0] == "bad" {
			return errors.New("broken pipe")
		}
		return nil
	})
	good := broken.Send(ctx, "good")
	bad := broken.Send(ctx, "bad")
	broken.Close()
	p.say("a failed write reaches its sender: Send(\"good\") = %v, Send(\"bad\") = %v", good, bad)
	p.say("fixed: the slide's producers never learn whether their item was written; Send")
	p.say("       returns the write's error, and Close writes what was accepted before it")
	return nil
}

// firstOfN asks several replicas at once and keeps the first answer; the
// others are cancelled, and none is left blocked.
func firstOfN(ctx context.Context, p *printer, cfg config) error {
	n := cfg.workers
	losers := make(chan int, n) // each loser reports that it has returned
	fs := make([]func(context.Context) (string, error), n)
	for i := range fs {
		fs[i] = func(ctx context.Context) (string, error) {
			if i == 0 {
				t := time.NewTimer(cfg.tick)
				defer t.Stop()
				select {
				case <-t.C:
					return "answer from replica 0", nil
				case <-ctx.Done():
					return "", ctx.Err()
				}
			}
			// The other replicas never answer, so the winner is certain.
			defer func() { losers <- i }()
			<-ctx.Done()
			return "", ctx.Err()
		}
	}
	v, err := timeout.First(ctx, fs...)
	if err != nil {
		return err
	}
	for range n - 1 {
		<-losers
	}
	p.say("timeout.First of %d replicas: %q", n, v)
	p.say("the other %d were cancelled when it answered, and have returned", n-1)
	p.say("fixed: the slide's result channel is unbuffered, so once the first answer is")
	p.say("       taken every other replica blocks on its send forever: a goroutine leaked")
	p.say("       per loser per call; First gives the channel room for every answer")
	return nil
}

// responseChannels sends requests that carry their reply channel.
func responseChannels(ctx context.Context, p *printer, _ config) error {
	type request struct {
		n     int
		reply chan int
	}
	requests := make(chan request)
	var server sync.WaitGroup
	server.Go(func() {
		for r := range requests {
			r.reply <- r.n * r.n
		}
	})
	var answers []string
	for _, n := range []int{2, 3} {
		r := request{n, make(chan int, 1)}
		requests <- r
		answers = append(answers, fmt.Sprintf("%d -> %d", n, <-r.reply))
	}
	close(requests)
	server.Wait()
	p.say("a server answers each request on the channel the request carries: %s", strings.Join(answers, ", "))

	// fanout.Balancer.Submit takes the reply channel with the request, so
	// many requests can share one and be answered in any order.
	b := fanout.NewBalancer(ctx, 2, 2, func(_ context.Context, n int) (int, error) { return n * n, nil })
	defer b.Close() // on an early return too: Close joins the workers
	// Room for every answer.
	reply := make(chan fanout.Result[int, int], 3)
	for _, n := range []int{1, 2, 3} {
		if err := b.Submit(ctx, n, reply); err != nil {
			return err
		}
	}
	var squares []int
	for range 3 {
		r := <-reply
		if r.Err != nil {
			return r.Err
		}
		squares = append(squares, r.Value)
	}
	b.Close()
	slices.Sort(squares)
	p.say("fanout.Balancer.Submit, three requests sharing one reply channel: %v", squares)
	return nil
}

// loadBalancer gives requests that do not finish yet to a fanout.Balancer,
// to show where they go and what happens when every queue is full.
func loadBalancer(ctx context.Context, p *printer, cfg config) error {
	const depth = 2
	var release timeout.Quit
	b := fanout.NewBalancer(ctx, cfg.workers, depth, func(ctx context.Context, n int) (int, error) {
		select {
		case <-release.Done():
			return n, nil
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	})
	defer b.Close()
	n := cfg.workers * depth
	reply := make(chan fanout.Result[int, int], n)
	for i := range n {
		if err := b.Submit(ctx, i, reply); err != nil {
			return err
		}
	}
	p.say("%d workers with queues of %d; %d requests that have not finished spread as Pending %v",
		cfg.workers, depth, n, b.Stats().Pending)

	full, cancel := context.WithTimeout(ctx, cfg.tick)
	err := b.Submit(full, n, reply)
	cancel()
	if ctxErr := ctx.Err(); ctxErr != nil {
		return ctxErr // the tour's context ended, not just the Submit's
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("a Submit to a full balancer returned %w before its context ended", err)
	}
	p.say("one more Submit waits while every queue is full, until its context ends: %v", err)

	release.Quit()
	for range n {
		if r := <-reply; r.Err != nil {
			return r.Err
		}
	}
	b.Close()
	st := b.Stats()
	p.say("released: %d answers; after Close every worker has returned, Pending %v", st.Completed, st.Pending)
	p.say("fixed: the slide's workers loop forever and nothing bounds its queues; Close ends")
	p.say("       the workers, and a full balancer makes its callers wait instead of growing")
	return nil
}
