// Command compare runs every compendium comparison benchmark in-process and
// prints, for each pattern, compendium's implementation beside its
// alternatives (sync.Pool, sync.Mutex, golang.org/x/sync, ...).
//
// The benchmark bodies are the ones the packages' bench_test.go files run,
// so `go test -bench` and compare measure the same code.
//
// Usage:
//
//	go run ./bench/cmd/compare [-run regexp] [-benchtime d] [-count n] [-cpu list]
//		[-format text|markdown|bench|svg] [-embed file] [-svg file] [-list]
//
// -format bench prints the standard Go benchmark format, for benchstat:
//
//	go run ./bench/cmd/compare -format bench -count 6 > new.txt
//	go run golang.org/x/perf/cmd/benchstat@latest -col /impl new.txt
//
// -cpu 1,2,4,8 runs every case at each GOMAXPROCS in turn, as go test -cpu
// does, and every output shows the level (a procs column; the "-4" name
// suffix of go test in the bench format). -format svg prints a chart, one
// panel per pattern and parameter set, a bar per implementation on a log
// scale; -svg writes the same chart to a file beside any other output, so
// that one run writes bench/RESULTS.md, bench/RESULTS.svg and the README's
// summary (-embed).
//
// Before the first case, compare prints what it is about to run and an
// estimate of how long it will take; progress (which case is running, n of
// m) follows on standard error.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
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
		fmt.Fprintf(fs.Output(), "usage: compare [flags]\n\nRuns compendium's comparison benchmarks and prints a table per pattern.\n"+
			"Every flag is optional; with none, every case runs once for 250ms at the default GOMAXPROCS.\n\n")
		fs.PrintDefaults()
		fmt.Fprintf(fs.Output(), "\nbench/RESULTS.md, bench/RESULTS.svg and the README summary are written by one run:\n\n"+
			"  go run ./bench/cmd/compare -cpu 1,2,4,8 -count 3 -format markdown -embed README.md -svg bench/RESULTS.svg > bench/RESULTS.md\n")
	}
	run := fs.String("run", "", "run only the patterns and cases whose full name (Pkg.Name/case) matches this `regexp`")
	benchtime := fs.String("benchtime", "250ms", "run each case for this long, or Nx for N iterations (as go test -benchtime)")
	count := fs.Int("count", 1, "run each case `n` times; tables show the median")
	cpu := fs.String("cpu", "", "run each case at each GOMAXPROCS in this comma-separated `list` (as go test -cpu); empty: the default GOMAXPROCS only")
	format := fs.String("format", "text", "output `format`: text, markdown, bench (Go benchmark format, for benchstat) or svg (a chart)")
	list := fs.Bool("list", false, "list the patterns and cases and exit")
	embed := fs.String("embed", "", "also write a one-row-per-case summary (ours against the alternatives) into this `file`, between the lines "+beginMarker+" and "+endMarker)
	svg := fs.String("svg", "", "also write the chart of -format svg to this `file`")
	_ = fs.Parse(os.Args[1:])

	if err := do(os.Stdout, os.Stderr, benchmarks.All(), options{
		run: *run, benchtime: *benchtime, count: *count, cpu: *cpu, format: *format, list: *list,
		embed: *embed, svg: *svg, args: fs.Args(),
		cmdline: cmdline(os.Args[1:]),
	}); err != nil {
		fmt.Fprintln(os.Stderr, "compare:", err)
		os.Exit(2)
	}
}

// cmdline is how compare was run, as a shell would take it: the generated
// files say so.
func cmdline(args []string) string {
	parts := []string{"go run ./bench/cmd/compare"}
	for _, a := range args {
		if strings.Trim(a, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789,./=_:-") != "" {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		parts = append(parts, a)
	}
	return strings.Join(parts, " ")
}

type options struct {
	run       string
	benchtime string
	count     int
	cpu       string
	format    string
	list      bool
	embed     string
	svg       string
	args      []string // what follows the flags: nothing is expected
	cmdline   string   // how compare was run, for the generated files; empty in tests
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
	levels, err := parseCPU(o.cpu)
	if err != nil {
		return err
	}
	var w writer
	switch o.format {
	case "text":
		w = &textWriter{out: stdout}
	case "markdown":
		w = &markdownWriter{out: stdout, cmdline: o.cmdline}
	case "bench":
		w = &benchWriter{out: stdout}
	case "svg":
		w = &svgWriter{out: stdout}
	default:
		return fmt.Errorf("-format must be text, markdown, bench or svg, got %q", o.format)
	}
	if err := flag.Set("test.benchtime", o.benchtime); err != nil {
		return fmt.Errorf("-benchtime: %v", err)
	}
	re, err := regexp.Compile(o.run)
	if err != nil {
		return fmt.Errorf("-run: %v", err)
	}

	patterns := selectCases(all, re)
	cases := 0
	for _, p := range patterns {
		cases += len(p.Cases)
	}
	if o.list {
		for _, p := range patterns {
			for _, c := range p.Cases {
				fmt.Fprintf(stdout, "%s.%s/%s\n", p.Pkg, p.Name, c.Name)
			}
		}
		return nil
	}
	if cases == 0 {
		return fmt.Errorf("no case matches -run %q", o.run)
	}
	// Fail before the long run, not after it, if a file cannot take what
	// it is to be given.
	if o.embed != "" {
		if _, _, err := readMarked(o.embed); err != nil {
			return err
		}
	}
	var chart *svgWriter
	if o.svg != "" {
		if fi, err := os.Stat(filepath.Dir(o.svg)); err != nil || !fi.IsDir() {
			return fmt.Errorf("-svg: no directory %s for %s", filepath.Dir(o.svg), o.svg)
		}
		chart = &svgWriter{}
	}

	defaultProcs := runtime.GOMAXPROCS(0)
	e := environment(defaultProcs, levels)
	if levels == nil {
		levels = []int{defaultProcs}
	}
	runs := cases * len(levels) * o.count
	fmt.Fprintf(stderr, "compare: %d cases x %d GOMAXPROCS (%s) x -count %d = %d runs of -benchtime %s; %s\n",
		cases, len(levels), joinInts(levels), o.count, runs, o.benchtime, estimate(runs, o.benchtime))
	loadavg, _ := os.ReadFile("/proc/loadavg") // none outside Linux: no note
	fmt.Fprint(stderr, loadNote(string(loadavg), e.numCPU))

	w.header(e)
	if chart != nil {
		chart.header(e)
	}
	sum := &summary{cmdline: o.cmdline, top: headline(e, levels)}
	var problems []string
	done, total := 0, cases*len(levels) // progress is per case and level
	start := time.Now()
	for _, p := range patterns {
		m := &measured{p: p, procs: levels, runs: make([][][]testing.BenchmarkResult, len(p.Cases))}
		for i, c := range p.Cases {
			m.runs[i] = make([][]testing.BenchmarkResult, len(levels))
			for j, procs := range levels {
				done++
				name := fmt.Sprintf("%s.%s/%s", p.Pkg, p.Name, c.Name)
				if e.sweep() {
					name += fmt.Sprintf(" procs=%d", procs)
				}
				fmt.Fprintf(stderr, "[%d/%d] %s\n", done, total, name)
				m.runs[i][j] = runCase(c, procs, e.levels != nil, o.count)
			}
		}
		w.pattern(m)
		if chart != nil {
			chart.pattern(m)
		}
		sum.add(m)
		problems = append(problems, unitProblems(m)...)
	}
	if err := w.finish(); err != nil {
		return err
	}
	if chart != nil {
		var b strings.Builder
		chart.out = &b
		if err := chart.finish(); err != nil {
			return err
		}
		if err := os.WriteFile(o.svg, []byte(b.String()), 0o644); err != nil {
			return fmt.Errorf("-svg: %v", err)
		}
		fmt.Fprintf(stderr, "compare: chart written to %s\n", o.svg)
	}
	if o.embed != "" {
		if err := embedSummary(o.embed, sum.markdown(e)); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "compare: summary written into %s\n", o.embed)
	}
	fmt.Fprintf(stderr, "compare: %d cases x %d GOMAXPROCS x -count %d in %v\n", cases, len(levels), o.count, time.Since(start).Round(time.Second))
	if len(problems) > 0 {
		return fmt.Errorf("%d cases report their units inconsistently:\n\t%s", len(problems), strings.Join(problems, "\n\t"))
	}
	return nil
}

// runCase runs c count times at GOMAXPROCS procs (when set is true; else
// at whatever GOMAXPROCS is) and puts GOMAXPROCS back as it found it.
func runCase(c benchmarks.Case, procs int, set bool, count int) []testing.BenchmarkResult {
	if set {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
	}
	rs := make([]testing.BenchmarkResult, 0, count)
	for range count {
		rs = append(rs, testing.Benchmark(c.F))
	}
	return rs
}

// parseCPU reads -cpu's list of GOMAXPROCS levels; nil for none.
func parseCPU(s string) ([]int, error) {
	if s == "" {
		return nil, nil
	}
	var levels []int
	for f := range strings.SplitSeq(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("-cpu must be a comma-separated list of GOMAXPROCS values of at least 1, got %q", s)
		}
		levels = append(levels, n)
	}
	return levels, nil
}

func joinInts(xs []int) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = strconv.Itoa(x)
	}
	return strings.Join(s, ",")
}

// perRun is how long one testing.Benchmark call takes, as a multiple of
// -benchtime: testing grows b.N until one run lasts the benchtime (about
// 1.2x it, aiming past the goal), after shorter runs that predicted it, and
// setup outside the timer comes on top. 165 cases at the default 250ms took
// 66 s on the 2-core reference machine: 1.6x.
const perRun = 1.6

// estimate says how long runs runs of benchtime should take.
func estimate(runs int, benchtime string) string {
	d, err := time.ParseDuration(benchtime)
	if err != nil {
		// -benchtime Nx: the time is N times each case's op, which
		// ranges from a nanosecond to milliseconds.
		return "no time estimate for -benchtime Nx"
	}
	t := time.Duration(float64(runs) * perRun * float64(d))
	switch {
	case t < 10*time.Second:
		t = t.Round(100 * time.Millisecond)
	case t < 5*time.Minute:
		t = t.Round(5 * time.Second)
	default:
		t = t.Round(time.Minute)
	}
	return fmt.Sprintf("estimated time %v (%.1fx -benchtime per run, as measured on 2 idle cores)", t, perRun)
}

// loadNote warns when the machine is busy: the run then takes longer than
// the estimate, and its numbers are noisier. loadavg is the content of
// /proc/loadavg, whose first field is the one-minute load average; where
// there is none, loadNote says nothing.
func loadNote(loadavg string, numCPU int) string {
	f := strings.Fields(loadavg)
	if len(f) == 0 {
		return ""
	}
	load, err := strconv.ParseFloat(f[0], 64)
	if err != nil || load < float64(numCPU)/2 {
		return ""
	}
	return fmt.Sprintf("compare: the load average is %.1f on %d CPUs: expect it to take longer, and noisier numbers\n", load, numCPU)
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
	numCPU     int
	gomaxprocs int   // the default, which compare found
	levels     []int // -cpu's levels; nil without -cpu
	date       string
}

func environment(gomaxprocs int, levels []int) env {
	return env{
		goVersion:  runtime.Version(),
		goos:       runtime.GOOS,
		goarch:     runtime.GOARCH,
		cpu:        cpuModel(),
		numCPU:     runtime.NumCPU(),
		gomaxprocs: gomaxprocs,
		levels:     levels,
		date:       time.Now().UTC().Format("2006-01-02"),
	}
}

// sweep reports whether the cases ran at more than one GOMAXPROCS, so that
// the outputs must say which level each number is from.
func (e env) sweep() bool { return len(e.levels) > 1 }

// procs describes the GOMAXPROCS the cases ran at.
func (e env) procs() string {
	switch {
	case e.levels == nil:
		return fmt.Sprintf("GOMAXPROCS=%d", e.gomaxprocs)
	default:
		return fmt.Sprintf("GOMAXPROCS=%s (-cpu)", joinInts(e.levels))
	}
}
