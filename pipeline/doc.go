// Package pipeline provides stages joined by channels under one cancellable
// scope: sources, Map, Filter and FlatMap (unordered or ordered), Tap,
// Batch, Unbatch and Buffer, and sinks that collect, reduce, range over the
// result or hand it back as a channel.
//
//	p := pipeline.New(ctx)
//	nums := pipeline.FromSlice(p, xs)
//	squares := pipeline.Map(nums, 4, square) // f(ctx, T) (U, error), 4 workers
//	for v := range pipeline.All(squares) {   // break cancels every stage
//		...
//	}
//	err := p.Wait() // joins every stage; the first error, or a re-raised panic
//
// Which one do I want:
//
//	need                               use                        cost       instead, when
//	own a pipeline's goroutines        Scope (New, Wait, Close)   -          errgroup, for tasks with no stages
//	items from a slice, iterator,      FromSlice, FromSeq,        cheap      a plain loop, for one cheap stage
//	  generator or channel               Generate, FromChan
//	f on every item, n at once         Map, Filter, FlatMap       cheap      errgroup.SetLimit, for independent tasks
//	the same, in the input's order     OrderedMap, OrderedFilter, moderate   Map with one worker, which keeps order
//	                                     OrderedFlatMap
//	look at items as they pass         Tap                        cheap      -
//	groups for a bulk call             Batch, Unbatch             cheap      -
//	slack, or drop what does not fit   Buffer (Block, DropNewest, cheap      no Buffer: stages run at full speed
//	                                     DropOldest)                           without one
//	the result on your goroutine       All, ForEach, Collect,     cheap      -
//	                                     Reduce, Head, Drain
//	the result in a select of yours    ToChan                     moderate   All, unless you select
//
// bench/RESULTS.md holds the measured costs (pipeline.ThreeStage,
// pipeline.FirstItem, pipeline.MapWorkers, pipeline.MapCPU, pipeline.Soak).
//
// # Lifecycle
//
// This package follows the module's lifecycle contract, written out in
// package [compendium]: Close is idempotent, cancels, joins every goroutine
// it started and returns the first failure, and nothing left unread can make
// it hang; a panic in your code is re-raised as the same
// *[compendium.PanicError] by every Wait and Close; runtime.Goexit in your
// code is a failure with [compendium.ErrGoexit]; work offered after Close
// gets an error matching [compendium.ErrClosed]; a programming error panics
// at the call with "pkg: Func: what, got v"; counters are uint64 and use the
// vocabulary of [compendium.TaskStats].
//
// Here the owner is the [Scope], and "work offered after Close" is a stream
// added to a closed scope, or read by a sink after Close cut it short: the
// sink returns the closed error. Every goroutine carries the pprof labels
// compendium=pipeline, type=<stage>, stage=<stage>#k (k numbers the
// sources and stages of a scope from 1) and worker=i, on top of the labels
// of the context given to [New]; with runtime/trace on, each batch a stage
// processes is a region named "pipeline.<stage>#k".
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
// selects on the scope's cancellation; and [Scope.Wait] and [Scope.Close]
// join them all. The first error (from a stage function, a generator, or a
// sink function) or panic cancels the scope, as in errgroup, and Wait
// returns it, or re-panics.
//
// # Cancellation
//
// One rule holds for every stage: once the scope's context is done (a
// stage failed or panicked, a consumer stopped early, Close was called, or
// the parent context ended), no stage starts more than one item per worker
// that it had not already begun. Each worker checks the context itself
// before each item; a parent's cancel cancels the scope's context before it
// returns. Sources stop producing. Items already produced are not lost:
// the sinks that read a stream to its end ([All], [ForEach], [Collect],
// [Reduce], [Drain]) still get every item that reached their stream, so
// with one worker per stage they see every result computed before a
// failure, in order. [ToChan] sends nothing more. A stream whose pipeline
// was cancelled says so: Wait returns the cause, or, for Close, the sink
// returns the closed error; a nil error means every item came through.
//
// When a consumer stops early (a break out of [All], [Head] once it has its
// item, an error), the stages upstream are cancelled, not drained: they stop
// at their next item instead of computing the rest of their input for
// nobody, and no goroutine outlives Wait.
//
// # Order
//
// One rule per stage: a source emits in the order of its slice, sequence,
// generator or channel; a stage with one worker keeps the order of its
// input; [Map], [Filter] and [FlatMap] with more workers emit items as they
// finish, and [OrderedMap], [OrderedFilter] and [OrderedFlatMap] keep the
// input's order with any number of workers; [Tap], [Batch], [Unbatch] and
// [Buffer] keep it (a dropping Buffer removes items, never reorders them);
// the items of one FlatMap call stay together and in order. The sinks see
// their stream's order.
//
// # Like channels, in batches
//
// A channel operation costs more than most per-item work, so a pipeline
// that sends one item per channel operation is slow however simple its
// stages are. Inside this package, stages hand each other batches, but
// never wait to fill one: a stage publishes each item as it is produced,
// and a consumer that comes for input takes everything published, at once.
// An idle consumer is parked, so at low load each item travels alone and
// as soon as it is ready; at full load the consumer is busy when items are
// ready, they pile up (up to 256), and the consumer takes them together.
// The batch size follows the load with no setting to tune, and the API
// stays per item.
//
// The batches change nothing a channel user could see. A produced item
// goes on as soon as the next stage is ready for it, even if its producer
// is by then blocked in your function (waiting for the pipeline to make
// progress, say): nothing is held back. The workers of a stage take items
// one at a time, as goroutines receiving from one channel would, so no
// worker waits while another holds an item it has not started, and n items
// that wait for each other all run at once on n workers. Backpressure is
// complete: a slow sink holds up every stage behind it, each edge holding
// at most a batch per producer, and memory stays flat however many items
// flow.
//
// # When something simpler is better
//
// A plain loop is much faster than any pipeline when the work per item is
// a few nanoseconds and needs no concurrency: use a pipeline when stages
// wait on I/O, when they have different costs worth overlapping, or when
// items arrive over time (pipeline.ThreeStage in bench/RESULTS.md puts the
// plain loop, hand-batched channels and this package side by side). For a
// set of independent tasks with no stages, golang.org/x/sync/errgroup with
// SetLimit is simpler. For one shared counter or map, a mutex is.
package pipeline
