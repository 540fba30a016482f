package timeout_test

import (
	"fmt"
	"time"

	"github.com/go-compendium/compendium/timeout"
)

// This example supervises three workers: worker 1 takes a job and hangs,
// while workers 0 and 2 wait for work. The Watchdog names worker 1, and
// only worker 1: a worker waiting for work is idle, not stalled.
func ExampleWatchdog() {
	w := timeout.NewWatchdog(10*time.Millisecond, 3)
	defer w.Close()
	jobs := make([]chan func(), 3) // worker i takes its jobs from jobs[i]
	for i := range jobs {
		jobs[i] = make(chan func())
		go func() {
			for job := range jobs[i] {
				w.Busy(i)
				job()
				w.Idle(i)
			}
		}()
	}
	unstick := make(chan struct{})
	jobs[1] <- func() { <-unstick } // hangs until the supervisor acts
	fmt.Println("worker", <-w.Stalled(), "stalled")
	close(unstick)
	for _, c := range jobs {
		close(c)
	}
	// Output: worker 1 stalled
}

// This example creates a Watchdog over four workers: all idle, so nothing
// is watched until one of them calls Busy.
func ExampleNewWatchdog() {
	w := timeout.NewWatchdog(time.Millisecond, 4)
	// Ten periods pass with no report: an idle worker never stalls, on
	// a machine of any speed.
	select {
	case i := <-w.Stalled():
		fmt.Println("stalled:", i)
	case <-time.After(10 * time.Millisecond):
		fmt.Println("four idle workers, none stalled")
	}
	fmt.Println(w.Close())
	// Output:
	// four idle workers, none stalled
	// <nil>
}

// This example shows that a stall is counted from Busy: a worker that
// takes a job and then makes no progress is reported d later.
func ExampleWatchdog_Busy() {
	w := timeout.NewWatchdog(5*time.Millisecond, 2)
	defer w.Close()
	start := time.Now()
	w.Busy(1)
	i := <-w.Stalled()
	fmt.Println("worker", i, "stalled, after at least 5ms:", time.Since(start) >= 5*time.Millisecond)
	// Output: worker 1 stalled, after at least 5ms: true
}

// This example beats in a tight loop: Beat never blocks and leaves no
// backlog, so a worker can call it on every unit of progress.
func ExampleWatchdog_Beat() {
	w := timeout.NewWatchdog(time.Hour, 1)
	defer w.Close()
	w.Busy(0)
	for range 10_000 {
		w.Beat(0) // a unit of progress
	}
	w.Idle(0)
	fmt.Println("ten thousand beats, no backlog")
	// Output: ten thousand beats, no backlog
}

// This example shows that once a worker is idle it is no longer watched:
// its stall was reported, it gave up its job, and no further report comes.
func ExampleWatchdog_Idle() {
	w := timeout.NewWatchdog(time.Millisecond, 1)
	defer w.Close()
	w.Busy(0)
	fmt.Println("stalled:", <-w.Stalled())
	w.Idle(0) // the job is abandoned; the worker waits for the next
	select {
	case <-w.Stalled():
		fmt.Println("reported again")
	case <-time.After(20 * time.Millisecond):
		fmt.Println("idle: quiet")
	}
	// Output:
	// stalled: 0
	// idle: quiet
}

// This example reads Stalled in a select beside the supervisor's other
// events, as any channel.
func ExampleWatchdog_Stalled() {
	w := timeout.NewWatchdog(time.Millisecond, 2)
	defer w.Close()
	finished := make(chan int) // no worker ever finishes here
	w.Busy(0)
	select {
	case i := <-w.Stalled():
		fmt.Println("worker", i, "stalled")
	case i := <-finished:
		fmt.Println("worker", i, "finished")
	}
	// Output: worker 0 stalled
}

// This example closes a Watchdog: no report comes after Close, and
// Stalled is closed, so a supervisor ranging over it stops.
func ExampleWatchdog_Close() {
	w := timeout.NewWatchdog(time.Millisecond, 1)
	w.Busy(0)
	fmt.Println("stalled:", <-w.Stalled())
	fmt.Println(w.Close(), w.Close())
	w.Beat(0) // would bring a report 1ms later; after Close, none
	for i := range w.Stalled() {
		fmt.Println("reported after Close:", i)
	}
	fmt.Println("Stalled is closed")
	// Output:
	// stalled: 0
	// <nil> <nil>
	// Stalled is closed
}
