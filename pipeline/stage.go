package pipeline

import (
	"context"
	"runtime"
	"runtime/trace"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/go-compendium/compendium/internal/lifecycle"
)

// step processes items of a stage, in order, adding what it produces to e
// and checking the scope before each item. An error ends the stage;
// errCanceled means the scope was cancelled. A step takes a run of items
// rather than one so that a one-worker stage's loop costs no indirect call
// per item beyond the caller's function.
type step[T, U any] func(ctx context.Context, items []T, e *emitter[U]) error

// stage is what the workers of one stage share.
type stage[T, U any] struct {
	s      *Scope
	in     *Stream[T]
	out    *Stream[U]
	region string // the trace region of a batch: "pipeline.Map#2"
	f      step[T, U]
	crew   *crew[T] // nil with one worker
	live   atomic.Int32
}

// run starts the workers of a stage of type typ that calls f on every item
// of in, and returns the stream they feed. The caller has checked its
// arguments.
func run[T, U any](in *Stream[T], typ string, workers int, f step[T, U]) *Stream[U] {
	in.take(typ)
	name, labels := in.s.stage(typ)
	return start(in, name, labels, workers, f)
}

// start starts the workers of the stage name, labelled l and worker=i,
// that calls f on every item of in, and returns the stream they feed. The
// last worker to exit closes it.
func start[T, U any](in *Stream[T], name string, l lifecycle.Labels, workers int, f step[T, U]) *Stream[U] {
	s := in.s
	g := &stage[T, U]{s: s, in: in, out: newStream[U](s, name, workers), region: "pipeline." + name, f: f}
	if workers > 1 {
		in.pump()
		g.crew = newCrew(in, workers)
	}
	g.live.Store(int32(workers))
	for i := range workers {
		s.spawn(name, l.With("worker", strconv.Itoa(i+1)), func() error { return g.work(i) })
	}
	return g.out
}

// work is the i-th worker of g.
func (g *stage[T, U]) work(i int) (err error) {
	returned := false
	// Closing on every exit, failure, panic and Goexit included, is the
	// Go blog's rule (a stage closes its outbound channel when its sends
	// are done), so that a receiver is never left waiting on a stage that
	// is gone. What the worker published stays on its shelf for the
	// consumer to take.
	defer func() { g.exit(returned && err == nil) }()
	e := newEmitter(g.out, i, g.s.done)
	if g.crew == nil {
		err = g.single(e)
	} else {
		err = g.shared(i, e)
	}
	returned = true
	return err
}

// exit ends a worker; the last one closes the stream. The stream is cut if
// any worker stopped before its input ended, or the input was cut.
func (g *stage[T, U]) exit(completed bool) {
	if !completed || g.in.cut.Load() {
		g.out.cut.Store(true)
	}
	if g.live.Add(-1) == 0 {
		close(g.out.ch)
	}
}

// single is the loop of a stage's only worker: every batch of the input,
// in order.
func (g *stage[T, U]) single(e *emitter[U]) error {
	for {
		b, ok := g.in.recv()
		if !ok {
			return nil
		}
		if err := g.process(b, e); err != nil {
			return err
		}
		g.in.put(b)
	}
}

// process runs f on items, inside a trace region when tracing is on (one
// check per batch when it is off), and fails the scope at once with an
// error of f.
func (g *stage[T, U]) process(items []T, e *emitter[U]) error {
	var err error
	if trace.IsEnabled() {
		r := trace.StartRegion(g.s.ctx, g.region)
		err = g.f(g.s.ctx, items, e)
		r.End()
	} else {
		err = g.f(g.s.ctx, items, e)
	}
	if err != nil {
		// A stage that saw the context done says so at once, for the
		// generators (see Scope.dead).
		return g.s.failed(err)
	}
	return nil
}

// shared is the loop of the i-th of several workers: batches from the
// input or from the other workers (see crew), one item at a time.
func (g *stage[T, U]) shared(i int, e *emitter[U]) error {
	c := g.crew
	d := c.decks[i]
	for {
		b, ok := c.acquire(i)
		if !ok {
			if g.s.canceled() {
				return errCanceled
			}
			return nil
		}
		c.fill(d, b)
		var err error
		if trace.IsEnabled() {
			r := trace.StartRegion(g.s.ctx, g.region)
			err = g.deal(d, e)
			r.End()
		} else {
			err = g.deal(d, e)
		}
		if err != nil {
			return g.s.failed(err)
		}
		g.in.put(b)
	}
}

// deal runs f on the items of d, one at a time, until the other workers
// have taken the rest.
func (g *stage[T, U]) deal(d *deck[T], e *emitter[U]) error {
	for {
		k, ok := d.next()
		if !ok {
			return nil
		}
		if err := g.f(g.s.ctx, d.items[k:k+1], e); err != nil {
			return err
		}
	}
}

// crew is what the workers of one multi-worker stage share, so that the
// batches between stages cost no parallelism and hold nothing back: items
// are taken one at a time, as from a channel, by whichever worker is free.
//
// A worker that gets a batch (from the input, or from another worker) puts
// it on its deck and takes items from the front, one at a time, each with
// a compare-and-swap on the deck's state. A worker with nothing to do
// counts itself in the input's waiting and, before it parks, takes the
// items the input's producers hold on their shelves, or steals the front
// half of what another worker has not started, with the same
// compare-and-swap; a worker that puts two or more items on its deck wakes
// one parked worker if any is counted. So no worker waits while another
// holds an item it has not started: with n workers, n items that wait for
// each other (a barrier) all run at once, as they would with n goroutines
// receiving from one channel.
//
// The workers exit once the input is closed and all of them are counted
// as waiting with nothing left on the input's shelves: then no item is
// left anywhere. A worker that got the last batch is not counted (the
// producer uncounts the consumer it hands a batch to, and a worker that
// claims or steals uncounts itself first), so the others cannot see the
// crew idle while it holds work.
//
// The alternatives: a shared index into each batch, claimed by every
// worker, makes the workers contend on one cache line per item; splitting
// each batch into a fixed piece per worker strands the pieces of a worker
// that blocks, and a worker that waits in its function would hold the
// rest of its piece back.
type crew[T any] struct {
	in      *Stream[T]
	workers int
	decks   []*deck[T]
	wake    chan struct{} // wake-ups for parked workers; buffered, one per worker
	inDone  atomic.Bool   // in's channel is closed
	allDone chan struct{} // closed once no item is left anywhere
	once    sync.Once
	done    <-chan struct{} // the scope's
}

func newCrew[T any](in *Stream[T], workers int) *crew[T] {
	c := &crew[T]{in: in, workers: workers, wake: make(chan struct{}, workers),
		allDone: make(chan struct{}), done: in.s.done}
	c.decks = make([]*deck[T], workers)
	for i := range c.decks {
		c.decks[i] = new(deck[T])
	}
	return c
}

// A deck's state packs lo (bits 32 to 62) and hi (bits 0 to 31) of
// items[lo:hi], the items nobody has started, and a lock bit held while a
// thief copies items out.
const (
	deckLock = 1 << 63
	deckHi   = 1<<32 - 1
	deckLo   = 1<<31 - 1
)

// deck is one worker's batch in progress.
type deck[T any] struct {
	state atomic.Uint64
	items []T      // written by the owner only while the deck is empty and unlocked
	_     [32]byte // each worker's deck on a line of its own
}

// fill puts b on d, its owner's deck, and wakes a parked worker if some
// are waiting and there is an item to spare.
func (c *crew[T]) fill(d *deck[T], b []T) {
	d.items = b
	d.state.Store(uint64(len(b)))
	if len(b) > 1 {
		c.nudge()
	}
}

// nudge wakes one parked worker, if any is counted as waiting, to look for
// items to steal. Every event that leaves an item that others could take
// nudges (a deck filled with two or more, a theft that left some behind),
// and a worker that is woken looks again, so no item stays on a deck
// while a worker sleeps.
func (c *crew[T]) nudge() {
	if c.in.waiting.Load() > 0 {
		select {
		case c.wake <- struct{}{}:
		default:
		}
	}
}

// next takes the next item of d for its owner and returns its index, or
// reports false once the others have taken the rest (and no thief is
// still copying from the array, which the owner then recycles).
func (d *deck[T]) next() (int, bool) {
	for {
		w := d.state.Load()
		lo, hi := w>>32&deckLo, w&deckHi
		if lo >= hi {
			if w&deckLock == 0 {
				return 0, false
			}
			runtime.Gosched() // a thief is copying: at most one batch
			continue
		}
		if d.state.CompareAndSwap(w, w+1<<32) {
			return int(lo), true
		}
	}
}

// acquire waits for work for the i-th worker: a batch from the input's
// channel or shelves, or items stolen from another worker. It reports
// false when the crew is done or the scope cancelled.
func (c *crew[T]) acquire(i int) ([]T, bool) {
	in := c.in
	in.enter()
	src := in.ch
	for {
		if c.inDone.Load() {
			src = nil
		}
		if b := in.claim(); b != nil {
			return b, true
		}
		if b := c.steal(i); b != nil {
			return b, true
		}
		if src == nil && c.quiet() {
			c.once.Do(func() { close(c.allDone) })
			return nil, false
		}
		if c.in.s.hook != nil {
			c.in.s.hook("acquire", i)
		}
		select {
		case b, ok := <-src:
			if ok {
				return b, true // the producer uncounted us
			}
			c.inDone.Store(true)
		case <-c.wake:
		case <-in.bell: // nil unless in has several producers
		case <-c.allDone:
			return nil, false
		case <-c.done:
			in.leave()
			return nil, false
		}
	}
}

// steal takes the front half (rounded up) of the items another worker has
// not started, in a batch of its own, or returns nil. Like claim, it
// uncounts the caller before it takes them. The front, not the back: the
// items start close to the order they arrived in, as from a channel, so
// an item that waits for an earlier one to get through does not start
// while the earlier one sits on a busy worker's deck.
func (c *crew[T]) steal(i int) []T {
	for k := 1; k < c.workers; k++ {
		d := c.decks[(i+k)%c.workers]
		for {
			w := d.state.Load()
			lo, hi := w>>32&deckLo, w&deckHi
			if w&deckLock != 0 || lo >= hi {
				break
			}
			mid := lo + (hi-lo+1)/2
			c.in.waiting.Add(-1)
			if c.in.s.hook != nil {
				c.in.s.hook("steal", i)
			}
			// The owner goes on from mid while the lock is held; it
			// recycles the array only once the lock is gone.
			if d.state.CompareAndSwap(w, deckLock|mid<<32|hi) {
				b := append(c.in.get(), d.items[lo:mid]...)
				d.state.And(^uint64(deckLock))
				if hi > mid {
					c.nudge() // some are left behind
				}
				return b
			}
			c.in.waiting.Add(1)
		}
	}
	return nil
}

// quiet reports whether no item is left anywhere, once in's channel is
// closed: the producers left nothing on their shelves, and every worker
// is counted as waiting, so none holds items.
func (c *crew[T]) quiet() bool {
	for _, sh := range c.in.shelves {
		if sh.count.Load() != 0 {
			return false
		}
	}
	return c.in.waiting.Load() == int32(c.workers)
}
