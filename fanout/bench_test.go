package fanout_test

import (
	"testing"

	"github.com/go-compendium/compendium/internal/benchmarks"
)

func BenchmarkMerge(b *testing.B)       { benchmarks.FanoutMerge().Bench(b) }
func BenchmarkBalancer(b *testing.B)    { benchmarks.FanoutBalancer().Bench(b) }
func BenchmarkMultiplexer(b *testing.B) { benchmarks.FanoutMultiplexer().Bench(b) }
