// Loadbalancer puts fanout.Balancer in front of real HTTP servers with
// uneven latencies and compares it with round robin: the talk's HTTP load
// balancer, measured.
//
// It starts one httptest server on loopback per backend. Each backend
// serves one request at a time and takes its own fixed time per request
// (by default 1ms, 2ms, 4ms and 16ms), like a pool of replicas one of
// which is overloaded. Clients then send the same number of requests
// twice, with the same number in flight:
//
//   - round-robin sends request i to backend i mod n, whatever its state,
//     so a quarter of the requests queue behind the slow backend;
//   - balancer hands each request to a [fanout.Balancer] with one worker
//     per backend, and worker i owns backend i: its handler learns its
//     index from [fanout.WorkerIndex] and sends the request there. A
//     worker runs one handler at a time, so its backend never has two of
//     the balancer's requests at once, and the backend that serves a
//     request is the worker the Balancer placed it on: the least-loaded
//     one, with the fewest requests queued or running. A fast backend
//     empties its worker's queue sooner, so it is offered more of the
//     work, and the slow one takes only what fits in its queue.
//
// The program prints how many requests each backend served, how long they
// all took, and the 50th and 99th percentile of the latency the clients
// saw:
//
//	dispatch     b0   b1   b2   b3   total  took      p50     p99
//	round-robin  100  100  100  100  400    1.66s     4.23ms  126.08ms
//	balancer     216  110  57   17   400    286.11ms  2.8ms   33.84ms
//
// Round robin is as fast as its slowest backend: a hundred requests of
// 16ms each, one at a time, take 1.6s, and the requests queued there make
// its tail. The Balancer sends the slow backend only a few, so the same
// work takes a sixth of the time. Its 99th percentile is about two of the
// slow backend's requests: with the default -depth=2, a request placed on
// the slow worker can wait behind one other there, since queued requests
// are not moved between workers. With -depth=1 the requests that find
// every worker busy wait in Submit until one is idle instead, which
// lowers the tail (to about 20ms) and raises the median (to about 5ms):
// half the clients then wait for a free worker.
//
// Run it with
//
//	go run ./examples/loadbalancer
//	go run ./examples/loadbalancer -depth=1
//	go run ./examples/loadbalancer -delays=1ms,1ms,10ms -requests=1000 -clients=16
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/signal"
	"strings"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/go-compendium/compendium/examples/internal/latency"
	"github.com/go-compendium/compendium/examples/internal/loopback"
	"github.com/go-compendium/compendium/fanout"
	"github.com/go-compendium/compendium/semaphore"
)

// config is what the flags set.
type config struct {
	delays   []time.Duration // one backend per entry: its time per request
	requests int             // requests per dispatcher
	clients  int             // requests in flight at once
	depth    int             // the balancer's queue depth per worker
}

func main() {
	var (
		cfg    config
		delays string
	)
	flag.StringVar(&delays, "delays", "1ms,2ms,4ms,16ms", "comma-separated time per request of each backend")
	flag.IntVar(&cfg.requests, "requests", 400, "requests sent through each dispatcher")
	flag.IntVar(&cfg.clients, "clients", 8, "requests in flight at once")
	flag.IntVar(&cfg.depth, "depth", 2, "requests queued per balancer worker")
	flag.Parse()
	var err error
	if cfg.delays, err = parseDurations(delays); err != nil {
		fmt.Fprintln(os.Stderr, "loadbalancer:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Stdout, cfg); err != nil {
		fmt.Fprintln(os.Stderr, "loadbalancer:", err)
		os.Exit(1)
	}
}

// parseDurations parses a comma-separated list of durations.
func parseDurations(s string) ([]time.Duration, error) {
	var ds []time.Duration
	for f := range strings.SplitSeq(s, ",") {
		d, err := time.ParseDuration(strings.TrimSpace(f))
		if err != nil {
			return nil, err
		}
		ds = append(ds, d)
	}
	return ds, nil
}

// dispatcher sends one request to some backend and reports which.
type dispatcher func(ctx context.Context) (backend int, err error)

// run starts the backends, sends cfg.requests through each dispatcher and
// prints the table. Every server, connection and goroutine it starts is
// gone when it returns.
func run(ctx context.Context, w io.Writer, cfg config) error {
	n := len(cfg.delays)
	if n == 0 || cfg.requests < 1 || cfg.clients < 1 || cfg.depth < 1 {
		return fmt.Errorf("need at least one backend, request, client and depth, got %d, %d, %d, %d",
			n, cfg.requests, cfg.clients, cfg.depth)
	}
	for i, d := range cfg.delays {
		if d < 0 {
			// A timer would treat it as 0: refuse rather than measure
			// a backend other than the one asked for.
			return fmt.Errorf("backend %d: need a delay of 0 or more, got %v", i, d)
		}
	}

	client, closeIdle := loopback.NewClient(cfg.clients)
	urls := make([]string, n)
	for i, d := range cfg.delays {
		srv := httptest.NewServer(backend(d))
		defer srv.Close() // after the idle connections: defers run last first
		urls[i] = srv.URL
	}
	defer closeIdle()

	fmt.Fprint(w, "backends (each serves one request at a time):")
	for i, d := range cfg.delays {
		fmt.Fprintf(w, " b%d %v", i, d)
	}
	fmt.Fprintf(w, "\n%d requests per dispatcher, %d in flight\n\n", cfg.requests, cfg.clients)

	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprint(tw, "dispatch\t")
	for i := range n {
		fmt.Fprintf(tw, "b%d\t", i)
	}
	fmt.Fprint(tw, "total\ttook\tp50\tp99\n")

	// Round robin: request i goes to backend i mod n.
	var next atomic.Uint64
	roundRobin := func(ctx context.Context) (int, error) {
		i := int((next.Add(1) - 1) % uint64(n))
		return i, loopback.Get(ctx, client, urls[i])
	}
	if err := measure(ctx, tw, "round-robin", cfg, roundRobin); err != nil {
		return err
	}

	// The balancer: worker i owns backend i. Since a worker runs one
	// handler at a time, backend i never has two of the balancer's
	// requests at once, and which backend serves a request is where the
	// Balancer placed it: on the least-loaded worker.
	b := fanout.NewBalancer(ctx, n, cfg.depth, func(ctx context.Context, _ struct{}) (int, error) {
		i, _ := fanout.WorkerIndex(ctx) // always set in a handler
		return i, loopback.Get(ctx, client, urls[i])
	})
	defer b.Close()
	balanced := func(ctx context.Context) (int, error) { return b.Do(ctx, struct{}{}) }
	if err := measure(ctx, tw, "balancer", cfg, balanced); err != nil {
		return err
	}
	return tw.Flush()
}

// measure sends cfg.requests requests through dispatch, cfg.clients at a
// time, and prints one row: requests per backend, their total, the time
// they all took, and the 50th and 99th percentiles of their latency.
func measure(ctx context.Context, w io.Writer, name string, cfg config, dispatch dispatcher) error {
	counts := make([]atomic.Int64, len(cfg.delays))
	start := time.Now()
	lat, err := latency.Drive(ctx, cfg.requests, cfg.clients, func(ctx context.Context) error {
		i, err := dispatch(ctx)
		if err == nil {
			counts[i].Add(1)
		}
		return err
	})
	took := time.Since(start)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	fmt.Fprintf(w, "%s\t", name)
	total := int64(0)
	for i := range counts {
		c := counts[i].Load()
		total += c
		fmt.Fprintf(w, "%d\t", c)
	}
	fmt.Fprintf(w, "%d\t%s\t%s\t%s\n", total, latency.Format(took),
		latency.Format(lat.Percentile(50)), latency.Format(lat.Percentile(99)))
	return nil
}

// backend returns a handler that serves one request at a time, each
// taking delay: a server with a fixed capacity, where requests that
// arrive while it is busy wait their turn.
func backend(delay time.Duration) http.Handler {
	busy := semaphore.NewCounting(1)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := busy.Acquire(r.Context()); err != nil {
			return // the client has gone
		}
		defer busy.Release()
		loopback.Serve(w, r, delay)
	})
}
