// Package scenario holds the implementations that bench/'s scenario
// benchmarks compare: ID generators, maps guarded by an owner goroutine or a
// lock, producer/consumer queues, and the request path of the recycler post
// (a Proxy and the buffer sources it draws from).
//
// They live here rather than in internal/benchmarks so that bench/'s tests
// can check them for correctness (unique IDs, agreeing maps, every item
// delivered once and in order) through a small exported surface, while the
// benchmark bodies in internal/benchmarks stay what they are: bodies.
//
// Each scenario puts the channel version (the talk's pattern, written to
// compendium's rules: an owner that exits on Close or ctx) beside the
// alternatives behind one interface, so that a benchmark or a test runs them
// all with the same code.
package scenario
