package pool_test

import (
	"testing"

	"github.com/go-compendium/compendium/internal/benchmarks"
)

func BenchmarkWorkers(b *testing.B) { benchmarks.PoolWorkers().Bench(b) }
