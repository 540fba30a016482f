package timeout

import (
	"context"
	"fmt"
	"runtime/pprof"
	"strconv"
	"sync"

	"github.com/go-compendium/compendium"
	"github.com/go-compendium/compendium/internal/lifecycle"
)

// outcome is what one function run by a race produced.
type outcome[T any] struct {
	v   T
	err error
	p   *compendium.PanicError // non-nil if the function panicked
	i   int                    // the function's index in the caller's list
	// goexit is set if the function called runtime.Goexit; err is then
	// compendium.ErrGoexit.
	goexit bool
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
	ch chan outcome[T]
	k  *kind
	// labels are compendium=timeout type=op over the labels of the
	// caller's ctx; the zero Labels if it carries none, and then k's
	// ready-made labels apply.
	labels lifecycle.Labels
	mu     sync.Mutex
	over   bool
}

func newRace[T any](ctx context.Context, k *kind, n int) *race[T] {
	r := &race[T]{ch: make(chan outcome[T], n), k: k}
	if hasLabels(ctx) {
		r.labels = lifecycle.NewLabels(ctx, "timeout", k.op)
	}
	return r
}

// start runs f(ctx) on a new goroutine as function i of the race.
func (r *race[T]) start(ctx context.Context, i int, f func(context.Context) (T, error)) {
	go r.run(ctx, i, f)
}

// run calls f(ctx) and delivers its outcome, including a panic or a
// runtime.Goexit, so that the caller never waits for a result that will not
// come.
func (r *race[T]) run(ctx context.Context, i int, f func(context.Context) (T, error)) {
	r.label(i).Apply()
	o := outcome[T]{i: i}
	var err error
	o.p, err = lifecycle.Call(func() error {
		var err error
		o.v, err = f(ctx)
		return err
	}, func() {
		// f called runtime.Goexit: it produced no result, so it failed
		// (never a success with a zero value), and the caller learns it
		// now rather than at its deadline. The goroutine goes on
		// unwinding after this send, which the buffer makes room for.
		o.err, o.goexit = compendium.ErrGoexit, true
		r.ch <- o
	})
	o.err = err
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

// label returns the labels of function i's goroutine: the race's, plus
// fs=i for the functions of First and Hedge, so that a goroutine profile
// says which replica is stuck.
func (r *race[T]) label(i int) lifecycle.Labels {
	switch {
	case r.labels.Context() != nil && r.k.perFn:
		return r.labels.With("fs", strconv.Itoa(i))
	case r.labels.Context() != nil:
		return r.labels
	case r.k.perFn && i < len(r.k.fs):
		return r.k.fs[i]
	case r.k.perFn:
		return r.k.plain.With("fs", strconv.Itoa(i))
	default:
		return r.k.plain
	}
}

// finish ends the race for the caller: from now on a panicking function
// panics on its own goroutine. It returns the first outcome already waiting
// in the channel, if any, and the first panic among them, which the caller
// must re-raise (if several functions panicked before finish, the others are
// dropped, as errgroup drops all but the first).
func (r *race[T]) finish() (first outcome[T], ok bool, p *compendium.PanicError) {
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

// kind is one of the calls that run races, with the labels of its
// goroutines for a ctx that carries no pprof labels of its own, the common
// case. They are made once: pprof.WithLabels makes a context and a label
// set, several allocations that would otherwise come with every call and
// be the same each time. fs covers the lists of functions First and Hedge
// are usually given.
type kind struct {
	op     string
	perFn  bool  // label each function's goroutine with fs=i
	goexit error // Call's and Do's error for an f that called runtime.Goexit
	plain  lifecycle.Labels
	fs     [8]lifecycle.Labels
}

var (
	kindCall  = newKind("Call", false)
	kindDo    = newKind("Do", false)
	kindFirst = newKind("First", true)
	kindHedge = newKind("Hedge", true)
)

func newKind(op string, perFn bool) *kind {
	k := &kind{
		op:     op,
		perFn:  perFn,
		goexit: fmt.Errorf("timeout: %s: %w", op, compendium.ErrGoexit),
		plain:  lifecycle.NewLabels(context.Background(), "timeout", op),
	}
	for i := range k.fs {
		k.fs[i] = k.plain.With("fs", strconv.Itoa(i))
	}
	return k
}

// hasLabels reports whether ctx carries pprof labels (it was made by
// pprof.Do or pprof.WithLabels): one context lookup.
func hasLabels(ctx context.Context) bool {
	has := false
	pprof.ForLabels(ctx, func(string, string) bool { has = true; return false })
	return has
}
