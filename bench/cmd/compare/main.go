// Command compare runs every compendium comparison benchmark in-process and
// prints, for each pattern, compendium's implementation beside its
// alternatives (sync.Pool, sync.Mutex, golang.org/x/sync, ...).
//
// The benchmark bodies are the ones the packages' bench_test.go files run,
// so `go test -bench` and compare measure the same code.
//
// Usage:
//
//	go run ./bench/cmd/compare [-run regexp] [-benchtime d] [-count n] [-format text|markdown|bench]
//
// -format bench prints the standard Go benchmark format, for benchstat:
//
//	go run ./bench/cmd/compare -format bench -count 6 > new.txt
//	go run golang.org/x/perf/cmd/benchstat@latest -col /impl new.txt
//
// Progress (which pattern is running, n of m) goes to standard error.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"runtime"
	"testing"
	"time"

	"github.com/go-compendium/compendium/internal/benchmarks"
)

func main() {
	// testing.Init registers the test.* flags that testing.Benchmark reads
	// (test.benchtime among them); our own flags live in a separate set so
	// that -h shows only them.
	testing.Init()
	fs := flag.NewFlagSet("compare", flag.ExitOnError)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: compare [flags]\n\nRuns compendium's comparison benchmarks and prints a table per pattern.\n\n")
		fs.PrintDefaults()
	}
	run := fs.String("run", "", "run only the patterns and cases whose full name (Pkg.Name/case) matches this `regexp`")
	benchtime := fs.String("benchtime", "250ms", "run each case for this long, or Nx for N iterations (as go test -benchtime)")
	count := fs.Int("count", 1, "run each case `n` times; tables show the median")
	format := fs.String("format", "text", "output `format`: text, markdown, or bench (Go benchmark format, for benchstat)")
	list := fs.Bool("list", false, "list the patterns and cases and exit")
	embed := fs.String("embed", "", "also write a one-row-per-case summary (ours against the fastest alternative) into this `file`, between the lines "+beginMarker+" and "+endMarker)
	_ = fs.Parse(os.Args[1:])

	if err := do(os.Stdout, os.Stderr, benchmarks.All(), options{
		run: *run, benchtime: *benchtime, count: *count, format: *format, list: *list, embed: *embed,
		args: fs.Args(),
	}); err != nil {
		fmt.Fprintln(os.Stderr, "compare:", err)
		os.Exit(2)
	}
}

type options struct {
	run       string
	benchtime string
	count     int
	format    string
	list      bool
	embed     string
	args      []string // what follows the flags: nothing is expected
}

func do(stdout, stderr io.Writer, all []benchmarks.Pattern, o options) error {
	if len(o.args) > 0 {
		// "compare bench" for "compare -run bench" would otherwise run
		// every pattern, for minutes, ignoring what was asked.
		return fmt.Errorf("unexpected argument %q: compare takes only flags (see -h)", o.args[0])
	}
	if o.count < 1 {
		return fmt.Errorf("-count must be at least 1, got %d", o.count)
	}
	var w writer
	switch o.format {
	case "text":
		w = &textWriter{out: stdout}
	case "markdown":
		w = &markdownWriter{out: stdout}
	case "bench":
		w = &benchWriter{out: stdout}
	default:
		return fmt.Errorf("-format must be text, markdown or bench, got %q", o.format)
	}
	if err := flag.Set("test.benchtime", o.benchtime); err != nil {
		return fmt.Errorf("-benchtime: %v", err)
	}
	re, err := regexp.Compile(o.run)
	if err != nil {
		return fmt.Errorf("-run: %v", err)
	}

	patterns := selectCases(all, re)
	total := 0
	for _, p := range patterns {
		total += len(p.Cases)
	}
	if o.list {
		for _, p := range patterns {
			for _, c := range p.Cases {
				fmt.Fprintf(stdout, "%s.%s/%s\n", p.Pkg, p.Name, c.Name)
			}
		}
		return nil
	}
	if total == 0 {
		return fmt.Errorf("no case matches -run %q", o.run)
	}
	if o.embed != "" {
		// Fail before the long run, not after it, if the file cannot take
		// the summary.
		if _, _, err := readMarked(o.embed); err != nil {
			return err
		}
	}

	e := environment()
	w.header(e)
	sum := &summary{}
	done := 0
	start := time.Now()
	for _, p := range patterns {
		results := make([][]testing.BenchmarkResult, len(p.Cases))
		for i, c := range p.Cases {
			done++
			fmt.Fprintf(stderr, "[%d/%d] %s.%s/%s\n", done, total, p.Pkg, p.Name, c.Name)
			for range o.count {
				results[i] = append(results[i], testing.Benchmark(c.F))
			}
		}
		w.pattern(p, results)
		sum.add(p, results)
	}
	if o.embed != "" {
		if err := embedSummary(o.embed, sum.markdown(e)); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "compare: summary written into %s\n", o.embed)
	}
	fmt.Fprintf(stderr, "compare: %d cases in %v\n", total, time.Since(start).Round(time.Second))
	return nil
}

// selectCases keeps the cases whose full name matches re, and the patterns
// that keep at least one case.
func selectCases(all []benchmarks.Pattern, re *regexp.Regexp) []benchmarks.Pattern {
	var out []benchmarks.Pattern
	for _, p := range all {
		var cases []benchmarks.Case
		for _, c := range p.Cases {
			if re.MatchString(p.Pkg + "." + p.Name + "/" + c.Name) {
				cases = append(cases, c)
			}
		}
		if len(cases) > 0 {
			p.Cases = cases
			out = append(out, p)
		}
	}
	return out
}

// env describes where the numbers were measured.
type env struct {
	goVersion  string
	goos       string
	goarch     string
	cpu        string
	gomaxprocs int
	date       string
}

func environment() env {
	return env{
		goVersion:  runtime.Version(),
		goos:       runtime.GOOS,
		goarch:     runtime.GOARCH,
		cpu:        cpuModel(),
		gomaxprocs: runtime.GOMAXPROCS(0),
		date:       time.Now().UTC().Format("2006-01-02"),
	}
}
