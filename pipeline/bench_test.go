package pipeline_test

import (
	"testing"

	"github.com/go-compendium/compendium/internal/benchmarks"
)

func BenchmarkThreeStage(b *testing.B) { benchmarks.PipelineThreeStage().Bench(b) }
