package compendium_test

import (
	"context"
	"errors"

	"github.com/go-compendium/compendium/pipeline"
)

// pipeline.Scope: a unit is one item through a Map stage; its error, panic
// or Goexit fails the scope, so Close reports it. Left unread: a channel
// from ToChan, an iterator from All never ranged, and the batches of every
// kind of stage in between.
func init() {
	subjects = append(subjects, subject{
		name: "pipeline.Scope",
		run: func(parent context.Context, work func(ctx context.Context) error) (func() error, func() error) {
			p := pipeline.New(parent)
			out := pipeline.Map(pipeline.FromSlice(p, []int{1}), 1, func(ctx context.Context, v int) (int, error) {
				return v, work(ctx)
			})
			unit := func() error {
				for range pipeline.All(out) { // ends when the item is through, or the scope is cancelled
				}
				return nil
			}
			return unit, p.Close
		},
		closeReports: true,
		unread: func(parent context.Context) func() error {
			endless := func(p *pipeline.Scope) *pipeline.Stream[int] {
				return pipeline.Generate(p, func(_ context.Context, yield func(int) bool) error {
					for i := 0; yield(i); i++ {
					}
					return nil
				})
			}
			double := func(_ context.Context, v int) (int, error) { return 2 * v, nil }
			stages := func(p *pipeline.Scope) *pipeline.Stream[int] {
				out := pipeline.Map(endless(p), 2, double)
				out = pipeline.OrderedMap(out, 2, double)
				out = pipeline.Unbatch(pipeline.Batch(out, 10, 0))
				return pipeline.Buffer(out, 10, pipeline.Block)
			}
			a, b := pipeline.New(parent), pipeline.New(parent)
			_ = pipeline.ToChan(stages(a)) // a channel nobody reads
			_ = pipeline.All(stages(b))    // an iterator never ranged
			return func() error { return errors.Join(a.Close(), b.Close()) }
		},
	})
}
