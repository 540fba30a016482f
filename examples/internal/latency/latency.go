// Package latency records the latencies the example programs measure and
// summarises them as percentiles. It is shared by the examples only.
package latency

import (
	"context"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/go-compendium/compendium/semaphore"
)

// Recorder collects durations from many goroutines. The zero value is
// empty and ready to use; a Recorder must not be copied.
type Recorder struct {
	mu sync.Mutex
	ds []time.Duration
}

// Add records one duration. It is safe for concurrent use.
func (r *Recorder) Add(d time.Duration) {
	r.mu.Lock()
	r.ds = append(r.ds, d)
	r.mu.Unlock()
}

// Since records the time elapsed since start.
func (r *Recorder) Since(start time.Time) { r.Add(time.Since(start)) }

// Len reports how many durations were recorded.
func (r *Recorder) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.ds)
}

// Percentile returns the nearest-rank p-th percentile (0 < p <= 100) of the
// recorded durations, or 0 if none were recorded. A higher p never gives a
// smaller result.
func (r *Recorder) Percentile(p float64) time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.ds) == 0 {
		return 0
	}
	s := slices.Clone(r.ds)
	slices.Sort(s)
	// Nearest rank: the smallest value with at least p% of the values at
	// or below it.
	rank := int(math.Ceil(p / 100 * float64(len(s))))
	rank = min(max(rank, 1), len(s))
	return s[rank-1]
}

// Format rounds d for a table, to about four significant digits: to 10µs
// below a second (finer than the noise of a loopback round trip) and to
// 10ms above.
func Format(d time.Duration) string {
	switch {
	case d < 10*time.Microsecond:
		return d.String()
	case d < time.Second:
		return d.Round(10 * time.Microsecond).String()
	default:
		return d.Round(10 * time.Millisecond).String()
	}
}

// Drive calls f requests times, from at most clients goroutines at once (a
// closed loop: each client sends its next request when the last one is
// answered), and records how long each call took. It returns the first
// error f returned, or ctx's if ctx ended first; every goroutine it
// started has returned by then.
func Drive(ctx context.Context, requests, clients int, f func(context.Context) error) (*Recorder, error) {
	var lat Recorder
	// semaphore.Group takes a slot before it starts each goroutine, so
	// there are never more than clients of them.
	g := semaphore.NewGroup(ctx, clients)
	defer g.Close()   // Wait joins; Close also releases the group's context
	var stopped error // why Go refused a request, if it did
	for range requests {
		stopped = g.Go(ctx, func(ctx context.Context) error {
			start := time.Now()
			if err := f(ctx); err != nil {
				return err
			}
			lat.Since(start)
			return nil
		})
		if stopped != nil {
			break
		}
	}
	err := g.Wait() // a failed request's error, which also stops Go
	if err == nil {
		err = stopped
	}
	return &lat, err
}
