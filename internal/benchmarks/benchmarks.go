// Package benchmarks holds the bodies of compendium's comparison benchmarks,
// so that `go test -bench` in each package and bench/cmd/compare run the very
// same code and their numbers cannot drift apart.
//
// A [Pattern] is one comparison: one benchmark function whose sub-benchmarks
// are every implementation of the pattern, compendium's and the alternatives
// (sync.Pool, sync.Mutex, x/sync, ...). A package's bench_test.go exposes it
// as
//
//	func BenchmarkAcquire(b *testing.B) { benchmarks.SemaphoreAcquire().Bench(b) }
//
// and bench/cmd/compare runs each [Case] through testing.Benchmark, at each
// GOMAXPROCS of its -cpu flag as go test -cpu does. A body whose result
// depends on GOMAXPROCS loops with `for range b.N` or b.RunParallel, not
// b.Loop, which under go test -cpu measures at the default GOMAXPROCS
// (golang/go#49980).
package benchmarks

import (
	"runtime"
	"strings"
	"testing"
)

// Pattern is one comparison: the cases of one benchmark function.
type Pattern struct {
	// Pkg is the compendium package the pattern belongs to ("semaphore"),
	// or "bench" for cross-package scenarios.
	Pkg string
	// Name is the benchmark function's name without "Benchmark"
	// ("Acquire" for BenchmarkAcquire).
	Name string
	// Doc is one sentence saying what is measured, printed above the
	// pattern's table by bench/cmd/compare.
	Doc string
	// Ours lists the impl= values that are compendium's own; the first is
	// the baseline that compare divides by.
	Ours []string
	// Cases are the sub-benchmarks.
	Cases []Case
}

// Case is one sub-benchmark: one implementation under one set of parameters.
type Case struct {
	// Name is the sub-benchmark name: key=value levels separated by '/',
	// one of them impl=..., for example "limit=4/mode=parallel/impl=chan".
	// benchstat pivots on the levels: benchstat -col /impl.
	Name string
	// F is the benchmark body. It calls b.ReportAllocs and runs b.N
	// operations (with `for range b.N` or b.RunParallel wherever
	// GOMAXPROCS matters, since b.Loop ignores -cpu, golang/go#49980).
	// When one op is many units of work (1,000 tasks, 10^5 items), it
	// measures them with [PerUnit], so that time, bytes and allocations
	// are all reported per unit.
	F func(b *testing.B)
}

// Bench runs every case as a sub-benchmark of b.
func (p Pattern) Bench(b *testing.B) {
	for _, c := range p.Cases {
		b.Run(c.Name, c.F)
	}
}

// Impl returns the value of the case's impl= level.
func (c Case) Impl() string {
	_, impl := c.Split()
	return impl
}

// Split separates the case's name into its parameter levels (every level
// but impl=..., still joined by '/') and its impl value.
func (c Case) Split() (params, impl string) {
	var rest []string
	for _, level := range strings.Split(c.Name, "/") {
		if v, ok := strings.CutPrefix(level, "impl="); ok {
			impl = v
			continue
		}
		rest = append(rest, level)
	}
	return strings.Join(rest, "/"), impl
}

// Units measures a benchmark whose op is many units of work (tasks, items)
// and reports its cost per unit: ns/unit, B/unit and allocs/unit, the three
// in the same unit, so that no table puts "ns/task" beside "allocs/op".
// bench/cmd/compare shows these in place of the per-op figures, and checks
// that a case reporting one reports all three.
type Units struct {
	b      *testing.B
	unit   string
	before runtime.MemStats
}

// PerUnit starts measuring b per unit (unit is the noun: "task", "item").
// It calls b.ReportAllocs and b.ResetTimer, so setup done before it is not
// measured. The timer must then run without pause until [Units.Stop]:
// allocations are counted from runtime.MemStats over that whole span.
func PerUnit(b *testing.B, unit string) *Units {
	b.Helper()
	b.ReportAllocs()
	u := &Units{b: b, unit: unit}
	runtime.ReadMemStats(&u.before)
	b.ResetTimer()
	return u
}

// Stop stops b's timer and reports the time, bytes and allocations since
// [PerUnit] divided by n, the units of work done over all b.N ops.
func (u *Units) Stop(n int) {
	u.b.Helper()
	u.b.StopTimer()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	if n <= 0 {
		u.b.Fatalf("benchmarks: Units.Stop: n must be positive, got %d", n)
	}
	per := func(x float64) float64 { return x / float64(n) }
	u.b.ReportMetric(per(float64(u.b.Elapsed().Nanoseconds())), "ns/"+u.unit)
	u.b.ReportMetric(per(float64(after.TotalAlloc-u.before.TotalAlloc)), "B/"+u.unit)
	u.b.ReportMetric(per(float64(after.Mallocs-u.before.Mallocs)), "allocs/"+u.unit)
}
