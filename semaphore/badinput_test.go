package semaphore_test

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-compendium/compendium/semaphore"
)

// TestBadInputPanicsAtTheCall holds every constructor and method of the
// package to the module's rule for programming errors: a nil ctx or
// function, a size below 1, a negative weight or duration, or a size that
// would allocate more than 1 GiB up front panics at the call, on the
// caller's goroutine, with "semaphore: Func: what, got v".
func TestBadInputPanicsAtTheCall(t *testing.T) {
	ctx := context.Background()
	var nilCtx context.Context
	nop := func(context.Context) error { return nil }
	counting := semaphore.NewCounting(1)
	weighted := semaphore.NewWeighted(3)
	group := semaphore.NewGroup(ctx, 1)
	defer group.Close()
	const nilCtxMsg = "ctx must not be nil, got nil (use context.Background or context.TODO)"
	cases := []struct {
		name string
		call func()
		want string
	}{
		{"NewCounting(0)", func() { semaphore.NewCounting(0) }, "semaphore: NewCounting: n must be at least 1, got 0"},
		{"NewCounting(-1)", func() { semaphore.NewCounting(-1) }, "semaphore: NewCounting: n must be at least 1, got -1"},
		{"NewCounting(MaxInt)", func() { semaphore.NewCounting(math.MaxInt) },
			"semaphore: NewCounting: n 9223372036854775807 would allocate 8388608 TiB up front, more than the 1 GiB limit"},
		{"NewCounting(2^30+1)", func() { semaphore.NewCounting(1<<30 + 1) },
			"semaphore: NewCounting: n 1073741825 would allocate 1 GiB up front, more than the 1 GiB limit"},
		{"Counting.Acquire(nil)", func() { _ = counting.Acquire(nilCtx) }, "semaphore: Counting.Acquire: " + nilCtxMsg},

		{"NewWeighted(0)", func() { semaphore.NewWeighted(0) }, "semaphore: NewWeighted: n must be at least 1, got 0"},
		{"NewWeighted(-5)", func() { semaphore.NewWeighted(-5) }, "semaphore: NewWeighted: n must be at least 1, got -5"},
		{"NewWeighted(MinInt64)", func() { semaphore.NewWeighted(math.MinInt64) },
			"semaphore: NewWeighted: n must be at least 1, got -9223372036854775808"},
		{"NewWeighted(MaxInt64)", func() { semaphore.NewWeighted(math.MaxInt64) },
			"semaphore: NewWeighted: n must be at most 4611686018427387903, got 9223372036854775807"},
		{"Weighted.Acquire(nil, 1)", func() { _ = weighted.Acquire(nilCtx, 1) }, "semaphore: Weighted.Acquire: " + nilCtxMsg},
		{"Weighted.Acquire(ctx, -1)", func() { _ = weighted.Acquire(ctx, -1) }, "semaphore: Weighted.Acquire: k must not be negative, got -1"},
		{"Weighted.Acquire(ctx, MinInt64)", func() { _ = weighted.Acquire(ctx, math.MinInt64) },
			"semaphore: Weighted.Acquire: k must not be negative, got -9223372036854775808"},
		{"Weighted.TryAcquire(-1)", func() { weighted.TryAcquire(-1) }, "semaphore: Weighted.TryAcquire: k must not be negative, got -1"},
		{"Weighted.Release(-1)", func() { weighted.Release(-1) }, "semaphore: Weighted.Release: k must not be negative, got -1"},
		{"Weighted.Release(MaxInt64)", func() { weighted.Release(math.MaxInt64) },
			"semaphore: Weighted.Release: released more than held, got 9223372036854775807 with 0 held"},

		{"NewGroup(nil, 1)", func() { semaphore.NewGroup(nilCtx, 1) }, "semaphore: NewGroup: " + nilCtxMsg},
		{"NewGroup(ctx, 0)", func() { semaphore.NewGroup(ctx, 0) }, "semaphore: NewGroup: n must be at least 1, got 0"},
		{"NewGroup(ctx, -1)", func() { semaphore.NewGroup(ctx, -1) }, "semaphore: NewGroup: n must be at least 1, got -1"},
		{"NewGroup(ctx, 1, nil)", func() { semaphore.NewGroup(ctx, 1, nil) }, "semaphore: NewGroup: option must not be nil, got nil"},
		{"MaxPending(-1)", func() { semaphore.MaxPending(-1) }, "semaphore: MaxPending: n must be at least 0, got -1"},
		{"TaskTimeout(0)", func() { semaphore.TaskTimeout(0) }, "semaphore: TaskTimeout: d must be positive, got 0s"},
		{"TaskTimeout(-1s)", func() { semaphore.TaskTimeout(-time.Second) }, "semaphore: TaskTimeout: d must be positive, got -1s"},
		{"Group.Go(nil, f)", func() { _ = group.Go(nilCtx, nop) }, "semaphore: Group.Go: " + nilCtxMsg},
		{"Group.Go(ctx, nil)", func() { _ = group.Go(ctx, nil) }, "semaphore: Group.Go: f must not be nil, got nil"},
		{"Group.TryGo(nil)", func() { group.TryGo(nil) }, "semaphore: Group.TryGo: f must not be nil, got nil"},
		{"Group.SetLimit(0)", func() { group.SetLimit(0) }, "semaphore: Group.SetLimit: n must be at least 1, got 0"},
		{"Group.SetLimit(-1)", func() { group.SetLimit(-1) }, "semaphore: Group.SetLimit: n must be at least 1, got -1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { assert.PanicsWithValue(t, c.want, c.call) })
	}

	// The panics changed nothing.
	require.True(t, counting.TryAcquire(), "Counting after the panics")
	counting.Release()
	require.True(t, weighted.TryAcquire(3), "Weighted after the panics")
	weighted.Release(3)
	require.NoError(t, group.Go(ctx, nop), "Group after the panics")
	require.NoError(t, group.Wait())
	assert.Zero(t, group.Stats().Rejected, "a panicking call counted as a rejection")
}

// TestExtremeButValidInput: sizes and weights at the edges that are not
// errors behave as documented, without allocating in proportion.
func TestExtremeButValidInput(t *testing.T) {
	ctx := context.Background()
	t.Run("NewCounting(2^30)", func(t *testing.T) {
		s := semaphore.NewCounting(1 << 30) // a channel of struct{}: no buffer to allocate
		assert.Equal(t, 1<<30, s.Cap())
	})
	t.Run("Weighted at 2^62-1", func(t *testing.T) {
		w := semaphore.NewWeighted(math.MaxInt64 >> 1)
		require.NoError(t, w.Acquire(ctx, math.MaxInt64>>1))
		assert.False(t, w.TryAcquire(1))
		w.Release(math.MaxInt64 >> 1)
	})
	t.Run("Weighted oversize", func(t *testing.T) {
		w := semaphore.NewWeighted(3)
		assert.ErrorIs(t, w.Acquire(ctx, math.MaxInt64), semaphore.ErrTooLarge, "a runtime error, not a panic")
		assert.False(t, w.TryAcquire(math.MaxInt64))
		assert.True(t, w.TryAcquire(0))
	})
	t.Run("Group at MaxInt", func(t *testing.T) {
		g := semaphore.NewGroup(ctx, math.MaxInt, semaphore.MaxPending(math.MaxInt), semaphore.TaskTimeout(math.MaxInt64))
		require.NoError(t, g.Go(ctx, func(ctx context.Context) error {
			_, ok := ctx.Deadline()
			assert.True(t, ok, "a deadline, if a far one")
			return nil
		}))
		g.SetLimit(math.MaxInt)
		assert.NoError(t, g.Close())
	})
}
