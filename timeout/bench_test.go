package timeout_test

import (
	"testing"

	"github.com/go-compendium/compendium/internal/benchmarks"
)

func BenchmarkSignal(b *testing.B) { benchmarks.TimeoutSignal().Bench(b) }
func BenchmarkCall(b *testing.B)   { benchmarks.TimeoutCall().Bench(b) }
func BenchmarkIdle(b *testing.B)   { benchmarks.TimeoutIdle().Bench(b) }
func BenchmarkRecv(b *testing.B)   { benchmarks.TimeoutRecv().Bench(b) }
