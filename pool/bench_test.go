package pool_test

import (
	"testing"

	"github.com/go-compendium/compendium/internal/benchmarks"
)

func BenchmarkRecycle(b *testing.B)   { benchmarks.PoolRecycle().Bench(b) }
func BenchmarkRecycleGC(b *testing.B) { benchmarks.PoolRecycleGC().Bench(b) }
func BenchmarkBurst(b *testing.B)     { benchmarks.PoolBurst().Bench(b) }
