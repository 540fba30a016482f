// Package pool provides reuse: bounded free lists that recycle memory
// buffers instead of leaving them to the garbage collector, and a bounded
// worker pool that reuses goroutines instead of starting one per task.
//
// # Worker pools
//
// [Workers] is the worker pool of John Graham-Cumming's load balancer (A
// Channel Compendium, GopherCon 2014) and of Railgun's "a goroutine per
// connection and some coordinating goroutines": n long-lived goroutines
// take tasks from one bounded queue. It is done the way the talk's slides
// are not: the queue is bounded, so a producer faster than the workers is
// slowed down ([Workers.Go] blocks, [Workers.TryGo] refuses) instead of
// growing memory without limit; a blocked Go honours its context, so it
// never blocks forever; the first error cancels the other tasks and is
// returned by [Workers.Wait], as in [golang.org/x/sync/errgroup]; a
// task's panic is recovered with its stack on the worker, cancels the pool,
// and is re-raised by Wait on the caller's goroutine as a [*PanicError];
// a task that calls runtime.Goexit (t.FailNow, t.SkipNow) counts as done,
// as in errgroup, and its worker is replaced; the tasks skipped because
// the pool was cancelled are counted, not lost; and [Workers.Close] stops
// and joins every worker, so nothing leaks. [Workers.Stats] keeps the
// counters.
//
// Bryan C. Mills argues against the pattern ("Rethinking Classical
// Concurrency Patterns", GopherCon 2018): in Go, goroutines are cheap, and
// a pool of idle workers is state to size, start and shut down, with
// lifetimes separate from the work. His alternative is to start a goroutine
// for each task when you have it and bound how many run with a semaphore,
// acquired before the go statement: errgroup.SetLimit, or compendium's
// semaphore.Group. That is the better default: there is no queue to size,
// no worker to leak, and each task's goroutine ends with it.
//
// A worker pool earns its keep when the per-task overhead matters, which
// BenchmarkWorkers measures (go run ./bench/cmd/compare -run 'pool\.';
// 2-core reference machine shared with other work, GOMAXPROCS=2, 4
// workers, 1,000 tasks submitted then waited for; ranges over several
// runs):
//
//	per task               tiny (atomic add)  ~1µs of CPU    allocs
//	Workers                43-52 ns           0.73-0.84 µs   0
//	semaphore.Group        250-310 ns         1.2-1.3 µs     1
//	errgroup.SetLimit      330-360 ns         0.83-1.2 µs    1
//	goroutine per task     200-230 ns         0.75-1.1 µs    1 (no bound)
//	mutex-guarded slice    20-30 ns           0.73-0.76 µs   0 (no bound)
//
// For tiny tasks the pool is four to seven times cheaper than a goroutine
// per task, gated or not (0.15x errgroup.SetLimit), because it starts
// no goroutine and allocates nothing per task. The bare mutex-guarded
// slice of workers is cheaper still, because it does nothing else: no
// bound on its queue, no context, no errors, no panics, no counters. At a
// microsecond of work the pool still leads the goroutine-per-task
// designs, by up to 1.6x but with much noise between runs; at ten
// microseconds of work (measured apart, same machine) Workers,
// semaphore.Group and errgroup are within 4% of one another, and at fifty
// within 2%: the work dominates, and Mills' advice holds.
//
// So use Workers for many small tasks (parsing records, hashing chunks,
// cheap calls fanned out), when a long-lived worker keeps something warm,
// or when you want a hard bound on queued work in front of a fixed number
// of goroutines. Use semaphore.Group or errgroup.SetLimit for tasks of ten
// microseconds or more, where a goroutine per task costs nothing that
// shows and is simpler to reason about, and a plain go statement with a
// sync.WaitGroup when nothing needs bounding.
//
// # Choosing the queue capacity
//
// The queue holds 64 tasks unless [QueueCapacity] says otherwise. A
// producer faster than the workers blocks when the queue is full and is
// woken when it is half empty, so the capacity sets how often it parks.
// The tiny-task benchmark with 4 workers: capacity 0 (hand-off) 150-160 ns
// per task, 4 about 87 ns, 16 about 53 ns, 64 about 43 ns, 1,024 about
// 37 ns. A deeper queue buys little more, costs 8 bytes a slot, and means
// more work accepted ahead of the workers, all of it skipped if the pool is
// cancelled.
package pool
