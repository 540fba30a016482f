package pipeline_test

import (
	"testing"

	"github.com/go-compendium/compendium/internal/benchmarks"
)

func BenchmarkThreeStage(b *testing.B) { benchmarks.PipelineThreeStage().Bench(b) }
func BenchmarkFirstItem(b *testing.B)  { benchmarks.PipelineFirstItem().Bench(b) }
func BenchmarkSoak(b *testing.B)       { benchmarks.PipelineSoak().Bench(b) }
func BenchmarkMapWorkers(b *testing.B) { benchmarks.PipelineMapWorkers().Bench(b) }
func BenchmarkMapCPU(b *testing.B)     { benchmarks.PipelineMapCPU().Bench(b) }
