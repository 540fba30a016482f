//go:build race

package semaphore_test

// raceEnabled: under the race detector, sync.Pool drops a quarter of what
// it is given, so allocation counts mean nothing.
const raceEnabled = true
