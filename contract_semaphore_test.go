package compendium_test

import (
	"context"

	"github.com/go-compendium/compendium/semaphore"
)

// semaphore.Group reports a task's failure through Wait and Close, as
// errgroup does: closeReports. It has no output a user could leave
// unread.
func init() {
	subjects = append(subjects, subject{
		name: "semaphore.Group",
		run: func(parent context.Context, work func(ctx context.Context) error) (func() error, func() error) {
			g := semaphore.NewGroup(parent, 1)
			if err := g.Go(context.Background(), work); err != nil {
				panic(err)
			}
			unit := func() error {
				_ = g.Wait() // the unit's outcome is the group's
				return nil
			}
			return unit, g.Close
		},
		closeReports: true,
	})
}
