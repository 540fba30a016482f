package fanout

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"

	"github.com/go-compendium/compendium/internal/panics"
)

// errGoexit answers a request whose handler called runtime.Goexit.
var errGoexit = errors.New("fanout: handler called runtime.Goexit")

// Result is the answer to one request made with [Balancer.Submit]: the
// handler's return values, or the reason it did not run.
type Result[Resp any] struct {
	// Value is what the handler returned.
	Value Resp
	// Err is the handler's error; a *[PanicError] if it panicked; or, if
	// it never ran, the cause of the request's or the Balancer's context
	// ending.
	Err error
}

// BalancerStats are a [Balancer]'s counters, from [Balancer.Stats].
type BalancerStats struct {
	// Submitted counts the requests the Balancer accepted.
	Submitted uint64
	// Completed counts the handler calls that ended without a panic:
	// returned, with or without an error, or called runtime.Goexit.
	Completed uint64
	// Failed counts the handler calls that returned a non-nil error or
	// called runtime.Goexit (which fails the request).
	Failed uint64
	// Panicked counts the handler calls that panicked.
	Panicked uint64
	// Canceled counts the requests answered without running because their
	// context or the Balancer's had ended.
	Canceled uint64
	// Pending is, per worker, the requests assigned to it and not yet
	// answered: queued or running. Each entry is at most the depth. Once
	// every accepted request is answered, Submitted equals
	// Completed+Panicked+Canceled.
	Pending []int
}

// request is one unit of work on its way to a worker, carrying its own
// reply channel (the talk's "passing a response channel").
type request[Req, Resp any] struct {
	ctx   context.Context
	req   Req
	reply chan<- Result[Resp]
}

// Balancer is the talk's HTTP load balancer done right: a fixed set of
// workers, each with its own queue of bounded depth, and every request
// given to the least-loaded worker, the one with the fewest requests
// queued or running.
//
// The talk's version had two bugs that this one fixes. Its workers never
// exit; here [Balancer.Close] and the constructor's ctx end every
// goroutine. And nothing bounded it; here, when every worker's queue is
// full, [Balancer.Submit] blocks until one has room, so a burst of
// requests waits in its callers, not in a growing queue.
//
// It also moves the choice of worker. In the talk, one balancer goroutine
// owns the loads: requests reach it on a channel, completions on another,
// and when every queue is full it stops reading requests by setting that
// channel to nil (the NIL CHANNELS section). Here the caller of Submit
// chooses: it takes one of workers*depth tokens from a buffered channel
// (waiting for one is the backpressure), scans the per-worker loads, and
// claims the least-loaded worker with a compare-and-swap. That removes two
// channel hops per request and, above all, a goroutine that must be
// scheduled for every request and completion: when the workers keep every
// CPU busy, the balancer goroutine waits its turn behind them, and in
// BenchmarkBalancer the talk's shape has a median latency of 11-28 µs against
// 1.7 µs here, for tasks of 1.3 to 26 µs. The talk's shape is kept in the
// benchmark as impl=talk.
//
// How well it spreads the load: while any request waits in Submit, every
// worker's queue is full, so no worker idles while work waits to be
// accepted (TestBalancerLoadGauge rebuilds every worker's load from
// outside and checks this after every step). Requests are placed one after another on the worker whose
// load was smallest when the caller scanned, so with tasks that do not
// finish, the loads never differ by more than one (TestBalancerLeastLoaded).
// Queued requests are not moved: a request can wait behind a long task, at
// most depth-1 of them, and only if every other worker was at least as
// loaded when it was placed; and a worker whose queue has emptied idles
// while another works through its own, until new requests arrive.
//
// Create one with [NewBalancer]; the zero value is not usable, and a
// Balancer must not be copied. Its methods are safe for concurrent use. A
// call to Submit or Do that returns nil synchronizes before the handler
// call for its request, which synchronizes before its Result is received.
//
// Cost: Do allocates nothing, and a request costs about as much as one to
// a worker pool on a single shared channel: in BenchmarkBalancer neither
// is consistently ahead in time per task (2.2 to 11 µs across runs on this
// shared machine), and the 99th percentile of latency is the same. With 4
// workers and tasks whose costs differ by 20x, least-loaded dispatch keeps
// the p99 latency at 23-26 µs, where round robin over the same queues
// reaches 150-300 µs: a request lands behind a long task only when every
// worker has one. If your workers are interchangeable and hold no
// per-worker state, a shared channel (as in pool.Workers) is as good and
// simpler; the per-worker queues pay off when a worker owns something (a
// connection, a cache, a core), which the handler finds by
// [WorkerIndex].
type Balancer[Req, Resp any] struct {
	ctx    context.Context // ends on the owner's ctx, a panic, or Close
	cancel context.CancelCauseFunc
	handle func(context.Context, Req) (Resp, error)
	depth  int64

	queues []chan request[Req, Resp] // one per worker, capacity depth
	// slots holds a token per request accepted and not yet answered: at
	// most workers*depth, so a Submit that gets one knows some worker's
	// queue has room. Waiting for a token is the backpressure.
	slots   chan struct{}
	gate    gate          // orders Submit's queue sends against closing the queues
	closing chan struct{} // closed by Close: stop accepting
	once    sync.Once
	wg      sync.WaitGroup // the workers
	next    atomic.Uint64  // where the next least-loaded scan starts
	replies sync.Pool      // of chan Result[Resp], capacity 1, for Do

	pending                                         []atomic.Int64 // per worker: queued or running
	submitted, completed, failed, panicked, skipped atomic.Uint64
	panic                                           atomic.Pointer[PanicError]
}

// NewBalancer starts a Balancer with the given number of workers, each with
// a queue that holds at most depth requests (queued or running), that
// answers each request with handle.
//
// handle is called on a worker goroutine with a context that ends when the
// request's context or ctx ends, whichever is first, carries the request
// context's values, and tells [WorkerIndex] which worker runs it. If handle panics, the request fails with a
// *[PanicError], the Balancer stops as if ctx had ended, and Close
// re-panics with it. If handle calls runtime.Goexit (as t.FailNow does),
// its request fails with an error that says so, a new goroutine takes over
// the worker's queue, and the Balancer goes on. A handler must not wait
// for a request to the same Balancer (with every queue full, it would be
// waiting for itself), nor call Close.
//
// When ctx ends, the Balancer stops accepting requests and answers those
// it has accepted but not started with ctx's cause, without running them;
// its goroutines then return once the handlers running return. Close
// must still be called to release the context and surface a panic. NewBalancer
// panics if workers < 1, depth < 1, workers*depth overflows an int, or
// handle is nil.
func NewBalancer[Req, Resp any](ctx context.Context, workers, depth int, handle func(context.Context, Req) (Resp, error)) *Balancer[Req, Resp] {
	if workers < 1 {
		panic(fmt.Sprintf("fanout: NewBalancer needs at least 1 worker, got %v", workers))
	}
	if depth < 1 {
		panic(fmt.Sprintf("fanout: NewBalancer needs a queue depth of at least 1, got %v", depth))
	}
	if depth > math.MaxInt/workers {
		// workers*depth sizes the slot channel; wrapped around, it would
		// fail in make with a message that does not say why.
		panic(fmt.Sprintf("fanout: NewBalancer needs workers*depth to fit in an int, got %v*%v", workers, depth))
	}
	if handle == nil {
		panic("fanout: NewBalancer needs a handle func, got nil")
	}
	b := &Balancer[Req, Resp]{
		handle:  handle,
		depth:   int64(depth),
		queues:  make([]chan request[Req, Resp], workers),
		slots:   make(chan struct{}, workers*depth),
		gate:    newGate(),
		closing: make(chan struct{}),
		pending: make([]atomic.Int64, workers),
		replies: sync.Pool{New: func() any { return make(chan Result[Resp], 1) }},
	}
	b.ctx, b.cancel = context.WithCancelCause(ctx)
	b.wg.Add(workers)
	for i := range b.queues {
		b.queues[i] = make(chan request[Req, Resp], depth)
		go b.work(i)
	}
	return b
}

// place gives r to the least-loaded worker with room, which a caller
// holding a slot token is sure to find: the tokens bound the sum of the
// loads by workers*depth, and this caller's token is not yet counted in
// any load. Concurrent callers scan the same counters; the CAS makes each
// increment conditional on the load the scan saw, so no load ever exceeds
// depth, and a caller that loses a race scans again.
//
// A scan of n counters rather than the talk's heap: with n in the tens, a
// pass over one slice of atomics costs less than heap.Fix's swaps, a
// completion is one atomic decrement instead of a second heap.Fix, and a
// heap shared by concurrent callers would need a lock around both.
func (b *Balancer[Req, Resp]) place(r request[Req, Resp]) {
	n := len(b.pending)
	for {
		// Starting each scan one worker further along breaks ties round
		// robin, so idle workers take turns.
		start := int(b.next.Add(1) % uint64(n))
		best, load := -1, b.depth
		for j := range n {
			i := start + j
			if i >= n {
				i -= n
			}
			if l := b.pending[i].Load(); l < load {
				best, load = i, l
				if l == 0 {
					break
				}
			}
		}
		if best >= 0 && b.pending[best].CompareAndSwap(load, load+1) {
			b.queues[best] <- r // never blocks: the queue holds at most load < depth
			return
		}
	}
}

// workerKey is the context key under which a Balancer's worker records
// its index for [WorkerIndex].
type workerKey struct{}

// WorkerIndex reports which of a [Balancer]'s workers runs the handler
// that was given ctx: an index from 0 to workers-1, fixed for the life of
// the worker, and the same on every request that worker handles. It lets a
// worker own a resource (a backend connection, a per-worker cache, a
// buffer): create one per worker up front, and have the handler use the
// one at its index, which no other handler touches while it runs, since a
// worker runs one handler at a time.
//
// It reports 0, false for a context that did not come from a Balancer's
// handler call, or from one derived from it (context.WithTimeout and the
// like keep the index). A handler that makes a request to another
// Balancer gives that Balancer's handler its own worker's index, not the
// caller's.
//
// Cost: the index is set once, when the worker starts (a worker that
// replaces one whose handler called runtime.Goexit keeps its index), so a
// request made with context.Background allocates nothing for it; reading it
// is one context.Value lookup, about 5 ns on this machine from the
// handler's own context (where the index is the first value found),
// without allocating.
func WorkerIndex(ctx context.Context) (int, bool) {
	i, ok := ctx.Value(workerKey{}).(int)
	return i, ok
}

// work is worker i: it answers the requests in its queue until Close
// closes it or the Balancer's context ends.
func (b *Balancer[Req, Resp]) work(i int) {
	// Derived once per worker: the context handed to handlers made with
	// context.Background, and the index boxed once for the others.
	var index any = i
	wctx := context.WithValue(b.ctx, workerKey{}, index)
	normal := false
	defer func() {
		if !normal {
			// The handler called runtime.Goexit, which is ending this
			// goroutine. Someone must still drain the queue, or its
			// requests would never be answered: hand it to a new
			// goroutine, counted before this one is uncounted so that
			// Close cannot return in between.
			b.wg.Add(1)
			go b.work(i)
		}
		b.wg.Done()
	}()
	q := b.queues[i]
	draining := false
	for {
		var (
			r  request[Req, Resp]
			ok bool
		)
		if draining {
			select {
			case r, ok = <-q:
			default: // drained
			}
		} else {
			select {
			case r, ok = <-q:
			case <-b.ctx.Done():
				// Wait until no Submit can still be putting a request in
				// q, then answer what is there (with the cause: serve
				// checks the context) and return.
				b.gate.shut()
				draining = true
				continue
			}
		}
		if !ok {
			normal = true
			return
		}
		b.serve(i, wctx, r)
	}
}

// serve answers one request and reports worker i's completion; wctx is
// the worker's context, the Balancer's carrying the worker's index.
func (b *Balancer[Req, Resp]) serve(i int, wctx context.Context, r request[Req, Resp]) {
	res := Result[Resp]{Err: errGoexit} // what the requester sees if the handler never returns
	// goexit is true while the handler runs, so the defer finds it still
	// true only if the handler called runtime.Goexit.
	goexit := false
	defer func() {
		if goexit {
			// Counted as a failed call, so that the counters still add up
			// to Submitted once every request is answered.
			b.completed.Add(1)
			b.failed.Add(1)
		}
		// Lower the load before giving the token back, so that whoever
		// takes the token finds the room it stands for; and both before
		// replying, so that a caller who has its answer and submits again
		// sees this worker's load without the request it just finished.
		// Replying first let such a caller find two workers tied, one of
		// them busy for an hour, and pick the busy one half the time
		// (TestBalancerShortTasksAvoidLongOne). The price: while a full
		// reply channel holds the worker here, one more request may be
		// queued to it than it can start.
		b.pending[i].Add(-1)
		<-b.slots
		b.reply(r, res)
	}()
	select {
	case <-b.ctx.Done():
		res.Err = context.Cause(b.ctx)
		b.skipped.Add(1)
		return
	default:
	}
	if r.ctx.Err() != nil {
		res.Err = context.Cause(r.ctx) // the requester gave up: do not run it
		b.skipped.Add(1)
		return
	}
	ctx, cancel, stop := b.handlerContext(wctx, r.ctx)
	if cancel != nil {
		defer func() {
			stop()
			cancel(nil)
		}()
	}
	goexit = true
	p := panics.Try(func() { res.Value, res.Err = b.handle(ctx, r.req) })
	goexit = false
	if p != nil {
		res = Result[Resp]{Err: p}
		b.panicked.Add(1)
		b.panic.CompareAndSwap(nil, p)
		b.cancel(p)
		return
	}
	b.completed.Add(1)
	if res.Err != nil {
		b.failed.Add(1)
	}
}

// handlerContext returns a context that ends when rctx or the Balancer's
// context ends and carries rctx's values and the worker's index (from
// wctx, the worker's context), and, if it made one, the functions that
// release it. A request made with context.Background (the common case in
// servers that cancel through the Balancer) needs no new context: wctx is
// it. Otherwise the merge costs a WithCancelCause, an AfterFunc and a
// WithValue for the index.
func (b *Balancer[Req, Resp]) handlerContext(wctx, rctx context.Context) (context.Context, context.CancelCauseFunc, func() bool) {
	if rctx == context.Background() || rctx == context.TODO() {
		return wctx, nil, nil
	}
	ctx, cancel := context.WithCancelCause(rctx)
	stop := context.AfterFunc(b.ctx, func() { cancel(context.Cause(b.ctx)) })
	return context.WithValue(ctx, workerKey{}, wctx.Value(workerKey{})), cancel, stop
}

// reply delivers res, waiting for room on the reply channel until the
// request's or the Balancer's context ends. The first, non-blocking try
// keeps a random select from dropping a reply that had room.
func (b *Balancer[Req, Resp]) reply(r request[Req, Resp], res Result[Resp]) {
	select {
	case r.reply <- res:
		return
	default:
	}
	select {
	case r.reply <- res:
	case <-r.ctx.Done():
	case <-b.ctx.Done():
	}
}

// Submit hands req to the least-loaded worker and returns without waiting
// for the answer, which the worker sends on reply as one [Result]. This is
// the talk's "passing a response channel": many requests can share one
// reply channel and be answered in any order.
//
// Submit blocks while every worker's queue is full (backpressure), and
// returns ctx's cause if ctx ends first, [ErrClosed] after Close, or the
// cause of the Balancer's context ending; in those cases req was not
// accepted and nothing will be sent on reply. If it returns nil, exactly
// one Result will be sent on reply, unless ctx or the Balancer's context
// ends while reply has no room: give reply room for every request you
// leave outstanding, or keep receiving. Submit panics if reply is nil.
func (b *Balancer[Req, Resp]) Submit(ctx context.Context, req Req, reply chan<- Result[Resp]) error {
	if reply == nil {
		panic("fanout: Balancer.Submit needs a reply channel, got nil")
	}
	if err := ctx.Err(); err != nil {
		return context.Cause(ctx)
	}
	if !b.gate.enter() {
		return b.closedErr()
	}
	defer b.gate.leave()
	// Checked first so that a stopped Balancer refuses at once rather than
	// at random when the select below also finds a free slot.
	select {
	case <-b.closing:
		return ErrClosed
	case <-b.ctx.Done():
		return context.Cause(b.ctx)
	default:
	}
	// Take a slot, waiting while every queue is full: the backpressure.
	select {
	case b.slots <- struct{}{}:
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-b.closing:
		return ErrClosed
	case <-b.ctx.Done():
		return context.Cause(b.ctx)
	}
	b.place(request[Req, Resp]{ctx: ctx, req: req, reply: reply})
	b.submitted.Add(1)
	return nil
}

// closedErr says why a closed gate turned a Submit away.
func (b *Balancer[Req, Resp]) closedErr() error {
	select {
	case <-b.closing:
		return ErrClosed
	default:
		return context.Cause(b.ctx)
	}
}

// Do hands req to the least-loaded worker and waits for the answer: the
// handler's return values, or the error that kept it from running (see
// [Balancer.Submit]). If ctx ends while the request is queued, the worker
// skips it; if ctx ends while it runs, the handler's context ends too, and
// Do returns ctx's cause without waiting for the handler.
func (b *Balancer[Req, Resp]) Do(ctx context.Context, req Req) (Resp, error) {
	// A reply channel with room for the one answer, so the worker never
	// waits; recycled, since making one costs two allocations.
	reply := b.replies.Get().(chan Result[Resp])
	if err := b.Submit(ctx, req, reply); err != nil {
		b.replies.Put(reply)
		var zero Resp
		return zero, err
	}
	select {
	case r := <-reply:
		b.replies.Put(reply) // empty again
		return r.Value, r.Err
	case <-ctx.Done():
		// The answer will still arrive on reply: do not recycle it.
		var zero Resp
		return zero, context.Cause(ctx)
	}
}

// Stats returns the Balancer's counters. Each counter is read atomically,
// but not all at the same instant.
func (b *Balancer[Req, Resp]) Stats() BalancerStats {
	s := BalancerStats{
		Submitted: b.submitted.Load(),
		Completed: b.completed.Load(),
		Failed:    b.failed.Load(),
		Panicked:  b.panicked.Load(),
		Canceled:  b.skipped.Load(),
		Pending:   make([]int, len(b.pending)),
	}
	for i := range b.pending {
		s.Pending[i] = int(b.pending[i].Load())
	}
	return s
}

// Close stops accepting requests, waits until every request already
// accepted has been answered and every goroutine of the Balancer has
// returned, and releases the Balancer's context. It is idempotent and
// safe to call concurrently with Submit, which then returns [ErrClosed].
//
// An answer is delivered, not dropped, while the Balancer's context lives,
// so Close also waits for room on each reply channel of a Submit: a reply
// channel that is full and never read keeps Close from returning.
//
// If a handler panicked, Close re-panics with its *[PanicError] on the
// calling goroutine, every time it is called: the owner learns of it even
// if the request's caller ignored its error.
func (b *Balancer[Req, Resp]) Close() {
	b.once.Do(func() {
		close(b.closing) // Submits waiting for a slot return ErrClosed
		b.gate.shut()    // and once those placing a request are done,
		for _, q := range b.queues {
			close(q) // workers answer what is queued, then return
		}
	})
	b.wg.Wait()
	b.cancel(ErrClosed)
	if p := b.panic.Load(); p != nil {
		panic(p)
	}
}
