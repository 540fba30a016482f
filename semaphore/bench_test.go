package semaphore_test

import (
	"testing"

	"github.com/go-compendium/compendium/internal/benchmarks"
	"github.com/go-compendium/compendium/semaphore"
)

// The bodies live in internal/benchmarks, so that go test -bench and
// bench/cmd/compare measure the same code.

func BenchmarkAcquire(b *testing.B) { benchmarks.SemaphoreAcquire().Bench(b) }

func BenchmarkGroup(b *testing.B) { benchmarks.SemaphoreGroup().Bench(b) }

// BenchmarkTuning shows what the yield before waiting gains in Counting,
// Weighted and Group; run it with -cpu 1,2,4,8.
func BenchmarkTuning(b *testing.B) {
	benchmarks.SemaphoreTuning(
		(*semaphore.Counting).SetTuning,
		(*semaphore.Weighted).SetTuning,
		(*semaphore.Group).SetTuning,
	).Bench(b)
}
