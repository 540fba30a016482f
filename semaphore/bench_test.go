package semaphore_test

import (
	"testing"

	"github.com/go-compendium/compendium/internal/benchmarks"
)

// The bodies live in internal/benchmarks, so that go test -bench and
// bench/cmd/compare measure the same code.

func BenchmarkAcquire(b *testing.B) { benchmarks.SemaphoreAcquire().Bench(b) }

func BenchmarkGroup(b *testing.B) { benchmarks.SemaphoreGroup().Bench(b) }
