package compendium_test

import (
	"context"

	"github.com/go-compendium/compendium/pipeline"
)

// pipeline.Scope: a unit is one item through a Map stage; its error, panic
// or Goexit fails the scope, so Close reports it.
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
			p := pipeline.New(parent)
			endless := pipeline.Generate(p, func(_ context.Context, yield func(int) bool) error {
				for i := 0; yield(i); i++ {
				}
				return nil
			})
			double := func(_ context.Context, v int) (int, error) { return 2 * v, nil }
			out := pipeline.Map(endless, 2, double)
			out = pipeline.OrderedMap(out, 2, double)
			out = pipeline.Buffer(out, 10, pipeline.Block)
			_ = pipeline.All(out) // an iterator never ranged: the stream stays unread
			return p.Close
		},
	})
}
