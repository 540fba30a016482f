package main

import (
	"bytes"
	"context"
	_ "embed"
	"fmt"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/go-compendium/compendium/examples/internal/extest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// want is the tour's whole output with workers=3, ids=50, tick=20ms.
//
//go:embed testdata/want.txt
var want string

// TestRun runs the whole tour in a synctest bubble, where its timers run
// on virtual time, and compares every line with the expected output: the
// tour prints nothing that depends on scheduling or on the machine.
func TestRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var out bytes.Buffer
		require.NoError(t, run(context.Background(), &out, config{workers: 3, ids: 50, tick: 20 * time.Millisecond}))
		assert.Equal(t, strings.Split(want, "\n"), strings.Split(out.String(), "\n"))
	})
}

// TestSectionsInOrder checks that the tour follows the talk's slides.
func TestSectionsInOrder(t *testing.T) {
	var names []string
	for _, s := range sections() {
		names = append(names, strings.SplitN(s.title, ":", 2)[0])
	}
	assert.Equal(t, []string{
		"Start gun", "Terminate workers", "Verify termination", "Closed and nil channels",
		"Timeout vs deadline", "Heartbeat", "Unique IDs", "Recycler", "Non-blocking send and receive",
		"Multiplexor", "First of N", "Response channels", "Load balancer",
	}, names)
}

// TestRunBadConfig checks that run refuses settings the sections cannot
// use, before printing anything.
func TestRunBadConfig(t *testing.T) {
	extest.Rejects(t, run, config{workers: 2, ids: 1, tick: time.Millisecond}, map[string]func(*config){
		"one worker": func(c *config) { c.workers = 1 },
		"no IDs":     func(c *config) { c.ids = 0 },
		"no tick":    func(c *config) { c.tick = 0 },
	})
}

// TestRunCanceled checks that the tour stops with the context's error
// when it is cancelled while a section waits, and leaves nothing running.
func TestRunCanceled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go func() {
			time.Sleep(30 * time.Millisecond) // virtual: inside the timing sections
			cancel()
		}()
		err := run(ctx, &bytes.Buffer{}, config{workers: 3, ids: 5, tick: 20 * time.Millisecond})
		assert.ErrorIs(t, err, context.Canceled)
	})
}

// TestSectionsCanceled runs each section on its own with a context that is
// cancelled before it starts or at some point while it runs: each one
// either finishes (the sections that never wait on it) or returns the
// context's error, and leaves no goroutine behind (synctest.Test fails if
// one is still blocked in the bubble at the end).
func TestSectionsCanceled(t *testing.T) {
	cfg := config{workers: 3, ids: 5, tick: 20 * time.Millisecond}
	for _, s := range sections() {
		for _, after := range []time.Duration{0, cfg.tick / 2, 3 * cfg.tick / 2, 5 * cfg.tick} {
			name := fmt.Sprintf("%s/after=%v", strings.SplitN(s.title, ":", 2)[0], after)
			t.Run(name, func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					ctx, cancel := context.WithCancel(context.Background())
					defer cancel()
					if after == 0 {
						cancel()
					} else {
						stop := time.AfterFunc(after, cancel)
						defer stop.Stop()
					}
					err := s.run(ctx, &printer{w: &bytes.Buffer{}}, cfg)
					if err != nil {
						assert.ErrorIs(t, err, context.Canceled)
					}
				})
			})
		}
	}
}
