package main

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/go-compendium/compendium/timeout"
)

// startGun starts workers that wait for a start signal, then fires it: a
// receive from a closed channel never blocks, so one close releases them
// all. timeout.Quit is that channel, closed at most once.
func startGun(_ context.Context, p *printer, cfg config) error {
	var (
		gun            timeout.Quit // the zero value is ready
		ready, workers sync.WaitGroup
		started        atomic.Int64
	)
	for range cfg.workers {
		ready.Add(1)
		workers.Go(func() {
			ready.Done()
			<-gun.Done() // the slide's <-start
			started.Add(1)
		})
	}
	ready.Wait()
	p.say("%d workers waiting for the gun, %d started", cfg.workers, started.Load())
	gun.Quit()
	workers.Wait()
	p.say("gun fired: %d of %d workers started", started.Load(), cfg.workers)
	p.say("firing again does nothing: Quit() = %v", gun.Quit())
	p.say("timeout.Quit closes once: a second close(start) would panic")
	return nil
}

// terminateWorkers runs workers that take jobs until a quit channel is
// closed: the same broadcast, used to stop instead of to start.
func terminateWorkers(_ context.Context, p *printer, cfg config) error {
	var (
		quit    timeout.Quit
		workers sync.WaitGroup
		done    atomic.Int64
	)
	jobs := make(chan int)
	for range cfg.workers {
		workers.Go(func() {
			for {
				select {
				case <-jobs:
					done.Add(1)
				case <-quit.Done():
					return
				}
			}
		})
	}
	n := 4 * cfg.workers
	for i := range n {
		jobs <- i
	}
	quit.Quit()
	workers.Wait()
	p.say("%d workers took %d jobs, then quit was closed and every worker returned", cfg.workers, done.Load())
	p.say("the close only tells them: waiting until they have returned is the next slide")
	return nil
}

// verifyTermination stops workers with a timeout.Stopper: Close closes
// their quit channel and returns once every one of them has returned.
func verifyTermination(_ context.Context, p *printer, cfg config) error {
	var (
		st       timeout.Stopper
		returned atomic.Int64
	)
	for range cfg.workers {
		if err := st.Go(func(quit <-chan struct{}) {
			<-quit
			returned.Add(1)
		}); err != nil {
			return err
		}
	}
	if err := st.Close(); err != nil {
		return err
	}
	p.say("Close returned after %d of %d workers had returned", returned.Load(), cfg.workers)
	p.say("Go after Close starts nothing: %v", st.Go(func(<-chan struct{}) {}))
	p.say("fixed: the slide sends the stop request and waits for the reply on one channel,")
	p.say("       so with two workers one can take the other's reply, or the sender its own")
	p.say("       request; Close asks by closing (every worker sees it) and counts the returns")
	return nil
}
