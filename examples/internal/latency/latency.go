// Package latency records the latencies the example programs measure and
// summarises them as percentiles. It is shared by the examples only.
package latency

import (
	"math"
	"slices"
	"sync"
	"time"
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

// Format rounds d for a table: to 10µs, which is finer than the noise of
// a loopback round trip and keeps the columns short.
func Format(d time.Duration) string {
	if d < 10*time.Microsecond {
		return d.String()
	}
	return d.Round(10 * time.Microsecond).String()
}
