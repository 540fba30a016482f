package benchmarks

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/go-compendium/compendium/pool"
	"github.com/go-compendium/compendium/semaphore"
)

// workersBatch is how many tasks one benchmark op submits before it waits
// for them all: a job of many small tasks, the case worker pools are for.
const workersBatch = 1000

// PoolWorkers compares ways of running many small tasks on a bounded
// number of goroutines: pool.Workers (a fixed set of workers on a bounded
// queue), semaphore.Group and errgroup.SetLimit (a goroutine per task,
// started once a semaphore slot is free: Mills' "acquire before go"), a
// goroutine per task with a WaitGroup (no bound at all), and workers
// pulling from a mutex-guarded queue (no bound, no context, no counters:
// the floor).
//
// One op submits 1,000 tasks and waits for them, reusing one pool across
// ops; ns/task and allocs/task divide by the 1,000. Every implementation
// runs the same task, a func returning an error that it checks. task=tiny
// is an atomic add, where the per-task overhead is everything; task=cpu1us
// spins for about a microsecond, where the workers compete for the CPUs.
// impl=goroutines has no bound, so the workers= level does not apply to
// it: it runs once, beside the 4-worker cases.
//
// Beside the 4-worker cases, pool.Workers also runs as its features are
// used, each against plain impl=workers: workers-ctx passes a cancellable
// ctx to Go (the task's context is merged with the pool's), workers-deadline
// has a TaskTimeout (a timer per task), workers-inside submits 990 of the
// 1,000 tasks from inside 10 tasks (recursive submission), and
// workers-q0/q16/q1024 set the queue's capacity around the default of 64.
func PoolWorkers() Pattern {
	p := Pattern{
		Pkg:  "pool",
		Name: "Workers",
		Doc:  "1,000 tasks submitted then waited for, per op: ns and allocs per task, by implementation and worker count",
		Ours: []string{"workers", "workers-ctx", "workers-deadline", "workers-inside", "workers-q0", "workers-q16", "workers-q1024"},
	}
	tasks := []struct {
		name string
		body func(*atomic.Int64)
	}{
		{"tiny", func(n *atomic.Int64) { n.Add(1) }},
		{"cpu1us", func(n *atomic.Int64) { n.Add(workersSpin(workersSpinRounds)) }},
	}
	type impl struct {
		name string
		run  func(workers int, task func() error) workersImpl
	}
	impls := []impl{
		{"workers", newWorkersOurs()},
		{"group", newWorkersGroup},
		{"errgroup", newWorkersErrgroup},
		{"goroutines", newWorkersGoroutines},
		{"mutexqueue", newWorkersMutexQueue},
	}
	variants := []impl{
		{"workers-ctx", newWorkersCtx},
		{"workers-deadline", newWorkersOurs(pool.TaskTimeout(time.Minute))},
		{"workers-inside", newWorkersInside},
		{"workers-q0", newWorkersOurs(pool.QueueCapacity(0))},
		{"workers-q16", newWorkersOurs(pool.QueueCapacity(16))},
		{"workers-q1024", newWorkersOurs(pool.QueueCapacity(1024))},
	}
	for _, task := range tasks {
		for _, workers := range []int{2, 4, 8} {
			all := impls
			if workers == 4 && task.name == "tiny" {
				all = slices.Concat(impls[:1], variants, impls[1:])
			}
			for _, impl := range all {
				if impl.name == "goroutines" && workers != 4 {
					continue
				}
				p.Cases = append(p.Cases, Case{
					Name: fmt.Sprintf("task=%s/workers=%d/impl=%s", task.name, workers, impl.name),
					F: func(b *testing.B) {
						var n atomic.Int64
						task := func() error { task.body(&n); return nil }
						benchWorkers(b, impl.run(workers, task))
					},
				})
			}
		}
	}
	return p
}

// PoolWorkersTuning runs PoolWorkers' tiny-task rows of pool.Workers
// (the default queue of 64, 2, 4 and 8 workers) with its two scheduling
// aids on and off: the Gosched with which a worker that has just woken a
// submitter blocked for room lets it refill the queue (impl=yield, or
// impl=noyield without it), and the mark at which a blocked submitter is
// woken: when the queue is down to half (mark=half) or as soon as one
// slot is free (mark=one), the alternative the code argues against. tune
// sets them; only pool's own tests can, so the pattern is not in All: run
// it as BenchmarkWorkersTuning in package pool, with -cpu 1,2,4,8.
func PoolWorkersTuning(tune func(w *pool.Workers, yield, half bool)) Pattern {
	p := Pattern{
		Pkg:  "pool",
		Name: "WorkersTuning",
		Doc:  "BenchmarkWorkers' task=tiny rows of pool.Workers with the yield after a wake-up on and off, waking blocked submitters at half the queue or at one free slot; ns per task.",
		Ours: []string{"yield"},
	}
	aids := []struct {
		name  string
		yield bool
	}{{"yield", true}, {"noyield", false}}
	marks := []struct {
		name string
		half bool
	}{{"half", true}, {"one", false}}
	for _, workers := range []int{2, 4, 8} {
		for _, m := range marks {
			for _, a := range aids {
				p.Cases = append(p.Cases, Case{
					Name: fmt.Sprintf("task=tiny/workers=%d/mark=%s/impl=%s", workers, m.name, a.name),
					F: func(b *testing.B) {
						var n atomic.Int64
						r := newWorkersOurs()(workers, func() error { n.Add(1); return nil }).(*workersOurs)
						tune(r.w, a.yield, m.half)
						benchWorkers(b, r)
					},
				})
			}
		}
	}
	return p
}

// workersSpinRounds makes workersSpin take about a microsecond on the
// reference machine.
const workersSpinRounds = 750

// workersSpin is CPU work that the compiler cannot remove: a chain of
// dependent multiply-xorshift rounds.
func workersSpin(rounds int) int64 {
	x := uint64(rounds) | 1
	for range rounds {
		x ^= x >> 13
		x *= 0x9e3779b97f4a7c15
	}
	return int64(x & 1)
}

// workersImpl is one implementation under test: submit hands it one task
// (the same pre-built func every time, so no implementation pays for a
// closure the others do not), wait waits for every task submitted so far,
// and close releases its goroutines.
type workersImpl interface {
	submit()
	wait()
	close()
}

// benchWorkers submits workersBatch tasks per op and waits for them.
func benchWorkers(b *testing.B, r workersImpl) {
	defer r.close()
	u := PerUnit(b, "task")
	// for range b.N, not b.Loop: the result depends on GOMAXPROCS
	// (golang/go#49980).
	for range b.N {
		for range workersBatch {
			r.submit()
		}
		r.wait()
	}
	u.Stop(b.N * workersBatch)
}

// workersOurs is compendium's pool.Workers; ctx is what Go is given.
type workersOurs struct {
	w      *pool.Workers
	ctx    context.Context
	cancel context.CancelFunc
	task   func(context.Context) error
}

// newWorkersOurs returns the constructor of a pool.Workers with opts.
func newWorkersOurs(opts ...pool.WorkersOption) func(int, func() error) workersImpl {
	return func(workers int, task func() error) workersImpl {
		return &workersOurs{
			w:    pool.NewWorkers(context.Background(), workers, opts...),
			ctx:  context.Background(),
			task: func(context.Context) error { return task() },
		}
	}
}

// newWorkersCtx is pool.Workers given a cancellable ctx, as a server passes
// a request's: each task's context is merged with the pool's.
func newWorkersCtx(workers int, task func() error) workersImpl {
	r := newWorkersOurs()(workers, task).(*workersOurs)
	r.ctx, r.cancel = context.WithCancel(context.Background())
	return r
}

func (r *workersOurs) submit() {
	if err := r.w.Go(r.ctx, r.task); err != nil {
		panic(err)
	}
}
func (r *workersOurs) wait() {
	if err := r.w.Wait(); err != nil {
		panic(err)
	}
}
func (r *workersOurs) close() {
	_ = r.w.Close()
	if r.cancel != nil {
		r.cancel()
	}
}

// workersInside submits 1 task in workersFan from outside, and each of
// those submits the next workersFan-1 from inside, with its own ctx:
// recursive submission, at the same 1,000 tasks per op.
type workersInside struct {
	w      *pool.Workers
	task   func(context.Context) error
	parent func(context.Context) error
	i      int
}

const workersFan = 100

func newWorkersInside(workers int, task func() error) workersImpl {
	r := &workersInside{w: pool.NewWorkers(context.Background(), workers)}
	r.task = func(context.Context) error { return task() }
	r.parent = func(ctx context.Context) error {
		for range workersFan - 1 {
			if err := r.w.Go(ctx, r.task); err != nil {
				return err
			}
		}
		return task()
	}
	return r
}

func (r *workersInside) submit() {
	// Only every workersFan-th call submits: the parent submits the rest.
	if r.i++; r.i < workersFan {
		return
	}
	r.i = 0
	if err := r.w.Go(context.Background(), r.parent); err != nil {
		panic(err)
	}
}
func (r *workersInside) wait() {
	if err := r.w.Wait(); err != nil {
		panic(err)
	}
}
func (r *workersInside) close() { _ = r.w.Close() }

// workersGroup is compendium's semaphore.Group. Its Wait joins without
// closing it, so one Group serves every op.
type workersGroup struct {
	g    *semaphore.Group
	task func(context.Context) error
}

func newWorkersGroup(workers int, task func() error) workersImpl {
	return &workersGroup{
		g:    semaphore.NewGroup(context.Background(), workers),
		task: func(context.Context) error { return task() },
	}
}

func (r *workersGroup) submit() {
	if err := r.g.Go(context.Background(), r.task); err != nil {
		panic(err)
	}
}
func (r *workersGroup) wait() {
	if err := r.g.Wait(); err != nil {
		panic(err)
	}
}
func (r *workersGroup) close() { _ = r.g.Close() }

// workersErrgroup is errgroup.Group with SetLimit: a goroutine per task,
// started once one of the limit's tokens is free.
type workersErrgroup struct {
	g    errgroup.Group
	task func() error
}

func newWorkersErrgroup(workers int, task func() error) workersImpl {
	r := &workersErrgroup{task: task}
	r.g.SetLimit(workers)
	return r
}

func (r *workersErrgroup) submit() { r.g.Go(r.task) }
func (r *workersErrgroup) wait() {
	if err := r.g.Wait(); err != nil {
		panic(err)
	}
}
func (r *workersErrgroup) close() {}

// firstError keeps the first error of a batch, as the others do, for the
// implementations that have no error handling of their own.
type firstError struct {
	once sync.Once
	err  error
}

func (f *firstError) set(err error) {
	if err != nil {
		f.once.Do(func() { f.err = err })
	}
}

func (f *firstError) check() {
	if f.err != nil {
		panic(f.err)
	}
}

// workersGoroutines starts a goroutine per task, with no bound, and waits
// with a WaitGroup.
type workersGoroutines struct {
	wg   sync.WaitGroup
	task func() error
	firstError
}

func newWorkersGoroutines(_ int, task func() error) workersImpl {
	return &workersGoroutines{task: task}
}

func (r *workersGoroutines) submit() {
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		r.set(r.task())
	}()
}
func (r *workersGoroutines) wait()  { r.wg.Wait(); r.check() }
func (r *workersGoroutines) close() {}

// workersMutexQueue is a fixed set of workers pulling tasks from a slice
// guarded by a mutex, parked on a sync.Cond while it is empty: the worker
// pool without channels. It is a FIFO, as pool.Workers is, but unbounded:
// a batch never waits for room, where pool.Workers' default queue of 64
// makes the submitter wait (workers-q1024 is the like-for-like row).
type workersMutexQueue struct {
	task    func() error
	mu      sync.Mutex
	ready   sync.Cond // signalled when a task is pushed or on close
	queue   []func() error
	head    int
	idle    int // workers waiting on ready
	closed  bool
	tasks   sync.WaitGroup
	workers sync.WaitGroup
	firstError
}

func newWorkersMutexQueue(workers int, task func() error) workersImpl {
	r := &workersMutexQueue{task: task, queue: make([]func() error, 0, workersBatch)}
	r.ready.L = &r.mu
	r.workers.Add(workers)
	for range workers {
		go r.work()
	}
	return r
}

func (r *workersMutexQueue) work() {
	defer r.workers.Done()
	r.mu.Lock()
	for {
		for r.head == len(r.queue) && !r.closed {
			r.idle++
			r.ready.Wait()
			r.idle--
		}
		if r.closed {
			r.mu.Unlock()
			return
		}
		task := r.queue[r.head]
		if r.head++; r.head == len(r.queue) {
			r.head, r.queue = 0, r.queue[:0] // empty: reuse the array from the start
		}
		r.mu.Unlock()
		err := task()
		r.mu.Lock()
		r.set(err)
		r.tasks.Done()
	}
}

func (r *workersMutexQueue) submit() {
	r.tasks.Add(1)
	r.mu.Lock()
	r.queue = append(r.queue, r.task)
	wake := r.idle > 0
	r.mu.Unlock()
	// Signal only when a worker sleeps: a signal per task would cost the
	// naive version a futex call it does not need.
	if wake {
		r.ready.Signal()
	}
}

func (r *workersMutexQueue) wait() { r.tasks.Wait(); r.check() }

func (r *workersMutexQueue) close() {
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	r.ready.Broadcast()
	r.workers.Wait()
}
