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

// TestRun runs the demo on small buffers and checks the table: a row
// after every burst and idle period of every source, in order, heap
// figures that parse, and the buffers made: fresh makes a burst's worth
// every time, the Recycler only the first time, and the other two
// somewhere between. Heap sizes are not checked: they belong to the
// runtime.
func TestRun(t *testing.T) {
	cfg := config{bursts: 3, rounds: 3, buffers: 4, size: 64 << 10, idle: 2 * time.Millisecond, ttl: time.Millisecond}
	var out bytes.Buffer
	require.NoError(t, run(context.Background(), &out, cfg))
	t.Log("\n" + out.String())

	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	require.Len(t, lines, 5+4*3*2, "four header lines, the column names, a row per source, step and phase")
	assert.Equal(t, "3 bursts of 3 rounds of 4 buffers of 64 KiB, 2ms idle after each burst; AgingRecycler ttl 1ms", lines[0])
	assert.Equal(t, []string{"source", "step", "phase", "inuse", "idle", "released", "made", "alloc", "GCs"}, strings.Fields(lines[4]))

	perBurst := cfg.rounds * cfg.buffers
	rows := lines[5:]
	for si, name := range []string{"fresh", "sync.Pool", "pool.Recycler", "pool.AgingRecycler"} {
		prev := 0
		for step := 1; step <= cfg.bursts; step++ {
			for pi, phase := range []string{"burst", "idle"} {
				f := strings.Fields(rows[si*2*cfg.bursts+(step-1)*2+pi])
				require.Len(t, f, 9)
				assert.Equal(t, []string{name, strconv.Itoa(step), phase}, f[:3])
				for _, v := range append(f[3:6:6], f[7]) {
					mib, err := strconv.ParseFloat(v, 64)
					require.NoError(t, err)
					assert.GreaterOrEqual(t, mib, 0.0)
				}
				_, err := strconv.ParseUint(f[8], 10, 32)
				require.NoError(t, err, "GCs")
				made, err := strconv.Atoi(f[6])
				require.NoError(t, err)
				switch name {
				case "fresh":
					assert.Equal(t, perBurst*step, made, "%s step %d %s: a new burst's worth each time", name, step, phase)
				case "pool.Recycler":
					assert.Equal(t, cfg.buffers, made, "%s step %d %s: made once, reused ever after", name, step, phase)
				default:
					assert.GreaterOrEqual(t, made, max(prev, cfg.buffers), "%s step %d %s", name, step, phase)
					assert.LessOrEqual(t, made, perBurst*step, "%s step %d %s", name, step, phase)
				}
				prev = made
			}
		}
	}
}

// TestRunBadConfig checks that run refuses a configuration with nothing to
// do instead of printing an empty table.
func TestRunBadConfig(t *testing.T) {
	extest.Rejects(t, run, config{bursts: 1, rounds: 1, buffers: 1, size: 1, idle: time.Millisecond, ttl: time.Millisecond}, map[string]func(*config){
		"no bursts":  func(c *config) { c.bursts = 0 },
		"no rounds":  func(c *config) { c.rounds = 0 },
		"no buffers": func(c *config) { c.buffers = 0 },
		"no size":    func(c *config) { c.size = 0 },
		"no idle":    func(c *config) { c.idle = 0 },
		"no ttl":     func(c *config) { c.ttl = 0 },
	})
}

// TestRunCanceled checks that a cancelled context stops the demo during an
// idle period, with nothing left running.
func TestRunCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	cfg := config{bursts: 2, rounds: 1, buffers: 1, size: 1, idle: time.Hour, ttl: time.Hour}
	assert.ErrorIs(t, run(ctx, &bytes.Buffer{}, cfg), context.Canceled)
}

func TestMiB(t *testing.T) {
	assert.Equal(t, "1 MiB", mib(1<<20))
	assert.Equal(t, "64 KiB", mib(64<<10))
	assert.Equal(t, "1000 bytes", mib(1000))
}
