//go:build race

package timeout_test

// raceEnabled shortens the soak tests under the race detector, which
// makes goroutine creation about ten times slower.
const raceEnabled = true
