package bench_test

import (
	"testing"

	"github.com/go-compendium/compendium/internal/benchmarks"
)

func BenchmarkIDs(b *testing.B)         { benchmarks.ScenarioIDs().Bench(b) }
func BenchmarkOwnedState(b *testing.B)  { benchmarks.ScenarioOwnedState().Bench(b) }
func BenchmarkHandoff(b *testing.B)     { benchmarks.ScenarioHandoff().Bench(b) }
func BenchmarkRequestPath(b *testing.B) { benchmarks.ScenarioRequestPath().Bench(b) }
func BenchmarkTracing(b *testing.B)     { benchmarks.ScenarioTracing().Bench(b) }
