package timeout

import (
	"context"
	"errors"
	"sync"

	"github.com/go-compendium/compendium/internal/panics"
)

// errGoexit is the outcome of a function that called runtime.Goexit (for
// example t.FailNow from a test helper): it never returned a result, and
// waiting for one would hang the caller until its deadline.
var errGoexit = errors.New("timeout: function called runtime.Goexit")

// outcome is what one function run by a race produced.
type outcome[T any] struct {
	v   T
	err error
	p   *PanicError // non-nil if the function panicked
	i   int         // the function's index in the caller's list
}

// race runs functions on goroutines of their own and collects their
// outcomes for one caller: Call and Do (one function), First and Hedge
// (several).
//
// The slide's first-of-N bug is an unbuffered result channel: once the
// caller has its winner, every loser blocks forever on its send. Here ch
// has room for every function started, so a function that finishes after
// the caller has gone sends into the buffer and exits; the buffer is
// garbage once the last of them has.
//
// Panics need one more step. A panic that happens while the caller still
// waits must be re-raised on the caller's goroutine; one that happens after
// the caller returned has nobody to go to and must not vanish. over, under
// mu, decides which side owns each panic, exactly once: a panicking
// goroutine either hands its outcome over before finish drains the channel,
// or finds over set and panics on its own goroutine, which crashes the
// program as any unrecovered panic does. Results that are not panics need no
// lock: they go straight into the buffer.
type race[T any] struct {
	ch   chan outcome[T]
	mu   sync.Mutex
	over bool
}

func newRace[T any](n int) *race[T] { return &race[T]{ch: make(chan outcome[T], n)} }

// run calls f(ctx) and delivers its outcome, including a panic or a
// runtime.Goexit, so that the caller never waits for a result that will not
// come.
func (r *race[T]) run(ctx context.Context, i int, f func(context.Context) (T, error)) {
	o := outcome[T]{i: i}
	returned := false
	defer func() {
		// Try lets runtime.Goexit through; report it as an error rather
		// than leave the caller waiting.
		if !returned {
			o.err = errGoexit
			r.ch <- o
		}
	}()
	o.p = panics.Try(func() { o.v, o.err = f(ctx) })
	returned = true
	if o.p == nil {
		r.ch <- o
		return
	}
	r.mu.Lock()
	if r.over {
		r.mu.Unlock()
		panic(o.p)
	}
	r.ch <- o
	r.mu.Unlock()
}

// finish ends the race for the caller: from now on a panicking function
// panics on its own goroutine. It returns the first outcome already waiting
// in the channel, if any, and the first panic among them, which the caller
// must re-raise (if several functions panicked before finish, the others are
// dropped, as errgroup drops all but the first).
func (r *race[T]) finish() (first outcome[T], ok bool, p *PanicError) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.over = true
	for {
		select {
		case o := <-r.ch:
			if !ok {
				first, ok = o, true
			}
			if p == nil {
				p = o.p
			}
		default:
			return first, ok, p
		}
	}
}
