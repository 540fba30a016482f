package fanout

// SetTuning turns on or off the two scheduling aids of a Multiplexer, for
// BenchmarkMultiplexerTuning: the Gosched with which the holder of the
// writer role lets the producers it has just answered queue their next
// items, and the spin with which a Send waits for a cheap write to end
// before it queues.
func (m *Multiplexer[T]) SetTuning(yield, spin bool) { m.noYield, m.noSpin = !yield, !spin }

// SetBeforeLeave makes every queued Send whose ctx has ended call f
// before it looks whether the writer role was handed to it meanwhile.
func (m *Multiplexer[T]) SetBeforeLeave(f func()) { m.beforeLeave = f }
