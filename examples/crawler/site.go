package main

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// site is the local web site the crawler explores: pages /p/0 to
// /p/(pages-1). Page i links to 2i+1 and 2i+2 (so every page can be
// reached from /p/0), back to i-1 and i/3 (cycles), and, on one page in
// ten, to a page that does not exist. One page in 97 is slow: it answers
// after slow, or, if slow is negative, only when its request ends (that
// is, never). Fatal pages answer 500 Internal Server Error.
type site struct {
	pages   int
	latency time.Duration // how long an ordinary page takes to answer
	slow    time.Duration // how long a slow page takes; < 0: until its request ends
	fatal   map[int]bool
}

// newSite returns a site of n pages, whose slow pages take slow and
// whose pages fatal fail.
func newSite(n int, slow time.Duration, fatal ...int) *site {
	s := &site{pages: n, slow: slow, fatal: map[int]bool{}}
	for _, i := range fatal {
		s.fatal[i] = true
	}
	return s
}

// isSlow reports whether page i is one of the slow ones.
func isSlow(i int) bool { return i%97 == 96 }

// links returns the paths page i of an n-page site links to.
func links(i, n int) []string {
	ps := []string{page((2*i + 1) % n), page((2*i + 2) % n), page((i + n - 1) % n), page(i / 3)}
	if i%10 == 9 {
		ps = append(ps, fmt.Sprintf("/missing/%d", i))
	}
	return ps
}

func page(i int) string { return "/p/" + strconv.Itoa(i) }

// spread returns k page numbers spread evenly over n pages, none of them
// the first.
func spread(k, n int) []int {
	ps := make([]int, k)
	for j := range ps {
		ps[j] = (j + 1) * n / (k + 1)
	}
	return ps
}

func (s *site) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	i, err := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/p/"))
	if err != nil || !strings.HasPrefix(r.URL.Path, "/p/") || i < 0 || i >= s.pages {
		http.NotFound(w, r)
		return
	}
	wait, forever := s.latency, false
	if isSlow(i) {
		wait, forever = s.slow, s.slow < 0
	}
	if wait > 0 || forever {
		var timer <-chan time.Time // nil, never fires: wait for the request to end
		if !forever {
			t := time.NewTimer(wait)
			defer t.Stop()
			timer = t.C
		}
		select {
		case <-timer:
		case <-r.Context().Done():
			return // the client gave up: nobody reads an answer
		}
	}
	if s.fatal[i] {
		http.Error(w, "the disk is on fire", http.StatusInternalServerError)
		return
	}
	fmt.Fprintf(w, "<html><body><h1>page %d</h1>\n", i)
	for _, p := range links(i, s.pages) {
		fmt.Fprintf(w, "<a href=\"%s\">%s</a>\n", p, p)
	}
	fmt.Fprintln(w, "</body></html>")
}
