// Hedging sends requests to replicated HTTP servers with a slow tail, once
// plainly, once hedged with timeout.Hedge and once to every replica with
// timeout.First, and prints the latency percentiles of each: "The Tail at
// Scale" (Dean and Barroso) and the talk's "first of N" slide, measured.
//
// It starts one httptest server on loopback per replica. Each answers in
// -fast time, except a random -tail fraction of requests that take -slow,
// independently of the other replicas (a garbage collection, a cold cache,
// a noisy neighbour). Then it sends the same number of requests three
// ways, with the same number in flight:
//
//   - single: one request to one replica (round robin); one slow answer
//     in twenty shows up as a 99th percentile of -slow;
//   - hedge: timeout.Hedge sends to one replica and, if no answer has come
//     after -hedge, to the next as well, and so on; the first answer wins
//     and the others are cancelled. The tail shrinks to about -hedge plus
//     -fast, for a few percent more requests;
//   - first: timeout.First sends to every replica at once and keeps the
//     fastest answer: the best latency, for N times the load.
//
// The tries/req column is how many requests reached the replicas per
// client request, the price of each strategy:
//
//	strategy  tries/req  p50     p90     p99      max
//	single    1.00       1.25ms  1.5ms   51.14ms  52.77ms
//	hedge     1.05       1.34ms  1.69ms  5.97ms   9.18ms
//	first     3.00       2.13ms  2.74ms  5.12ms   6.29ms
//
// Run it with
//
//	go run ./examples/hedging
//	go run ./examples/hedging -tail=0.2 -hedge=2ms -requests=1000
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/go-compendium/compendium/examples/internal/latency"
	"github.com/go-compendium/compendium/examples/internal/loopback"
	"github.com/go-compendium/compendium/timeout"
)

// config is what the flags set.
type config struct {
	replicas int
	fast     time.Duration // a replica's usual time per request
	slow     time.Duration // its time for a request in the tail
	tail     float64       // the fraction of requests that take slow
	hedge    time.Duration // how long Hedge waits before the next try
	requests int           // requests per strategy
	clients  int           // requests in flight at once
	seed     uint64        // for the replicas' random tails
}

func main() {
	var cfg config
	flag.IntVar(&cfg.replicas, "replicas", 3, "number of replicated servers")
	flag.DurationVar(&cfg.fast, "fast", time.Millisecond, "time a replica usually takes per request")
	flag.DurationVar(&cfg.slow, "slow", 50*time.Millisecond, "time a replica takes for a request in the tail")
	flag.Float64Var(&cfg.tail, "tail", 0.05, "fraction of requests that are slow")
	flag.DurationVar(&cfg.hedge, "hedge", 3*time.Millisecond, "delay before a hedged request tries the next replica")
	flag.IntVar(&cfg.requests, "requests", 400, "requests sent with each strategy")
	flag.IntVar(&cfg.clients, "clients", 4, "requests in flight at once")
	flag.Uint64Var(&cfg.seed, "seed", 1, "seed of the replicas' random tails")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Stdout, cfg); err != nil {
		fmt.Fprintln(os.Stderr, "hedging:", err)
		os.Exit(1)
	}
}

// run starts the replicas, sends cfg.requests requests with each strategy
// and prints the table. Every server, connection and goroutine it starts
// is gone when it returns.
func run(ctx context.Context, w io.Writer, cfg config) error {
	if cfg.replicas < 1 || cfg.requests < 1 || cfg.clients < 1 || cfg.tail < 0 || cfg.tail > 1 {
		return fmt.Errorf("need at least one replica, request and client, and a tail between 0 and 1, got %d, %d, %d, %v",
			cfg.replicas, cfg.requests, cfg.clients, cfg.tail)
	}
	if cfg.fast < 0 || cfg.slow < 0 || cfg.hedge < 0 {
		// A timer would treat them as 0: refuse rather than print a table
		// for settings other than the ones asked for.
		return fmt.Errorf("need durations of 0 or more, got fast %v, slow %v, hedge %v", cfg.fast, cfg.slow, cfg.hedge)
	}

	client, closeIdle := loopback.NewClient(cfg.clients)
	urls := make([]string, cfg.replicas)
	for i := range urls {
		srv := httptest.NewServer(replica(cfg, rand.New(rand.NewPCG(cfg.seed, uint64(i)))))
		defer srv.Close() // after the idle connections: defers run last first
		urls[i] = srv.URL
	}
	defer closeIdle()

	fmt.Fprintf(w, "%d replicas, each taking %v per request and %v for a fraction %v of them; hedge after %v\n",
		cfg.replicas, cfg.fast, cfg.slow, cfg.tail, cfg.hedge)
	fmt.Fprintf(w, "%d requests per strategy, %d in flight\n\n", cfg.requests, cfg.clients)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprint(tw, "strategy\ttries/req\tp50\tp90\tp99\tmax\n")

	// tries returns one try per replica, counted by t, starting at the
	// next replica each call so that every replica gets its share.
	var next atomic.Uint64
	tries := func(t *tracker) []func(context.Context) (struct{}, error) {
		fs := make([]func(context.Context) (struct{}, error), len(urls))
		k := int(next.Add(1) - 1)
		for i := range fs {
			url := urls[(k+i)%len(urls)]
			fs[i] = func(ctx context.Context) (struct{}, error) {
				if !t.start() {
					return struct{}{}, errLate
				}
				defer t.done()
				return struct{}{}, loopback.Get(ctx, client, url)
			}
		}
		return fs
	}
	strategies := []struct {
		name string
		call func(context.Context, *tracker) error
	}{
		{"single", func(ctx context.Context, t *tracker) error {
			_, err := tries(t)[0](ctx)
			return err
		}},
		{"hedge", func(ctx context.Context, t *tracker) error {
			_, err := timeout.Hedge(ctx, cfg.hedge, tries(t)...)
			return err
		}},
		{"first", func(ctx context.Context, t *tracker) error {
			_, err := timeout.First(ctx, tries(t)...)
			return err
		}},
	}
	for _, s := range strategies {
		t := new(tracker)
		lat, err := latency.Drive(ctx, cfg.requests, cfg.clients, func(ctx context.Context) error {
			return s.call(ctx, t)
		})
		n := t.close() // the losers of the last calls may still be running
		if err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
		fmt.Fprintf(tw, "%s\t%.2f\t%s\t%s\t%s\t%s\n", s.name, float64(n)/float64(cfg.requests),
			latency.Format(lat.Percentile(50)), latency.Format(lat.Percentile(90)),
			latency.Format(lat.Percentile(99)), latency.Format(lat.Percentile(100)))
	}
	return tw.Flush()
}

// replica returns a handler that answers after cfg.fast, or after
// cfg.slow for a random fraction cfg.tail of requests, or as soon as the
// client gives up (a hedged request's loser is cancelled).
func replica(cfg config, rng *rand.Rand) http.Handler {
	var mu sync.Mutex // rand.Rand is not safe for concurrent use
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		d := cfg.fast
		if rng.Float64() < cfg.tail {
			d = cfg.slow
		}
		mu.Unlock()
		loopback.Serve(w, r, d)
	})
}

// errLate is what a try returns if it starts after its strategy's
// measurement has ended: it can only be a loser whose call has returned.
var errLate = errors.New("try started after the measurement")

// tracker counts the tries a strategy started and joins them. First and
// Hedge return as soon as one try succeeds and cancel the others without
// waiting for them (waiting would put the slowest loser back into the
// latency), so the program waits for them itself, once, before it reads
// the count and before run returns: no try outlives its strategy.
type tracker struct {
	mu     sync.Mutex
	closed bool
	n      int
	wg     sync.WaitGroup
}

// start counts a try and reports whether it may run.
func (t *tracker) start() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return false
	}
	t.n++
	t.wg.Add(1) // under mu, so never after close has begun its Wait
	return true
}

// done marks a started try as returned.
func (t *tracker) done() { t.wg.Done() }

// close refuses further tries, waits for the started ones to return and
// returns how many were started.
func (t *tracker) close() int {
	t.mu.Lock()
	t.closed = true
	t.mu.Unlock()
	t.wg.Wait()
	return t.n
}
