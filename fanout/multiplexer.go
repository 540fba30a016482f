package fanout

import (
	"context"
	"errors"
	"math"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-compendium/compendium"
	"github.com/go-compendium/compendium/internal/lifecycle"
)

// MultiplexerStats are a [Multiplexer]'s counters, from
// [Multiplexer.Stats]. The unit of work is an item: Submitted counts the
// items accepted, Completed those in writes that returned nil, Failed
// those in writes that returned an error or called runtime.Goexit,
// Panicked those in writes that panicked, Canceled those accepted but
// never handed to write because the Multiplexer's context ended first,
// and Rejected the Sends refused (closed, stopped, or their ctx ended
// before the item was accepted). Running counts the items in the write in
// progress, Queued those waiting for a write.
type MultiplexerStats struct {
	compendium.TaskStats
	// Writes counts the calls to write; (Completed+Failed+Panicked) /
	// Writes is the mean batch size.
	Writes uint64
}

// The Multiplexer's state word. Whoever sets muxWriting holds the writer
// role: it alone calls write and touches the role's fields. The queued
// count lives in the same word as the role so that giving the role up
// (one CompareAndSwap that sees nothing queued) and queueing an item (an
// Add that sees whether anyone holds the role) cannot miss each other: an
// item is never left queued with nobody responsible for it, except on
// purpose (see handOff).
const (
	muxWriting uint64 = 1 << iota // a goroutine holds the writer role
	muxClosed                     // Close has been called: nothing more is accepted
	muxQueued                     // one queued item: the count is state / muxQueued
)

// muxRounds bounds the batches a producer writes once it holds the writer
// role: its own and, while others are queued, a few more, so that a busy
// stream does not pay a hand-off per batch; then it hands the role on, so
// that no Send waits behind other producers' writes for long.
const muxRounds = 4

// drain, as lead's starting round, makes it write until nothing is
// queued, never handing the role on: Close's flush, and a stopped
// Multiplexer failing what is queued. (Counting up from math.MinInt,
// round never reaches muxRounds.)
const drain = math.MinInt

// errTurn, sent on a waiting producer's result channel, hands it the
// writer role. It is never returned to a caller.
var errTurn = errors.New("fanout: the writer role is yours")

// muxWaiter is a queued item and the producer waiting for its result.
type muxWaiter[T any] struct {
	v   T
	res chan error // capacity 1: the write's result, or errTurn
	// gone (the producer stopped waiting, guarded by the Multiplexer's
	// mu) keeps the role from being handed to it.
	gone bool
}

// muxSlot is what NewMultiplexer allocates per unit of batch: a value in
// the writer's buffer and a place in the queue and in the batch taken
// from it. UpFront checks batch against its size.
//
//lint:ignore U1000 only its size is used, by UpFront
type muxSlot[T any] struct {
	v      T
	q, cur *muxWaiter[T]
}

// Multiplexer is the talk's network multiplexor: many producers [Send]
// items, and one writer at a time writes them to a resource (a
// connection, a file, a log) that needs no lock of its own. Unlike the
// talk's version, each producer learns its item's fate: Send returns the
// error of the write its item was in, and [Multiplexer.Close] writes every
// item accepted before it, so none is lost without its producer being
// told.
//
// It combines writes rather than handing them to a goroutine of its own: a
// producer that finds no write in progress calls write with its item
// itself, as a mutex would let it; producers that arrive during a write
// queue their items, and the producer holding the writer role writes what
// is queued (up to batch items) in its next call, as a group-commit log
// does. So a cheap write costs about what a mutex does, and a costly one
// is paid once per batch. Items are written in the order they were
// accepted, so each producer's in the order it sent them.
//
// Create one with [NewMultiplexer]; the zero value is not usable, and a
// Multiplexer must not be copied. Its methods are safe for concurrent use.
// The calls of write never overlap: each ends before the next starts (and
// synchronizes before it), and an item's write synchronizes before the
// return of its Send. write runs on the goroutine of a producer, or of
// Close, not always the same one: a resource that must stay on one
// goroutine or thread belongs in a goroutine of yours reading a channel.
// The Multiplexer starts no goroutine, so it has none to label.
//
// Cost: see fanout.Multiplexer in bench/RESULTS.md, beside a mutex taken
// per item and a mutex with group commit.
type Multiplexer[T any] struct {
	// The words the fast path writes come first, to share a cache line:
	// the role's CompareAndSwap fetches it, and the counts of items
	// written alone then cost no further miss.
	state   atomic.Uint64 // muxWriting | muxClosed | queued * muxQueued
	alone   atomic.Uint64 // items written alone: submitted, started and one write each
	aloneOK atomic.Uint64 // of those, the items whose write returned nil
	// aloneFailed and alonePanicked count the others; stats counts the
	// items that were queued, and writes their writes.
	aloneFailed, alonePanicked atomic.Uint64
	stats                      lifecycle.Counters
	writes                     atomic.Uint64

	write func([]T) error
	batch int
	owner lifecycle.Owner // the context, its cause, the first panic, the closed error
	// noYield and noSpin turn the Gosched in lead and the spin in Send
	// off, for the benchmark that shows what they gain
	// (multiplexer_bench_test.go).
	noYield, noSpin bool
	// beforeLeave, if not nil, is called by a queued Send whose ctx has
	// ended, before it looks whether it was handed the role meanwhile: a
	// test holds it there to hand it the role (export_test.go).
	beforeLeave func()

	mu        sync.Mutex
	q         []*muxWaiter[T] // accepted, not yet taken by a writer; at most batch
	room      chan struct{}   // closed when q gets room; nil if nobody waits for it
	stopCause error           // why the context had ended when Close was first called
	idle      chan struct{}   // made by a Close waiting for the role, closed when it is given up

	// The writer role's own: only the goroutine holding it touches these.
	vals     []T             // the batch being written
	isAlone  bool            // vals is a Send's item written alone, counted in alone
	cur      []*muxWaiter[T] // the producers waiting for that batch
	flushErr error           // the first error reported after Close was called
	call     func() error    // calls write(vals), made once so that no write allocates
	goexit   func()          // lifecycle.Call's hook if write calls runtime.Goexit

	finishing atomic.Bool
	finished  chan struct{} // closed once Close's work is done
	closeErr  error         // what every Close returns, set before finished is closed

	waiters sync.Pool // of *muxWaiter[T]
}

// NewMultiplexer returns a Multiplexer that calls write with batches of at
// most batch items, in the order the items were accepted. batch also
// bounds the queue that producers wait in, allocated here: pick the
// largest write you want (1 writes one item per call). write must not keep
// the slice after it returns, nor call Send or Close on the same
// Multiplexer (both may wait for write to return).
//
// If write returns an error, the items of that batch fail with it and the
// Multiplexer goes on. If write panics, the items fail with the
// *[compendium.PanicError], the Multiplexer stops as if ctx had ended, and
// every Close re-panics with it. If write calls runtime.Goexit, the items
// fail with [compendium.ErrGoexit] and the Multiplexer goes on; the
// goroutine that ran write, a producer's, is the one that exits, so that
// producer's Send does not return.
//
// When ctx ends (or write panics), Send refuses new items with the cause,
// items accepted but not yet written fail with it once the write in
// progress (if any) returns, and write is not called again.
//
// NewMultiplexer panics if ctx or write is nil, if batch < 1, or if batch
// items would allocate more than 1 GiB up front.
func NewMultiplexer[T any](ctx context.Context, batch int, write func([]T) error) *Multiplexer[T] {
	const pkg, fn = "fanout", "NewMultiplexer"
	lifecycle.Context(pkg, fn, ctx)
	lifecycle.NotNil(pkg, fn, "write", write == nil)
	lifecycle.Min(pkg, fn, "batch", batch, 1)
	lifecycle.UpFront[muxSlot[T]](pkg, fn, "batch", batch)
	m := &Multiplexer[T]{
		write:    write,
		batch:    batch,
		q:        make([]*muxWaiter[T], 0, batch),
		vals:     make([]T, 0, batch),
		cur:      make([]*muxWaiter[T], 0, batch),
		finished: make(chan struct{}),
	}
	m.owner.Init(ctx, "fanout", "Multiplexer")
	m.call = func() error { return m.write(m.vals) }
	m.goexit = func() {
		// write called runtime.Goexit, which is ending this goroutine: the
		// batch fails like any write that failed, and the role passes on
		// (see handOff) since this goroutine will write no more.
		m.report(compendium.ErrGoexit, false)
		if !m.release() {
			m.handOff()
		}
	}
	m.waiters.New = func() any { return &muxWaiter[T]{res: make(chan error, 1)} }
	return m
}

// Send hands v to the Multiplexer and waits until it has been written,
// returning the error of the write v was in (nil if it was written), or
// why v was not written.
//
// If no write is in progress and nothing is queued, Send calls write with
// v alone, on the calling goroutine; after a short spin, if a write is in
// progress, it queues v and waits. A waiting Send may be handed the writer
// role: then it writes the queued items, its own among them. Holding the
// role, a Send writes its own batch and, while items are queued, at most
// three more (fewer if its ctx ends), then hands the role to a producer
// still waiting. Send blocks while batch items are queued.
//
// Send returns ctx's cause if ctx ends before v is accepted, an error
// matching [compendium.ErrClosed] once Close has been called, or the
// cause of the Multiplexer's context once it has ended. If ctx ends while
// v waits in the queue, Send returns ctx's cause at once and v stays
// accepted: it is written with a later batch, at the latest by Close. A
// Send that is running write returns when write does. Send panics if ctx
// is nil.
func (m *Multiplexer[T]) Send(ctx context.Context, v T) error {
	if ctx == nil {
		lifecycle.Context("fanout", "Multiplexer.Send", ctx)
	}
	if ctx.Err() != nil {
		m.stats.Reject()
		return context.Cause(ctx)
	}
	// The fast path: nobody writing, nothing queued, not closed. (The
	// load first spares a busy Multiplexer a failing CompareAndSwap,
	// which would take the cache line from the writer.)
	s := m.state.Load()
	if s == muxWriting && !m.noSpin && m.awaitIdle() {
		s = 0
	}
	if s == 0 && m.state.CompareAndSwap(0, muxWriting) {
		return m.sendAlone(ctx, v)
	}
	return m.sendQueued(ctx, v)
}

// muxYieldAfter is the shortest write after which lead yields (see
// there): long enough that a context switch is small beside it.
const muxYieldAfter = time.Microsecond

// muxSpin is how many times a Send that finds a write in progress, and
// nothing queued, looks again before it queues its item.
const muxSpin = 100

// awaitIdle waits, by looking at the state at most muxSpin times, for the
// write in progress to end while nothing is queued, and reports whether it
// saw the role free. A cheap write ends within a few looks, and taking the
// role then costs far less than queueing: a queued producer parks, and
// the writer must wake it, which is what a mutex avoids by spinning too.
// Once an item is queued the write was not cheap, and batching is what
// pays: the caller joins the queue at once.
func (m *Multiplexer[T]) awaitIdle() bool {
	for range muxSpin {
		switch m.state.Load() {
		case 0:
			return true
		case muxWriting:
		default:
			return false
		}
	}
	return false
}

// sendAlone writes v alone, holding the writer role, which it took with
// nothing queued; then, if items were queued meanwhile, it writes them
// too, as lead does. It counts v with the alone counters: two atomic adds
// on the line the role's CompareAndSwap has just fetched, where the
// lifecycle counters would take four.
func (m *Multiplexer[T]) sendAlone(ctx context.Context, v T) error {
	if m.owner.Canceled() {
		// Stopped: write is never called again; lead fails what is
		// queued.
		m.stats.Reject()
		m.lead(context.Background(), drain)
		return context.Cause(m.owner.Context())
	}
	m.alone.Add(1)
	m.vals = append(m.vals, v)
	m.isAlone = true
	err := m.writeBatch()
	if m.release() {
		return err
	}
	m.lead(ctx, 1)
	return err
}

// sendQueued is Send's slow path: it queues v and waits for its result,
// or for the writer role.
func (m *Multiplexer[T]) sendQueued(ctx context.Context, v T) error {
	w := m.waiters.Get().(*muxWaiter[T])
	w.v = v
	m.mu.Lock()
	for {
		if err := m.refused(); err != nil {
			m.mu.Unlock()
			return m.reject(w, err)
		}
		if len(m.q) < m.batch {
			break
		}
		if m.room == nil {
			m.room = make(chan struct{})
		}
		room := m.room
		m.mu.Unlock()
		select {
		case <-room:
		case <-m.owner.Done(): // refused says so
		case <-ctx.Done():
			return m.reject(w, context.Cause(ctx))
		}
		m.mu.Lock()
	}
	m.q = append(m.q, w)
	m.stats.Submit()
	s := m.state.Add(muxQueued)
	if s&muxWriting == 0 {
		// Nobody holds the role (the queue was empty, or held only
		// items whose producers gave up): take it. Under mu, no one else
		// can: the fast path needs an empty queue, Close takes mu.
		m.state.Or(muxWriting)
		m.mu.Unlock()
		return m.leadQueued(ctx, w)
	}
	m.mu.Unlock()
	select {
	case err := <-w.res:
		return m.settle(ctx, w, err)
	case <-ctx.Done():
		if m.beforeLeave != nil {
			m.beforeLeave()
		}
		// Leave, unless the role or the result was handed over as ctx
		// ended: handOff sends errTurn under mu, so under mu res says
		// which came first. A result sent later (deliver does not take
		// mu) stays in res, unread.
		m.mu.Lock()
		select {
		case err := <-w.res:
			m.mu.Unlock()
			return m.settle(ctx, w, err)
		default:
			w.gone = true // w stays queued: it is written, or failed, later
		}
		m.mu.Unlock()
		return context.Cause(ctx)
	}
}

// settle ends the wait of a queued Send that received err on its result
// channel: the writer role, which it takes, or its item's result.
func (m *Multiplexer[T]) settle(ctx context.Context, w *muxWaiter[T], err error) error {
	if err == errTurn {
		return m.leadQueued(ctx, w)
	}
	m.putWaiter(w)
	return err
}

// leadQueued writes as the holder of the writer role when the caller's
// own item, w, is queued, and returns w's result.
func (m *Multiplexer[T]) leadQueued(ctx context.Context, w *muxWaiter[T]) error {
	m.lead(ctx, 0)
	// The queue never holds more than batch items, so the first batch
	// lead took held w, and its result is waiting.
	err := <-w.res
	m.putWaiter(w)
	return err
}

// refused says why no item is accepted now, or returns nil. The caller
// holds mu.
func (m *Multiplexer[T]) refused() error {
	if m.state.Load()&muxClosed != 0 {
		return m.owner.ErrClosed()
	}
	if m.owner.Canceled() {
		return context.Cause(m.owner.Context())
	}
	return nil
}

// reject counts a refused Send and returns err.
func (m *Multiplexer[T]) reject(w *muxWaiter[T], err error) error {
	m.putWaiter(w)
	m.stats.Reject()
	return err
}

// putWaiter recycles w, whose result channel is empty and which nobody
// else refers to any more.
func (m *Multiplexer[T]) putWaiter(w *muxWaiter[T]) {
	*w = muxWaiter[T]{res: w.res}
	m.waiters.Put(w)
}

// lead runs on the goroutine holding the writer role, and gives it up
// before it returns. It writes the queued items batch by batch until none
// is left; once it has written muxRounds batches (counting from round,
// the number already written by the caller), or once ctx has ended, it
// hands the role on instead. Called with round = drain, it never does.
func (m *Multiplexer[T]) lead(ctx context.Context, round int) {
	for ; ; round++ {
		if round > 0 && (round >= muxRounds || ctx.Err() != nil) {
			m.handOff()
			return
		}
		m.take()
		woke := len(m.cur) > 0 // whether producers wait for this batch
		var start time.Time
		if woke {
			start = time.Now()
		}
		m.flush()
		if woke && !m.noYield && time.Since(start) >= muxYieldAfter {
			// The producers just handed their results are runnable, most
			// likely on this P's run queue, behind this goroutine: let
			// them run and queue their next items before deciding whether
			// the role is free, so that a costly write batches (with one
			// P, or when the writer keeps its P busy, nothing else would
			// let them). After a cheap write, the Gosched would cost more
			// than the writes it saves, and worse, with the role held
			// while the producers run, they would all queue behind it and
			// the Multiplexer would go on writing small batches as a
			// convoy: so only a write that took muxYieldAfter or more
			// earns it. Only batches with waiters are timed, never the
			// fast path. When nothing else is runnable, Gosched returns
			// at once.
			runtime.Gosched()
		}
		if m.release() {
			return
		}
	}
}

// take moves up to batch queued items into the writer's batch.
func (m *Multiplexer[T]) take() {
	m.mu.Lock()
	k := min(len(m.q), m.batch)
	m.cur = append(m.cur, m.q[:k]...)
	n := copy(m.q, m.q[k:])
	clear(m.q[n:])
	m.q = m.q[:n]
	m.state.Add(-uint64(k) * muxQueued)
	if m.room != nil {
		close(m.room)
		m.room = nil
	}
	m.mu.Unlock()
	for _, w := range m.cur {
		m.vals = append(m.vals, w.v)
	}
}

// flush writes the batch in vals, or fails it if the Multiplexer has
// stopped, and reports the result to the batch's producers.
func (m *Multiplexer[T]) flush() {
	if len(m.vals) == 0 {
		return
	}
	if m.owner.Canceled() {
		// Checked before each write, so that none starts once the
		// context has ended (or a write has panicked).
		m.stats.CancelN(uint64(len(m.vals)))
		m.deliver(context.Cause(m.owner.Context()))
		return
	}
	m.writeBatch()
}

// writeBatch writes the batch in vals, reports the result to the batch's
// producers, and returns it.
func (m *Multiplexer[T]) writeBatch() error {
	if !m.isAlone {
		m.stats.StartN(uint64(len(m.vals)))
		m.writes.Add(1)
	}
	p, err := lifecycle.Call(m.call, m.goexit)
	if p != nil {
		err = p
		m.owner.Fail(p) // cancels: the items still queued fail with p
	}
	m.report(err, p != nil)
	return err
}

// report counts the batch in vals as written with result err and
// delivers err to the batch's producers.
func (m *Multiplexer[T]) report(err error, panicked bool) {
	n := uint64(len(m.vals))
	switch {
	case m.isAlone && panicked:
		m.alonePanicked.Add(1)
	case m.isAlone && err != nil:
		m.aloneFailed.Add(1)
	case m.isAlone:
		m.aloneOK.Add(1)
	case panicked:
		m.stats.PanicN(n)
	case err != nil:
		m.stats.FailN(n)
	default:
		m.stats.CompleteN(n)
	}
	m.isAlone = false
	m.deliver(err)
}

// deliver sends err to the batch's producers and empties the batch. An
// error reported once Close has been called is kept for Close.
func (m *Multiplexer[T]) deliver(err error) {
	if err != nil && m.flushErr == nil && m.state.Load()&muxClosed != 0 {
		m.flushErr = err
	}
	clear(m.vals) // drop references to the values for the GC
	m.vals = m.vals[:0]
	for _, w := range m.cur {
		w.res <- err // never blocks: res has room for its one result
	}
	clear(m.cur)
	m.cur = m.cur[:0]
}

// release gives up the writer role if nothing is queued, and reports
// whether it did.
func (m *Multiplexer[T]) release() bool {
	for {
		s := m.state.Load()
		if s >= muxQueued {
			return false
		}
		if m.state.CompareAndSwap(s, s&^muxWriting) {
			if s&muxClosed != 0 {
				m.mu.Lock()
				m.wakeClose()
				m.mu.Unlock()
			}
			return true
		}
	}
}

// handOff gives the writer role, with items queued, to the first queued
// producer still waiting, which wakes up to write them. If every queued
// producer has given up, nobody is asked to: the role is given up with
// the items queued, and the next Send, or Close, writes them first. (A
// goroutine of the Multiplexer's own could write them at once, but would
// cost a wake-up on every hand-off, and a goroutine to join.)
func (m *Multiplexer[T]) handOff() {
	m.mu.Lock()
	for _, w := range m.q {
		if !w.gone {
			w.res <- errTurn // under mu: see sendQueued
			m.mu.Unlock()
			return
		}
	}
	m.state.And(^muxWriting)
	m.wakeClose()
	m.mu.Unlock()
}

// wakeClose wakes the Closes waiting for the writer role, which has just
// been given up. The caller holds mu, under which a Close that saw the
// role held made idle: so a Close either sees the role given up, or is
// woken, and no wake-up is lost.
func (m *Multiplexer[T]) wakeClose() {
	if m.idle != nil {
		close(m.idle)
		m.idle = nil
	}
}

// Stats returns the Multiplexer's counters. They are read without a lock,
// in an order that keeps the identity of [compendium.TaskStats] in every
// snapshot, also while items are being sent and written.
func (m *Multiplexer[T]) Stats() MultiplexerStats {
	// The items written alone end after they start: loading their ends
	// first, then their starts, counts none as ended that is not also
	// counted as started, so their Running cannot be negative. The
	// lifecycle counters, read next, hold the identity for the rest.
	ok, failed, panicked := m.aloneOK.Load(), m.aloneFailed.Load(), m.alonePanicked.Load()
	alone := m.alone.Load()
	s := m.stats.Snapshot()
	s.Submitted += alone
	s.Running += alone - ok - failed - panicked
	s.Completed += ok
	s.Failed += failed
	s.Panicked += panicked
	return MultiplexerStats{TaskStats: s, Writes: m.writes.Load() + alone}
}

// Close stops accepting items, writes every item accepted before it (each
// producer's Send returns that write's result), waits until write has
// returned for the last time, and releases the Multiplexer's context.
// After Close returns, write is not running and is never called again.
// Close may call write itself, for items whose producers stopped waiting.
//
// Close returns nil if every item it waited for was written; otherwise the
// first error reported for them (a write's error, or the cause of the
// context if it ended meanwhile). If the context had ended before Close,
// nothing more was written, and Close returns its cause. If write
// panicked, every Close re-panics with its *[compendium.PanicError].
// Close is idempotent and safe to call concurrently with Send, which then
// returns an error matching [compendium.ErrClosed]; every call waits for
// the same writes and returns the same result. A write that never
// returns keeps Close from returning.
func (m *Multiplexer[T]) Close() error {
	m.mu.Lock()
	if m.state.Or(muxClosed)&muxClosed == 0 {
		if m.owner.Canceled() {
			m.stopCause = context.Cause(m.owner.Context())
		}
		if m.room != nil {
			close(m.room) // producers waiting for room see that it is closed
			m.room = nil
		}
	}
	m.mu.Unlock()
	for {
		m.mu.Lock()
		s := m.state.Load()
		if s&muxWriting == 0 {
			if s < muxQueued {
				m.mu.Unlock()
				break
			}
			// Queued items whose producers gave up: write them here.
			m.state.Or(muxWriting)
			m.mu.Unlock()
			m.lead(context.Background(), drain)
			continue
		}
		if m.idle == nil {
			m.idle = make(chan struct{})
		}
		idle := m.idle
		m.mu.Unlock()
		<-idle
	}
	m.finish()
	<-m.finished
	if p := m.owner.Panicked(); p != nil {
		panic(p)
	}
	return m.closeErr
}

// finish ends Close's work, once: it settles what every Close returns and
// cancels the context. Nothing holds the writer role or ever will, so the
// role's flushErr is safe to read.
func (m *Multiplexer[T]) finish() {
	if !m.finishing.CompareAndSwap(false, true) {
		return
	}
	m.mu.Lock()
	err := m.stopCause
	m.mu.Unlock()
	if m.flushErr != nil {
		err = m.flushErr
	}
	m.closeErr = err
	// No Join: the Multiplexer starts no goroutine. The writes that ran
	// on producers' goroutines are what Close waited for.
	m.owner.Stop(m.owner.ErrClosed())
	close(m.finished)
}
