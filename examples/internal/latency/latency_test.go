package latency_test

import (
	"testing"
	"time"

	"github.com/go-compendium/compendium/examples/internal/latency"
	"github.com/stretchr/testify/assert"
)

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
}
