package fanout

// SetYield turns on or off the Gosched with which the holder of a
// Multiplexer's writer role lets the producers it has just answered queue
// their next items, for BenchmarkMultiplexerYield.
func (m *Multiplexer[T]) SetYield(on bool) { m.noYield = !on }
