package fanout_test

import (
	"testing"

	"github.com/go-compendium/compendium/fanout"
	"github.com/go-compendium/compendium/internal/benchmarks"
)

// BenchmarkMultiplexerTuning shows what the Multiplexer's yield and spin
// gain; run it with -cpu 1,2,4,8.
func BenchmarkMultiplexerTuning(b *testing.B) {
	benchmarks.FanoutMultiplexerTuning((*fanout.Multiplexer[int]).SetTuning).Bench(b)
}
