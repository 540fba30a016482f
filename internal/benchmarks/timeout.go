package benchmarks

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-compendium/compendium/timeout"
)

// signal is what every quit-signal implementation offers the benchmark:
// fire it, ask whether it has fired, and get a channel to wait on (nil for
// a signal that can only be polled).
type signal interface {
	fire()
	fired() bool
	done() <-chan struct{}
}

type quitSignal struct{ q timeout.Quit }

func (s *quitSignal) fire()                 { s.q.Quit() }
func (s *quitSignal) fired() bool           { return s.q.Fired() }
func (s *quitSignal) done() <-chan struct{} { return s.q.Done() }

type ctxSignal struct {
	ctx    context.Context
	cancel context.CancelFunc
}

func (s *ctxSignal) fire()       { s.cancel() }
func (s *ctxSignal) fired() bool { return s.ctx.Err() != nil }

func (s *ctxSignal) done() <-chan struct{} { return s.ctx.Done() }

// onceSignal is the hand-written close-once channel.
type onceSignal struct {
	once sync.Once
	ch   chan struct{}
}

func (s *onceSignal) fire()                 { s.once.Do(func() { close(s.ch) }) }
func (s *onceSignal) done() <-chan struct{} { return s.ch }
func (s *onceSignal) fired() bool {
	select {
	case <-s.ch:
		return true
	default:
		return false
	}
}

// mutexSignal is a flag that workers poll under a lock: it cannot be put
// in a select, so waiting means polling.
type mutexSignal struct {
	mu   sync.Mutex
	flag bool
}

func (s *mutexSignal) fire()       { s.mu.Lock(); s.flag = true; s.mu.Unlock() }
func (s *mutexSignal) fired() bool { s.mu.Lock(); defer s.mu.Unlock(); return s.flag }

func (s *mutexSignal) done() <-chan struct{} { return nil }

var signals = []struct {
	impl string
	new  func() signal
}{
	{"ours", func() signal { return new(quitSignal) }},
	{"context", func() signal {
		ctx, cancel := context.WithCancel(context.Background())
		return &ctxSignal{ctx, cancel}
	}},
	{"once", func() signal { return &onceSignal{ch: make(chan struct{})} }},
	{"mutex", func() signal { return new(mutexSignal) }},
}

// TimeoutSignal compares quit signals: timeout.Quit, context.WithCancel,
// a sync.Once closing a channel, and a mutex-guarded flag.
func TimeoutSignal() Pattern {
	p := Pattern{
		Pkg:  "timeout",
		Name: "Signal",
		Doc:  "quit signal: op=lifecycle creates one, takes its channel as a waiter would, checks it, fires it and waits (the mutex flag has no channel: it is polled); op=poll is workers checking an unfired signal between units of work (b.RunParallel)",
		Ours: []string{"ours"},
	}
	for _, s := range signals {
		p.Cases = append(p.Cases, Case{Name: "op=lifecycle/impl=" + s.impl, F: func(b *testing.B) {
			b.ReportAllocs()
			for range b.N {
				sig := s.new()
				c := sig.done()
				if sig.fired() {
					b.Fatal("fired before fire")
				}
				sig.fire()
				if c != nil {
					<-c
				} else if !sig.fired() {
					b.Fatal("not fired after fire")
				}
			}
		}})
	}
	for _, s := range signals {
		p.Cases = append(p.Cases, Case{Name: "op=poll/mode=parallel/impl=" + s.impl, F: func(b *testing.B) {
			b.ReportAllocs()
			sig := s.new()
			defer sig.fire()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if sig.fired() {
						b.Error("fired")
						return
					}
				}
			})
		}})
	}
	return p
}

// TimeoutCall compares timeout.Call with calling f directly (with and
// without a context deadline) and with the goroutine, buffered channel and
// select one writes by hand.
func TimeoutCall() Pattern {
	const d = time.Hour // never reached: the overhead of arming it is the point
	var sink atomic.Int64
	f := func(ctx context.Context) (int, error) {
		sink.Add(1)
		return 1, nil
	}
	type result struct {
		v   int
		err error
	}
	return Pattern{
		Pkg:  "timeout",
		Name: "Call",
		Doc:  "a call with a deadline whose f returns at once: the cost of the machinery",
		Ours: []string{"ours"},
		Cases: []Case{
			{Name: "impl=ours", F: func(b *testing.B) {
				b.ReportAllocs()
				ctx := context.Background()
				for range b.N {
					if _, err := timeout.Call(ctx, d, f); err != nil {
						b.Fatal(err)
					}
				}
			}},
			{Name: "impl=direct", F: func(b *testing.B) {
				b.ReportAllocs()
				ctx := context.Background()
				for range b.N {
					if _, err := f(ctx); err != nil {
						b.Fatal(err)
					}
				}
			}},
			{Name: "impl=withtimeout", F: func(b *testing.B) {
				// What to write when f honours ctx and nothing must
				// return before f does: no goroutine at all.
				b.ReportAllocs()
				for range b.N {
					ctx, cancel := context.WithTimeout(context.Background(), d)
					_, err := f(ctx)
					cancel()
					if err != nil {
						b.Fatal(err)
					}
				}
			}},
			{Name: "impl=handwritten", F: func(b *testing.B) {
				b.ReportAllocs()
				for range b.N {
					ctx, cancel := context.WithTimeout(context.Background(), d)
					ch := make(chan result, 1)
					go func() {
						v, err := f(ctx)
						ch <- result{v, err}
					}()
					select {
					case r := <-ch:
						if r.err != nil {
							b.Fatal(r.err)
						}
					case <-ctx.Done():
						b.Fatal(ctx.Err())
					}
					cancel()
				}
			}},
		},
	}
}

// TimeoutIdle compares ways of pushing an idle expiry back on every event.
func TimeoutIdle() Pattern {
	const d = time.Minute // never reached
	return Pattern{
		Pkg:  "timeout",
		Name: "Idle",
		Doc:  "one activity event on an idle timeout: IdleTimer.Touch vs a time.After per event (the recycler's timer-per-loop) vs Timer.Reset per event",
		Ours: []string{"ours"},
		Cases: []Case{
			{Name: "mode=serial/impl=ours", F: func(b *testing.B) {
				b.ReportAllocs()
				it := timeout.NewIdleTimer(d, func() {})
				defer it.Stop()
				for range b.N {
					it.Touch()
				}
			}},
			{Name: "mode=serial/impl=after", F: func(b *testing.B) {
				b.ReportAllocs()
				var expiry <-chan time.Time
				for range b.N {
					expiry = time.After(d)
				}
				_ = expiry
			}},
			{Name: "mode=serial/impl=reset", F: func(b *testing.B) {
				b.ReportAllocs()
				t := time.NewTimer(d)
				defer t.Stop()
				for range b.N {
					t.Reset(d)
				}
			}},
			{Name: "mode=parallel/impl=ours", F: func(b *testing.B) {
				b.ReportAllocs()
				it := timeout.NewIdleTimer(d, func() {})
				defer it.Stop()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						it.Touch()
					}
				})
			}},
			{Name: "mode=parallel/impl=reset", F: func(b *testing.B) {
				b.ReportAllocs()
				t := time.NewTimer(d)
				defer t.Stop()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						t.Reset(d)
					}
				})
			}},
		},
	}
}

// TimeoutRecv compares timeout.Recv with the bare select on the channel
// and a time.After that it replaces.
func TimeoutRecv() Pattern {
	const d = time.Minute // never reached
	ctx := context.Background()
	selectAfter := func(ch <-chan int) int {
		select {
		case v := <-ch:
			return v
		case <-time.After(d):
			return -1
		}
	}
	ours := func(ch <-chan int) int {
		v, err := timeout.Recv(ctx, ch, d)
		if err != nil {
			return -1
		}
		return v
	}
	// ready: a value is waiting in a buffered channel.
	ready := func(recv func(<-chan int) int) func(b *testing.B) {
		return func(b *testing.B) {
			b.ReportAllocs()
			ch := make(chan int, 1)
			for range b.N {
				ch <- 1
				if recv(ch) != 1 {
					b.Fatal("timed out")
				}
			}
		}
	}
	// pingpong: a partner goroutine sends on an unbuffered channel, so
	// the receiver usually has to wait, timer armed.
	pingpong := func(recv func(<-chan int) int) func(b *testing.B) {
		return func(b *testing.B) {
			b.ReportAllocs()
			ch, stop := make(chan int), make(chan struct{})
			go func() {
				for {
					select {
					case ch <- 1:
					case <-stop:
						return
					}
				}
			}()
			defer close(stop)
			for range b.N {
				if recv(ch) != 1 {
					b.Fatal("timed out")
				}
			}
		}
	}
	return Pattern{
		Pkg:  "timeout",
		Name: "Recv",
		Doc:  "a receive with a timeout: timeout.Recv vs select with a time.After case; state=ready has a value waiting, state=pingpong waits for a sender",
		Ours: []string{"ours"},
		Cases: []Case{
			{Name: "state=ready/impl=ours", F: ready(ours)},
			{Name: "state=ready/impl=select", F: ready(selectAfter)},
			{Name: "state=pingpong/impl=ours", F: pingpong(ours)},
			{Name: "state=pingpong/impl=select", F: pingpong(selectAfter)},
		},
	}
}
