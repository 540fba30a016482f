// Recycler replays the memory demo of the Cloudflare blog post "Recycling
// memory buffers in Go" (John Graham-Cumming, 2013): a program that needs
// bursts of large buffers, then is idle for a while, and what its heap
// looks like over time depending on where the buffers come from.
//
// Four sources are compared, one after the other in the same process:
//
//   - fresh: make a new buffer every time and drop it after use. Every
//     burst allocates again, and the garbage collector frees it all.
//   - sync.Pool: reuse within a burst and between close bursts, but the
//     pool is emptied by garbage collections, so after an idle period the
//     next burst allocates again.
//   - pool.Recycler: a bounded free list. After the first burst nothing is
//     allocated again, ever; the price is that its buffers stay in the heap
//     while idle.
//   - pool.AgingRecycler: the post's recycler with its bugs fixed
//     (bounded, one timer, LIFO) and no goroutine to hand buffers through:
//     buffers idle for -ttl (a quarter more at most) are released, so an
//     idle program gives its memory back, and a burst that comes sooner
//     than -ttl finds its buffers.
//
// Each step is a burst (-rounds times: get -buffers buffers of -size bytes,
// write to them, give them back) followed by -idle of nothing. After each
// burst and after each idle period the program prints the heap as
// runtime.MemStats sees it (in MiB), the buffers made and the bytes
// allocated so far, and the garbage collections the allocations caused.
// At the end of each idle period it does what a few idle minutes do to a
// Go program, at once: two collections (the runtime forces one every two
// minutes; the second empties every sync.Pool) and the return of free pages
// to the operating system that the background scavenger would make.
//
//	$ go run ./examples/recycler
//	source              step  phase  inuse  idle  released  made  alloc   GCs
//	fresh               1     burst  32.3   7.2   7.1       320   320.0   30
//	fresh               1     idle   0.3    39.1  39.1      320   320.0   30
//	...
//	fresh               4     idle   0.3    39.2  39.1      1280  1280.0  120
//	sync.Pool           4     idle   0.3    39.2  39.2      128   128.1   13
//	pool.Recycler       4     idle   32.4   7.1   7.1       32    32.0    4
//	pool.AgingRecycler  4     idle   0.4    39.1  39.1      128   128.0   16
//
// Fresh allocation makes every buffer it uses and collects garbage 30
// times a burst; the three recyclers make a burst's buffers once and reuse
// them for the rest of it. Between bursts, the Recycler keeps its 32 MiB
// (no allocation ever again, but the memory is never returned), while
// sync.Pool and the AgingRecycler give it back and pay for new buffers
// at the next burst: sync.Pool after two collections, whenever they come,
// the AgingRecycler after -ttl of idleness, whatever the collector does.
// With -ttl longer than -idle the AgingRecycler keeps its buffers between
// bursts, as the Recycler does, and still returns them after a longer
// pause.
//
// Run it with
//
//	go run ./examples/recycler
//	go run ./examples/recycler -buffers=64 -size=4194304 -idle=1s -ttl=500ms
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/go-compendium/compendium/pool"
)

// config is what the flags set.
type config struct {
	bursts  int           // steps: a burst and an idle period each
	rounds  int           // times a burst gets, uses and gives back its buffers
	buffers int           // buffers in use at once in a burst
	size    int           // bytes per buffer
	idle    time.Duration // time between bursts
	ttl     time.Duration // the AgingRecycler's: how long a buffer may stay idle
}

func main() {
	var cfg config
	flag.IntVar(&cfg.bursts, "bursts", 4, "number of bursts")
	flag.IntVar(&cfg.rounds, "rounds", 10, "times a burst gets, uses and gives back its buffers")
	flag.IntVar(&cfg.buffers, "buffers", 32, "buffers in use at once during a burst")
	flag.IntVar(&cfg.size, "size", 1<<20, "bytes per buffer")
	flag.DurationVar(&cfg.idle, "idle", 200*time.Millisecond, "idle time after each burst")
	flag.DurationVar(&cfg.ttl, "ttl", 100*time.Millisecond, "how long the AgingRecycler keeps an idle buffer")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Stdout, cfg); err != nil {
		fmt.Fprintln(os.Stderr, "recycler:", err)
		os.Exit(1)
	}
}

// source is where a burst gets its buffers and gives them back. Buffers
// travel as *[]byte, as a Recycler holds them (and as a sync.Pool should,
// staticcheck SA6002), so that giving one back allocates nothing.
type source struct {
	name  string
	get   func() *[]byte
	put   func(*[]byte)
	close func()
}

// sources returns constructors for the four sources, each making its
// buffers with newBuf. They are built one at a time, so that a source's
// buffers are garbage once its turn is over.
func sources(cfg config, newBuf func() *[]byte) []func() source {
	return []func() source{
		func() source { return source{"fresh", newBuf, func(*[]byte) {}, func() {}} },
		func() source {
			sp := sync.Pool{New: func() any { return newBuf() }}
			get := func() *[]byte { return sp.Get().(*[]byte) }
			return source{"sync.Pool", get, func(b *[]byte) { sp.Put(b) }, func() {}}
		},
		func() source {
			r := pool.NewRecycler(cfg.buffers, newBuf)
			return source{"pool.Recycler", r.Get, r.Put, func() {}}
		},
		func() source {
			a := pool.NewAgingRecycler(cfg.buffers, cfg.ttl, newBuf)
			return source{"pool.AgingRecycler", a.Get, a.Put, func() { _ = a.Close() }}
		},
	}
}

// run runs every source through cfg.bursts steps and prints the table.
func run(ctx context.Context, w io.Writer, cfg config) error {
	if cfg.bursts < 1 || cfg.rounds < 1 || cfg.buffers < 1 || cfg.size < 1 || cfg.idle <= 0 || cfg.ttl <= 0 {
		return fmt.Errorf("need positive bursts, rounds, buffers, size, idle and ttl, got %d, %d, %d, %d, %v, %v",
			cfg.bursts, cfg.rounds, cfg.buffers, cfg.size, cfg.idle, cfg.ttl)
	}
	fmt.Fprintf(w, "%d bursts of %d rounds of %d buffers of %s, %v idle after each burst; AgingRecycler ttl %v\n",
		cfg.bursts, cfg.rounds, cfg.buffers, mib(uint64(cfg.size)), cfg.idle, cfg.ttl)
	fmt.Fprintf(w, "heap in MiB (runtime.MemStats); made: buffers allocated so far; alloc: MiB allocated so far;\n")
	fmt.Fprintf(w, "GCs: collections so far, not counting the ones forced at the end of each idle period\n\n")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprint(tw, "source\tstep\tphase\tinuse\tidle\treleased\tmade\talloc\tGCs\n")

	var made atomic.Int64
	newBuf := func() *[]byte {
		made.Add(1)
		b := make([]byte, cfg.size)
		return &b
	}
	for _, newSource := range sources(cfg, newBuf) {
		made.Store(0)
		settle() // start every source from the same, empty heap
		s := newSource()
		err := steps(ctx, tw, cfg, s, counters{&made, readMemStats()})
		s.close()
		if err != nil {
			return err
		}
	}
	return tw.Flush()
}

// counters is where a source's figures start from.
type counters struct {
	made  *atomic.Int64    // buffers made since the source started
	start runtime.MemStats // the heap when it started
}

// steps runs the bursts of one source, printing a row after each burst and
// after each idle period.
func steps(ctx context.Context, w io.Writer, cfg config, s source, c counters) error {
	inUse := make([]*[]byte, cfg.buffers)
	for step := 1; step <= cfg.bursts; step++ {
		for range cfg.rounds {
			for i := range inUse {
				b := s.get()
				for j := 0; j < len(*b); j += 4096 {
					(*b)[j] = byte(step) // touch every page, as real work would
				}
				inUse[i] = b
			}
			for i, b := range inUse {
				s.put(b)
				inUse[i] = nil
			}
		}
		c.row(w, s.name, step, "burst")

		t := time.NewTimer(cfg.idle)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		}
		settle()
		c.row(w, s.name, step, "idle")
	}
	return nil
}

// row prints one line of the table.
func (c counters) row(w io.Writer, name string, step int, phase string) {
	m := readMemStats()
	gcs := (m.NumGC - m.NumForcedGC) - (c.start.NumGC - c.start.NumForcedGC)
	fmt.Fprintf(w, "%s\t%d\t%s\t%s\t%s\t%s\t%d\t%s\t%d\n", name, step, phase,
		mibs(m.HeapInuse), mibs(m.HeapIdle), mibs(m.HeapReleased), c.made.Load(),
		mibs(m.TotalAlloc-c.start.TotalAlloc), gcs)
}

// readMemStats returns the runtime's memory statistics now.
func readMemStats() runtime.MemStats {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m
}

// settle does what a few idle minutes do to a Go program: two garbage
// collections (the runtime forces one every two minutes), the second of
// which empties every sync.Pool, whose first collection only moves its
// contents to a victim cache; then it returns the free pages to the
// operating system, as the background scavenger would.
func settle() {
	runtime.GC()
	debug.FreeOSMemory() // a collection, then the scavenge
}

// mibs formats a byte count in MiB with one decimal.
func mibs(n uint64) string { return fmt.Sprintf("%.1f", float64(n)/(1<<20)) }

// mib formats a size for the header.
func mib(n uint64) string {
	if n >= 1<<20 && n%(1<<20) == 0 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	if n >= 1<<10 && n%(1<<10) == 0 {
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}
