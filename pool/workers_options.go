package pool

import (
	"fmt"
	"time"
)

// A WorkersOption configures [NewWorkers]. The options are [QueueCapacity],
// [JoinErrors] and [IdleTimeout]; each sets one thing, and none changes
// what another does, so they can be given in any order. The interface is sealed: only this
// package implements it.
type WorkersOption interface {
	apply(*workersConfig)
}

// defaultQueue is the queue capacity without QueueCapacity.
const defaultQueue = 64

// workersConfig is what the options set; NewWorkers reads it once.
type workersConfig struct {
	// queue is the task queue's capacity.
	queue int
	// join keeps the pool running after a task error and makes Wait
	// return every error with errors.Join.
	join bool
	// idle is how long a worker waits for a task before it exits; 0
	// means forever.
	idle time.Duration
}

// queueCapacity is the option QueueCapacity returns.
type queueCapacity int

func (q queueCapacity) apply(c *workersConfig) { c.queue = int(q) }

// QueueCapacity sets how many submitted tasks may wait for a worker before
// [Workers.Go] blocks and [Workers.TryGo] fails. Zero means hand-off: a task
// is accepted only when a worker is idle or can be started to take it at
// once. The default is 64: deep enough that a producer faster than the
// workers parks once per 32 tasks rather than once per task, shallow enough
// that a cancellation skips few tasks (see "Choosing the queue capacity" in
// the package documentation for the measurements).
//
// QueueCapacity panics if q is negative: an unbounded queue is exactly what
// this pool exists to prevent, and no negative value has another meaning
// worth guessing.
func QueueCapacity(q int) WorkersOption {
	if q < 0 {
		panic(fmt.Sprintf("pool: queue capacity must be at least 0, got %d", q))
	}
	return queueCapacity(q)
}

// joinErrors is the option JoinErrors returns.
type joinErrors struct{}

func (joinErrors) apply(c *workersConfig) { c.join = true }

// JoinErrors makes a [Workers] keep running after a task returns an error:
// the pool's context is not cancelled, and [Workers.Wait] returns every
// error, joined with [errors.Join], in the order the tasks finished. Each
// error is returned once: a pool reused after Wait starts the next round
// with none. Without
// it the first error cancels the pool and Wait returns that error alone, as
// [golang.org/x/sync/errgroup] does. A panic cancels the pool either way.
func JoinErrors() WorkersOption { return joinErrors{} }

// idleTimeout is the option IdleTimeout returns.
type idleTimeout time.Duration

func (d idleTimeout) apply(c *workersConfig) { c.idle = time.Duration(d) }

// IdleTimeout makes a worker goroutine exit once it has waited d for a
// task; a new one starts when a task arrives and fewer than n are running.
// Idle workers are woken last-parked first, so under a light load the same
// few stay busy and the rest time out: the pool shrinks to what the load
// needs, as the talk's aging recycler does for buffers. Without it the
// workers, once started, run until [Workers.Close].
//
// IdleTimeout panics if d is not positive.
func IdleTimeout(d time.Duration) WorkersOption {
	if d <= 0 {
		panic(fmt.Sprintf("pool: idle timeout must be positive, got %v", d))
	}
	return idleTimeout(d)
}
