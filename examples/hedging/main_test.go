package main

import (
	"bytes"
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-compendium/compendium/examples/internal/extest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestRun runs the program with tiny delays and checks the table's shape:
// a row per strategy in order, the tries each costs (one for single, at
// most one per replica for the others), and percentiles in order. Timing
// values are not checked: they depend on the machine.
func TestRun(t *testing.T) {
	cfg := config{
		replicas: 3,
		fast:     0,
		slow:     time.Millisecond,
		tail:     0.2,
		hedge:    200 * time.Microsecond,
		requests: 20,
		clients:  2,
		seed:     1,
	}
	var out bytes.Buffer
	require.NoError(t, run(context.Background(), &out, cfg))
	t.Log("\n" + out.String())

	lines := strings.Split(strings.TrimRight(out.String(), "\n"), "\n")
	require.Len(t, lines, 7, "two header lines, a blank, the column names, three rows")
	assert.Equal(t, "3 replicas, each taking 0s per request and 1ms for a fraction 0.2 of them; hedge after 200µs", lines[0])
	assert.Equal(t, "20 requests per strategy, 2 in flight", lines[1])
	assert.Equal(t, []string{"strategy", "tries/req", "p50", "p90", "p99", "max"}, strings.Fields(lines[3]))

	for i, name := range []string{"single", "hedge", "first"} {
		f := strings.Fields(lines[4+i])
		require.Len(t, f, 6, "row %q", lines[4+i])
		assert.Equal(t, name, f[0])
		tries, err := strconv.ParseFloat(f[1], 64)
		require.NoError(t, err)
		if name == "single" {
			assert.Equal(t, 1.0, tries, "single sends one request per request")
		} else {
			assert.GreaterOrEqual(t, tries, 1.0, "%s: at least one try per request", name)
			assert.LessOrEqual(t, tries, 3.0, "%s: at most one try per replica", name)
		}
		var prev time.Duration
		for _, s := range f[2:] {
			d, err := time.ParseDuration(s)
			require.NoError(t, err)
			assert.GreaterOrEqual(t, d, prev, "%s: percentiles in order: %v", name, f[2:])
			prev = d
		}
	}
}

// TestRunBadConfig checks that run refuses a configuration with nothing to
// do instead of printing an empty table.
func TestRunBadConfig(t *testing.T) {
	extest.Rejects(t, run, config{replicas: 1, requests: 1, clients: 1, tail: 0.5}, map[string]func(*config){
		"no replicas":    func(c *config) { c.replicas = 0 },
		"no requests":    func(c *config) { c.requests = 0 },
		"no clients":     func(c *config) { c.clients = 0 },
		"negative tail":  func(c *config) { c.tail = -0.1 },
		"tail above 1":   func(c *config) { c.tail = 1.5 },
		"negative fast":  func(c *config) { c.fast = -time.Millisecond },
		"negative slow":  func(c *config) { c.slow = -time.Millisecond },
		"negative hedge": func(c *config) { c.hedge = -time.Millisecond },
	})
}

// TestRunCanceled checks that a cancelled context stops the program with
// its error, leaving nothing running (goleak checks after the tests).
func TestRunCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	cfg := config{replicas: 2, slow: time.Millisecond, requests: 10, clients: 2}
	assert.ErrorIs(t, run(ctx, &bytes.Buffer{}, cfg), context.Canceled)
}
