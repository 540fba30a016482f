package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/go-compendium/compendium/examples/internal/extest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// The crawl tests run the site in memory, inside a synctest bubble: the
// probe below is the client's http.RoundTripper and calls the site's
// handler directly. An httptest server would do real network I/O, which
// a bubble cannot wait for (a goroutine blocked on a socket is not
// durably blocked, so virtual time would stop while a request is in
// flight); in memory, every page takes exactly its virtual latency, slow
// pages time out at exactly their deadline, and every interleaving that
// matters happens at a known instant. TestRun crawls the same site over a
// real httptest server, with nothing slow enough to depend on timing.

// probe is the in-memory transport, and counts what reaches the site.
type probe struct {
	site *site
	// delay is added to a 500 answer, so that it comes at an instant when
	// no other request starts or ends (they all do at multiples of the
	// site's latency).
	delay time.Duration

	mu        sync.Mutex
	hits      map[string]int // requests that reached the site, by path
	entered   []time.Time    // when each reached it
	inFlight  int
	peak      int
	fatalSeen time.Time // when the first 500 was answered
}

func newProbe(s *site) *probe {
	return &probe{site: s, delay: 7 * time.Microsecond, hits: map[string]int{}}
}

// RoundTrip serves req from the site in memory. Like a real transport, it
// does not send a request whose context has ended, and returns the
// context's error if it ends before the answer.
func (p *probe) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	p.mu.Lock()
	p.hits[req.URL.Path]++
	p.entered = append(p.entered, time.Now())
	p.inFlight++
	p.peak = max(p.peak, p.inFlight)
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		p.inFlight--
		p.mu.Unlock()
	}()

	rec := httptest.NewRecorder()
	p.site.ServeHTTP(rec, req)
	if rec.Code == http.StatusInternalServerError {
		time.Sleep(p.delay)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	resp := rec.Result()
	resp.Request = req
	if resp.StatusCode == http.StatusInternalServerError {
		p.mu.Lock()
		if p.fatalSeen.IsZero() {
			p.fatalSeen = time.Now()
		}
		p.mu.Unlock()
	}
	return resp, nil
}

// model walks the site's links breadth first, as a crawler that fetches
// each page once and cannot follow the links of a page that timed out
// would, and returns what it must report.
func model(n int) report {
	var rep report
	seen := map[string]bool{"/p/0": true}
	queue := []string{"/p/0"}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		i, err := strconv.Atoi(strings.TrimPrefix(p, "/p/"))
		switch {
		case err != nil:
			rep.broken++
			continue
		case isSlow(i):
			rep.timedOut++
			continue
		}
		rep.fetched++
		for _, l := range links(i, n) {
			if !seen[l] {
				seen[l] = true
				queue = append(queue, l)
			}
		}
	}
	return rep
}

// TestCrawl crawls a site of 1,200 pages with cycles, broken links and
// slow pages that never answer, at several limits, and checks that every
// reachable URL was requested exactly once, that the report is the
// model's, that the slow pages timed out at their deadline rather than
// holding the crawl, and that the number of requests in flight reached
// the limit and never passed it.
func TestCrawl(t *testing.T) {
	const pages, latency, timeout = 1200, 10 * time.Millisecond, time.Second
	want := model(pages)
	require.GreaterOrEqual(t, want.fetched, 1000, "the site is big enough")
	require.NotZero(t, want.timedOut)
	require.NotZero(t, want.broken)
	for _, n := range []int{1, 8} {
		t.Run(fmt.Sprint("n=", n), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s := newSite(pages, -1) // slow pages never answer
				s.latency = latency
				p := newProbe(s)
				start := time.Now()
				rep, err := crawl(context.Background(), &http.Client{Transport: p}, "http://site.test/p/0", n, timeout)
				require.NoError(t, err)
				assert.Equal(t, want, rep)
				assert.Len(t, p.hits, want.fetched+want.timedOut+want.broken, "URLs requested")
				for path, k := range p.hits {
					require.Equal(t, 1, k, "%s requested %d times", path, k)
				}
				assert.Equal(t, n, p.peak, "peak requests in flight")
				assert.Zero(t, p.inFlight)
				// Each slow page held a slot for exactly the timeout: at
				// n = 1 the crawl is the sum of every request's time.
				if n == 1 {
					assert.Equal(t, time.Duration(want.fetched)*latency+time.Duration(want.timedOut)*timeout, time.Since(start))
				}
			})
		})
	}
}

// TestCrawlStopsAtFirstFatalError crawls a site with two pages that fail
// with 500: the first to fail stops the crawl at once (its error is
// returned, at the very instant it was answered, though slow requests
// were still waiting for their deadlines), and no request reaches the
// site after it.
func TestCrawlStopsAtFirstFatalError(t *testing.T) {
	const pages = 1200
	for _, n := range []int{1, 8} {
		t.Run(fmt.Sprint("n=", n), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s := newSite(pages, -1, spread(2, pages)...)
				s.latency = 10 * time.Millisecond
				p := newProbe(s)
				_, err := crawl(context.Background(), &http.Client{Transport: p}, "http://site.test/p/0", n, time.Second)
				require.Error(t, err)
				assert.Contains(t, err.Error(), "500 Internal Server Error")
				require.False(t, p.fatalSeen.IsZero())
				assert.Equal(t, p.fatalSeen, time.Now(), "the crawl went on after the fatal error")
				for i, at := range p.entered {
					assert.True(t, at.Before(p.fatalSeen), "request %d reached the site at %v, after the fatal error at %v", i, at, p.fatalSeen)
				}
				assert.Less(t, len(p.hits), model(pages).fetched, "the crawl stopped early")
				assert.Zero(t, p.inFlight, "a request outlived the crawl")
			})
		})
	}
}

// TestCrawlParentCancel: cancelling the caller's context stops the crawl
// with the cancellation.
func TestCrawlParentCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSite(1200, -1)
		s.latency = 10 * time.Millisecond
		start := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond+time.Microsecond)
		defer cancel()
		_, err := crawl(ctx, &http.Client{Transport: newProbe(s)}, "http://site.test/p/0", 4, time.Second)
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Equal(t, 100*time.Millisecond+time.Microsecond, time.Since(start), "stopped at the parent's deadline")
	})
}

// TestRun runs the program over a real httptest server on loopback. No
// page is slow here and the timeout is a minute, so the outcome does not
// depend on how loaded the machine is: every page is fetched.
func TestRun(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, run(context.Background(), &out, config{pages: 1200, inFlight: 8, timeout: time.Minute}))
	assert.Equal(t, "crawled 1200 pages, at most 8 requests in flight, 1m0s per request\n1200 fetched, 0 timed out, 120 broken links\n", out.String())
}

// TestRunFatal: over the real server, a fatal page ends the program with
// its error, and prints nothing.
func TestRunFatal(t *testing.T) {
	var out bytes.Buffer
	err := run(context.Background(), &out, config{pages: 1200, inFlight: 8, timeout: time.Minute, fatal: 1})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "/p/600: 500 Internal Server Error")
	assert.Empty(t, out.String())
}

// TestRunRejects: settings the program cannot use are refused before it
// prints anything.
func TestRunRejects(t *testing.T) {
	extest.Rejects(t, run, config{pages: 10, inFlight: 2, timeout: time.Second}, map[string]func(*config){
		"no pages":         func(c *config) { c.pages = 0 },
		"nothing inflight": func(c *config) { c.inFlight = 0 },
		"zero timeout":     func(c *config) { c.timeout = 0 },
		"negative slow":    func(c *config) { c.slow = -time.Second },
		"negative fatal":   func(c *config) { c.fatal = -1 },
		"too many fatal":   func(c *config) { c.fatal = 11 },
	})
}
