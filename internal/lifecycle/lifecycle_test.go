package lifecycle_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"weak"

	"github.com/go-compendium/compendium"
	"github.com/go-compendium/compendium/internal/lifecycle"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var errBoom = errors.New("boom")

func TestCallReturnsTheError(t *testing.T) {
	p, err := lifecycle.Call(func() error { return errBoom }, nil)
	assert.Same(t, errBoom, err)
	assert.Nil(t, p)
	p, err = lifecycle.Call(func() error { return nil }, nil)
	assert.NoError(t, err)
	assert.Nil(t, p)
}

func TestCallCapturesPanicValueAndStack(t *testing.T) {
	p, err := lifecycle.Call(func() error { panicHere("oops"); return nil }, nil)
	require.NotNil(t, p)
	assert.NoError(t, err)
	assert.Equal(t, "oops", p.Value)
	assert.Contains(t, string(p.Stack), "panicHere", "the stack must show the frame that panicked")
	assert.True(t, strings.HasPrefix(p.Error(), "panic: oops [recovered]"), "Error() = %q", p.Error())
	assert.Nil(t, p.Unwrap(), "a value that is not an error unwraps to nil")

	p, _ = lifecycle.Call(func() error { panic(io.EOF) }, nil)
	require.NotNil(t, p)
	assert.ErrorIs(t, p, io.EOF, "an error value is seen through the panic")

	p, _ = lifecycle.Call(func() error { panic(nil) }, nil)
	require.NotNil(t, p)
	var pn *runtime.PanicNilError
	assert.ErrorAs(t, p, &pn, "panic(nil) arrives as *runtime.PanicNilError")
}

func TestCallGoexitRunsHookAndNeverReturns(t *testing.T) {
	var wg sync.WaitGroup
	var order []string
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer func() { order = append(order, "caller's defer") }()
		lifecycle.Call(func() error { runtime.Goexit(); return nil }, func() { order = append(order, "goexit hook") })
		order = append(order, "returned")
	}()
	wg.Wait()
	assert.Equal(t, []string{"goexit hook", "caller's defer"}, order)
}

func TestCallGoexitHookNotRunOnReturnOrPanic(t *testing.T) {
	hook := 0
	lifecycle.Call(func() error { return errBoom }, func() { hook++ })
	lifecycle.Call(func() error { panic("x") }, func() { hook++ })
	assert.Zero(t, hook)
}

func newOwner(t *testing.T, parent context.Context) *lifecycle.Owner {
	t.Helper()
	o := new(lifecycle.Owner)
	o.Init(parent, "pkg", "Thing")
	return o
}

func TestOwnerFirstFailureWinsAndCancels(t *testing.T) {
	o := newOwner(t, context.Background())
	second := errors.New("second")
	assert.True(t, o.Fail(errBoom))
	assert.False(t, o.Fail(second))
	assert.ErrorIs(t, context.Cause(o.Context()), errBoom, "the first failure is the cause")
	assert.Same(t, errBoom, o.Close())
	assert.Same(t, errBoom, o.Close(), "every Close returns the same result")
	assert.False(t, o.Fail(nil))
}

func TestOwnerErrorsAfterStopAreDropped(t *testing.T) {
	o := newOwner(t, context.Background())
	o.Stop(errors.New("consumer done"))
	assert.False(t, o.Fail(context.Canceled), "an error caused by a stop is not a failure")
	assert.NoError(t, o.Close())
}

func TestOwnerGoexitIsNeverAConsequence(t *testing.T) {
	goexit := fmt.Errorf("worker 1: %w", compendium.ErrGoexit)
	o := newOwner(t, context.Background())
	o.Stop(errors.New("stop"))
	assert.True(t, o.Fail(goexit), "a Goexit after a stop is still a failure")
	assert.Same(t, goexit, o.Close())

	parent, cancel := context.WithCancel(context.Background())
	o = newOwner(t, parent)
	cancel()
	assert.True(t, o.Fail(goexit), "a Goexit after the parent ended is still a failure")
	assert.Same(t, goexit, o.Close())

	o = newOwner(t, context.Background())
	o.Fail(errBoom)
	assert.False(t, o.Fail(goexit), "the first failure stays first")
	assert.Same(t, errBoom, o.Close())
}

func TestOwnerFailureBeforeStopStays(t *testing.T) {
	o := newOwner(t, context.Background())
	o.Fail(errBoom)
	o.Stop(errors.New("later stop"))
	assert.Same(t, errBoom, o.Close())
}

func TestOwnerErrorAfterParentCancelBecomesTheCause(t *testing.T) {
	parent, cancel := context.WithCancelCause(context.Background())
	o := newOwner(t, parent)
	why := errors.New("shutdown")
	cancel(why)
	<-o.Done()
	assert.False(t, o.Fail(context.Canceled), "an echo of the parent's cancellation is not recorded as itself")
	assert.Same(t, why, o.Err(), "the parent's cause is reported in its place")
	assert.Same(t, why, o.Close())
}

func TestOwnerCloseMatchesErrClosed(t *testing.T) {
	o := newOwner(t, context.Background())
	assert.NoError(t, o.Close())
	cause := context.Cause(o.Context())
	assert.ErrorIs(t, cause, compendium.ErrClosed)
	assert.Equal(t, "pkg: Thing is closed", cause.Error())
	assert.True(t, lifecycle.IsStop(cause))
	assert.Same(t, cause, o.ErrClosed())
	assert.False(t, lifecycle.IsStop(errBoom))
}

func TestOwnerPanicReRaisedByEveryResult(t *testing.T) {
	o := newOwner(t, context.Background())
	p, _ := lifecycle.Call(func() error { panic("first") }, nil)
	p2, _ := lifecycle.Call(func() error { panic("second") }, nil)
	o.Fail(p)
	o.Fail(p2)
	assert.Same(t, p, o.Panicked())
	for range 2 {
		assert.PanicsWithValue(t, p, func() { _ = o.Close() }, "every Close re-panics with the first panic")
	}
}

func TestOwnerPanicAfterStopIsKept(t *testing.T) {
	o := newOwner(t, context.Background())
	o.Stop(errors.New("stop"))
	p, _ := lifecycle.Call(func() error { panic("late") }, nil)
	o.Fail(p)
	assert.PanicsWithValue(t, p, func() { _ = o.Result() }, "a panic is never dropped")
}

func TestOwnerCloseJoins(t *testing.T) {
	o := newOwner(t, context.Background())
	var mu sync.Mutex
	exited := 0
	for range 4 {
		o.Go(lifecycle.Labels{}, func() {
			<-o.Done()
			mu.Lock()
			exited++
			mu.Unlock()
		})
	}
	require.NoError(t, o.Close())
	assert.Equal(t, 4, exited, "Close returns only after every goroutine has exited")
}

func TestOwnerGoroutinesCarryLabels(t *testing.T) {
	var parent context.Context
	pprof.Do(context.Background(), pprof.Labels("request", "r42"), func(ctx context.Context) { parent = ctx })
	o := newOwner(t, parent)
	started := make(chan struct{})
	o.Go(o.Labels("role", "worker", "worker", "3"), func() {
		close(started)
		<-o.Done()
	})
	<-started
	var buf bytes.Buffer
	require.NoError(t, pprof.Lookup("goroutine").WriteTo(&buf, 1))
	require.NoError(t, o.Close())
	var line string
	for _, l := range strings.Split(buf.String(), "\n") {
		if strings.Contains(l, `"compendium":"pkg"`) {
			line = l
		}
	}
	require.NotEmpty(t, line, "no goroutine labelled compendium=pkg in:\n%s", buf.String())
	for _, want := range []string{`"type":"Thing"`, `"role":"worker"`, `"worker":"3"`, `"request":"r42"`} {
		assert.Contains(t, line, want, "the caller's labels are inherited and ours added")
	}
}

func TestCountersIdentityUnderConcurrency(t *testing.T) {
	var c lifecycle.Counters
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if i%7 == 0 {
					c.Reject()
					continue
				}
				c.Submit()
				if (i+w)%5 == 0 {
					c.Cancel()
					continue
				}
				c.Start()
				switch i % 3 {
				case 0:
					c.End(nil, nil)
				case 1:
					c.End(nil, errBoom)
				default:
					c.End(&compendium.PanicError{}, nil)
				}
			}
		}()
	}
	for range 2000 {
		s := c.Snapshot()
		require.Equal(t, s.Submitted, s.Queued+s.Running+s.Completed+s.Failed+s.Panicked+s.Canceled, "%+v", s)
		require.Less(t, s.Queued, uint64(math.MaxUint64/2), "Queued went negative: %+v", s)
		require.Less(t, s.Running, uint64(math.MaxUint64/2), "Running went negative: %+v", s)
	}
	close(stop)
	wg.Wait()
	s := c.Snapshot()
	assert.Zero(t, s.Queued+s.Running, "quiet: nothing queued or running: %+v", s)
	assert.NotZero(t, s.Rejected)
}

func TestCountersDeriveQueuedAndRunning(t *testing.T) {
	var c lifecycle.Counters
	c.SubmitN(5)
	c.StartN(3)
	c.CancelN(1)
	c.CompleteN(1)
	c.FailN(1)
	s := c.Snapshot()
	assert.Equal(t, compendium.TaskStats{Submitted: 5, Queued: 1, Running: 1, Completed: 1, Failed: 1, Canceled: 1}, s)
	c.PanicN(1)
	assert.Equal(t, uint64(0), c.Snapshot().Running)
}

func TestErrorsKeepFirstNAndCountTheRest(t *testing.T) {
	e := lifecycle.NewErrors(2)
	assert.NoError(t, e.Take())
	e.Add(nil)
	for i := range 5 {
		e.Add(errors.New(strings.Repeat("e", i+1)))
	}
	assert.Equal(t, uint64(5), e.Len())
	err := e.Take()
	require.Error(t, err)
	assert.Equal(t, "e\nee\nand 3 more errors, not kept", err.Error())
	assert.Zero(t, e.Len(), "Take forgets what it returned")
	assert.NoError(t, e.Take())
	e.Add(errBoom)
	assert.ErrorIs(t, e.Take(), errBoom)
}

func TestChecksPanicInOneForm(t *testing.T) {
	cases := []struct {
		name string
		f    func()
		want string
	}{
		{"Min", func() { lifecycle.Min("pool", "NewWorkers", "n", 0, 1) }, "pool: NewWorkers: n must be at least 1, got 0"},
		{"NotNil", func() { lifecycle.NotNil("pool", "Workers.Go", "task", true) }, "pool: Workers.Go: task must not be nil, got nil"},
		{"Context", func() { lifecycle.Context("fanout", "Merge", nil) }, "fanout: Merge: ctx must not be nil, got nil (use context.Background or context.TODO)"},
		{"Positive", func() { lifecycle.Positive("timeout", "NewHeartbeat", "d", 0) }, "timeout: NewHeartbeat: d must be positive, got 0s"},
		{"NonNegative", func() { lifecycle.NonNegative("timeout", "Hedge", "delay", -time.Second) }, "timeout: Hedge: delay must not be negative, got -1s"},
		{"UpFront", func() { lifecycle.UpFront[*int]("pool", "NewRecycler", "size", 1<<31) }, "pool: NewRecycler: size 2147483648 would allocate 16 GiB up front, more than the 1 GiB limit"},
		{"UpFrontHuge", func() { lifecycle.UpFront[[1 << 20]byte]("pool", "NewRecycler", "size", math.MaxInt) }, "pool: NewRecycler: size 9223372036854775807 would allocate more than 16 EiB up front, more than the 1 GiB limit"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { assert.PanicsWithValue(t, c.want, c.f) })
	}
	assert.NotPanics(t, func() {
		lifecycle.Min("p", "F", "n", 1, 1)
		lifecycle.NotNil("p", "F", "f", false)
		lifecycle.Context("p", "F", context.Background())
		lifecycle.Positive("p", "F", "d", 1)
		lifecycle.NonNegative("p", "F", "d", 0)
		lifecycle.UpFront[*int]("p", "F", "n", lifecycle.MaxUpFront/8)
		lifecycle.UpFront[struct{}]("p", "F", "n", lifecycle.MaxUpFront)
		lifecycle.UpFront[*int]("p", "F", "n", 0) // an unbuffered Buffer, an empty Bytes.Get
	})
	assert.Panics(t, func() { lifecycle.UpFront[*int]("p", "F", "n", lifecycle.MaxUpFront/8+1) })
}

//go:noinline
func panicHere(v any) { panic(v) }

func TestCountersEndSortsByOutcome(t *testing.T) {
	cases := []struct {
		name string
		p    *compendium.PanicError
		err  error
		want compendium.TaskStats
	}{
		{"returned nil", nil, nil, compendium.TaskStats{Submitted: 1, Completed: 1}},
		{"returned an error", nil, errBoom, compendium.TaskStats{Submitted: 1, Failed: 1}},
		{"panicked", &compendium.PanicError{}, nil, compendium.TaskStats{Submitted: 1, Panicked: 1}},
		{"panicked, whatever err says", &compendium.PanicError{}, errBoom, compendium.TaskStats{Submitted: 1, Panicked: 1}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var ctr lifecycle.Counters
			ctr.Submit()
			ctr.Start()
			ctr.End(c.p, c.err)
			assert.Equal(t, c.want, ctr.Snapshot())
		})
	}
}

func TestErrorsTakeAddsNoCountWhenNothingWasDropped(t *testing.T) {
	e := lifecycle.NewErrors(2)
	e.Add(errBoom)
	err := e.Take()
	require.Error(t, err)
	assert.Equal(t, "boom", err.Error(), "no \"and 0 more\" line when every error was kept")
}

func TestErrorsTakeLetsGoOfWhatItReturned(t *testing.T) {
	// A long-lived owner takes its errors batch by batch: once a batch is
	// taken and the caller has dropped it, Errors must not keep it (and all
	// it points to) reachable until the next batch overwrites it.
	e := lifecycle.NewErrors(4)
	w := addAndTake(t, &e)
	runtime.GC()
	runtime.GC()
	assert.Nil(t, w.Value(), "an error Take returned is still referenced by Errors")
	runtime.KeepAlive(&e)
}

type heapErr struct{ msg string }

func (h *heapErr) Error() string { return h.msg }

//go:noinline
func addAndTake(t *testing.T, e *lifecycle.Errors) weak.Pointer[heapErr] {
	err := &heapErr{"taken"}
	e.Add(err)
	require.ErrorIs(t, e.Take(), err)
	return weak.Make(err)
}

func TestOwnerAddExitCountsGoroutinesForJoin(t *testing.T) {
	o := newOwner(t, context.Background())
	var exited atomic.Int32
	o.Add(2)
	for range 2 {
		go func() {
			defer o.Exit()
			<-o.Done()
			exited.Add(1)
		}()
	}
	require.NoError(t, o.Close())
	assert.Equal(t, int32(2), exited.Load(), "Close joins the goroutines counted with Add")
}

func TestOwnerStopAfterParentEndedKeepsTheParentsCause(t *testing.T) {
	parent, cancel := context.WithCancelCause(context.Background())
	o := newOwner(t, parent)
	why := errors.New("shutdown")
	cancel(why)
	o.Stop(errors.New("consumer done"))
	o.Fail(context.Canceled)
	assert.Same(t, why, o.Close(), "the parent ended first: a Stop after it does not hide why the work was cut short")
}

func TestZeroLabelsStayZero(t *testing.T) {
	var l lifecycle.Labels
	assert.Nil(t, l.With("worker", "1").Context(), "the zero Labels with keys added still applies nothing")
	assert.NotPanics(t, l.With("worker", "1").Apply)
}

func TestChecksMessageSizeUnits(t *testing.T) {
	assert.PanicsWithValue(t, "p: F: n 1048576 would allocate 1 TiB up front, more than the 1 GiB limit",
		func() { lifecycle.UpFront[[1 << 20]byte]("p", "F", "n", 1<<20) }, "exactly 1 TiB is written in TiB")
}
