package compendium_test

import (
	"context"

	"github.com/go-compendium/compendium/pool"
)

// pool.Workers reports a task's error, Goexit or panic through Wait and
// Close (it is the pool's, not the submitter's: Go returns once the task
// is accepted), so its unit waits for the task to end and returns nil,
// and Close is what reports. Nothing a user can leave unread belongs to a
// Workers, so it has no unread case.
func init() {
	subjects = append(subjects, subject{
		name: "pool.Workers",
		run: func(parent context.Context, work func(ctx context.Context) error) (func() error, func() error) {
			w := pool.NewWorkers(parent, 1)
			ended := make(chan struct{})
			err := w.Go(context.Background(), func(ctx context.Context) error {
				defer close(ended) // runs on return, panic and Goexit alike
				return work(ctx)
			})
			if err != nil {
				panic(err)
			}
			return func() error { <-ended; return nil }, w.Close
		},
		closeReports: true,
	})
}
