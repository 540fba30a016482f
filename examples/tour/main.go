// Tour walks through every pattern of John Graham-Cumming's talk "A
// Channel Compendium" (GopherCon 2014), in the order of the slides, and
// prints what each one shows. Where compendium has a package for the
// pattern the tour uses it, and where a slide has a bug the tour names it
// on a line that starts with "fixed:".
//
// The sections are: start gun, terminate workers, verify termination,
// closed and nil channels, timeout vs deadline, heartbeat, unique IDs,
// recycler, non-blocking send and receive, multiplexor, first of N,
// response channels and the load balancer. Its output is the same on
// every run: the timing sections wait for multiples of -tick, with
// margins of half a tick, and nothing else depends on timing.
//
// Run it with
//
//	go run ./examples/tour
//	go run ./examples/tour -workers=5 -tick=50ms
//
// The output begins:
//
//	$ go run ./examples/tour
//	1. Start gun: closing a channel releases every goroutine waiting on it
//	   3 workers waiting for the gun, 0 started
//	   gun fired: 3 of 3 workers started
//	   firing again does nothing: Quit() = false
//	   timeout.Quit closes once: a second close(start) would panic
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"time"
)

// config is what the flags set.
type config struct {
	workers int           // goroutines in the sections that start several
	ids     int           // IDs each worker draws in "unique IDs"
	tick    time.Duration // the unit of time of the timing sections
}

func main() {
	var cfg config
	flag.IntVar(&cfg.workers, "workers", 3, "goroutines in the sections that start several (at least 2)")
	flag.IntVar(&cfg.ids, "ids", 1000, "IDs each worker draws from the generator")
	flag.DurationVar(&cfg.tick, "tick", 20*time.Millisecond, "unit of time of the timing sections")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Stdout, cfg); err != nil {
		fmt.Fprintln(os.Stderr, "tour:", err)
		os.Exit(1)
	}
}

// section is one slide (or a few slides on one pattern).
type section struct {
	title string
	run   func(ctx context.Context, p *printer, cfg config) error
}

// sections lists the tour in slide order.
func sections() []section {
	return []section{
		{"Start gun: closing a channel releases every goroutine waiting on it", startGun},
		{"Terminate workers: the same close tells every worker to stop", terminateWorkers},
		{"Verify termination: stop the workers and know that they stopped", verifyTermination},
		{"Closed and nil channels: a closed channel never blocks, a nil one always does", closedAndNil},
		{"Timeout vs deadline: time.After in a loop times each message, not the conversation", timeoutVsDeadline},
		{"Heartbeat: a worker beats, a watchdog notices when it stops", heartbeat},
		{"Unique IDs: a goroutine that owns a counter hands out IDs", uniqueIDs},
		{"Recycler: reuse big buffers instead of making the garbage collector free them", recycler},
		{"Non-blocking send and receive: select with a default case", nonBlocking},
		{"Multiplexor: many goroutines share one connection, one writer at a time", multiplexor},
		{"First of N: ask every replica, keep the first answer", firstOfN},
		{"Response channels: a request carries the channel its answer goes to", responseChannels},
		{"Load balancer: each request to the least-loaded worker", loadBalancer},
	}
}

// run prints every section in order. Every goroutine a section starts has
// returned before the next section begins.
func run(ctx context.Context, w io.Writer, cfg config) error {
	if cfg.workers < 2 || cfg.ids < 1 || cfg.tick <= 0 {
		return fmt.Errorf("need at least 2 workers, 1 ID and a positive tick, got %d, %d, %v", cfg.workers, cfg.ids, cfg.tick)
	}
	p := &printer{w: w}
	for i, s := range sections() {
		if i > 0 {
			p.line("")
		}
		p.line(fmt.Sprintf("%d. %s", i+1, s.title))
		if err := s.run(ctx, p, cfg); err != nil {
			return fmt.Errorf("%s: %w", s.title, err)
		}
		if p.err != nil {
			return p.err
		}
	}
	return nil
}

// printer writes the tour's lines and keeps the first write error, so
// that the sections can print without checking each line.
type printer struct {
	w   io.Writer
	err error
}

// line writes s and a newline.
func (p *printer) line(s string) {
	if p.err == nil {
		_, p.err = io.WriteString(p.w, s+"\n")
	}
}

// say writes one indented line of a section.
func (p *printer) say(format string, args ...any) {
	p.line("   " + fmt.Sprintf(format, args...))
}
