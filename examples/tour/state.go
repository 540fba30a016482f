package main

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/go-compendium/compendium/timeout"
)

// uniqueIDs hands out IDs from a goroutine that owns the counter, to
// several goroutines at once, and checks that no ID is given twice.
func uniqueIDs(_ context.Context, p *printer, cfg config) error {
	var (
		quit timeout.Quit
		gen  sync.WaitGroup
	)
	ids := make(chan uint64)
	gen.Go(func() {
		// Start at 1: send the counter after incrementing it.
		var counter uint64
		for {
			counter++
			select {
			case ids <- counter:
			case <-quit.Done():
				return
			}
		}
	})

	got := make([][]uint64, cfg.workers)
	var users sync.WaitGroup
	for w := range cfg.workers {
		users.Go(func() {
			for range cfg.ids {
				got[w] = append(got[w], <-ids)
			}
		})
	}
	users.Wait()
	quit.Quit()
	gen.Wait()

	all := slices.Concat(got...)
	slices.Sort(all)
	total := cfg.workers * cfg.ids
	if len(slices.Compact(all)) != total {
		return fmt.Errorf("an ID was handed out twice")
	}
	p.say("%d goroutines drew %d IDs each: %d distinct, from %d to %d", cfg.workers, cfg.ids, total, all[0], all[len(all)-1])
	p.say("fixed: the slide's generator sends its counter and then increments it, so the ID")
	p.say("       it says is 1 is 0; and it never returns: this one stops when quit is closed")
	p.say("an atomic.Uint64's Add(1) does the same without a goroutine, and much faster")
	return nil
}
