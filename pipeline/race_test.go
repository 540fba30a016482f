//go:build race

package pipeline_test

// raceEnabled scales down the tests that push many items through: the
// race detector makes each atomic operation tens of times slower, and the
// interleavings they look for do not need the volume.
const raceEnabled = true
