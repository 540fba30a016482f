package benchmarks

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

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
// pulling from a mutex-guarded slice.
//
// One op submits 1,000 tasks and waits for them, reusing one pool across
// ops; ns/task and allocs/task divide by the 1,000. task=tiny is an atomic
// add, where the per-task overhead is everything; task=cpu1us spins for
// about a microsecond, where the workers compete for the CPUs.
// impl=goroutines has no bound, so the workers= level does not apply to
// it: it runs once, beside the 4-worker cases.
func PoolWorkers() Pattern {
	p := Pattern{
		Pkg:  "pool",
		Name: "Workers",
		Doc:  "1,000 tasks submitted then waited for, per op: ns and allocs per task, by implementation and worker count",
		Ours: []string{"workers"},
	}
	tasks := []struct {
		name string
		body func(*atomic.Int64)
	}{
		{"tiny", func(n *atomic.Int64) { n.Add(1) }},
		{"cpu1us", func(n *atomic.Int64) { n.Add(workersSpin(workersSpinRounds)) }},
	}
	impls := []struct {
		name string
		run  func(workers int, body func()) workersImpl
	}{
		{"workers", newWorkersOurs},
		{"group", newWorkersGroup},
		{"errgroup", newWorkersErrgroup},
		{"goroutines", newWorkersGoroutines},
		{"mutexqueue", newWorkersMutexQueue},
	}
	for _, task := range tasks {
		for _, workers := range []int{2, 4, 8} {
			for _, impl := range impls {
				if impl.name == "goroutines" && workers != 4 {
					continue
				}
				p.Cases = append(p.Cases, Case{
					Name: fmt.Sprintf("task=%s/workers=%d/impl=%s", task.name, workers, impl.name),
					F: func(b *testing.B) {
						var n atomic.Int64
						body := func() { task.body(&n) }
						benchWorkers(b, impl.run(workers, body))
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

// workersOurs is compendium's pool.Workers.
type workersOurs struct {
	w    *pool.Workers
	task func(context.Context) error
}

func newWorkersOurs(workers int, body func()) workersImpl {
	return &workersOurs{
		w:    pool.NewWorkers(context.Background(), workers),
		task: func(context.Context) error { body(); return nil },
	}
}

func (r *workersOurs) submit() {
	if err := r.w.Go(context.Background(), r.task); err != nil {
		panic(err)
	}
}
func (r *workersOurs) wait() {
	if err := r.w.Wait(); err != nil {
		panic(err)
	}
}
func (r *workersOurs) close() { _ = r.w.Close() }

// workersGroup is compendium's semaphore.Group. Its Wait joins without
// closing it, so one Group serves every op.
type workersGroup struct {
	g    *semaphore.Group
	task func(context.Context) error
}

func newWorkersGroup(workers int, body func()) workersImpl {
	return &workersGroup{
		g:    semaphore.NewGroup(context.Background(), workers),
		task: func(context.Context) error { body(); return nil },
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

func newWorkersErrgroup(workers int, body func()) workersImpl {
	r := &workersErrgroup{task: func() error { body(); return nil }}
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

// workersGoroutines starts a goroutine per task, with no bound, and waits
// with a WaitGroup.
type workersGoroutines struct {
	wg   sync.WaitGroup
	body func()
}

func newWorkersGoroutines(_ int, body func()) workersImpl { return &workersGoroutines{body: body} }

func (r *workersGoroutines) submit() {
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		r.body()
	}()
}
func (r *workersGoroutines) wait()  { r.wg.Wait() }
func (r *workersGoroutines) close() {}

// workersMutexQueue is a fixed set of workers pulling tasks from a slice
// guarded by a mutex, parked on a sync.Cond while it is empty: the worker
// pool without channels. The slice is a stack, since order does not matter
// here and popping from the end keeps its backing array for reuse.
type workersMutexQueue struct {
	body    func()
	mu      sync.Mutex
	ready   sync.Cond // signalled when a task is pushed or on close
	queue   []func()
	idle    int // workers waiting on ready
	closed  bool
	tasks   sync.WaitGroup
	workers sync.WaitGroup
}

func newWorkersMutexQueue(workers int, body func()) workersImpl {
	r := &workersMutexQueue{body: body, queue: make([]func(), 0, workersBatch)}
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
		for len(r.queue) == 0 && !r.closed {
			r.idle++
			r.ready.Wait()
			r.idle--
		}
		if r.closed {
			r.mu.Unlock()
			return
		}
		task := r.queue[len(r.queue)-1]
		r.queue = r.queue[:len(r.queue)-1]
		r.mu.Unlock()
		task()
		r.tasks.Done()
		r.mu.Lock()
	}
}

func (r *workersMutexQueue) submit() {
	r.tasks.Add(1)
	r.mu.Lock()
	r.queue = append(r.queue, r.body)
	wake := r.idle > 0
	r.mu.Unlock()
	// Signal only when a worker sleeps: a signal per task would cost the
	// naive version a futex call it does not need.
	if wake {
		r.ready.Signal()
	}
}

func (r *workersMutexQueue) wait() { r.tasks.Wait() }

func (r *workersMutexQueue) close() {
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	r.ready.Broadcast()
	r.workers.Wait()
}
