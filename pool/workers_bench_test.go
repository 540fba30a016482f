package pool_test

import (
	"testing"

	"github.com/go-compendium/compendium/internal/benchmarks"
	"github.com/go-compendium/compendium/pool"
)

func BenchmarkWorkers(b *testing.B) { benchmarks.PoolWorkers().Bench(b) }

// BenchmarkWorkersTuning shows what the Workers' yield after a wake-up and
// its wake-up mark at half the queue gain; run it with -cpu 1,2,4,8.
func BenchmarkWorkersTuning(b *testing.B) { benchmarks.PoolWorkersTuning(pool.SetTuning).Bench(b) }
