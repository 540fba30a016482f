package timeout_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/go-compendium/compendium"
	"github.com/go-compendium/compendium/timeout"
)

// The whole package in one sitting: a worker under a Stopper serves
// requests; the caller hands it one with a bounded Send, reads the reply
// with a bounded Recv, gives another call 50ms with Call, and stops the
// worker, verifiably, at the end. The bounds a healthy worker must meet are
// an hour and the call that must time out never answers, so the output is
// the same however slow the machine.
func Example() {
	ctx := context.Background()
	requests, replies := make(chan string), make(chan string)

	var st timeout.Stopper
	_ = st.Go(func(quit <-chan struct{}) {
		for {
			select {
			case r := <-requests:
				select {
				case replies <- "served " + r:
				case <-quit:
					return
				}
			case <-quit:
				return
			}
		}
	})

	if err := timeout.Send(ctx, requests, "req-1", time.Hour); err != nil {
		fmt.Println(err)
	}
	reply, err := timeout.Recv(ctx, replies, time.Hour)
	fmt.Println(reply, err)

	// A call that does not answer in time: Call returns at the deadline.
	_, err = timeout.Call(ctx, 50*time.Millisecond, func(ctx context.Context) (string, error) {
		<-ctx.Done()
		return "", ctx.Err()
	})
	fmt.Println(err)

	err = st.Close() // closes quit and returns once the worker has returned
	fmt.Println("running after Close:", len(st.Running()), err)
	// Output:
	// served req-1 <nil>
	// timeout: Call: no result within 50ms: context deadline exceeded
	// running after Close: 0 <nil>
}

// The talk's "start gun": goroutines line up on one signal, and one Quit
// releases all of them at the same moment, because a receive from a closed
// channel never blocks.
func ExampleQuit() {
	gun := timeout.NewQuit()
	var wg sync.WaitGroup
	squares := make([]int, 4)
	for i := range squares {
		wg.Go(func() {
			<-gun.Done() // wait for the gun
			squares[i] = i * i
		})
	}
	gun.Quit()
	wg.Wait()
	fmt.Println(squares)
	// Output: [0 1 4 9]
}

// NewQuit and the zero value are the same thing: a signal that has not
// fired.
func ExampleNewQuit() {
	var zero timeout.Quit
	q := timeout.NewQuit()
	fmt.Println(zero.Fired(), q.Fired())
	// Output: false false
}

// The talk's "terminate workers" slide: each worker selects on Done beside
// its work channel, and one Quit stops them all.
func ExampleQuit_Done() {
	q := timeout.NewQuit()
	work := make(chan int)
	var wg sync.WaitGroup
	sums := make([]int, 2)
	for w := range sums {
		wg.Go(func() {
			for {
				select {
				case n := <-work:
					sums[w] += n
				case <-q.Done():
					return
				}
			}
		})
	}
	for n := range 10 {
		work <- n
	}
	q.Quit()
	wg.Wait()
	fmt.Println("total:", sums[0]+sums[1])
	// Output: total: 45
}

// Quit is idempotent: firing twice (say, from a deferred cleanup and from
// an error path) does not panic, and exactly one call reports that it fired
// the signal.
func ExampleQuit_Quit() {
	q := timeout.NewQuit()
	fmt.Println(q.Quit())
	fmt.Println(q.Quit())
	// Output:
	// true
	// false
}

// Fired is a cheap poll for loops that check between units of work rather
// than block in a select.
func ExampleQuit_Fired() {
	q := timeout.NewQuit()
	done := 0
	for i := range 100 {
		if q.Fired() {
			break
		}
		done++
		if i == 41 {
			q.Quit() // say, a shutdown request arrived
		}
	}
	fmt.Println("units done:", done)
	// Output: units done: 42
}

// The talk's "verify termination" slide, fixed. The slide asks the worker
// to stop with `terminate <- true` and then waits for `<-terminate`, the
// worker's reply on the same channel: with a second worker (or a worker
// that replies late) a request can be taken as a reply and a reply as a
// request. A Stopper asks by closing quit, which every worker sees, and
// counts each worker's return itself.
func ExampleStopper() {
	var st timeout.Stopper
	var mu sync.Mutex
	var flushed []string
	for _, name := range []string{"a", "b", "c"} {
		_ = st.GoNamed(name, func(quit <-chan struct{}) {
			<-quit
			mu.Lock()
			flushed = append(flushed, name) // cleanup on the way out
			mu.Unlock()
		})
	}
	err := st.Close() // returns only when all three have returned
	fmt.Println("flushed:", len(flushed), "running:", st.Running(), err)
	// Output: flushed: 3 running: [] <nil>
}

// NewStopper is the same as a zero Stopper.
func ExampleNewStopper() {
	st := timeout.NewStopper()
	fmt.Println(st.Close()) // with no workers, returns at once
	// Output: <nil>
}

// Go names workers "worker 1", "worker 2", ... (counting from 1), and
// refuses new workers once stopping has begun, so none can outlive a Close:
// the error matches compendium.ErrClosed.
func ExampleStopper_Go() {
	st := timeout.NewStopper()
	_ = st.Go(func(quit <-chan struct{}) { <-quit })
	_ = st.Go(func(quit <-chan struct{}) { <-quit })
	fmt.Println(st.Running())
	_ = st.Close()
	err := st.Go(func(quit <-chan struct{}) { <-quit })
	fmt.Println(err, errors.Is(err, compendium.ErrClosed))
	// Output:
	// [worker 1 worker 2]
	// timeout: Stopper is closed true
}

// GoNamed names a worker for StopContext's error and Running.
func ExampleStopper_GoNamed() {
	st := timeout.NewStopper()
	_ = st.GoNamed("poller", func(quit <-chan struct{}) { <-quit })
	fmt.Println(st.Running())
	_ = st.Close()
	// Output: [poller]
}

// Close waits for the workers' cleanup, however long it takes: what they
// did on the way out happens before Close returns. Here the flush hands the
// buffered records to a disk writer, another goroutine, and waits for its
// acknowledgement.
func ExampleStopper_Close() {
	st := timeout.NewStopper()
	writes, acks := make(chan []string), make(chan int)
	go func() { // the disk writer: as slow as the disk
		records := <-writes
		acks <- len(records)
	}()
	saved := 0
	_ = st.Go(func(quit <-chan struct{}) {
		buffered := []string{"a", "b", "c"}
		<-quit
		writes <- buffered // a slow flush
		saved = <-acks
	})
	err := st.Close()
	fmt.Println("saved:", saved, err)
	// Output: saved: 3 <nil>
}

// StopContext bounds the wait and names the workers that did not finish in
// time; a later Close waits for them. The uploader ignores quit until the
// example releases it, so it is certainly still running at the deadline.
// (A worker that obeys quit may or may not have returned by a real-clock
// deadline: TestStopperStopContextNamesStragglers shows quick and slow
// workers together, on a virtual clock.)
func ExampleStopper_StopContext() {
	st := timeout.NewStopper()
	uploaded := make(chan struct{})
	_ = st.GoNamed("uploader", func(quit <-chan struct{}) { <-uploaded }) // ignores quit

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	err := st.StopContext(ctx)
	fmt.Println(err)
	fmt.Println(errors.Is(err, context.DeadlineExceeded))

	close(uploaded)
	_ = st.Close() // waits for the uploader
	fmt.Println(st.Running())
	// Output:
	// timeout: Stopper: 1 still running (uploader): context deadline exceeded
	// true
	// []
}

// Stopping is closed by Close or by a worker's failure: a supervisor can
// watch it to learn that the workers are going down. The panic comes back,
// as a *compendium.PanicError, from Close.
func ExampleStopper_Stopping() {
	st := timeout.NewStopper()
	_ = st.Go(func(quit <-chan struct{}) { panic("worker broke") })
	<-st.Stopping()
	fmt.Println("stopping")
	defer func() { fmt.Println("recovered:", recover().(*compendium.PanicError).Value) }()
	_ = st.Close()
	// Output:
	// stopping
	// recovered: worker broke
}

// Running lists the workers that have not returned, in start order, named
// or numbered; after Close, none. (A worker that returns on its own leaves
// the list when it returns, an instant no example can wait for without a
// poll: TestStopperRunningDropsReturnedWorkers shows it.)
func ExampleStopper_Running() {
	st := timeout.NewStopper()
	_ = st.GoNamed("reader", func(quit <-chan struct{}) { <-quit })
	_ = st.Go(func(quit <-chan struct{}) { <-quit })
	_ = st.GoNamed("writer", func(quit <-chan struct{}) { <-quit })
	fmt.Println(st.Running())
	_ = st.Close()
	fmt.Println(st.Running())
	// Output:
	// [reader worker 2 writer]
	// []
}

// Call gives f a context that ends at the deadline, and returns at the
// deadline even if f ignores it. Here the first call answers well within
// its hour and the second, whose resolver never answers, gets 20ms.
func ExampleCall() {
	ctx := context.Background()
	fast := func(ctx context.Context) (string, error) { return "198.51.100.7", nil }
	stuck := func(ctx context.Context) (string, error) {
		<-ctx.Done() // a resolver that never answers
		return "", ctx.Err()
	}
	addr, err := timeout.Call(ctx, time.Hour, fast)
	fmt.Println(addr, err)
	_, err = timeout.Call(ctx, 20*time.Millisecond, stuck)
	fmt.Println(err)
	fmt.Println(errors.Is(err, timeout.ErrTimeout), errors.Is(err, context.DeadlineExceeded))
	// Output:
	// 198.51.100.7 <nil>
	// timeout: Call: no result within 20ms: context deadline exceeded
	// true true
}

// Do is Call without a result.
func ExampleDo() {
	err := timeout.Do(context.Background(), 10*time.Millisecond, func(ctx context.Context) error {
		<-ctx.Done() // a flush that never finishes
		return ctx.Err()
	})
	fmt.Println(err)
	// Output: timeout: Do: no result within 10ms: context deadline exceeded
}

// Recv tells its three failures apart: a timeout, a cancelled context and a
// closed channel.
func ExampleRecv() {
	ctx := context.Background()
	ch := make(chan int, 1)
	ch <- 7
	v, err := timeout.Recv(ctx, ch, 10*time.Millisecond)
	fmt.Println(v, err)

	_, err = timeout.Recv(ctx, ch, 10*time.Millisecond)
	fmt.Println(errors.Is(err, timeout.ErrTimeout), err)

	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	_, err = timeout.Recv(cancelled, ch, 10*time.Millisecond)
	fmt.Println(err)

	close(ch)
	_, err = timeout.Recv(ctx, ch, 10*time.Millisecond)
	fmt.Println(errors.Is(err, timeout.ErrChannelClosed), err)
	// Output:
	// 7 <nil>
	// true timeout: Recv: no value within 10ms: context deadline exceeded
	// context canceled
	// true timeout: channel closed
}

// RecvUntil takes a deadline, not a duration: every call in the loop shares
// it, so the conversation as a whole ends on time however the messages are
// spaced. Here two messages are waiting and the sender then goes quiet: a
// message already waiting is taken even if the deadline has passed (a
// deadline in the past is a poll), so the loop prints both and then ends at
// the deadline.
func ExampleRecvUntil() {
	ch := make(chan string, 2)
	ch <- "hello"
	ch <- "still here" // then the sender goes quiet, without closing
	deadline := time.Now().Add(20 * time.Millisecond)
	for {
		msg, err := timeout.RecvUntil(context.Background(), ch, deadline)
		if err != nil {
			fmt.Println("conversation over:", errors.Is(err, timeout.ErrTimeout))
			break
		}
		fmt.Println(msg)
	}
	// Output:
	// hello
	// still here
	// conversation over: true
}

// The talk's TIMERS slide puts `case <-time.After(d)` inside a for-select
// loop. That restarts the timeout on every iteration: right for a
// per-message timeout, wrong for a limit on the whole conversation, which a
// chatty sender can then stretch forever. Recv is the first (a d per call),
// RecvUntil the second (one deadline for the loop).
//
// The caller means 20ms in all. The sender says three things at once,
// pauses, then says five more and hangs up. With a per-message timeout the
// loop reads all eight, the last five after the 20ms are up; with the
// deadline it reads three and stops. The pause is a channel the example
// closes, so that the outcome does not depend on the machine's speed: in
// the first loop when the 20ms are up, in the second only after the loop,
// so that it certainly outlasts the deadline.
// TestPerMessageVersusConversationDeadline shows the same two loops against
// a sender that talks every 30ms, with exact times on a virtual clock.
func Example_timeAfterInLoop() {
	const limit = 20 * time.Millisecond // what the caller meant for the whole conversation
	chatty := func(resume <-chan struct{}) <-chan int {
		ch := make(chan int, 3)
		for i := range 3 {
			ch <- i // three at once
		}
		go func() {
			defer close(ch)
			<-resume // a pause
			for i := 3; i < 8; i++ {
				ch <- i
			}
		}()
		return ch
	}
	ctx := context.Background()

	// Per message: no message is ever an hour late, so the loop reads on
	// past the limit, to the end of the conversation.
	start, resume := time.Now(), make(chan struct{})
	time.AfterFunc(limit, func() { close(resume) })
	n, ch := 0, chatty(resume)
	for {
		if _, err := timeout.Recv(ctx, ch, time.Hour); err != nil {
			fmt.Println("per message:", n, "messages, past the limit:", time.Since(start) >= limit, "then", err)
			break
		}
		n++
	}

	// Whole conversation: one deadline for the loop, 20ms from now.
	resume = make(chan struct{})
	n, ch = 0, chatty(resume)
	deadline := time.Now().Add(limit)
	for {
		if _, err := timeout.RecvUntil(ctx, ch, deadline); err != nil {
			fmt.Println("whole conversation:", n, "messages, then timeout:", errors.Is(err, timeout.ErrTimeout))
			break
		}
		n++
	}
	close(resume)
	for range ch { // let the sender finish
	}
	// Output:
	// per message: 8 messages, past the limit: true then timeout: channel closed
	// whole conversation: 3 messages, then timeout: true
}

// Send gives up when nobody takes the value in time; the value is then not
// sent.
func ExampleSend() {
	ch := make(chan string, 1)
	fmt.Println(timeout.Send(context.Background(), ch, "first", 10*time.Millisecond))
	fmt.Println(timeout.Send(context.Background(), ch, "second", 10*time.Millisecond)) // buffer full
	fmt.Println(<-ch, len(ch))
	// Output:
	// <nil>
	// timeout: Send: no receiver within 10ms: context deadline exceeded
	// first 0
}

// SendUntil shares one deadline across a loop of sends.
func ExampleSendUntil() {
	ch := make(chan int, 3)
	deadline := time.Now().Add(20 * time.Millisecond)
	sent := 0
	for i := range 5 {
		if err := timeout.SendUntil(context.Background(), ch, i, deadline); err != nil {
			break
		}
		sent++
	}
	fmt.Println("sent before the deadline:", sent)
	// Output: sent before the deadline: 3
}

// The talk's "first of N" slide, fixed: ask every replica, keep the first
// answer. The slide's unbuffered result channel left every slower replica
// blocked on its send forever; First cancels the losers' contexts and
// gives their results a buffer, so they end.
func ExampleFirst() {
	var losers sync.WaitGroup
	replica := func(name string, answers bool) func(context.Context) (string, error) {
		if !answers {
			losers.Add(1)
		}
		return func(ctx context.Context) (string, error) {
			if answers {
				return "page from " + name, nil
			}
			defer losers.Done()
			<-ctx.Done() // a slow replica, cancelled by First
			return "", ctx.Err()
		}
	}
	page, err := timeout.First(context.Background(),
		replica("cdn-1", false), replica("cdn-2", true), replica("cdn-3", false))
	fmt.Println(page, err)
	losers.Wait() // both losers were cancelled and returned
	fmt.Println("losers ended")
	// Output:
	// page from cdn-2 <nil>
	// losers ended
}

// Hedge starts a second try only if the first has not answered within the
// delay ("The Tail at Scale"): here the first try hangs, so the second,
// started 10ms later, wins and the first is cancelled (the third, which
// would hang too, starts only if the second has not answered 10ms later).
// Tries 1 and 3 never answer, so try 2 wins however slow the machine;
// TestHedgeStartsNextTryAfterDelay checks the start times on a virtual
// clock.
func ExampleHedge() {
	start := time.Now()
	try := func(n int) func(context.Context) (int, error) {
		return func(ctx context.Context) (int, error) {
			if n != 2 {
				<-ctx.Done() // stuck behind a slow disk
				return 0, ctx.Err()
			}
			return n, nil
		}
	}
	winner, err := timeout.Hedge(context.Background(), 10*time.Millisecond, try(1), try(2), try(3))
	fmt.Println("try", winner, "won", err, time.Since(start) >= 10*time.Millisecond)
	// Output: try 2 won <nil> true
}

// An IdleTimer closes an idle connection: every read pushes the expiry
// back, and the timer fires once the connection has been quiet for d. f
// only tells the handler, on a channel of capacity one; the handler owns
// the connection and closes it, unless a request is waiting, in which case
// the connection was not idle after all (on a loaded machine the timer can
// fire between two reads). TestIdleTimerFiresDAfterLastTouch shows when it
// fires, on a virtual clock.
func ExampleIdleTimer() {
	requests := make(chan string, 3) // what the client sent, before it went quiet
	for _, r := range []string{"GET /", "GET /style.css", "GET /logo.png"} {
		requests <- r
	}
	idle := make(chan struct{}, 1)
	it := timeout.NewIdleTimer(10*time.Millisecond, func() {
		select {
		case idle <- struct{}{}:
		default: // a notice is already waiting
		}
	})
	defer it.Stop()
	for {
		select {
		case r := <-requests:
			it.Touch() // a read: push the expiry back
			fmt.Println("served", r)
		case <-idle:
			if len(requests) > 0 {
				continue // not idle after all: serve it (its Touch re-arms the timer)
			}
			fmt.Println("closed when idle")
			return
		}
	}
	// Output:
	// served GET /
	// served GET /style.css
	// served GET /logo.png
	// closed when idle
}

// NewIdleTimer rejects a d that is not positive: an idle timeout of zero
// would fire on every event.
func ExampleNewIdleTimer() {
	defer func() { fmt.Println(recover()) }()
	timeout.NewIdleTimer(0, func() {})
	// Output: timeout: NewIdleTimer: d must be positive, got 0s
}

// Touch costs no timer operation and no allocation, so it can go on every
// event of a hot path: a burst of ten thousand Touches allocates nothing
// and leaves the one timer armed. This is the fix for the Cloudflare
// recycler's loop, which called time.After on every iteration and so
// allocated a timer per event. (The timer re-arms itself when it fires
// after activity; TestIdleTimerFiresDAfterLastTouch shows it.)
func ExampleIdleTimer_Touch() {
	it := timeout.NewIdleTimer(time.Hour, func() { fmt.Println("idle") })
	allocs := testing.AllocsPerRun(10_000, it.Touch) // a busy loop of events
	fmt.Println("allocations per Touch:", allocs)
	fmt.Println("still armed:", it.Stop())
	// Output:
	// allocations per Touch: 0
	// still armed: true
}

// Stop cancels an expiry that has not come, and reports that it did.
func ExampleIdleTimer_Stop() {
	it := timeout.NewIdleTimer(time.Hour, func() { fmt.Println("never") })
	fmt.Println(it.Stop())
	fmt.Println(it.Stop())
	// Output:
	// true
	// false
}

// A panic in f does not crash the program from the timer's goroutine, as
// it would in a time.AfterFunc: it stops the timer and comes back from
// Close (and Stop), on the goroutine that owns the timer, as a
// *compendium.PanicError.
func ExampleIdleTimer_Close() {
	ran := make(chan struct{})
	it := timeout.NewIdleTimer(time.Millisecond, func() {
		defer close(ran)
		panic("trim failed")
	})
	<-ran
	defer func() { fmt.Println("recovered:", recover().(*compendium.PanicError).Value) }()
	_ = it.Close()
	// Output: recovered: trim failed
}

// A supervisor restarts a worker that stops beating. The first worker
// stalls after three units of work; the watchdog reports it; the
// supervisor starts a replacement, which finishes the job. That a worker
// which keeps beating is never reported depends on how often it beats
// compared with d, so TestHeartbeatSupervisorRestarts and
// TestHeartbeatBeatsKeepWatchdogQuiet show it on a virtual clock.
func ExampleHeartbeat() {
	hb := timeout.NewHeartbeat(10 * time.Millisecond)
	defer hb.Close()
	quit := timeout.NewQuit()
	defer quit.Quit()
	done := make(chan int)

	worker := func(stallAt int) {
		units := 0
		for ; units < 5; units++ {
			if units == stallAt {
				<-quit.Done() // stuck: no more beats
				return
			}
			hb.Beat() // a unit of work done
		}
		done <- units
	}
	go worker(3)
	<-hb.Missed()
	fmt.Println("worker stalled: restarting")
	hb.Beat() // the restart counts as a beat
	go worker(-1)
	fmt.Println("replacement finished", <-done, "units")
	// Output:
	// worker stalled: restarting
	// replacement finished 5 units
}

// NewHeartbeat starts the watchdog at once: with no beat at all, the first
// report comes d after NewHeartbeat.
func ExampleNewHeartbeat() {
	hb := timeout.NewHeartbeat(10 * time.Millisecond)
	defer hb.Close()
	<-hb.Missed()
	fmt.Println("no beat in 10ms")
	// Output: no beat in 10ms
}

// Beat never blocks: a worker can call it in its tightest loop.
func ExampleHeartbeat_Beat() {
	hb := timeout.NewHeartbeat(time.Hour)
	defer hb.Close()
	for range 10_000 {
		hb.Beat()
	}
	fmt.Println("ten thousand beats, no backlog")
	// Output: ten thousand beats, no backlog
}

// Missed is an ordinary channel: select on it beside the supervisor's other
// events.
func ExampleHeartbeat_Missed() {
	hb := timeout.NewHeartbeat(10 * time.Millisecond)
	defer hb.Close()
	finished := make(chan struct{}) // the worker never finishes
	select {
	case <-hb.Missed():
		fmt.Println("missed a beat")
	case <-finished:
		fmt.Println("finished")
	}
	// Output: missed a beat
}

// After Close, no report comes: a Beat no longer re-arms the watchdog.
// Without Close, the Beat below would bring a report 1ms later; with it,
// none comes, here within twenty times d (nor ever).
func ExampleHeartbeat_Close() {
	hb := timeout.NewHeartbeat(time.Millisecond)
	<-hb.Missed() // a stall, reported: the watchdog rests until a Beat
	_ = hb.Close()
	hb.Beat()
	select {
	case <-hb.Missed():
		fmt.Println("reported")
	case <-time.After(20 * time.Millisecond):
		fmt.Println("quiet")
	}
	// Output: quiet
}

// ErrTimeout tells "my own deadline ran out" from "the caller's context
// ended", which context.DeadlineExceeded alone cannot.
func ExampleErrTimeout() {
	ch := make(chan int)
	_, err := timeout.Recv(context.Background(), ch, time.Millisecond)
	fmt.Println(errors.Is(err, timeout.ErrTimeout), errors.Is(err, context.DeadlineExceeded))

	ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
	defer cancel()
	_, err = timeout.Recv(ctx, ch, time.Hour)
	fmt.Println(errors.Is(err, timeout.ErrTimeout), errors.Is(err, context.DeadlineExceeded))
	// Output:
	// true true
	// false true
}

// ErrChannelClosed ends a receive loop when the producer closes its
// channel, as io.EOF ends a read loop.
func ExampleErrChannelClosed() {
	ch := make(chan int, 2)
	ch <- 1
	ch <- 2
	close(ch)
	for {
		v, err := timeout.Recv(context.Background(), ch, time.Second)
		if errors.Is(err, timeout.ErrChannelClosed) {
			fmt.Println("closed")
			return
		}
		fmt.Println(v)
	}
	// Output:
	// 1
	// 2
	// closed
}

// A panic in f reaches the caller of Call as a *compendium.PanicError,
// with the original value and the stack of the goroutine that panicked.
func Example_panic() {
	defer func() {
		pe := recover().(*compendium.PanicError)
		fmt.Println("recovered:", pe.Value, len(pe.Stack) > 0)
	}()
	_, _ = timeout.Call(context.Background(), time.Hour, func(context.Context) (int, error) {
		panic("index out of range")
	})
	// Output: recovered: index out of range true
}
