// Package pipeline provides stages joined by channels under one cancellable
// scope: sources, Map, OrderedMap, Filter, FlatMap, Tap, Batch, Unbatch,
// Buffer, and sinks that collect, reduce, or range over the result.
//
//	p := pipeline.New(ctx)
//	nums := pipeline.FromSlice(p, xs)
//	squares := pipeline.Map(nums, 4, square) // f(ctx, T) (U, error), 4 workers
//	for v := range pipeline.All(squares) {   // break cancels every stage
//		...
//	}
//	err := p.Wait() // joins every stage; the first error, or a re-raised panic
//
// # The pattern
//
// "Small sequential pieces joined by channels" is how John Graham-Cumming's
// talk A Channel Compendium ends, and Sameer Ajmani's Go blog article
// Pipelines and cancellation gives the rules such pieces must follow:
// stages close their outbound channels when all their sends are done; they
// keep receiving until their inbound channels close; and since goroutines
// are not garbage collected, a stage that stops early must unblock the
// stages that send to it, which the article does with a done channel that
// every send also selects on.
//
// This package follows those rules for you. A [Scope] owns every goroutine
// of the pipeline; each source and stage returns a [Stream] whose goroutines
// close it when they are done, failure or not; every blocking send also
// selects on the scope's cancellation; and [Scope.Wait] joins them all. The
// first error (from a stage function, a generator, or a sink function) or
// panic cancels the scope, as in errgroup: every stage stops at its next
// item, or when its input closes, and Wait returns that error, or re-panics
// with a *[compendium.PanicError] on the caller's goroutine.
//
// A stage waiting for input needs no cancellation case: the sources stop on
// cancellation and close their streams, and each stage that sees its input
// close does the same, so cancellation reaches every receive within a few
// channel hand-overs. A plain receive costs half a select, and an idle
// pipeline's latency is made of receives.
//
// # Sinks
//
// A pipeline ends in a sink that runs on the caller's goroutine: [All] for a
// range loop, or [ForEach], [Collect], [Reduce], [Head] and [Drain], which
// consume their stream and then call [Scope.Wait] themselves, so their
// error is the pipeline's. Since Wait joins every stage, those five must be
// the last sink a goroutine runs on the scope: a stream left unread keeps
// its producer, and so Wait, waiting. (Stages take only the stream, which
// knows its scope, rather than the scope and the stream as sources do: a
// stage cannot be attached to the wrong scope.)
//
// # Cancel, not drain
//
// When a consumer stops early (a break out of [All], [Head] once it has its
// item, an error), the stages upstream are cancelled, not drained: they stop
// at their next item instead of computing the rest of their input for
// nobody, and no goroutine outlives Wait. Peers get this half right: rill
// drains the upstream in a goroutine that outlives the call, and samber/lo's
// channel helpers take no context and leak their goroutines when the
// consumer stops reading.
//
// Bounds: once the scope is cancelled, which a failing stage does as its
// function returns the error, each worker starts at most one more item (it
// checks before each one, and may have checked just before). Items produced
// upstream but never consumed are bounded by the batches in flight: per
// edge between two stages, the producer's pending batch and the batch the
// consumer holds, each at most 256 items. Backpressure is complete: the
// channels between stages are unbuffered (and every other channel is
// bounded), so a slow sink holds up every stage behind it, and memory stays
// flat however many items flow
// (BenchmarkSoak: millions of items at 0.01 B allocated per item, about
// 28 KiB of heap above the start, and the same 6 goroutines throughout).
//
// # Opportunistic batching
//
// A channel operation costs 30 to 300 ns where a plain loop spends well under
// a nanosecond on an item, so a pipeline that sends one item per channel
// operation is slow however simple its stages are. Inside this package,
// stages hand each other batches, but never wait to fill one: a stage sends
// what it has as soon as its consumer can take it, and keeps adding to the
// batch while the consumer is busy. An idle consumer is parked in a receive,
// so at low load each item travels alone and as soon as it is ready, with no
// added latency; at full load the consumer is busy when an item is ready,
// items pile up, and the consumer takes them all at once, up to 256. The
// batch size thus follows the load with no setting to tune, and the API
// stays per item. Batches are recycled through a small free list per stream,
// so allocations per item are near zero.
//
// An item held back that way waits for the producer's next item, or for the
// consumer to come back for it. A source that runs your code between items,
// [Generate] or [FromSeq], may be blocked in it by then (a timer, a network
// read, a wait for the pipeline to finish with the item it just yielded),
// so there the consumer, when it comes back, takes the held items itself:
// they never wait for the next yield (TestGenerateHoldsNothingBack,
// TestGenerateFeedback, where waiting for them was a deadlock). That costs
// the generator a lock per item, about 4 ns. The stages do not pay it: a
// result that found the next stage busy waits in the worker's batch while
// the worker's function runs on its next item, so it is late by at most
// that call, and a stage function must not wait for the pipeline to finish
// with an earlier item, which would deadlock. (The same lock in every stage
// measured 25 ns an item on BenchmarkThreeStage, against 15.)
//
// Measured on a 2-core machine, 10^5 ints generated, squared and summed
// (BenchmarkThreeStage, ns per item):
//
//	plain loop                                   0.3
//	mutex-guarded shared cursor, 2 workers       5.4 to 5.7
//	hand-batched channels, 256 per send          5.0 to 5.3
//	this package (Generate, Map with 1 worker,  15 to 16
//	  Reduce)
//	buffered channels (64)                      65 to 79
//	unbuffered channels                        240 to 260
//
// (two runs of bench/cmd/compare -benchtime=200ms) and the latency of one
// item through an idle 3-goroutine pipeline (BenchmarkFirstItem): this
// package 0.67 to 0.68 µs, the Go blog's unbuffered pipeline with a done
// channel in every select 0.90 to 0.92 µs, bare unbuffered channels 0.51
// to 0.55 µs (but those cannot be cancelled: their stages leak when the
// consumer stops). The difference from bare
// channels is the source's select, which must watch for cancellation since
// it reads a channel of yours, and the recycling of the one-item batches.
//
// # Workers and order
//
// [Map], [Filter] and [FlatMap] take a worker count. With one worker the
// output keeps the input's order; with more, items come out as they finish,
// and [OrderedMap] restores the input's order with a bounded reorder window.
// A worker that receives a batch splits it into one piece per worker and
// queues the others for whichever worker is free first, and between items
// it gives half of what it has left to a worker that is waiting, so slow
// items that arrived together still spread over every worker.
//
// # When something simpler is better
//
// A plain loop is fifty times faster than any pipeline when the work per
// item is a few nanoseconds and needs no concurrency: use a pipeline when
// stages wait on I/O, when they have different costs worth overlapping, or
// when items arrive over time. For a set of independent tasks with no
// stages, golang.org/x/sync/errgroup with SetLimit is simpler. For one shared
// counter or map, a mutex is. And a pipeline is worth its goroutines only if
// each item's work is well above what a stage adds: about 5 ns an item at
// full load (the generator, 4 more), and a quarter of a microsecond of
// latency per stage when idle.
package pipeline
