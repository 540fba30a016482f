package pool

import (
	"time"

	"github.com/go-compendium/compendium/internal/lifecycle"
)

// A WorkersOption configures [NewWorkers]: [QueueCapacity], [CancelOnError],
// [IdleTimeout] and [TaskTimeout]. Each sets one thing and none changes
// what another does, so they can be given in any order; a later option of
// the same kind wins. The interface is sealed: only this package
// implements it.
type WorkersOption interface {
	apply(*workersConfig)
}

// defaultQueue is the queue capacity without QueueCapacity: deep enough
// that a producer faster than the workers parks once per defaultQueue/2
// tasks rather than once per task, shallow enough that a cancellation
// skips few tasks. BenchmarkWorkers' queue= rows measure it.
const defaultQueue = 64

// workersConfig is what the options set; NewWorkers reads it once.
type workersConfig struct {
	queue         int
	cancelOnError bool
	idle          time.Duration // 0: workers wait for tasks until Close
	timeout       time.Duration // 0: tasks have no deadline of their own
}

// queueCapacity is the option QueueCapacity returns.
type queueCapacity int

func (q queueCapacity) apply(c *workersConfig) { c.queue = int(q) }

// QueueCapacity sets how many accepted tasks may wait for a worker (64
// without this option). Beyond it, a [Workers.Go] from outside the pool
// blocks, [Workers.TryGo] refuses, and a Go from inside a task runs the
// task itself (see [Workers.Go]). Zero means hand-off: a task is accepted
// only when a worker is idle or can be started to take it at once.
//
// The queue's memory grows with the tasks actually waiting, so a large
// capacity costs nothing until it is used; it is still the bound on work
// accepted ahead of the workers, all of it skipped if the pool is closed.
//
// QueueCapacity panics if q is negative.
func QueueCapacity(q int) WorkersOption {
	lifecycle.Min("pool", "QueueCapacity", "q", q, 0)
	return queueCapacity(q)
}

// cancelOnError is the option CancelOnError returns.
type cancelOnError struct{}

func (cancelOnError) apply(c *workersConfig) { c.cancelOnError = true }

// CancelOnError gives a [Workers] the rule of [golang.org/x/sync/errgroup]:
// the first task to fail (return an error or call runtime.Goexit) cancels
// the pool's context with that error as the cause, the tasks still queued
// are skipped, Go and TryGo refuse new ones, and every Wait and Close
// returns that first error. Use it for a job that is worth nothing once one
// part has failed.
//
// Without it a task's error cancels nothing: the pool keeps serving, and
// [Workers.Wait] reports the errors of the tasks it waited for.
func CancelOnError() WorkersOption { return cancelOnError{} }

// idleTimeout is the option IdleTimeout returns.
type idleTimeout time.Duration

func (d idleTimeout) apply(c *workersConfig) { c.idle = time.Duration(d) }

// IdleTimeout makes a worker goroutine exit once it has waited d for a
// task; a new one starts when a task arrives and fewer than the limit are
// running. Idle workers are woken last-parked first, so under a light load
// the same few stay busy and the rest exit: the pool shrinks to what the
// load needs. Without it, workers once started run until
// [Workers.Close].
//
// IdleTimeout panics if d is not positive.
func IdleTimeout(d time.Duration) WorkersOption {
	lifecycle.Positive("pool", "IdleTimeout", "d", d)
	return idleTimeout(d)
}

// taskTimeout is the option TaskTimeout returns.
type taskTimeout time.Duration

func (d taskTimeout) apply(c *workersConfig) { c.timeout = time.Duration(d) }

// TaskTimeout gives every task a deadline d after it starts: its context
// ends then, with ctx.Err() = [context.DeadlineExceeded] and a cause that
// says so. The task keeps its worker until it returns, so a task that
// ignores its context delays the next one but can never make more tasks
// run at once than the limit. (timeout.Call returns at the deadline while
// its function runs on; inside a pool that would free the slot early.)
//
// The clock starts when the task starts, not when it is submitted: time in
// the queue is bounded by the ctx given to [Workers.Go]. A deadline costs
// a context and a timer per task (the workers-deadline row of pool.Workers
// in bench/RESULTS.md): small beside a task that needs one.
//
// TaskTimeout panics if d is not positive.
func TaskTimeout(d time.Duration) WorkersOption {
	lifecycle.Positive("pool", "TaskTimeout", "d", d)
	return taskTimeout(d)
}
