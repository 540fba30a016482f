package compendium_test

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"testing/synctest"

	"github.com/go-compendium/compendium"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// subject is one goroutine-owning type of the module, adapted to the
// lifecycle contract test: every subject goes through the same cases.
// Each package's adapter lives in contract_<pkg>_test.go and registers
// itself in subjects from an init function.
type subject struct {
	// name is the type, as a user writes it ("pool.Workers").
	name string
	// run makes a new owner whose parent context is parent, submits one
	// unit of work that runs work with the context the type gives it,
	// and returns:
	//   - unit: waits for the unit's outcome as its submitter sees it and
	//     returns it (the request's error, the item's write error); for
	//     types that report unit errors only through Wait or Close, it
	//     waits for the unit to end and returns nil;
	//   - close: the owner's Close.
	run func(parent context.Context, work func(ctx context.Context) error) (unit func() error, close func() error)
	// closeReports says whether a unit's error is what Close returns (an
	// errgroup-like owner) rather than only its submitter's.
	closeReports bool
	// unread, if not nil, makes an owner and leaves something a user can
	// leave unread (a reply channel, a stream, a result channel) unread,
	// then returns its Close, which must not hang.
	unread func(parent context.Context) (close func() error)
}

// subjects is every registered subject.
var subjects []subject

var errTask = errors.New("task failed")

// TestLifecycleContract runs the same lifecycle cases over every
// goroutine-owning type of the module: a panic, a Goexit, an error, a
// cancelled parent, Close twice, and Close with output left unread. Each
// case runs in a synctest bubble, so a Close that hangs fails the test as a
// deadlock instead of timing out, and goleak checks afterwards that nothing
// outlived it.
func TestLifecycleContract(t *testing.T) {
	var names []string
	for _, s := range subjects {
		names = append(names, s.name)
	}
	// Every type that takes tasks to run on goroutines it owns is a
	// subject (timeout.Stopper and IdleTimer, which run one function
	// each, have TestLifecycleContractTimeoutOwners); a type dropped from
	// the list would silently leave the contract.
	for _, want := range []string{
		"fanout.Balancer", "fanout.Balancer.Serve", "fanout.Multiplexer",
		"pipeline.Scope", "pool.Workers", "semaphore.Group",
		"timeout.Call", "timeout.First", "timeout.Hedge",
	} {
		require.Contains(t, names, want, "subject %s is not registered", want)
	}
	for _, s := range subjects {
		t.Run(s.name, func(t *testing.T) {
			t.Run("panic", func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					unit, closeOwner := s.run(context.Background(), func(context.Context) error { panic("in user code") })
					_ = catchPanic(func() { _ = unit() })
					var first any
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
					unit, closeOwner := s.run(context.Background(), func(context.Context) error { runtime.Goexit(); return nil })
					uerr := unit()
					cerr := closeOwner()
					if s.closeReports {
						assert.ErrorIs(t, cerr, compendium.ErrGoexit, "Close reports the Goexit as a failure")
					} else {
						assert.ErrorIs(t, uerr, compendium.ErrGoexit, "the submitter sees the Goexit as a failure")
					}
				})
			})
			t.Run("error", func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					unit, closeOwner := s.run(context.Background(), func(context.Context) error { return errTask })
					uerr := unit()
					cerr := closeOwner()
					if s.closeReports {
						assert.ErrorIs(t, cerr, errTask, "Close returns the first failure")
					} else {
						assert.ErrorIs(t, uerr, errTask, "the submitter gets the unit's error")
						assert.NoError(t, cerr, "a unit's error is its submitter's, not the owner's")
					}
				})
			})
			t.Run("cancel", func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					parent, cancel := context.WithCancel(context.Background())
					started := make(chan struct{})
					unit, closeOwner := s.run(parent, func(ctx context.Context) error {
						close(started)
						<-ctx.Done() // the unit sees its owner's parent end
						return ctx.Err()
					})
					<-started
					cancel()
					uerr := unit()
					cerr := closeOwner()
					if s.closeReports {
						assert.ErrorIs(t, cerr, context.Canceled, "Close says why the work was cut short")
					} else {
						assert.ErrorIs(t, uerr, context.Canceled, "the submitter says why its unit was cut short")
					}
				})
			})
			t.Run("close-twice", func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					unit, closeOwner := s.run(context.Background(), func(context.Context) error { return nil })
					assert.NoError(t, unit())
					assert.NoError(t, closeOwner())
					assert.NoError(t, closeOwner(), "Close is idempotent")
				})
			})
			t.Run("close-while-running", func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					started := make(chan struct{})
					unit, closeOwner := s.run(context.Background(), func(ctx context.Context) error {
						close(started)
						<-ctx.Done() // Close cancels what is running
						return ctx.Err()
					})
					<-started
					assert.NotPanics(t, func() { _ = closeOwner() })
					_ = unit()
				})
			})
			if s.unread != nil {
				t.Run("close-with-unread-output", func(t *testing.T) {
					synctest.Test(t, func(t *testing.T) {
						closeOwner := s.unread(context.Background())
						assert.NotPanics(t, func() { _ = closeOwner() }, "Close must neither hang nor panic")
					})
				})
			}
		})
	}
}

// catchPanic calls f and returns what it panicked with, or nil.
func catchPanic(f func()) (v any) {
	defer func() { v = recover() }()
	f()
	return nil
}
