//go:build race

package pool_test

// raceEnabled scales the soak and racing tests down under the race
// detector, which runs them about ten times slower and allows at most 8,128
// live goroutines.
const raceEnabled = true
