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
// and is re-raised by Wait on the caller's goroutine as a [*PanicError]; a
// task that calls runtime.Goexit (t.FailNow, t.SkipNow) counts as done, as
// in errgroup, and its worker is replaced; the tasks skipped because the pool was cancelled are counted,
// not lost; and [Workers.Close] stops and joins every worker, so nothing
// leaks. [Workers.Stats] keeps the counters.
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
// 2-core reference machine, GOMAXPROCS=2, 4 workers, 1,000 tasks submitted
// then waited for):
//
//	task             Workers  errgroup.SetLimit  goroutine per task  mutex-guarded slice
//	atomic add       47 ns    406 ns             272 ns              26 ns
//	~1µs of CPU      1.13 µs  1.28 µs            1.28 µs             1.07 µs
//	allocs per task  0        1                  1                   0
//
// For tiny tasks a pool is about eight times cheaper than starting a
// goroutine per task, because it starts none and allocates nothing per
// task; the bare mutex-guarded slice of workers is cheaper still, because
// it does nothing else (no bound, no context, no errors, no panics, no
// counters). Once a task does a microsecond of work, every approach is
// within about 15% of the others: the work dominates, and Mills' advice
// holds. So use Workers for many small tasks (parsing records, hashing
// chunks, fan-out of cheap calls), when a long-lived worker keeps
// something warm, or when you want a queue with a hard bound in front of a
// fixed number of goroutines; use errgroup.SetLimit or semaphore.Group for
// tasks of a few microseconds or more, and a plain go statement with a
// sync.WaitGroup when nothing needs bounding.
//
// # Choosing the queue capacity
//
// The queue holds 64 tasks unless [QueueCapacity] says otherwise. A
// producer faster than the workers blocks when the queue is full and is
// woken when it is half empty, so the capacity sets how often it parks; the
// same benchmark with 4 workers: capacity 0 (hand-off) 160 ns per task, 4
// 95 ns, 16 60 ns, 64 44 ns, 1,024 42 ns. A deeper queue buys little more
// and means more tasks skipped (and more work accepted ahead of the
// workers) when the pool is cancelled.
package pool
