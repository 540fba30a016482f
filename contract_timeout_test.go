package compendium_test

import (
	"context"
	"runtime"
	"testing"
	"testing/synctest"
	"time"

	"github.com/go-compendium/compendium"
	"github.com/go-compendium/compendium/timeout"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// timeout's calls register as subjects through timeoutCallSubject: a call
// has no owner object, its caller is the owner. They report a unit's
// outcome to the submitter (closeReports false).
func init() {
	subjects = append(subjects,
		subject{name: "timeout.Call", run: timeoutCallSubject(func(ctx context.Context, work func(context.Context) error) error {
			return timeout.Do(ctx, time.Hour, work)
		})},
		subject{name: "timeout.First", run: timeoutCallSubject(func(ctx context.Context, work func(context.Context) error) error {
			_, err := timeout.First(ctx, timeoutFn(work))
			return err
		})},
		subject{name: "timeout.Hedge", run: timeoutCallSubject(func(ctx context.Context, work func(context.Context) error) error {
			_, err := timeout.Hedge(ctx, time.Hour, timeoutFn(work))
			return err
		})},
	)
}

// timeoutFn makes work a function with a result, for First and Hedge.
func timeoutFn(work func(context.Context) error) func(context.Context) (struct{}, error) {
	return func(ctx context.Context) (struct{}, error) { return struct{}{}, work(ctx) }
}

// timeoutCallSubject adapts a call to the subject shape. run makes the
// caller (a goroutine that makes the call with a ctx derived from parent,
// as a request handler would) and returns: unit, the call's result as the
// caller sees it, re-raising what the call panicked with; close, which
// does what closing the caller means (cancel its ctx, wait for the call
// to return) and re-raises the same panic, on every call.
func timeoutCallSubject(call func(ctx context.Context, work func(context.Context) error) error) func(context.Context, func(context.Context) error) (func() error, func() error) {
	return func(parent context.Context, work func(context.Context) error) (func() error, func() error) {
		ctx, cancel := context.WithCancel(parent)
		done := make(chan struct{})
		var err error
		var p any
		go func() {
			defer close(done)
			defer func() { p = recover() }()
			err = call(ctx, work)
		}()
		result := func() error {
			<-done
			if p != nil {
				panic(p)
			}
			return err
		}
		return result, func() error {
			cancel()
			<-done
			if p != nil {
				panic(p)
			}
			return nil
		}
	}
}

// timeoutOwner is a goroutine-owning type of timeout that does not fit the
// subject shape: Stopper's workers and IdleTimer's f return no error, and
// neither type has a parent context, so the contract's error and cancel
// cases have nothing to act on. TestLifecycleContractTimeoutOwners runs
// the other cases over them.
type timeoutOwner struct {
	name string
	// start makes a new owner that runs work once, on a goroutine of its
	// own, and returns its Close; quit, given to work, is closed by Close
	// (nil if the type cannot tell work to stop).
	start func(work func(quit <-chan struct{})) (closeOwner func() error)
}

var timeoutOwners = []timeoutOwner{
	{
		name: "timeout.Stopper",
		start: func(work func(quit <-chan struct{})) func() error {
			s := timeout.NewStopper()
			if err := s.Go(work); err != nil {
				panic(err)
			}
			return s.Close
		},
	},
	{
		name: "timeout.IdleTimer",
		start: func(work func(quit <-chan struct{})) func() error {
			it := timeout.NewIdleTimer(time.Millisecond, func() { work(nil) })
			time.Sleep(time.Millisecond) // f starts now
			return it.Close
		},
	},
}

// TestLifecycleContractTimeoutOwners: a panic in the owner's goroutine is
// re-raised as the same *PanicError by every Close, a Goexit is a failure
// that every Close returns, Close is idempotent, cancels what is running
// and joins it, and work offered after Close is refused with ErrClosed.
func TestLifecycleContractTimeoutOwners(t *testing.T) {
	for _, o := range timeoutOwners {
		t.Run(o.name, func(t *testing.T) {
			t.Run("panic", func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					closeOwner := o.start(func(<-chan struct{}) { panic("in user code") })
					synctest.Wait()
					var first *compendium.PanicError
					for i := range 2 {
						v := catchPanic(func() { _ = closeOwner() })
						pe, ok := v.(*compendium.PanicError)
						require.True(t, ok, "Close #%d panicked with %T (%v); want *compendium.PanicError", i+1, v, v)
						assert.Equal(t, "in user code", pe.Value)
						assert.NotEmpty(t, pe.Stack)
						if first == nil {
							first = pe
						}
						assert.Same(t, first, pe, "every Close re-raises the same *PanicError")
					}
				})
			})
			t.Run("goexit", func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					closeOwner := o.start(func(<-chan struct{}) { runtime.Goexit() })
					synctest.Wait()
					assert.ErrorIs(t, closeOwner(), compendium.ErrGoexit)
					assert.ErrorIs(t, closeOwner(), compendium.ErrGoexit, "every Close returns the failure")
				})
			})
			t.Run("close-twice", func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					closeOwner := o.start(func(<-chan struct{}) {})
					synctest.Wait()
					assert.NoError(t, closeOwner())
					assert.NoError(t, closeOwner(), "Close is idempotent")
				})
			})
			t.Run("close-while-running", func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					release := make(chan struct{})
					returned := false
					closeOwner := o.start(func(quit <-chan struct{}) {
						select {
						case <-quit: // Close cancels what is running
						case <-release: // a type that cannot cancel its work waits for it
						}
						returned = true
					})
					synctest.Wait()
					closed := make(chan error)
					go func() { closed <- closeOwner() }()
					synctest.Wait()
					close(release)
					assert.NoError(t, <-closed)
					assert.True(t, returned, "Close returned before the work it runs")
				})
			})
		})
	}
}

// TestTimeoutWorkAfterClose: work offered to a closed timeout owner is
// refused with an error matching ErrClosed, or (IdleTimer, Heartbeat,
// whose Touch and Beat return nothing) does nothing.
func TestTimeoutWorkAfterClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := timeout.NewStopper()
		require.NoError(t, s.Close())
		assert.ErrorIs(t, s.Go(func(<-chan struct{}) {}), compendium.ErrClosed)

		ran := false
		it := timeout.NewIdleTimer(time.Millisecond, func() { ran = true })
		require.NoError(t, it.Close())
		it.Touch()
		time.Sleep(time.Second)
		assert.False(t, ran, "f ran after Close")

		hb := timeout.NewHeartbeat(time.Millisecond)
		time.Sleep(time.Millisecond) // a report, left unread
		synctest.Wait()
		require.NoError(t, hb.Close(), "an unread report cannot make Close hang")
		<-hb.Missed()
		hb.Beat()
		time.Sleep(time.Second)
		select {
		case <-hb.Missed():
			t.Error("a report after Close")
		default:
		}
	})
}
