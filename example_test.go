package compendium_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"time"

	"github.com/go-compendium/compendium"
	"github.com/go-compendium/compendium/pool"
	"github.com/go-compendium/compendium/semaphore"
	"github.com/go-compendium/compendium/timeout"
)

// A panic in a task reaches the goroutine that calls Wait, as a
// *PanicError that carries the panic's value and the stack of the
// goroutine that panicked.
func ExamplePanicError() {
	g := semaphore.NewGroup(context.Background(), 2)
	_ = g.Go(context.Background(), func(context.Context) error {
		panic(io.ErrUnexpectedEOF)
	})
	defer func() {
		pe := recover().(*compendium.PanicError)
		fmt.Println("value:", pe.Value)
		fmt.Println("stack names the task:", strings.Contains(string(pe.Stack), "ExamplePanicError"))
		fmt.Println("errors.Is sees the value:", errors.Is(pe, io.ErrUnexpectedEOF))
	}()
	_ = g.Wait()
	// Output:
	// value: unexpected EOF
	// stack names the task: true
	// errors.Is sees the value: true
}

// Work offered after Close is refused with an error that matches
// ErrClosed, whichever type refuses it.
func ExampleErrClosed() {
	g := semaphore.NewGroup(context.Background(), 1)
	_ = g.Close()
	err := g.Go(context.Background(), func(context.Context) error { return nil })
	fmt.Println(errors.Is(err, compendium.ErrClosed))

	w := pool.NewWorkers(context.Background(), 1)
	_ = w.Close()
	err = w.Go(context.Background(), func(context.Context) error { return nil })
	fmt.Println(errors.Is(err, compendium.ErrClosed))
	// Output:
	// true
	// true
}

// Code that calls runtime.Goexit (as t.FailNow does) instead of returning
// has no result: it fails with ErrGoexit.
func ExampleErrGoexit() {
	_, err := timeout.Call(context.Background(), time.Second, func(context.Context) (int, error) {
		runtime.Goexit()
		return 42, nil
	})
	fmt.Println(errors.Is(err, compendium.ErrGoexit))
	// Output:
	// true
}

// Every type that runs tasks counts them in one vocabulary; here a pool of
// workers after one success, one failure and one panic.
func ExampleTaskStats() {
	w := pool.NewWorkers(context.Background(), 1)
	_ = w.Go(context.Background(), func(context.Context) error { return nil })
	_ = w.Go(context.Background(), func(context.Context) error { return errors.New("no") })
	_ = w.Go(context.Background(), func(context.Context) error { panic("oops") })
	func() {
		defer func() { _ = recover() }() // Shutdown re-raises the panic
		_ = w.Shutdown(context.Background())
	}()
	st := w.Stats().TaskStats
	fmt.Printf("submitted %d: completed %d, failed %d, panicked %d\n",
		st.Submitted, st.Completed, st.Failed, st.Panicked)
	// Output:
	// submitted 3: completed 1, failed 1, panicked 1
}
