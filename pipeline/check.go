package pipeline

import "github.com/go-compendium/compendium/internal/lifecycle"

// pkg is the package name that programming-error panics start with.
const pkg = "pipeline"

// workerCost is what a stage sets aside per worker before its first item:
// at least a goroutine's initial stack. A worker count whose total passes
// lifecycle.MaxUpFront is refused at the call (Map(in, 1<<32+1) would
// otherwise die of out-of-memory inside the library).
type workerCost [2 << 10]byte

// checkWorkers panics unless n is a usable worker count for fn.
func checkWorkers(fn string, n int) {
	lifecycle.Min(pkg, fn, "workers", n, 1)
	lifecycle.UpFront[workerCost](pkg, fn, "workers", n)
}

// checkFunc panics if fn was given a nil function (its parameter name):
// better at the call that built the pipeline than as a nil dereference
// inside a stage.
func checkFunc(fn, name string, isNil bool) {
	lifecycle.NotNil(pkg, fn, name, isNil)
}

// checkScope panics if the source fn was given no scope.
func checkScope(fn string, s *Scope) {
	lifecycle.NotNil(pkg, fn, "s", s == nil)
}
