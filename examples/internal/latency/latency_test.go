package latency_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-compendium/compendium/examples/internal/latency"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestPercentile(t *testing.T) {
	var r latency.Recorder
	assert.Equal(t, time.Duration(0), r.Percentile(50), "empty")
	for i := 100; i >= 1; i-- { // out of order on purpose
		r.Add(time.Duration(i) * time.Millisecond)
	}
	cases := []struct {
		p    float64
		want time.Duration
	}{
		{1, time.Millisecond},
		{50, 50 * time.Millisecond},
		{99, 99 * time.Millisecond},
		{99.5, 100 * time.Millisecond},
		{100, 100 * time.Millisecond},
	}
	for _, tc := range cases {
		assert.Equal(t, tc.want, r.Percentile(tc.p), "Percentile(%v)", tc.p)
	}
	assert.Equal(t, 100, r.Len())
}

func TestFormat(t *testing.T) {
	assert.Equal(t, "5µs", latency.Format(5*time.Microsecond))
	assert.Equal(t, "1.23ms", latency.Format(1234567*time.Nanosecond))
	assert.Equal(t, "1.69s", latency.Format(1690650*time.Microsecond))
}

// TestDrive checks that Drive makes every call, never more than clients at
// once, records one latency per successful call, and returns the first
// error.
func TestDrive(t *testing.T) {
	var inFlight, peak, calls atomic.Int64
	lat, err := latency.Drive(context.Background(), 50, 3, func(context.Context) error {
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		calls.Add(1)
		return nil
	})
	require.NoError(t, err)
	assert.Equal(t, int64(50), calls.Load())
	assert.Equal(t, 50, lat.Len())
	assert.LessOrEqual(t, peak.Load(), int64(3))

	boom := errors.New("boom")
	_, err = latency.Drive(context.Background(), 50, 3, func(context.Context) error { return boom })
	assert.ErrorIs(t, err, boom)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = latency.Drive(ctx, 5, 1, func(context.Context) error { return nil })
	assert.ErrorIs(t, err, context.Canceled)
}

// TestDriveCanceledMidway cancels the context from inside the fourth call,
// while the other three are in flight and more requests wait for a slot:
// Drive returns the context's error, starts no call after it, and has
// joined every call by the time it returns.
func TestDriveCanceledMidway(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var calls, running atomic.Int64
	_, err := latency.Drive(ctx, 1000, 4, func(ctx context.Context) error {
		running.Add(1)
		defer running.Add(-1)
		if calls.Add(1) == 4 { // the fourth fills the last slot
			cancel()
		}
		<-ctx.Done() // every call waits for the cancellation
		return ctx.Err()
	})
	assert.ErrorIs(t, err, context.Canceled)
	assert.Zero(t, running.Load(), "a call still running after Drive returned")
	assert.Equal(t, int64(4), calls.Load(), "calls started after the cancellation")
}
