package fanout

import (
	"context"
	"math"
	"runtime/trace"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-compendium/compendium"
	"github.com/go-compendium/compendium/internal/lifecycle"
	"github.com/go-compendium/compendium/timeout"
)

// Result is the answer to one request made to a [Balancer]: the request,
// so that answers sharing a reply channel (or coming out of
// [Balancer.Serve]) can be matched to what was asked, and the handler's
// return values, or why it did not run.
type Result[Req, Resp any] struct {
	// Req is the request this answers.
	Req Req
	// Value is what the handler returned.
	Value Resp
	// Err is the handler's error; a *[compendium.PanicError] if it
	// panicked; [compendium.ErrGoexit] if it called runtime.Goexit; or,
	// if it never ran, the cause of the request's or the Balancer's
	// context ending.
	Err error
}

// BalancerStats are a [Balancer]'s counters, from [Balancer.Stats], in the
// vocabulary of [compendium.TaskStats], where a unit of work is a request:
// Completed counts the handler calls that returned nil, Failed those that
// returned an error or called runtime.Goexit, and Canceled the accepted
// requests answered without running. The counters are atomic and the
// snapshot is assembled so that Submitted = Queued + Running + Completed +
// Failed + Panicked + Canceled holds in every snapshot.
type BalancerStats struct {
	compendium.TaskStats
	// Pending is, per worker, the requests on it: queued or running. Each
	// entry is at most the depth.
	Pending []uint64
	// Stalled is, per worker, whether the Balancer holds it stalled (see
	// [StallAfter]); nil without StallAfter.
	Stalled []bool
}

// BalancerOption configures a [Balancer]: see [StallAfter]. The interface
// is sealed: only this package makes options.
type BalancerOption interface {
	apply(*balancerConfig)
}

// balancerConfig is what the options set.
type balancerConfig struct {
	stallAfter time.Duration // 0: no supervision
}

// stallAfter is the option StallAfter returns.
type stallAfter time.Duration

func (d stallAfter) apply(c *balancerConfig) { c.stallAfter = time.Duration(d) }

// StallAfter makes a [Balancer] supervise its workers with a
// [timeout.Watchdog]: a worker whose handler has run for d without
// returning is stalled. The Balancer then places no new request on it and
// moves the requests queued behind the stuck handler, the requests
// themselves, to the other workers, which answer them. The worker is
// healthy again as soon as its handler returns. The stuck handler's own
// request is not touched: Go cannot stop a goroutine, so it is answered
// when the handler returns, and its requester's context is the way to give
// up on it.
//
// Pick d above the longest handler call you consider normal: a worker on a
// call longer than d loses its queue to the others, which is harmless, but
// a waste if it was not stuck. Supervision costs each request a clock read
// and a few atomic operations (impl=supervised under fanout.Balancer in
// bench/RESULTS.md). StallAfter panics if d is not positive.
func StallAfter(d time.Duration) BalancerOption {
	lifecycle.Positive(pkg, "StallAfter", "d", d)
	return stallAfter(d)
}

// pkg names this package in panics and pprof labels.
const pkg = "fanout"

// A worker's pending word holds its load (requests queued or running on it,
// plus the slots the supervisor holds for requests it moved away) in the
// low bits, and two flags above it, set only under supervision: running
// while a handler runs, stalled while the supervisor holds the worker
// stalled. One word, so that a worker ending a call and the supervisor
// marking it stalled cannot miss each other: each changes the word
// atomically and sees what the other did.
const (
	loadMask   = 1<<40 - 1 // loads are at most depth <= lifecycle.MaxUpFront
	runningBit = 1 << 40
	stalledBit = 1 << 41
)

// request is one unit of work on its way to a worker, carrying its own
// reply channel (the talk's "passing a response channel").
type request[Req, Resp any] struct {
	ctx   context.Context
	req   Req
	reply chan<- Result[Req, Resp]
	// served, if not nil, is Serve's count of the requests it submitted
	// and whose answers are not yet delivered or dropped.
	served *sync.WaitGroup
}

// Balancer is the talk's HTTP load balancer done right: a fixed set of
// workers, each with its own queue of bounded depth, and every request
// given to the least-loaded worker, the one with the fewest requests
// queued or running. A handler learns from [WorkerIndex] which worker runs
// it, so that each worker can own a resource (a backend, a connection).
//
// Promises:
//   - No worker holds more than depth requests, and no more than
//     workers*depth are accepted and unanswered: when every queue is full,
//     Submit and Do wait for room (backpressure), so a burst waits in its
//     callers, not in a growing queue. While a request waits for room,
//     every worker's queue is full: no worker idles while work waits.
//   - Each accepted request is answered exactly once, on its reply
//     channel, unless that channel has no room when the request's or the
//     Balancer's context ends: then the answer is dropped, never waited
//     for. A queued request whose context has ended is answered without
//     running. Queued requests are not moved between workers, except off
//     a stalled worker (see [StallAfter]).
//   - A handler's error is its request's alone. A panic fails its request
//     with a *[compendium.PanicError], cancels the Balancer, and is
//     re-raised by every Close; runtime.Goexit fails the request with
//     [compendium.ErrGoexit] and a new goroutine takes over the worker.
//
// Create one with [NewBalancer]; the zero value is not usable, and a
// Balancer must not be copied. Its methods are safe for concurrent use. A
// call to Submit or Do that returns nil synchronizes before the handler
// call for its request, which synchronizes before its Result is received.
//
// Cost: see fanout.Balancer in bench/RESULTS.md (beside the talk's
// balancer goroutine, round robin and one shared queue).
type Balancer[Req, Resp any] struct {
	o      lifecycle.Owner // ends on the parent ctx, a panic, or Close
	handle func(context.Context, Req) (Resp, error)
	depth  int64

	queues []chan request[Req, Resp] // one per worker, capacity depth
	// slots holds a token per request accepted and not yet answered (and
	// per slot the supervisor holds for a request it moved): at most
	// workers*depth, so a Submit that gets one knows some worker's queue
	// has room. Waiting for a token is the backpressure.
	slots   chan struct{}
	gate    gate           // orders queue sends against the workers' final drain
	next    atomic.Uint64  // where the next least-loaded scan starts
	pending []atomic.Int64 // per worker: load and flags, see loadMask
	counts  lifecycle.Counters
	replies sync.Pool // of chan Result, capacity 1, for Do

	// Per worker, made once: the pprof labels of its goroutine, and the
	// context handed to handlers of requests made with
	// context.Background (the Balancer's, carrying the worker's index).
	labels []lifecycle.Labels
	wctx   []context.Context

	// Supervision (StallAfter); watchdog is nil without it.
	watchdog *timeout.Watchdog
	wake     chan struct{} // capacity 1: tells the supervisor to look again
	smu      sync.Mutex    // orders stalling, moving and recovering
	held     []int64       // per worker: slots the supervisor holds for requests it moved off it
}

// NewBalancer starts a Balancer with the given number of workers, each with
// a queue that holds at most depth requests (queued or running), that
// answers each request with handle.
//
// handle is called on a worker goroutine with a context that ends when the
// request's context or ctx ends, or the Balancer is closed, whichever is
// first, carries the request context's values, and tells [WorkerIndex]
// which worker runs it. A handler must not wait for a request to the same
// Balancer (with every queue full, it would wait for itself), nor call
// Close.
//
// When ctx ends, the Balancer stops accepting requests and answers those
// it has accepted but not started with ctx's cause; its goroutines return
// once the handlers running return. Close must still be called, to surface
// a panic. NewBalancer panics if ctx, handle or an option is nil, if
// workers or depth is less than 1, or if the queues (workers*depth
// requests) or the workers' goroutines would take more than 1 GiB up
// front.
func NewBalancer[Req, Resp any](ctx context.Context, workers, depth int, handle func(context.Context, Req) (Resp, error), opts ...BalancerOption) *Balancer[Req, Resp] {
	const fn = "NewBalancer"
	lifecycle.Context(pkg, fn, ctx)
	lifecycle.Min(pkg, fn, "workers", workers, 1)
	lifecycle.Min(pkg, fn, "depth", depth, 1)
	if depth > math.MaxInt/workers {
		lifecycle.Panicf(pkg, fn, "workers*depth must fit in an int, got %d*%d", workers, depth)
	}
	// The queues hold workers*depth requests in all: refuse at the call
	// what no machine has, rather than die of it in make.
	lifecycle.UpFront[request[Req, Resp]](pkg, fn, "workers*depth", workers*depth)
	lifecycle.UpFront[workerCost](pkg, fn, "workers", workers)
	lifecycle.NotNil(pkg, fn, "handle", handle == nil)
	var cfg balancerConfig
	for _, opt := range opts {
		lifecycle.NotNil(pkg, fn, "option", opt == nil)
		opt.apply(&cfg)
	}

	b := &Balancer[Req, Resp]{
		handle:  handle,
		depth:   int64(depth),
		queues:  make([]chan request[Req, Resp], workers),
		slots:   make(chan struct{}, workers*depth),
		gate:    newGate(),
		pending: make([]atomic.Int64, workers),
		labels:  make([]lifecycle.Labels, workers),
		wctx:    make([]context.Context, workers),
	}
	b.replies.New = func() any { return make(chan Result[Req, Resp], 1) }
	b.o.Init(ctx, pkg, "Balancer")
	for i := range b.queues {
		b.queues[i] = make(chan request[Req, Resp], depth)
		b.labels[i] = b.o.Labels("worker", strconv.Itoa(i))
		b.wctx[i] = context.WithValue(b.o.Context(), workerKey{}, i)
	}
	if cfg.stallAfter > 0 {
		b.watchdog = timeout.NewWatchdog(cfg.stallAfter, workers)
		b.wake = make(chan struct{}, 1)
		b.held = make([]int64, workers)
		b.o.Go(b.o.Labels("role", "supervisor"), b.supervise)
	}
	for i := range b.queues {
		b.o.Go(b.labels[i], func() { b.work(i) })
	}
	return b
}

// workerCost stands for what a worker takes up front: its goroutine's
// first stack (2 KiB) dwarfs its queue, context and labels. Counted so that
// NewBalancer(1<<24, 1) is refused at the call, not paid for in stacks.
type workerCost [2048]byte

// place gives r to the least-loaded worker with room, which a caller
// holding a slot token is sure to find: the tokens bound the sum of the
// loads by workers*depth, and this caller's token is not yet counted in
// any load. Concurrent callers scan the same counters; the CAS makes each
// increment conditional on the word the scan saw, so no load ever exceeds
// depth, and a caller that loses a race scans again. A stalled worker is
// chosen only if no other has room; its supervisor then moves r on.
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
		best, least, seen := -1, 2*b.depth, int64(0)
		for j := range n {
			i := start + j
			if i >= n {
				i -= n
			}
			v := b.pending[i].Load()
			l := v & loadMask
			if l >= b.depth {
				continue // full
			}
			if v&stalledBit != 0 {
				l += b.depth // behind every worker that is not stalled
			}
			if l < least {
				best, least, seen = i, l, v
				if l == 0 {
					break
				}
			}
		}
		if best >= 0 && b.pending[best].CompareAndSwap(seen, seen+1) {
			b.queues[best] <- r // never blocks: the queue holds at most load < depth
			// Read after the send: a worker stalled by then may have
			// been searched before r arrived. (Not seen, which misses a
			// stall between the scan and the send.)
			if b.wake != nil && b.pending[best].Load()&stalledBit != 0 {
				b.poke() // for the supervisor to move r on
			}
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
// Cost: one context.Value lookup, without allocating; the index is set
// once per worker, so a request made with context.Background allocates
// nothing for it.
func WorkerIndex(ctx context.Context) (int, bool) {
	i, ok := ctx.Value(workerKey{}).(int)
	return i, ok
}

// work is worker i: it answers the requests in its queue until the
// Balancer's context ends, then answers what is left without running it.
func (b *Balancer[Req, Resp]) work(i int) {
	q := b.queues[i]
	for {
		select {
		case r := <-q:
			b.run(i, r)
		case <-b.o.Done():
			// Wait until no Submit can still be putting a request in q,
			// then answer what is there (with the cause: run checks the
			// context) and return.
			b.gate.shut()
			for {
				select {
				case r := <-q:
					b.run(i, r)
				default:
					return
				}
			}
		}
	}
}

// regionName names a request's trace region, as the labels name the
// goroutine: the package and the type.
const regionName = "fanout.Balancer"

// run answers request r on worker i: it calls the handler unless the
// request's or the Balancer's context has ended.
func (b *Balancer[Req, Resp]) run(i int, r request[Req, Resp]) {
	res := Result[Req, Resp]{Req: r.req}
	// Checked before running rather than leaving it to the handler:
	// a requester that gave up, or a Balancer that is closing, wants no
	// more work started.
	if b.o.Canceled() {
		res.Err = context.Cause(b.o.Context())
	} else if r.ctx.Err() != nil {
		res.Err = context.Cause(r.ctx)
	}
	if res.Err != nil {
		b.counts.Cancel()
		b.finish(i, r, res, 0)
		return
	}

	ctx, release := b.handlerContext(i, r.ctx)
	if release != nil {
		defer release() // after the answer, also on runtime.Goexit
	}
	var running int64
	if b.watchdog != nil {
		// Marked before the watchdog can report it, so that a report of
		// this call finds the worker running.
		running = runningBit
		b.pending[i].Add(runningBit)
		b.watchdog.Busy(i)
	}
	b.counts.Start()
	var (
		p   *compendium.PanicError
		err error
	)
	call := func() {
		p, err = lifecycle.Call(func() (err error) {
			res.Value, err = b.handle(ctx, r.req)
			return err
		}, func() {
			// The handler called runtime.Goexit, which ends this
			// goroutine: answer its request, and hand the worker's queue
			// to a new goroutine, counted before this one is uncounted, so
			// that Close cannot return in between.
			b.counts.Fail()
			b.finish(i, r, Result[Req, Resp]{Req: r.req, Err: compendium.ErrGoexit}, running)
			b.o.Go(b.labels[i], func() { b.work(i) })
		})
	}
	// One check per request when tracing is off. WithRegion ends the
	// region in a defer, so a Goexit ends it too.
	if trace.IsEnabled() {
		trace.WithRegion(ctx, regionName, call)
	} else {
		call()
	}
	b.counts.End(p, err)
	switch {
	case p != nil:
		res = Result[Req, Resp]{Req: r.req, Err: p}
		b.o.Fail(p) // cancels the Balancer; every Close re-raises it
	case err != nil:
		res.Err = err // the request's error, not the Balancer's
	}
	b.finish(i, r, res, running)
}

// finish ends request r on worker i: it lowers the worker's load (and
// clears running, if set), gives the slot back, and delivers res.
func (b *Balancer[Req, Resp]) finish(i int, r request[Req, Resp], res Result[Req, Resp], running int64) {
	if running != 0 {
		b.watchdog.Idle(i)
	}
	// Lower the load before giving the token back, so that whoever takes
	// the token finds the room it stands for; and both before replying, so
	// that a caller who has its answer and submits again sees this
	// worker's load without the request it just finished. Replying first
	// let such a caller find two workers tied, one of them busy for an
	// hour, and pick the busy one half the time
	// (TestBalancerShortTasksAvoidLongOne).
	if b.pending[i].Add(-1-running)&stalledBit != 0 && running != 0 {
		b.heal(i) // the stuck handler returned: healthy again
	}
	<-b.slots
	b.reply(r, res)
}

// reply delivers res on r's reply channel, waiting for room only while
// both the request's and the Balancer's contexts live: once either ends,
// an answer with no room is dropped rather than waited for, so an unread
// reply channel can hold up neither the worker nor Close. The first,
// non-blocking try keeps a random select from dropping an answer that had
// room.
func (b *Balancer[Req, Resp]) reply(r request[Req, Resp], res Result[Req, Resp]) {
	if r.served != nil {
		defer r.served.Done()
	}
	select {
	case r.reply <- res:
		return
	default:
	}
	select {
	case r.reply <- res:
	case <-r.ctx.Done():
	case <-b.o.Done():
	}
}

// handlerContext returns the context for a handler on worker i of a
// request made with rctx: it ends when rctx or the Balancer's context
// ends, carries rctx's values and the worker's index; and, if it made a
// new context, the function that releases it. A request made with
// context.Background (the common case in servers that cancel through the
// Balancer) needs no new context: the worker's own is it. Otherwise the
// merge costs a WithCancelCause, an AfterFunc and a WithValue.
func (b *Balancer[Req, Resp]) handlerContext(i int, rctx context.Context) (context.Context, func()) {
	if rctx == context.Background() || rctx == context.TODO() {
		return b.wctx[i], nil
	}
	ctx, cancel := context.WithCancelCause(rctx)
	bctx := b.o.Context()
	stop := context.AfterFunc(bctx, func() { cancel(context.Cause(bctx)) })
	return context.WithValue(ctx, workerKey{}, i), func() {
		stop()
		cancel(nil)
	}
}

// Submit hands req to the least-loaded worker and returns without waiting
// for the answer, which the worker sends on reply as one [Result]. This is
// the talk's "passing a response channel": many requests can share one
// reply channel and be answered in any order; each Result carries its
// request.
//
// Submit blocks while every worker's queue is full (backpressure), and
// returns ctx's cause if ctx ends first, or the cause of the Balancer's
// context ending (an error matching [compendium.ErrClosed] after Close);
// in those cases req was not accepted and nothing will be sent on reply.
// If it returns nil, exactly one Result will be sent on reply, unless
// reply has no room when ctx or the Balancer's context ends: give reply
// room for every request you leave outstanding, or keep receiving.
// Submit panics if ctx or reply is nil.
func (b *Balancer[Req, Resp]) Submit(ctx context.Context, req Req, reply chan<- Result[Req, Resp]) error {
	lifecycle.Context(pkg, "Balancer.Submit", ctx)
	lifecycle.NotNil(pkg, "Balancer.Submit", "reply", reply == nil)
	return b.submit(request[Req, Resp]{ctx: ctx, req: req, reply: reply})
}

// submit takes a slot for r and places it, or says why not.
func (b *Balancer[Req, Resp]) submit(r request[Req, Resp]) error {
	if err := b.admit(r.ctx); err != nil {
		b.counts.Reject()
		return err
	}
	defer b.gate.leave()
	b.counts.Submit() // before place: a worker may start r at once
	b.place(r)
	return nil
}

// admit enters the gate and takes a slot, waiting while every queue is
// full; on success the caller must leave the gate.
func (b *Balancer[Req, Resp]) admit(ctx context.Context) error {
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	if !b.gate.enter() {
		return context.Cause(b.o.Context()) // the workers have shut it: cancelled or closed
	}
	// Checked first so that a stopped Balancer refuses at once rather than
	// at random when the select below also finds a free slot.
	select {
	case <-b.o.Done():
		b.gate.leave()
		return context.Cause(b.o.Context())
	default:
	}
	select {
	case b.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		b.gate.leave()
		return context.Cause(ctx)
	case <-b.o.Done():
		b.gate.leave()
		return context.Cause(b.o.Context())
	}
}

// Do hands req to the least-loaded worker and waits for the answer: the
// handler's return values, or the error that kept it from running (see
// [Balancer.Submit]). If ctx ends while the request is queued, the worker
// skips it; if ctx ends while it runs, the handler's context ends too, and
// Do returns ctx's cause without waiting for the handler. Do panics if ctx
// is nil.
func (b *Balancer[Req, Resp]) Do(ctx context.Context, req Req) (Resp, error) {
	lifecycle.Context(pkg, "Balancer.Do", ctx)
	// A reply channel with room for the one answer, so the worker never
	// waits and an answer given before a Close is never dropped (the
	// worker could only hand it over in person otherwise); recycled, since
	// making one costs two allocations.
	reply := b.replies.Get().(chan Result[Req, Resp])
	if err := b.submit(request[Req, Resp]{ctx: ctx, req: req, reply: reply}); err != nil {
		b.replies.Put(reply)
		var zero Resp
		return zero, err
	}
	select {
	case r := <-reply:
		b.replies.Put(reply) // empty again
		return r.Value, r.Err
	case <-ctx.Done():
		// The answer may still arrive on reply: do not recycle it.
		var zero Resp
		return zero, context.Cause(ctx)
	}
}

// Serve drives the Balancer from a channel: it submits every request
// received from in, with ctx as its context, and sends each answer on the
// returned channel, in the order they are answered; each [Result] carries
// its request. Backpressure flows back to in: while every worker's queue
// is full, Serve waits to submit and stops receiving, and while nobody
// reads the output, workers wait to deliver and the queues fill.
//
// Serve starts one goroutine, owned by the Balancer (Close joins it). It
// stops receiving when in is closed, ctx ends, or the Balancer's context
// ends (Close, a panic, its parent), then waits until every request it
// submitted is answered and closes the output. Answers follow Submit's
// rule: one with no room once ctx or the Balancer's context has ended is
// dropped, never waited for, so an output left unread cannot hold up
// Close (cancel ctx when you stop reading). That includes the answer to
// the one request Serve may have received and not yet submitted when
// ctx or the Balancer ended: the refusal is sent if the output has room.
// After Close, Serve returns a closed channel. Serve panics if ctx or in
// is nil.
func (b *Balancer[Req, Resp]) Serve(ctx context.Context, in <-chan Req) <-chan Result[Req, Resp] {
	lifecycle.Context(pkg, "Balancer.Serve", ctx)
	lifecycle.NotNil(pkg, "Balancer.Serve", "in", in == nil)
	// Room for one answer per worker: a worker can hand one over and go
	// on while the reader is busy.
	out := make(chan Result[Req, Resp], len(b.queues))
	// Inside the gate, the workers are not yet gone, so the Balancer's
	// goroutine count is not zero and Go may add to it.
	if !b.gate.enter() {
		close(out)
		return out
	}
	defer b.gate.leave()
	b.o.Go(b.o.Labels("role", "serve"), func() { b.serve(ctx, in, out) })
	return out
}

// serve is Serve's goroutine. It receives a request, then waits for a
// slot for it, as Submit does. Taking a slot first, then a request, would
// make a refusal impossible, but hold a slot while in is quiet: with one
// worker of depth 1, an idle Serve would starve every other caller.
func (b *Balancer[Req, Resp]) serve(ctx context.Context, in <-chan Req, out chan Result[Req, Resp]) {
	var outstanding sync.WaitGroup
	defer func() {
		outstanding.Wait() // every answer delivered or dropped
		close(out)
	}()
	for {
		var req Req
		select {
		case v, ok := <-in:
			if !ok {
				return
			}
			req = v
		case <-ctx.Done():
			return
		case <-b.o.Done():
			return
		}
		outstanding.Add(1)
		if err := b.submit(request[Req, Resp]{ctx: ctx, req: req, reply: out, served: &outstanding}); err != nil {
			outstanding.Done()
			select {
			case out <- Result[Req, Resp]{Req: req, Err: err}:
			default: // no room, and ctx or the Balancer has ended: dropped
			}
			return
		}
	}
}

// Stats returns the Balancer's counters; see [BalancerStats].
func (b *Balancer[Req, Resp]) Stats() BalancerStats {
	s := BalancerStats{TaskStats: b.counts.Snapshot(), Pending: make([]uint64, len(b.pending))}
	if b.watchdog != nil {
		s.Stalled = make([]bool, len(b.pending))
		b.smu.Lock() // held slots change under smu
		defer b.smu.Unlock()
	}
	for i := range b.pending {
		v := b.pending[i].Load()
		s.Pending[i] = uint64(v & loadMask) // the held slots are not requests
		if b.watchdog != nil {
			s.Pending[i] -= uint64(b.held[i])
			s.Stalled[i] = v&stalledBit != 0
		}
	}
	return s
}

// Close cancels the Balancer and waits until every goroutine it started
// has returned: it stops accepting requests (Submit and Do then return an
// error matching [compendium.ErrClosed]), answers the requests still
// queued with that error without running them, ends the running handlers'
// contexts and waits for them to return. It waits for no reply channel:
// an answer with no room is dropped. To finish the accepted work first,
// wait for its answers before calling Close.
//
// Close is idempotent and returns nil: a handler's error is its
// request's. If a handler panicked, every call to Close re-panics with its
// *[compendium.PanicError] on the calling goroutine, so the owner learns
// of it even if the request's caller ignored its error.
func (b *Balancer[Req, Resp]) Close() error {
	b.o.Stop(b.o.ErrClosed())
	b.o.Join()
	if b.watchdog != nil {
		b.watchdog.Close()
	}
	return b.o.Result()
}

// poke wakes the supervisor, without blocking.
func (b *Balancer[Req, Resp]) poke() {
	select {
	case b.wake <- struct{}{}:
	default: // a wake-up is already pending
	}
}

// supervise is the supervisor's goroutine, running under StallAfter. It
// marks the workers the watchdog reports as stalled and moves the
// requests queued on them to other workers, one at a time: it takes one
// off a stalled worker's queue, keeping its slot there held (so the
// stalled worker's load does not fall, and no new request is placed in
// its stead), waits for a slot token of its own, as a Submit would, and
// places the request with it. A worker whose handler returns clears its
// stalled mark itself and frees the held slots (see heal).
//
// The supervisor holds the gate from taking a request until it has placed
// it, as a Submit does from its slot to its send, so that the workers'
// final drain waits for the placement; on shutdown it answers the request
// in hand itself. The talk's NIL CHANNELS idiom drives the loop: the
// token send is switched on only while a request is in hand.
func (b *Balancer[Req, Resp]) supervise() {
	stalls := b.watchdog.Stalled()
	var (
		moving request[Req, Resp] // taken off a stalled worker, not yet placed
		have   bool
	)
	for {
		if !have && b.gate.enter() {
			if moving, have = b.takeStalled(); !have {
				b.gate.leave()
			}
		}
		var slots chan<- struct{}
		if have {
			slots = b.slots
		}
		select {
		case w := <-stalls:
			b.stall(w)
		case slots <- struct{}{}:
			b.place(moving)
			b.gate.leave()
			moving, have = request[Req, Resp]{}, false
		case <-b.wake:
		case <-b.o.Done():
			if have {
				b.gate.leave()
				b.counts.Cancel()
				b.reply(moving, Result[Req, Resp]{Req: moving.req, Err: context.Cause(b.o.Context())})
			}
			return
		}
	}
}

// takeStalled takes a request off the queue of a stalled worker, if one
// has any, and holds its slot there.
//
// It only tries, and it holds smu while it does, so that the worker it
// takes from is stalled while it takes: the worker, stuck in its handler,
// cannot take from its queue, and it cannot heal (which frees the held
// slots) in between. A request that reaches a stalled queue later pokes
// the supervisor (see place).
func (b *Balancer[Req, Resp]) takeStalled() (request[Req, Resp], bool) {
	b.smu.Lock()
	defer b.smu.Unlock()
	for i := range b.pending {
		if b.pending[i].Load()&stalledBit == 0 {
			continue
		}
		select {
		case r := <-b.queues[i]:
			b.held[i]++ // r's slot on i stays taken: held for r
			return r, true
		default:
		}
	}
	return request[Req, Resp]{}, false
}

// stall marks worker i stalled if it is running a handler; a report that
// arrives after the call it was about has returned finds it not running,
// and is stale. (If the worker has already started another call, that
// call is treated as stuck too, until it returns: a worker just reported
// slow loses its queue a little early, which costs nothing but a move.)
func (b *Balancer[Req, Resp]) stall(i int) {
	b.smu.Lock()
	defer b.smu.Unlock()
	for {
		v := b.pending[i].Load()
		if v&runningBit == 0 || v&stalledBit != 0 {
			return
		}
		if b.pending[i].CompareAndSwap(v, v|stalledBit) {
			return
		}
	}
}

// heal makes stalled worker i healthy again, on its own goroutine, once
// its stuck handler has returned: it clears the mark, so that requests are
// placed on it again, then frees the slots held for the requests moved off
// it (room first, then the tokens: whoever takes a token finds room).
func (b *Balancer[Req, Resp]) heal(i int) {
	b.smu.Lock()
	n := b.held[i]
	b.held[i] = 0
	b.pending[i].Add(-stalledBit - n)
	b.smu.Unlock()
	for range n {
		<-b.slots
	}
}
