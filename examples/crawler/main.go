// Crawler is the Go Tour's last concurrency exercise, the web crawler,
// done right: it fetches every page reachable from a start page, each URL
// once, at most -n requests at a time, each request with its own timeout,
// and the first fatal error stops everything; when it returns, no
// goroutine it started is left.
//
// The work discovers its own work: each page yields links to fetch. That
// is what semaphore.Group's recursive submission is for. A task passes
// the context it received to Group.Go, and such a Go never blocks: the
// new page takes a free slot, or waits in the group's bounded pending
// list, or, if that is full, the task fetches it itself, in the slot it
// already holds. So there are never more than n requests in flight, never
// more than n goroutines, and no deadlock at any n; Wait returns once the
// last page discovered has been fetched. TaskTimeout gives each fetch its
// deadline, and the slot stays taken until the fetch returns. The crawler
// is the function crawl below.
//
// The same job with golang.org/x/sync's errgroup and semaphore needs a
// goroutine per discovered page, since errgroup's Go with SetLimit would
// block a task on a slot only tasks can free:
//
//	g, ctx := errgroup.WithContext(ctx)
//	sem := semaphore.NewWeighted(int64(n))
//	var mu sync.Mutex
//	seen := map[string]bool{root: true}
//	var visit func(url string) error
//	visit = func(url string) error {
//		if err := sem.Acquire(ctx, 1); err != nil {
//			return err
//		}
//		fctx, cancel := context.WithTimeout(ctx, timeout)
//		links, err := fetch(fctx, client, url)
//		cancel()
//		sem.Release(1)
//		// ... classify err as crawl does; return it if fatal ...
//		for _, l := range links {
//			mu.Lock()
//			isNew := !seen[l]
//			seen[l] = true
//			mu.Unlock()
//			if isNew {
//				g.Go(func() error { return visit(l) })
//			}
//		}
//		return nil
//	}
//	g.Go(func() error { return visit(root) })
//	err := g.Wait()
//
// It is correct, and as short, but the limit is on requests only: a
// site of a million pages starts a million goroutines, each parked on the
// semaphore with its closure, where the Group keeps n goroutines and at
// most MaxPending waiting tasks.
//
// The program serves a local site on an httptest server (loopback): -pages
// pages, each linking to a few others (cycles included), one in 97 slow to
// answer (it times out), some links broken (404), and -fatal pages that
// fail with 500, a fatal error. It prints what it found:
//
//	$ go run ./examples/crawler
//	crawled 1200 pages, at most 8 requests in flight, 100ms per request
//	1188 fetched, 12 timed out, 119 broken links
//
// Run it with
//
//	go run ./examples/crawler [-pages=n] [-n=n] [-timeout=d] [-fatal=n]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/signal"
	"regexp"
	"sync"
	"time"

	"github.com/go-compendium/compendium/semaphore"
)

// config is what the flags set.
type config struct {
	pages    int           // pages on the local site
	inFlight int           // requests at once
	timeout  time.Duration // per request
	slow     time.Duration // how long a slow page takes to answer
	fatal    int           // pages that fail with 500
}

func main() {
	var cfg config
	flag.IntVar(&cfg.pages, "pages", 1200, "pages on the local site")
	flag.IntVar(&cfg.inFlight, "n", 8, "requests in flight at once")
	flag.DurationVar(&cfg.timeout, "timeout", 100*time.Millisecond, "timeout of each request")
	flag.DurationVar(&cfg.slow, "slow", time.Second, "time a slow page takes to answer")
	flag.IntVar(&cfg.fatal, "fatal", 0, "pages that fail with 500 Internal Server Error, which stops the crawl")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Stdout, cfg); err != nil {
		fmt.Fprintln(os.Stderr, "crawler:", err)
		os.Exit(1)
	}
}

// run serves the local site, crawls it from its first page and prints
// the report. Every server, connection and goroutine it starts is gone
// when it returns.
func run(ctx context.Context, w io.Writer, cfg config) error {
	if cfg.pages < 1 || cfg.inFlight < 1 || cfg.timeout <= 0 || cfg.slow < 0 || cfg.fatal < 0 || cfg.fatal > cfg.pages {
		return fmt.Errorf("need at least one page and one request in flight, a positive timeout, a slow time of 0 or more, and 0 to pages fatal pages; got %d, %d, %v, %v, %d",
			cfg.pages, cfg.inFlight, cfg.timeout, cfg.slow, cfg.fatal)
	}
	srv := httptest.NewServer(newSite(cfg.pages, cfg.slow, spread(cfg.fatal, cfg.pages)...))
	defer srv.Close() // also closes the client's idle connections
	rep, err := crawl(ctx, srv.Client(), srv.URL+"/p/0", cfg.inFlight, cfg.timeout)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "crawled %d pages, at most %d requests in flight, %v per request\n", cfg.pages, cfg.inFlight, cfg.timeout)
	fmt.Fprintf(w, "%d fetched, %d timed out, %d broken links\n", rep.fetched, rep.timedOut, rep.broken)
	return nil
}

// report is what a crawl found.
type report struct {
	fetched  int // pages fetched
	timedOut int // pages that did not answer within the timeout
	broken   int // links to pages that do not exist
}

// crawl fetches every page reachable from root, each once, at most n at
// a time, each within timeout, and stops at the first fatal error (any
// failure but a timeout or a 404), which it returns.
func crawl(ctx context.Context, client *http.Client, root string, n int, timeout time.Duration) (report, error) {
	g := semaphore.NewGroup(ctx, n, semaphore.TaskTimeout(timeout))
	defer g.Close()
	var mu sync.Mutex // guards seen and rep
	seen := map[string]bool{root: true}
	var rep report
	var visit func(url string) func(context.Context) error
	visit = func(url string) func(context.Context) error {
		return func(ctx context.Context) error {
			links, err := fetch(ctx, client, url)
			var next []string
			mu.Lock()
			switch {
			case errors.Is(err, errNotFound):
				rep.broken++
			case errors.Is(err, context.DeadlineExceeded):
				rep.timedOut++
			case err != nil:
				mu.Unlock()
				return err // fatal: cancels the group
			}
			if err == nil {
				rep.fetched++
			}
			for _, l := range links {
				if !seen[l] {
					seen[l] = true
					next = append(next, l)
				}
			}
			mu.Unlock()
			// Not under mu: a page submitted from a task may be fetched
			// right here, by this call (see semaphore.Group.Go).
			for _, l := range next {
				if err := g.Go(ctx, visit(l)); err != nil {
					return err
				}
			}
			return nil
		}
	}
	if err := g.Go(ctx, visit(root)); err != nil {
		return rep, err
	}
	err := g.Wait() // every task's return happens before Wait returns
	return rep, err
}

// errNotFound is fetch's error for a page that does not exist.
var errNotFound = errors.New("not found")

// href finds the links in a page.
var href = regexp.MustCompile(`href="([^"]*)"`)

// fetch gets a page and returns the absolute URLs of the links it holds to
// pages on the same host.
func fetch(ctx context.Context, client *http.Client, url string) ([]string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusNotFound:
		return nil, fmt.Errorf("%s: %w", url, errNotFound)
	default:
		return nil, fmt.Errorf("%s: %s", url, resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	var links []string
	for _, m := range href.FindAllSubmatch(body, -1) {
		u, err := req.URL.Parse(string(m[1]))
		if err == nil && u.Host == req.URL.Host {
			u.Fragment = ""
			links = append(links, u.String())
		}
	}
	return links, nil
}
