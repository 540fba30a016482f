package main

import (
	"bytes"
	"encoding/xml"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-compendium/compendium/internal/benchmarks"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fake is a pattern whose two implementations do measurably different work,
// so the tables have something real to compare.
func fake() []benchmarks.Pattern {
	var n atomic.Int64
	return []benchmarks.Pattern{{
		Pkg: "fake", Name: "Add", Doc: "adds to a counter.", Ours: []string{"atomic"},
		Cases: []benchmarks.Case{
			{Name: "k=1/impl=atomic", F: func(b *testing.B) {
				b.ReportAllocs()
				for range b.N {
					n.Add(1)
				}
			}},
			{Name: "k=1/impl=alloc", F: func(b *testing.B) {
				b.ReportAllocs()
				for range b.N {
					p := new([64]byte)
					n.Add(int64(p[0]) + 1)
				}
				b.ReportMetric(1, "things/op")
			}},
		},
	}}
}

func TestFormats(t *testing.T) {
	cases := []struct {
		format string
		want   []string
	}{
		{"text", []string{"fake.Add: adds to a counter.", "atomic (ours)", "alloc", "things/op", "1.00x"}},
		{"markdown", []string{"## fake.Add", "| case | impl | ns/op | B/op | allocs/op | things/op | vs ours |", "**atomic (ours)**"}},
		{"bench", []string{"pkg: github.com/go-compendium/compendium/fake", "BenchmarkAdd/k=1/impl=atomic", "allocs/op", "1 things/op"}},
	}
	for _, c := range cases {
		t.Run(c.format, func(t *testing.T) {
			var out, progress bytes.Buffer
			err := do(&out, &progress, fake(), options{benchtime: "100x", count: 2, format: c.format})
			require.NoError(t, err)
			for _, w := range c.want {
				assert.Contains(t, out.String(), w)
			}
			assert.Contains(t, progress.String(), "[2/2] fake.Add/k=1/impl=alloc")
		})
	}
}

func TestBenchFormatRepeatsCount(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, do(&out, &bytes.Buffer{}, fake(), options{benchtime: "10x", count: 3, format: "bench"}))
	assert.Equal(t, 3, strings.Count(out.String(), "BenchmarkAdd/k=1/impl=atomic"), "one line per run, for benchstat")
}

func TestRunFilterAndList(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, do(&out, &bytes.Buffer{}, fake(), options{run: "impl=alloc", benchtime: "1x", count: 1, format: "text", list: true}))
	assert.Equal(t, "fake.Add/k=1/impl=alloc\n", out.String())
}

func TestBadFlags(t *testing.T) {
	cases := []struct {
		name string
		o    options
		want string
	}{
		{"count", options{count: 0, format: "text", benchtime: "1x"}, "-count must be at least 1, got 0"},
		{"format", options{count: 1, format: "csv", benchtime: "1x"}, `-format must be text, markdown, bench or svg, got "csv"`},
		{"cpu zero", options{count: 1, format: "text", benchtime: "1x", cpu: "1,0"}, "-cpu must be a comma-separated list"},
		{"cpu junk", options{count: 1, format: "text", benchtime: "1x", cpu: "two"}, "-cpu must be a comma-separated list"},
		{"svg dir", options{count: 1, format: "text", benchtime: "1x", svg: "/no/such/dir/RESULTS.svg"}, "-svg: no directory /no/such/dir"},
		{"run", options{count: 1, format: "text", benchtime: "1x", run: "("}, "-run"},
		{"nomatch", options{count: 1, format: "text", benchtime: "1x", run: "nothing"}, "no case matches"},
		{"benchtime", options{count: 1, format: "text", benchtime: "soon"}, "-benchtime"},
		{"argument", options{count: 1, format: "text", benchtime: "1x", args: []string{"bench"}}, `unexpected argument "bench"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var progress bytes.Buffer
			err := do(&bytes.Buffer{}, &progress, fake(), c.o)
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.want)
			assert.Empty(t, progress.String(), "a bad flag fails before anything runs")
		})
	}
}

func TestEmbedSummary(t *testing.T) {
	path := filepath.Join(t.TempDir(), "README.md")
	before := "# title\n\n" + beginMarker + "\nold table\n" + endMarker + "\n\nafter\n"
	require.NoError(t, os.WriteFile(path, []byte(before), 0o644))

	require.NoError(t, do(&bytes.Buffer{}, &bytes.Buffer{}, fake(), options{benchtime: "10x", count: 1, format: "text", embed: path}))
	got, err := os.ReadFile(path)
	require.NoError(t, err)
	s := string(got)
	assert.NotContains(t, s, "old table")
	assert.True(t, strings.HasPrefix(s, "# title\n\n"+beginMarker+"\n"), "text before the block is kept")
	assert.True(t, strings.HasSuffix(s, endMarker+"\n\nafter\n"), "text after the block is kept")
	assert.Contains(t, s, "| fake.Add | k=1 | atomic ")
	assert.Regexp(t, `\| alloc [0-9.]+ \([0-9.]+x\) \|`, s, "the alternative with its multiple of ours")
}

func TestEmbedWithoutMarkersFailsBeforeRunning(t *testing.T) {
	path := filepath.Join(t.TempDir(), "README.md")
	require.NoError(t, os.WriteFile(path, []byte("no markers\n"), 0o644))
	var progress bytes.Buffer
	err := do(&bytes.Buffer{}, &progress, fake(), options{benchtime: "10x", count: 1, format: "text", embed: path})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "no "+beginMarker)
	assert.Empty(t, progress.String(), "nothing ran")
}

// TestSummaryRatioWhateverTheOrder: an alternative listed before ours still
// gets its multiple of ours.
func TestSummaryRatioWhateverTheOrder(t *testing.T) {
	p := fake()
	slices.Reverse(p[0].Cases)
	path := filepath.Join(t.TempDir(), "README.md")
	require.NoError(t, os.WriteFile(path, []byte(beginMarker+"\n"+endMarker+"\n"), 0o644))
	require.NoError(t, do(&bytes.Buffer{}, &bytes.Buffer{}, p, options{benchtime: "10x", count: 1, format: "text", embed: path}))
	got, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Regexp(t, `\| alloc [0-9.]+ \([0-9.]+x\) \|`, string(got))
}

// TestFailedCase: a case that fails (b.Fatal) shows as failed in the
// tables, has no line in the bench format (benchstat would read a zero as
// a measurement) and no ratio, and the other cases still run and compare.
func TestFailedCase(t *testing.T) {
	p := fake()
	p[0].Cases = append(p[0].Cases, benchmarks.Case{Name: "k=1/impl=broken", F: func(b *testing.B) { b.Fatal("broken") }})
	for _, tc := range []struct {
		format string
		want   *regexp.Regexp
	}{
		{"text", regexp.MustCompile(`k=1\s+broken\s+failed`)},
		{"markdown", regexp.MustCompile(`\| k=1 \| broken \| failed \|`)},
	} {
		var out bytes.Buffer
		require.NoError(t, do(&out, &bytes.Buffer{}, p, options{benchtime: "10x", count: 1, format: tc.format}))
		assert.Regexp(t, tc.want, out.String(), tc.format)
		assert.Contains(t, out.String(), "1.00x", "%s: the others still compare", tc.format)
	}
	var out bytes.Buffer
	require.NoError(t, do(&out, &bytes.Buffer{}, p, options{benchtime: "10x", count: 1, format: "bench"}))
	assert.NotContains(t, out.String(), "impl=broken")
	assert.Contains(t, out.String(), "impl=alloc")
}

// TestPlanBeforeFirstCase: compare says what it is about to run, and how
// long that should take, before the first case starts.
func TestPlanBeforeFirstCase(t *testing.T) {
	cases := []struct {
		benchtime, cpu string
		want           string
	}{
		{"10ms", "", "compare: 2 cases x 1 GOMAXPROCS (" + strconv.Itoa(runtime.GOMAXPROCS(0)) + ") x -count 3 = 6 runs of -benchtime 10ms; estimated time 100ms"},
		{"100x", "1,2", "compare: 2 cases x 2 GOMAXPROCS (1,2) x -count 3 = 12 runs of -benchtime 100x; no time estimate for -benchtime Nx"},
	}
	for _, c := range cases {
		var progress bytes.Buffer
		require.NoError(t, do(&bytes.Buffer{}, &progress, fake(), options{benchtime: c.benchtime, cpu: c.cpu, count: 3, format: "text"}))
		first, _, _ := strings.Cut(progress.String(), "\n")
		assert.True(t, strings.HasPrefix(first, c.want), "first line %q; want it to start with %q", first, c.want)
	}
}

func TestEstimate(t *testing.T) {
	assert.Equal(t, "estimated time 1m0s (1.6x -benchtime per run, as measured on 2 idle cores)", estimate(150, "250ms"))
	assert.Equal(t, "estimated time 1m15s (1.6x -benchtime per run, as measured on 2 idle cores)", estimate(183, "250ms"))
	assert.Equal(t, "estimated time 20s (1.6x -benchtime per run, as measured on 2 idle cores)", estimate(50, "250ms"))
	assert.Equal(t, "estimated time 15m0s (1.6x -benchtime per run, as measured on 2 idle cores)", estimate(183*4*3, "250ms"))
	assert.Equal(t, "no time estimate for -benchtime Nx", estimate(50, "1x"))
}

// TestCPUSweep: -cpu runs every case at each GOMAXPROCS, puts GOMAXPROCS
// back afterwards, and every output says which level a number is from.
func TestCPUSweep(t *testing.T) {
	before := runtime.GOMAXPROCS(0)
	var seen sync.Map // GOMAXPROCS as each run saw it -> true
	p := fake()
	for i, c := range p[0].Cases {
		p[0].Cases[i].F = func(b *testing.B) {
			seen.Store(runtime.GOMAXPROCS(0), true)
			c.F(b)
		}
	}
	run := func(format string) (string, string) {
		var out, progress bytes.Buffer
		require.NoError(t, do(&out, &progress, p, options{benchtime: "10x", count: 2, cpu: "1,3", format: format}))
		assert.Equal(t, before, runtime.GOMAXPROCS(0), "GOMAXPROCS restored")
		return out.String(), progress.String()
	}

	out, progress := run("bench")
	for _, procs := range []int{1, 3} {
		_, ok := seen.Load(procs)
		assert.True(t, ok, "a run at GOMAXPROCS=%d", procs)
	}
	// go test's names: no suffix at 1, "-N" otherwise; two runs each.
	assert.Equal(t, 2, strings.Count(out, "BenchmarkAdd/k=1/impl=atomic\t"))
	assert.Equal(t, 2, strings.Count(out, "BenchmarkAdd/k=1/impl=atomic-3\t"))
	assert.Contains(t, progress, "[4/4] fake.Add/k=1/impl=alloc procs=3\n")

	out, _ = run("text")
	assert.Contains(t, out, "GOMAXPROCS=1,3 (-cpu)")
	assert.Regexp(t, `case\s+procs\s+impl\s+ns/op`, out)
	assert.Regexp(t, `k=1\s+3\s+atomic \(ours\)\s+[0-9.]+\s+[0-9.]+\s+[0-9.]+\s+1\.00x`, out)

	out, _ = run("markdown")
	assert.Contains(t, out, "| case | procs | impl | ns/op | B/op | allocs/op | things/op | vs ours |")
	assert.Contains(t, out, "| k=1 | 3 | **atomic (ours)** |")

	// The README's summary is at one level, the headline: the default
	// GOMAXPROCS if the sweep has it, else the first.
	top := headline(env{gomaxprocs: runtime.GOMAXPROCS(0)}, []int{1, 3})
	path := filepath.Join(t.TempDir(), "README.md")
	require.NoError(t, os.WriteFile(path, []byte(beginMarker+"\n"+endMarker+"\n"), 0o644))
	require.NoError(t, do(&bytes.Buffer{}, &bytes.Buffer{}, p, options{benchtime: "10x", count: 1, cpu: "1,3", format: "text", embed: path}))
	got, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Contains(t, string(got), "GOMAXPROCS=1,3 (-cpu)). This table is at GOMAXPROCS="+strconv.Itoa(top)+"; the full tables have every level.")
	assert.Equal(t, 1, strings.Count(string(got), "| fake.Add | k=1 | atomic "), "one row, at the headline level")
}

func TestHeadline(t *testing.T) {
	e := env{gomaxprocs: 2}
	assert.Equal(t, 2, headline(e, nil))
	assert.Equal(t, 2, headline(e, []int{1, 2, 4, 8}), "the default, where the sweep has it")
	assert.Equal(t, 4, headline(e, []int{4, 8}), "else the first level")
}

// perTask is a pattern whose op is 10 tasks of one 64-byte allocation
// each, measured with benchmarks.PerUnit.
func perTask() []benchmarks.Pattern {
	var sink atomic.Pointer[[64]byte]
	return []benchmarks.Pattern{{
		Pkg: "fake", Name: "Tasks", Doc: "ten tasks per op.", Ours: []string{"ours"},
		Cases: []benchmarks.Case{{Name: "impl=ours", F: func(b *testing.B) {
			u := benchmarks.PerUnit(b, "task")
			for range b.N {
				for range 10 {
					sink.Store(new([64]byte))
				}
			}
			u.Stop(b.N * 10)
		}}},
	}}
}

// TestUnits: a case measured per task shows time, bytes and allocations
// per task, in the tables and in the summary, never per op beside them.
func TestUnits(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, do(&out, &bytes.Buffer{}, perTask(), options{benchtime: "1000x", count: 1, format: "text"}))
	assert.Regexp(t, `impl\s+ns/task\s+B/task\s+allocs/task\s+vs ours`, out.String())
	m := regexp.MustCompile(`ours \(ours\)\s+([0-9.]+)\s+([0-9.]+)\s+([0-9.]+)\s+1\.00x`).FindStringSubmatch(out.String())
	require.NotNil(t, m, out.String())
	bytesPer, err := strconv.ParseFloat(m[2], 64)
	require.NoError(t, err)
	allocsPer, err := strconv.ParseFloat(m[3], 64)
	require.NoError(t, err)
	// A little slack for what the runtime allocates meanwhile.
	assert.InDelta(t, 64, bytesPer, 2, "B/task: one 64-byte allocation per task")
	assert.InDelta(t, 1, allocsPer, 0.05, "allocs/task")

	path := filepath.Join(t.TempDir(), "README.md")
	require.NoError(t, os.WriteFile(path, []byte(beginMarker+"\n"+endMarker+"\n"), 0o644))
	require.NoError(t, do(&bytes.Buffer{}, &bytes.Buffer{}, perTask(), options{benchtime: "1000x", count: 1, format: "text", embed: path}))
	got, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Regexp(t, `ours [0-9.]+ ns/task, [0-9.]+ allocs/task`, string(got))
}

// TestUnitsInconsistent: a case that reports ns/task but not allocs/task
// and B/task fails the run (after its output), so that CI's smoke run
// catches it.
func TestUnitsInconsistent(t *testing.T) {
	p := fake()
	p[0].Cases = append(p[0].Cases, benchmarks.Case{Name: "k=1/impl=half", F: func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			runtime.Gosched()
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/10, "ns/task")
	}})
	var out bytes.Buffer
	err := do(&out, &bytes.Buffer{}, p, options{benchtime: "10x", count: 1, format: "text"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "fake.Add/k=1/impl=half reports ns/task but not B/task, allocs/task")
	assert.Contains(t, out.String(), "fake.Add", "the results are printed all the same")
}

// svgNode is any element of the chart, read back with encoding/xml.
type svgNode struct {
	XMLName xml.Name
	Attrs   []xml.Attr `xml:",any,attr"`
	Text    string     `xml:",chardata"`
	Nodes   []svgNode  `xml:",any"`
}

func (n svgNode) attr(name string) string {
	for _, a := range n.Attrs {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

func (n svgNode) float(t *testing.T, name string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(n.attr(name), 64)
	require.NoError(t, err, "<%s %s=%q>", n.XMLName.Local, name, n.attr(name))
	return v
}

// find returns every element under n (n included) whose tag is tag and
// whose class list holds class (any class if class is "").
func (n svgNode) find(tag, class string) []svgNode {
	var out []svgNode
	if n.XMLName.Local == tag && (class == "" || slices.Contains(strings.Fields(n.attr("class")), class)) {
		out = append(out, n)
	}
	for _, c := range n.Nodes {
		out = append(out, c.find(tag, class)...)
	}
	return out
}

func parseSVG(t *testing.T, s string) svgNode {
	t.Helper()
	var root svgNode
	require.NoError(t, xml.Unmarshal([]byte(s), &root), "the chart is well-formed XML")
	require.Equal(t, "svg", root.XMLName.Local)
	return root
}

// parseValue reads a bar's label ("28.2 ns · 1.00×", "12.6 ms") back into
// nanoseconds and the ratio (0 if none).
func parseValue(t *testing.T, s string) (ns, ratio float64) {
	t.Helper()
	value, r, hasRatio := strings.Cut(s, " · ")
	num, unit, ok := strings.Cut(value, " ")
	require.True(t, ok, "label %q", s)
	v, err := strconv.ParseFloat(num, 64)
	require.NoError(t, err, "label %q", s)
	scale := map[string]float64{"ns": 1, "µs": 1e3, "ms": 1e6, "s": 1e9}[unit]
	require.NotZero(t, scale, "unit of label %q", s)
	if hasRatio {
		ratio, err = strconv.ParseFloat(strings.TrimSuffix(r, "×"), 64)
		require.NoError(t, err, "label %q", s)
	}
	return v * scale, ratio
}

// svgWant is what a bar or a mark must show: the time per unit and the
// multiple of the first of ours in the same group.
type svgWant struct{ ns, ratio float64 }

// svgFixture is known results to draw: two patterns at two GOMAXPROCS, one
// with two parameter sets and a failed case, one per task whose times span
// eight decades, with a failed first case and one measured at 0 ns (a
// clock too coarse for one iteration). wants is what each case must show,
// by case and GOMAXPROCS.
func svgFixture() (ms []*measured, wants map[string]svgWant) {
	at := func(nsPerOp float64, extra map[string]float64) []testing.BenchmarkResult {
		const n = 1000
		return []testing.BenchmarkResult{{N: n, T: time.Duration(nsPerOp * n), Extra: extra}}
	}
	task := func(ns float64) map[string]float64 {
		return map[string]float64{"ns/task": ns, "B/task": 8, "allocs/task": 1}
	}
	failed := []testing.BenchmarkResult{{}}
	ms = []*measured{{
		p: benchmarks.Pattern{Pkg: "semaphore", Name: "Acquire", Doc: "one pair.", Ours: []string{"chan", "weighted"}, Cases: []benchmarks.Case{
			{Name: "limit=1/impl=chan"}, {Name: "limit=1/impl=weighted"}, {Name: "limit=1/impl=xsync"},
			{Name: "limit=4/impl=chan"}, {Name: "limit=4/impl=broken"},
		}},
		procs: []int{1, 2},
		runs: [][][]testing.BenchmarkResult{
			{at(28.2, nil), at(31.3, nil)},
			{at(9, nil), at(9.34, nil)},
			{at(12.3, nil), at(1000, nil)}, // a power of ten: the panel's longest bar, to its end
			{at(1.5, nil), at(46.9, nil)},
			{failed, failed},
		},
	}, {
		p: benchmarks.Pattern{Pkg: "pool", Name: "Workers", Doc: "tasks.", Ours: []string{"workers"}, Cases: []benchmarks.Case{
			{Name: "impl=broken"}, {Name: "impl=mutexqueue"}, {Name: "impl=workers"}, {Name: "impl=slow"}, {Name: "impl=instant"},
		}},
		procs: []int{1, 2},
		runs: [][][]testing.BenchmarkResult{
			{failed, failed},
			{at(21400, task(21.4)), at(25400, task(25.4))},
			{at(55700, task(55.7)), at(44100, task(44.1))},
			{at(0.29e3, task(0.29)), at(12.6e9, task(12.6e6))},
			{at(0, task(0)), at(0, task(0))},
		},
	}}
	wants = map[string]svgWant{
		"semaphore.Acquire/limit=1/impl=chan 1": {28.2, 1}, "semaphore.Acquire/limit=1/impl=chan 2": {31.3, 1},
		"semaphore.Acquire/limit=1/impl=weighted 1": {9, 9 / 28.2}, "semaphore.Acquire/limit=1/impl=weighted 2": {9.34, 9.34 / 31.3},
		"semaphore.Acquire/limit=1/impl=xsync 1": {12.3, 12.3 / 28.2}, "semaphore.Acquire/limit=1/impl=xsync 2": {1000, 1000 / 31.3},
		"semaphore.Acquire/limit=4/impl=chan 1": {1.5, 1}, "semaphore.Acquire/limit=4/impl=chan 2": {46.9, 1},
		"pool.Workers/impl=mutexqueue 1": {21.4, 21.4 / 55.7}, "pool.Workers/impl=mutexqueue 2": {25.4, 25.4 / 44.1},
		"pool.Workers/impl=workers 1": {55.7, 1}, "pool.Workers/impl=workers 2": {44.1, 1},
		"pool.Workers/impl=slow 1": {0.29, 0.29 / 55.7}, "pool.Workers/impl=slow 2": {12.6e6, 12.6e6 / 44.1},
	}
	return ms, wants
}

// svgFixtureChart draws svgFixture as compare would at the default
// GOMAXPROCS of 2, with -cpu 1,2.
func svgFixtureChart(t *testing.T) (svgNode, map[string]svgWant) {
	t.Helper()
	ms, wants := svgFixture()
	e := env{goVersion: "go1.26.8", goos: "linux", goarch: "amd64", cpu: "Intel(R) Xeon(R) Platinum 8375C CPU @ 2.90GHz, a long name", numCPU: 2, gomaxprocs: 2, levels: []int{1, 2}, date: "2026-01-02"}
	var out bytes.Buffer
	w := &svgWriter{out: &out}
	w.header(e)
	for _, m := range ms {
		w.pattern(m)
	}
	require.NoError(t, w.finish())
	return parseSVG(t, out.String()), wants
}

// TestSVGBars draws known results and reads the chart back: every case has
// its bar, labelled with its time and its multiple of ours, and the bar's
// length is where that time falls on the panel's log scale, as its grid
// lines give it.
func TestSVGBars(t *testing.T) {
	root, wants := svgFixtureChart(t)
	var machine []string
	for _, m := range root.find("text", "machine") {
		machine = append(machine, m.Text)
	}
	for _, s := range []string{"Intel(R) Xeon(R) Platinum 8375C CPU @ 2.90GHz", "go1.26.8", "GOMAXPROCS=1,2", "2026-01-02", "linux/amd64"} {
		assert.Contains(t, strings.Join(machine, " "), s, "the title names the machine")
	}
	for _, doc := range []string{"one pair.", "tasks."} {
		n := 0
		for _, text := range root.find("text", "") {
			if text.Text == doc {
				n++
			}
		}
		assert.Equal(t, 1, n, "the pattern's doc %q is printed once, above its first panel", doc)
	}

	panels := root.find("g", "panel")
	var params []string
	for _, p := range panels {
		params = append(params, p.attr("data-pattern")+" "+p.attr("data-params")+" per "+p.attr("data-unit"))
	}
	assert.Equal(t, []string{"semaphore.Acquire limit=1 per op", "semaphore.Acquire limit=4 per op", "pool.Workers  per task"}, params,
		"one panel per pattern and parameter set, in the pattern's unit")

	seen := map[string]bool{}
	for _, p := range panels {
		ticks := p.find("line", "tick")
		require.GreaterOrEqual(t, len(ticks), 2, "a scale needs two grid lines")
		first, last := ticks[0], ticks[len(ticks)-1]
		n0, x0 := first.float(t, "data-ns"), first.float(t, "x1")
		n1, x1 := last.float(t, "data-ns"), last.float(t, "x1")
		scale := func(ns float64) float64 {
			return x0 + (math.Log10(ns)-math.Log10(n0))/(math.Log10(n1)-math.Log10(n0))*(x1-x0)
		}
		for _, tick := range ticks {
			assert.InDelta(t, scale(tick.float(t, "data-ns")), tick.float(t, "x1"), 0.02, "grid lines one decade apart, evenly")
		}
		for _, bar := range p.find("g", "bar") {
			key := bar.attr("data-case") + " " + bar.attr("data-procs")
			seen[key] = true
			assert.Equal(t, "2", bar.attr("data-procs"), "%s: bars at the headline GOMAXPROCS, the default", key)
			values := bar.find("text", "value")
			require.Len(t, values, 1, key)
			// The other levels are marks on the bar's line, each where its
			// time falls on the scale.
			labelAfter := 0.0
			for _, m := range bar.find("g", "mark") {
				mkey := bar.attr("data-case") + " " + m.attr("data-procs")
				seen[mkey] = true
				w, ok := wants[mkey]
				require.True(t, ok, "unexpected mark %s", mkey)
				assert.InEpsilon(t, w.ns, m.float(t, "data-ns"), 1e-9, mkey)
				circles := m.find("circle", "")
				require.Len(t, circles, 1, mkey)
				assert.InDelta(t, scale(w.ns), circles[0].float(t, "cx"), 0.02, "%s: the mark sits at its time on the log scale", mkey)
				require.Len(t, m.find("title", ""), 1, mkey)
				tip := m.find("title", "")[0].Text
				assert.True(t, strings.HasPrefix(tip, "GOMAXPROCS="+m.attr("data-procs")+": "), "%s: tooltip %q", mkey, tip)
				ns, ratio := parseValue(t, strings.TrimPrefix(tip, "GOMAXPROCS="+m.attr("data-procs")+": "))
				assert.InEpsilon(t, w.ns, ns, 0.005, "%s: tooltip time", mkey)
				assert.InDelta(t, w.ratio, ratio, max(0.006, w.ratio*0.005), "%s: tooltip multiple of ours", mkey)
				labelAfter = max(labelAfter, circles[0].float(t, "cx"))
			}
			if slices.Contains(strings.Fields(bar.attr("class")), "failed") {
				assert.Equal(t, "failed", values[0].Text, key)
				assert.Empty(t, bar.find("rect", "len"), "%s: no bar for a failed case", key)
				continue
			}
			if slices.Contains(strings.Fields(bar.attr("class")), "zero") {
				assert.Equal(t, "0 ns", values[0].Text, key)
				assert.Empty(t, bar.find("rect", "len"), "%s: no bar for 0 ns, which a log scale cannot place", key)
				continue
			}
			w, ok := wants[key]
			require.True(t, ok, "unexpected bar %s", key)
			ns, ratio := parseValue(t, values[0].Text)
			assert.InEpsilon(t, w.ns, ns, 0.005, "%s: printed time", key)
			assert.InDelta(t, w.ratio, ratio, max(0.006, w.ratio*0.005), "%s: printed multiple of ours", key)
			rects := bar.find("rect", "len")
			require.Len(t, rects, 1, key)
			x, width := rects[0].float(t, "x"), rects[0].float(t, "width")
			assert.InDelta(t, x0, x, 0.01, "%s: the bar starts at the scale's origin", key)
			assert.InDelta(t, scale(w.ns), x+width, 0.02, "%s: the bar ends at its time on the log scale", key)
			assert.Greater(t, width, 5.0, "%s: even the fastest bar shows", key)
			assert.Greater(t, values[0].float(t, "x"), max(x+width, labelAfter), "%s: the label follows the bar and its marks", key)
			assert.Equal(t, strconv.FormatBool(strings.Contains(key, "impl=chan") || strings.Contains(key, "impl=weighted") || strings.Contains(key, "impl=workers")), bar.attr("data-ours"), key)
		}
	}
	for key := range wants {
		assert.True(t, seen[key], "no bar for %s", key)
	}
	for _, c := range []string{"semaphore.Acquire/limit=4/impl=broken", "pool.Workers/impl=broken", "pool.Workers/impl=instant"} {
		assert.True(t, seen[c+" 2"], "%s is shown, as failed or 0 ns", c)
		assert.False(t, seen[c+" 1"], "%s has no mark", c)
	}
}

// TestSVGFlags: -format svg prints the chart, and -svg writes it to a file
// beside another format, for every case that ran.
func TestSVGFlags(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, do(&out, &bytes.Buffer{}, fake(), options{benchtime: "10x", count: 1, format: "svg"}))
	root := parseSVG(t, out.String())
	assert.Len(t, root.find("g", "bar"), 2)

	path := filepath.Join(t.TempDir(), "RESULTS.svg")
	out.Reset()
	var progress bytes.Buffer
	require.NoError(t, do(&out, &progress, fake(), options{benchtime: "10x", count: 1, format: "markdown", svg: path}))
	assert.Contains(t, out.String(), "## fake.Add", "the main output is unchanged")
	got, err := os.ReadFile(path)
	require.NoError(t, err)
	root = parseSVG(t, string(got))
	var cases []string
	for _, b := range root.find("g", "bar") {
		cases = append(cases, b.attr("data-case"))
	}
	assert.Equal(t, []string{"fake.Add/k=1/impl=atomic", "fake.Add/k=1/impl=alloc"}, cases)
	assert.Contains(t, progress.String(), "chart written to "+path)
	var machine []string
	for _, m := range root.find("text", "machine") {
		machine = append(machine, m.Text)
	}
	assert.Contains(t, strings.Join(machine, " "), runtime.Version(), "the file's chart names the machine too")
}

func TestCmdline(t *testing.T) {
	assert.Equal(t, "go run ./bench/cmd/compare -cpu 1,2,4,8 -count 3 -embed README.md -svg bench/RESULTS.svg",
		cmdline([]string{"-cpu", "1,2,4,8", "-count", "3", "-embed", "README.md", "-svg", "bench/RESULTS.svg"}))
	assert.Equal(t, `go run ./bench/cmd/compare -run 'pool\.' -run 'it'\''s'`, cmdline([]string{"-run", `pool\.`, "-run", "it's"}))
}

func TestLoadNote(t *testing.T) {
	assert.Equal(t, "", loadNote("", 2), "no /proc/loadavg: nothing to say")
	assert.Equal(t, "", loadNote("0.99 0.50 0.20 1/100 12345\n", 2), "below half the CPUs")
	assert.Equal(t, "compare: the load average is 1.0 on 2 CPUs: expect it to take longer, and noisier numbers\n", loadNote("1.00 0.50 0.20 1/100 12345\n", 2))
	assert.Equal(t, "compare: the load average is 6.3 on 2 CPUs: expect it to take longer, and noisier numbers\n", loadNote("6.28 4.76 2.75 3/300 999\n", 2))
	assert.Equal(t, "", loadNote("busy\n", 2))
}

func TestEstimateRounding(t *testing.T) {
	cases := []struct {
		runs int
		want string
	}{
		{1, "400ms"},  // under 10 s: to 100 ms
		{24, "9.6s"},  //
		{26, "10s"},   // under 5 min: to 5 s
		{100, "40s"},  //
		{749, "5m0s"}, // 299.6 s, rounded to 5 s
		{751, "5m0s"}, // from 5 min: to the minute
		{183 * 12, "15m0s"},
	}
	for _, c := range cases {
		assert.Equal(t, "estimated time "+c.want+" (1.6x -benchtime per run, as measured on 2 idle cores)", estimate(c.runs, "250ms"), "%d runs", c.runs)
	}
}

// twoPatterns is fake() and a second pattern whose cases report two extra
// metrics, to check the order of columns and which patterns -run keeps.
func twoPatterns() []benchmarks.Pattern {
	ps := fake()
	return append(ps, benchmarks.Pattern{
		Pkg: "fake", Name: "Other", Doc: "another.", Ours: []string{"ours"},
		Cases: []benchmarks.Case{
			{Name: "impl=ours", F: func(b *testing.B) {
				for range b.N {
					runtime.Gosched()
				}
				b.ReportMetric(2, "zz/op")
				b.ReportMetric(1, "aa/op")
			}},
			{Name: "impl=theirs", F: func(b *testing.B) {
				for range b.N {
					runtime.Gosched()
				}
			}},
		},
	})
}

func TestColumnsAndSelection(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, do(&out, &bytes.Buffer{}, twoPatterns(), options{benchtime: "10x", count: 1, format: "markdown", cmdline: "go run ./bench/cmd/compare -format markdown -count 1"}))
	s := out.String()
	assert.Contains(t, s, "Generated by `go run ./bench/cmd/compare -format markdown -count 1`; do not edit by hand.")
	assert.Contains(t, s, "| case | impl | ns/op | B/op | allocs/op | aa/op | zz/op | vs ours |\n| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |\n",
		"extra metrics in name order, and the separator line that makes it a table")
	assert.Regexp(t, `\| - \| theirs \| [0-9.]+ \| 0 \| 0 \|  \|  \| [0-9.]+x \|`, s, "a case without the extras has empty cells")

	out.Reset()
	require.NoError(t, do(&out, &bytes.Buffer{}, twoPatterns(), options{run: `fake\.Other/`, benchtime: "10x", count: 1, format: "text"}))
	assert.Contains(t, out.String(), "fake.Other: another.")
	assert.NotContains(t, out.String(), "fake.Add", "a pattern with no selected case is not printed")

	out.Reset()
	require.NoError(t, do(&out, &bytes.Buffer{}, twoPatterns(), options{benchtime: "10x", count: 1, format: "bench"}))
	assert.True(t, strings.HasPrefix(out.String(), "goos: "+runtime.GOOS+"\ngoarch: "+runtime.GOARCH+"\ncpu: "), "benchstat reads the configuration lines")
	assert.Regexp(t, `BenchmarkOther/impl=ours(-\d+)?\t\d+\t[0-9.]+ ns/op\t0 B/op\t0 allocs/op\t1 aa/op\t2 zz/op\n`, out.String(), "extras in name order")
}

// TestOneCPULevel: -cpu with one level runs at it, and needs no procs
// column: the header says the level.
func TestOneCPULevel(t *testing.T) {
	var seen atomic.Int64
	p := fake()
	f := p[0].Cases[0].F
	p[0].Cases[0].F = func(b *testing.B) { seen.Store(int64(runtime.GOMAXPROCS(0))); f(b) }
	var out bytes.Buffer
	require.NoError(t, do(&out, &bytes.Buffer{}, p, options{benchtime: "10x", count: 1, cpu: "3", format: "text"}))
	assert.Equal(t, int64(3), seen.Load())
	assert.Contains(t, out.String(), "GOMAXPROCS=3 (-cpu)")
	assert.NotContains(t, out.String(), "procs")
}

// TestNoBaseline: where ours failed, the others have no multiple of it.
func TestNoBaseline(t *testing.T) {
	p := fake()
	p[0].Cases[0].F = func(b *testing.B) { b.Fatal("broken") }
	var out bytes.Buffer
	require.NoError(t, do(&out, &bytes.Buffer{}, p, options{benchtime: "10x", count: 1, format: "markdown"}))
	assert.Regexp(t, `\| k=1 \| \*\*atomic \(ours\)\*\* \| failed \|  \|  \|  \|  \|\n`, out.String(), "a failed row has every cell")
	assert.Regexp(t, `\| k=1 \| alloc \| [0-9.]+ \| [0-9.]+ \| [0-9.]+ \| 1\.00 \| - \|\n`, out.String())

	// The summary has no row for a group where none of ours ran.
	path := filepath.Join(t.TempDir(), "README.md")
	require.NoError(t, os.WriteFile(path, []byte(beginMarker+"\n"+endMarker+"\n"), 0o644))
	require.NoError(t, do(&bytes.Buffer{}, &bytes.Buffer{}, p, options{benchtime: "10x", count: 1, format: "text", embed: path}))
	got, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.NotContains(t, string(got), "| fake.Add |")

	// With two of ours, the second stands in for the first as baseline.
	p = fake()
	p[0].Ours = []string{"atomic", "alloc"}
	p[0].Cases[0].F = func(b *testing.B) { b.Fatal("broken") }
	out.Reset()
	require.NoError(t, do(&out, &bytes.Buffer{}, p, options{benchtime: "10x", count: 1, format: "text"}))
	assert.Regexp(t, `alloc \(ours\)\s+[0-9.]+\s+[0-9.]+\s+[0-9.]+\s+1\.00\s+1\.00x`, out.String())
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, os.ErrClosed }

func TestWriteErrors(t *testing.T) {
	err := do(failingWriter{}, &bytes.Buffer{}, fake(), options{benchtime: "1x", count: 1, format: "svg"})
	assert.ErrorIs(t, err, os.ErrClosed, "the chart could not be written")

	dir := t.TempDir() // a directory: its parent exists, but it cannot be written as a file
	err = do(&bytes.Buffer{}, &bytes.Buffer{}, fake(), options{benchtime: "1x", count: 1, format: "text", svg: dir})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "-svg: ")
}

// svgBox is an element's extent on the canvas, a text's estimated with the
// glyph width the chart lays out by.
type svgBox struct {
	x0, y0, x1, y1 float64
	what           string
}

func (b svgBox) overlaps(o svgBox) bool {
	return b.x0 < o.x1 && o.x0 < b.x1 && b.y0 < o.y1 && o.y0 < b.y1
}

// svgBoxes returns the extent of every text, rect, line and circle under n,
// and separately of the texts.
func svgBoxes(t *testing.T, n svgNode) (all, texts []svgBox) {
	t.Helper()
	switch n.XMLName.Local {
	case "text":
		content, bold := n.Text, n.attr("font-weight") == "700"
		for _, c := range n.Nodes {
			content += c.Text
			bold = bold || c.attr("font-weight") == "700"
		}
		size := n.float(t, "font-size")
		w := svgText(content, size, bold)
		x, y := n.float(t, "x"), n.float(t, "y")
		switch n.attr("text-anchor") {
		case "middle":
			x -= w / 2
		case "end":
			x -= w
		}
		b := svgBox{x, y - 0.8*size, x + w, y + 0.2*size, "text " + strings.TrimSpace(content)}
		return []svgBox{b}, []svgBox{b}
	case "rect":
		if n.attr("width") == "100%" {
			return nil, nil // the background
		}
		x, y := n.float(t, "x"), n.float(t, "y")
		all = append(all, svgBox{x, y, x + n.float(t, "width"), y + n.float(t, "height"), "rect"})
	case "line":
		all = append(all, svgBox{n.float(t, "x1"), n.float(t, "y1"), n.float(t, "x2"), n.float(t, "y2"), "line"})
	case "circle":
		x, y, r := n.float(t, "cx"), n.float(t, "cy"), n.float(t, "r")
		all = append(all, svgBox{x - r, y - r, x + r, y + r, "circle"})
	}
	for _, c := range n.Nodes {
		a, tx := svgBoxes(t, c)
		all, texts = append(all, a...), append(texts, tx...)
	}
	return all, texts
}

// TestSVGLayout: everything is drawn inside the canvas, no two labels
// overlap (text widths estimated as the chart lays them out), and panels
// follow one another down the page, each below the last.
func TestSVGLayout(t *testing.T) {
	root, _ := svgFixtureChart(t)
	width, height := root.float(t, "width"), root.float(t, "height")
	assert.Equal(t, "0 0 "+root.attr("width")+" "+root.attr("height"), root.attr("viewBox"))
	all, texts := svgBoxes(t, root)
	require.NotEmpty(t, texts)
	for _, b := range all {
		assert.True(t, b.x0 >= 0 && b.x1 <= width && b.y0 >= 0 && b.y1 <= height, "%s at (%.0f,%.0f)-(%.0f,%.0f) is outside the %.0fx%.0f canvas", b.what, b.x0, b.y0, b.x1, b.y1, width, height)
	}
	for i, a := range texts {
		for _, b := range texts[i+1:] {
			assert.False(t, a.overlaps(b), "%q overlaps %q", a.what, b.what)
		}
	}
	last := 0.0
	for _, p := range root.find("g", "panel") {
		pall, _ := svgBoxes(t, p)
		top, bottom := math.Inf(1), math.Inf(-1)
		for _, b := range pall {
			top, bottom = min(top, b.y0), max(bottom, b.y1)
		}
		assert.Greater(t, top, last, "panel %s %s starts below the one above", p.attr("data-pattern"), p.attr("data-params"))
		last = bottom
		// Grid lines from left to right, a decade apart.
		ticks := p.find("line", "tick")
		for i := 1; i < len(ticks); i++ {
			assert.Greater(t, ticks[i].float(t, "x1"), ticks[i-1].float(t, "x1"))
			assert.InEpsilon(t, 10, ticks[i].float(t, "data-ns")/ticks[i-1].float(t, "data-ns"), 1e-9)
		}
	}
}
