package compendium_test

import (
	"context"
	"time"

	"github.com/go-compendium/compendium/fanout"
)

// fanout.Balancer: a unit is one request; its error is its requester's
// (the Result's), never Close's. It is registered three ways: Submit with
// a reply channel, the same under StallAfter (a supervisor goroutine and a
// watchdog to stop), and Serve (a goroutine reading a request channel and
// writing an output channel), each with output left unread.
func init() {
	handler := func(work func(context.Context) error) func(context.Context, int) (int, error) {
		return func(ctx context.Context, v int) (int, error) { return v, work(ctx) }
	}
	submit := func(opts ...fanout.BalancerOption) func(context.Context, func(context.Context) error) (func() error, func() error) {
		return func(parent context.Context, work func(context.Context) error) (func() error, func() error) {
			b := fanout.NewBalancer(parent, 1, 1, handler(work), opts...)
			reply := make(chan fanout.Result[int, int], 1)
			if err := b.Submit(context.Background(), 1, reply); err != nil {
				panic(err)
			}
			return func() error { return (<-reply).Err }, b.Close
		}
	}
	// unreadReply leaves one answer with no room and one queued behind it.
	unreadReply := func(opts ...fanout.BalancerOption) func(context.Context) func() error {
		return func(parent context.Context) func() error {
			b := fanout.NewBalancer(parent, 1, 2, func(_ context.Context, v int) (int, error) { return v, nil }, opts...)
			unread := make(chan fanout.Result[int, int])
			for v := range 2 {
				if err := b.Submit(context.Background(), v, unread); err != nil {
					panic(err)
				}
			}
			return b.Close
		}
	}
	subjects = append(subjects,
		subject{
			name:   "fanout.Balancer",
			run:    submit(),
			unread: unreadReply(),
		},
		subject{
			name:   "fanout.Balancer/StallAfter",
			run:    submit(fanout.StallAfter(time.Millisecond)),
			unread: unreadReply(fanout.StallAfter(time.Millisecond)),
		},
		subject{
			name: "fanout.Balancer.Serve",
			run: func(parent context.Context, work func(context.Context) error) (func() error, func() error) {
				b := fanout.NewBalancer(parent, 1, 1, handler(work))
				in := make(chan int, 1)
				in <- 1
				out := b.Serve(context.Background(), in)
				return func() error { return (<-out).Err }, b.Close
			},
			unread: func(parent context.Context) func() error {
				b := fanout.NewBalancer(parent, 2, 2, func(_ context.Context, v int) (int, error) { return v, nil })
				in := make(chan int, 64) // more than the output and queues hold
				for v := range cap(in) {
					in <- v
				}
				b.Serve(context.Background(), in) // output never read
				return b.Close
			},
		},
	)
}
