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

// TestRun runs the program on tiny delays and checks the table's shape:
// every backend has a column, each dispatcher a row whose counts add up to
// the requests sent, round robin spreads them evenly, and p50 <= p99.
// Timing values are not checked: they depend on the machine.
func TestRun(t *testing.T) {
	cfg := config{
		delays:   []time.Duration{0, 100 * time.Microsecond, time.Millisecond},
		requests: 30,
		clients:  4,
		depth:    2,
	}
	var out bytes.Buffer
	require.NoError(t, run(context.Background(), &out, cfg))
	t.Log("\n" + out.String())

	lines := strings.Split(strings.TrimRight(out.String(), "\n"), "\n")
	require.Len(t, lines, 6, "two header lines, a blank, the column names, two rows")
	assert.Equal(t, "backends (each serves one request at a time): b0 0s b1 100µs b2 1ms", lines[0])
	assert.Equal(t, "30 requests per dispatcher, 4 in flight", lines[1])
	assert.Equal(t, []string{"dispatch", "b0", "b1", "b2", "total", "took", "p50", "p99"}, strings.Fields(lines[3]))

	rows := map[string][]int{}
	for _, line := range lines[4:] {
		f := strings.Fields(line)
		require.Len(t, f, 8, "row %q", line)
		counts := make([]int, 4)
		for i := range counts {
			c, err := strconv.Atoi(f[1+i])
			require.NoError(t, err)
			counts[i] = c
		}
		assert.Equal(t, counts[0]+counts[1]+counts[2], counts[3], "%s: per-backend counts add up to the total", f[0])
		assert.Equal(t, cfg.requests, counts[3], "%s: total", f[0])
		_, err := time.ParseDuration(f[5])
		require.NoError(t, err, "took")
		p50, err := time.ParseDuration(f[6])
		require.NoError(t, err)
		p99, err := time.ParseDuration(f[7])
		require.NoError(t, err)
		assert.LessOrEqual(t, p50, p99, "%s: p50 <= p99", f[0])
		rows[f[0]] = counts[:3]
	}
	assert.Equal(t, []int{10, 10, 10}, rows["round-robin"], "round robin gives each backend its share")
	assert.Contains(t, rows, "balancer")
}

// TestRunBadConfig checks that run refuses a configuration with nothing to
// do instead of printing an empty table.
func TestRunBadConfig(t *testing.T) {
	extest.Rejects(t, run, config{delays: []time.Duration{0}, requests: 1, clients: 1, depth: 1}, map[string]func(*config){
		"no backends":    func(c *config) { c.delays = nil },
		"no requests":    func(c *config) { c.requests = 0 },
		"no clients":     func(c *config) { c.clients = 0 },
		"no depth":       func(c *config) { c.depth = 0 },
		"negative delay": func(c *config) { c.delays = []time.Duration{0, -time.Millisecond} },
	})
}

// TestRunCanceled checks that a cancelled context stops the program with
// its error, leaving nothing running (goleak checks after the tests).
func TestRunCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	cfg := config{delays: []time.Duration{time.Millisecond}, requests: 10, clients: 2, depth: 1}
	assert.ErrorIs(t, run(ctx, &bytes.Buffer{}, cfg), context.Canceled)
}

func TestParseDurations(t *testing.T) {
	ds, err := parseDurations("1ms, 2ms,16ms")
	require.NoError(t, err)
	assert.Equal(t, []time.Duration{time.Millisecond, 2 * time.Millisecond, 16 * time.Millisecond}, ds)
	_, err = parseDurations("1ms,fast")
	assert.Error(t, err)
}
