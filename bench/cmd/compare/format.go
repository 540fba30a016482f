package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"testing"
	"text/tabwriter"

	"github.com/go-compendium/compendium/internal/benchmarks"
)

// measured is one pattern's results: runs[i][j] holds the -count runs of
// p.Cases[i] at GOMAXPROCS procs[j].
type measured struct {
	p     benchmarks.Pattern
	procs []int
	runs  [][][]testing.BenchmarkResult
}

// writer prints results in one output format.
type writer interface {
	header(e env)
	// pattern prints one pattern, or keeps it for finish.
	pattern(m *measured)
	// finish prints what could only be printed once every pattern ran.
	finish() error
}

// row is one case at one GOMAXPROCS, reduced to the medians of its runs.
type row struct {
	name         string // the case's full name, for messages
	params, impl string
	procs        int
	ours         bool
	// unit is what one measurement is per: "op", or the unit of the
	// ns/<unit> metric the case reports (benchmarks.PerUnit), whose B/ and
	// allocs/ then replace the per-op figures.
	unit              string
	ns, bytes, allocs float64 // per unit; ns is float so that sub-nanosecond loops show
	extra             map[string]float64
	ratio             float64 // ns / the baseline's ns in the same params and procs; 0 if none
	failed            bool
	missing           []string // per-unit metrics the case should have reported and did not
}

// unitOf returns the unit of the first ns/<unit> metric in extra, or "op".
func unitOf(extra map[string]float64) string {
	var units []string
	for k := range extra {
		if u, ok := strings.CutPrefix(k, "ns/"); ok && u != "op" {
			units = append(units, u)
		}
	}
	if len(units) == 0 {
		return "op"
	}
	slices.Sort(units)
	return units[0]
}

// rows reduces a pattern's results to one row per case and GOMAXPROCS,
// ordered by parameter set (in the cases' order), then GOMAXPROCS, then
// case, and fills in the ratio to compendium's implementation under the
// same parameters and GOMAXPROCS.
func rows(m *measured) (rs []row, extraKeys []string) {
	p := m.p
	var groups []string
	for _, c := range p.Cases {
		if params, _ := c.Split(); !slices.Contains(groups, params) {
			groups = append(groups, params)
		}
	}
	seen := map[string]bool{}
	for _, g := range groups {
		for j, procs := range m.procs {
			for i, c := range p.Cases {
				params, impl := c.Split()
				if params != g {
					continue
				}
				r := reduce(m.runs[i][j])
				r.name, r.params, r.impl, r.procs = p.Pkg+"."+p.Name+"/"+c.Name, params, impl, procs
				r.ours = slices.Contains(p.Ours, impl)
				for k := range r.extra {
					if !seen[k] {
						seen[k] = true
						extraKeys = append(extraKeys, k)
					}
				}
				rs = append(rs, r)
			}
		}
	}
	slices.Sort(extraKeys)

	// The baseline of a group is the first of p.Ours that ran in it.
	for i := range rs {
		for _, ours := range p.Ours {
			j := slices.IndexFunc(rs, func(b row) bool {
				return b.params == rs[i].params && b.procs == rs[i].procs && b.impl == ours && !b.failed
			})
			if j >= 0 {
				if !rs[i].failed && rs[j].ns > 0 {
					rs[i].ratio = rs[i].ns / rs[j].ns
				}
				break
			}
		}
	}
	return rs, extraKeys
}

// reduce takes the medians of one case's runs, per unit.
func reduce(results []testing.BenchmarkResult) row {
	r := row{unit: "op", extra: map[string]float64{}}
	var ns, bytes, allocs []float64
	extras := map[string][]float64{}
	for _, res := range results {
		if res.N == 0 {
			continue
		}
		ns = append(ns, float64(res.T.Nanoseconds())/float64(res.N))
		bytes = append(bytes, float64(res.MemBytes)/float64(res.N))
		allocs = append(allocs, float64(res.MemAllocs)/float64(res.N))
		for k, v := range res.Extra {
			extras[k] = append(extras[k], v)
		}
	}
	if len(ns) == 0 {
		r.failed = true
		return r
	}
	r.ns, r.bytes, r.allocs = median(ns), median(bytes), median(allocs)
	for k, vs := range extras {
		r.extra[k] = median(vs)
	}
	if r.unit = unitOf(r.extra); r.unit != "op" {
		for _, f := range []struct {
			key string
			v   *float64
		}{{"ns/", &r.ns}, {"B/", &r.bytes}, {"allocs/", &r.allocs}} {
			k := f.key + r.unit
			v, ok := r.extra[k]
			if !ok {
				r.missing = append(r.missing, k)
				*f.v = 0
				continue
			}
			*f.v = v
			delete(r.extra, k)
		}
	}
	return r
}

// unitProblems lists the cases of m that report time per unit but not
// bytes or allocations in the same unit: their rows would put "ns/task"
// beside "allocs/op" again.
func unitProblems(m *measured) []string {
	var out []string
	rs, _ := rows(m)
	for _, r := range rs {
		if len(r.missing) > 0 {
			out = append(out, fmt.Sprintf("%s reports ns/%s but not %s (use benchmarks.PerUnit)", r.name, r.unit, strings.Join(r.missing, ", ")))
		}
	}
	return slices.Compact(out)
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// num prints a measurement with about three significant digits.
func num(x float64) string {
	switch {
	case x == 0:
		return "0"
	case x < 10:
		return fmt.Sprintf("%.2f", x)
	case x < 100:
		return fmt.Sprintf("%.1f", x)
	default:
		return fmt.Sprintf("%.0f", x)
	}
}

// table is the columns of a pattern's table: unit is the pattern's unit
// when every row has the same, else "" and a unit column says each row's.
type table struct {
	unit      string
	procs     bool // a procs column: the cases ran at several GOMAXPROCS
	extraKeys []string
}

func newTable(rs []row, extraKeys []string, e env) table {
	t := table{procs: e.sweep(), extraKeys: extraKeys}
	for _, r := range rs {
		if r.failed {
			continue
		}
		switch {
		case t.unit == "":
			t.unit = r.unit
		case t.unit != r.unit:
			t.unit = "mixed"
		}
	}
	if t.unit == "" {
		t.unit = "op"
	}
	return t
}

func (t table) columns() []string {
	cols := []string{"case"}
	if t.procs {
		cols = append(cols, "procs")
	}
	cols = append(cols, "impl")
	if t.unit == "mixed" {
		cols = append(cols, "ns", "B", "allocs", "per")
	} else {
		cols = append(cols, "ns/"+t.unit, "B/"+t.unit, "allocs/"+t.unit)
	}
	return append(append(cols, t.extraKeys...), "vs ours")
}

func (t table) cells(r row) []string {
	impl := r.impl
	if r.ours {
		impl += " (ours)"
	}
	params := r.params
	if params == "" {
		params = "-"
	}
	cs := []string{params}
	if t.procs {
		cs = append(cs, fmt.Sprint(r.procs))
	}
	cs = append(cs, impl)
	if r.failed {
		cs = append(cs, "failed")
		return append(cs, make([]string, len(t.columns())-len(cs))...)
	}
	cs = append(cs, num(r.ns), num(r.bytes), num(r.allocs))
	if t.unit == "mixed" {
		cs = append(cs, r.unit)
	}
	for _, k := range t.extraKeys {
		if v, ok := r.extra[k]; ok {
			cs = append(cs, num(v))
		} else {
			cs = append(cs, "")
		}
	}
	ratio := "-"
	if r.ratio > 0 {
		ratio = fmt.Sprintf("%.2fx", r.ratio)
	}
	return append(cs, ratio)
}

type textWriter struct {
	out io.Writer
	e   env
}

func (w *textWriter) header(e env) {
	w.e = e
	fmt.Fprintf(w.out, "compendium comparison: %s %s/%s, %s (%d CPUs), %s, %s\n", e.goVersion, e.goos, e.goarch, e.cpu, e.numCPU, e.procs(), e.date)
	fmt.Fprintf(w.out, "Times, bytes and allocations are per op, or per task or item where one op is many; \"vs ours\" is time divided by compendium's under the same parameters and GOMAXPROCS (above 1.00x: ours is faster).\n")
}

func (w *textWriter) pattern(m *measured) {
	rs, keys := rows(m)
	t := newTable(rs, keys, w.e)
	fmt.Fprintf(w.out, "\n%s.%s: %s\n", m.p.Pkg, m.p.Name, m.p.Doc)
	tw := tabwriter.NewWriter(w.out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, strings.Join(t.columns(), "\t")+"\t")
	for _, r := range rs {
		fmt.Fprintln(tw, strings.Join(t.cells(r), "\t")+"\t")
	}
	tw.Flush()
}

func (w *textWriter) finish() error { return nil }

type markdownWriter struct {
	out     io.Writer
	cmdline string
	e       env
}

func (w *markdownWriter) header(e env) {
	w.e = e
	cmd := w.cmdline
	if cmd == "" {
		cmd = "go run ./bench/cmd/compare -format markdown"
	}
	fmt.Fprintf(w.out, "# compendium benchmark results\n\n")
	fmt.Fprintf(w.out, "Generated by `%s`; do not edit by hand.\n\n", cmd)
	fmt.Fprintf(w.out, "- date: %s\n- go: %s %s/%s\n- cpu: %s (%d CPUs)\n- %s\n\n", e.date, e.goVersion, e.goos, e.goarch, e.cpu, e.numCPU, e.procs())
	fmt.Fprintf(w.out, "Times, bytes and allocations are per op, or per task or item where one op is many (the column headers say which). ")
	fmt.Fprintf(w.out, "\"vs ours\" is time divided by compendium's under the same parameters")
	if e.sweep() {
		fmt.Fprintf(w.out, " and GOMAXPROCS (the procs column)")
	}
	fmt.Fprintf(w.out, ": above 1.00x, ours is faster.\n")
}

func (w *markdownWriter) pattern(m *measured) {
	rs, keys := rows(m)
	t := newTable(rs, keys, w.e)
	fmt.Fprintf(w.out, "\n## %s.%s\n\n%s\n\n", m.p.Pkg, m.p.Name, m.p.Doc)
	cols := t.columns()
	fmt.Fprintf(w.out, "| %s |\n", strings.Join(cols, " | "))
	align := make([]string, len(cols))
	for i, c := range cols {
		align[i] = "---:"
		if c == "case" || c == "impl" || c == "per" {
			align[i] = "---"
		}
	}
	fmt.Fprintf(w.out, "| %s |\n", strings.Join(align, " | "))
	impl := slices.Index(cols, "impl")
	for _, r := range rs {
		cs := t.cells(r)
		if r.ours {
			cs[impl] = "**" + cs[impl] + "**"
		}
		fmt.Fprintf(w.out, "| %s |\n", strings.Join(cs, " | "))
	}
}

func (w *markdownWriter) finish() error { return nil }

// benchWriter prints the standard Go benchmark format
// (golang.org/design/14313-benchmark-format), which benchstat reads.
type benchWriter struct {
	out io.Writer
	pkg string
}

func (w *benchWriter) header(e env) {
	fmt.Fprintf(w.out, "goos: %s\ngoarch: %s\ncpu: %s\n", e.goos, e.goarch, e.cpu)
}

func (w *benchWriter) pattern(m *measured) {
	p := m.p
	if p.Pkg != w.pkg {
		w.pkg = p.Pkg
		fmt.Fprintf(w.out, "pkg: github.com/go-compendium/compendium/%s\n", p.Pkg)
	}
	for i, c := range p.Cases {
		for j, procs := range m.procs {
			name := fmt.Sprintf("Benchmark%s/%s", p.Name, c.Name)
			if procs != 1 {
				// go test's suffix: none at GOMAXPROCS=1, "-N" otherwise,
				// which benchstat reads as the GOMAXPROCS.
				name += fmt.Sprintf("-%d", procs)
			}
			for _, res := range m.runs[i][j] {
				if res.N == 0 {
					continue
				}
				line := fmt.Sprintf("%s\t%d\t%.2f ns/op\t%d B/op\t%d allocs/op", name, res.N,
					float64(res.T.Nanoseconds())/float64(res.N), res.AllocedBytesPerOp(), res.AllocsPerOp())
				keys := make([]string, 0, len(res.Extra))
				for k := range res.Extra {
					keys = append(keys, k)
				}
				slices.Sort(keys)
				for _, k := range keys {
					line += fmt.Sprintf("\t%g %s", res.Extra[k], k)
				}
				fmt.Fprintln(w.out, line)
			}
		}
	}
}

func (w *benchWriter) finish() error { return nil }

// cpuModel reads the processor's name from /proc/cpuinfo where there is one.
func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return "unknown cpu"
	}
	defer f.Close()
	return cpuModelIn(f)
}

// cpuModelIn returns the first "model name" of a /proc/cpuinfo.
func cpuModelIn(cpuinfo io.Reader) string {
	s := bufio.NewScanner(cpuinfo)
	for s.Scan() {
		if k, v, ok := strings.Cut(s.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown cpu"
}
