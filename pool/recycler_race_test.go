//go:build race

package pool_test

// underRace scales the recyclers' racing tests down under the race
// detector, which runs them about ten times slower.
const underRace = true
