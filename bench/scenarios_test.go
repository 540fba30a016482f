package bench_test

import (
	"bytes"
	"compress/flate"
	"context"
	"fmt"
	"io"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/go-compendium/compendium/internal/benchmarks"
	"github.com/go-compendium/compendium/internal/scenario"
	"github.com/go-compendium/compendium/pool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The scenario benchmarks compare implementations that must do the same
// job; these tests check that they do, so that no benchmark wins by
// cutting a corner.

// idImpls returns every ID generator, each with the function that stops it.
func idImpls(t *testing.T) map[string]func() (scenario.IDs, func()) {
	t.Helper()
	return map[string]func() (scenario.IDs, func()){
		"chan": func() (scenario.IDs, func()) {
			g := scenario.NewChanIDs(t.Context(), 0)
			return g, g.Close
		},
		"chan64": func() (scenario.IDs, func()) {
			g := scenario.NewChanIDs(t.Context(), 64)
			return g, g.Close
		},
		"mutex":  func() (scenario.IDs, func()) { return new(scenario.MutexIDs), func() {} },
		"atomic": func() (scenario.IDs, func()) { return new(scenario.AtomicIDs), func() {} },
	}
}

func TestIDsStartAtOne(t *testing.T) {
	for name, mk := range idImpls(t) {
		t.Run(name, func(t *testing.T) {
			g, stop := mk()
			defer stop()
			// The slide promises "x will be 1" and hands out 0.
			assert.Equal(t, uint64(1), g.Next(), "first Next()")
			assert.Equal(t, uint64(2), g.Next(), "second Next()")
		})
	}
}

func TestIDsUniqueAndGapFree(t *testing.T) {
	const goroutines, each = 8, 2000
	for name, mk := range idImpls(t) {
		t.Run(name, func(t *testing.T) {
			g, stop := mk()
			defer stop()
			got := make([][]uint64, goroutines)
			var wg sync.WaitGroup
			for i := range goroutines {
				wg.Go(func() {
					for range each {
						got[i] = append(got[i], g.Next())
					}
				})
			}
			wg.Wait()
			var all []uint64
			for i, ids := range got {
				// Every implementation orders IDs by the order of Next
				// calls, so each goroutine sees its own increasing.
				assert.True(t, slices.IsSorted(ids), "goroutine %d saw IDs out of order", i)
				all = append(all, ids...)
			}
			slices.Sort(all)
			want := make([]uint64, goroutines*each)
			for i := range want {
				want[i] = uint64(i + 1)
			}
			// Sorted and equal to 1..n: no duplicate, no gap, no zero.
			assert.Equal(t, want, all)
		})
	}
}

func TestChanIDsStop(t *testing.T) {
	t.Run("close", func(t *testing.T) {
		g := scenario.NewChanIDs(t.Context(), 0)
		require.Equal(t, uint64(1), g.Next())
		g.Close()
		g.Close() // idempotent
		assert.Equal(t, uint64(0), g.Next(), "Next() after Close")
	})
	t.Run("close drains the buffer", func(t *testing.T) {
		g := scenario.NewChanIDs(t.Context(), 4)
		require.Equal(t, uint64(1), g.Next())
		g.Close()
		// Whatever the generator buffered before it stopped is still
		// handed out, in order and without duplicates; then 0.
		last := uint64(1)
		for id := g.Next(); id != 0; id = g.Next() {
			assert.Equal(t, last+1, id)
			last = id
		}
		assert.LessOrEqual(t, last, uint64(1+4), "more IDs than the buffer could hold")
	})
	t.Run("context", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			g := scenario.NewChanIDs(ctx, 0)
			require.Equal(t, uint64(1), g.Next())
			cancel()
			// Cancelling alone ends the generator: synctest.Test fails
			// if the bubble still has a goroutine when it returns.
			synctest.Wait()
			assert.Equal(t, uint64(0), g.Next(), "Next() after cancel")
		})
	})
}

// mapImpls returns every owned-state map, each with the function that
// stops it.
func mapImpls(t *testing.T) map[string]func() (scenario.Map, func()) {
	t.Helper()
	return map[string]func() (scenario.Map, func()){
		"chan": func() (scenario.Map, func()) {
			m := scenario.NewChanMap(t.Context())
			return m, m.Close
		},
		"chan-replyperreq": func() (scenario.Map, func()) {
			m := scenario.NewChanMapReplyPerRequest(t.Context())
			return m, m.Close
		},
		"mutex":   func() (scenario.Map, func()) { return scenario.NewMutexMap(), func() {} },
		"rwmutex": func() (scenario.Map, func()) { return scenario.NewRWMutexMap(), func() {} },
		"syncmap": func() (scenario.Map, func()) { return new(scenario.SyncMap), func() {} },
	}
}

func TestOwnedStateAgree(t *testing.T) {
	// Each goroutine writes only the keys k with k%goroutines == its
	// index, and reads every key, so the final contents are known: the
	// last value each writer stored under each of its keys.
	const goroutines, keys, rounds = 4, 64, 50
	want := make(map[int]int)
	for k := range keys {
		want[k] = k*1000 + rounds - 1
	}
	var snapshots []map[int]int
	for name, mk := range mapImpls(t) {
		t.Run(name, func(t *testing.T) {
			m, stop := mk()
			defer stop()
			var wg sync.WaitGroup
			for g := range goroutines {
				wg.Go(func() {
					h := m.Handle()
					for r := range rounds {
						for k := g; k < keys; k += goroutines {
							h.Store(k, k*1000+r)
							// Only this goroutine writes k: a linearizable
							// map must read this write back.
							if v, ok := h.Load(k); !ok || v != k*1000+r {
								t.Errorf("Load(%d) = %d, %v after Store(%d, %d)", k, v, ok, k, k*1000+r)
							}
							// Reads of other writers' keys race with their
							// Stores; they must see one of the values written.
							if v, ok := h.Load((k + 1) % keys); ok && v%1000 >= rounds {
								t.Errorf("Load(%d) = %d: never stored", (k+1)%keys, v)
							}
						}
					}
				})
			}
			wg.Wait()
			got := m.Snapshot()
			assert.Equal(t, want, got)
			snapshots = append(snapshots, got)
		})
	}
	for i := 1; i < len(snapshots); i++ {
		assert.Equal(t, snapshots[0], snapshots[i], "implementations disagree")
	}
}

func TestOwnedStateMissingKey(t *testing.T) {
	for name, mk := range mapImpls(t) {
		t.Run(name, func(t *testing.T) {
			m, stop := mk()
			defer stop()
			v, ok := m.Handle().Load(42)
			assert.False(t, ok, "Load of a key never stored: ok")
			assert.Zero(t, v)
			assert.Empty(t, m.Snapshot())
		})
	}
}

func TestChanMapStop(t *testing.T) {
	t.Run("close", func(t *testing.T) {
		m := scenario.NewChanMap(t.Context())
		h := m.Handle()
		h.Store(1, 2)
		m.Close()
		m.Close() // idempotent
		assert.PanicsWithValue(t, "scenario: ChanMap used after Close", func() { h.Load(1) })
		assert.PanicsWithValue(t, "scenario: ChanMap used after Close", func() { h.Store(1, 3) })
		assert.PanicsWithValue(t, "scenario: ChanMap used after Close", func() { m.Snapshot() })
	})
	t.Run("close while in use", func(t *testing.T) {
		// Loads and Stores racing Close return or panic with the
		// sentinel; none hangs (a request left in the channel's buffer
		// when the owner stops must not leave its Load waiting).
		for range 20 {
			m := scenario.NewChanMap(t.Context())
			var wg sync.WaitGroup
			for g := range 4 {
				wg.Go(func() {
					defer func() {
						if p := recover(); p != nil && p != "scenario: ChanMap used after Close" {
							t.Errorf("panic %v", p)
						}
					}()
					h := m.Handle()
					for i := range 1000 {
						h.Store(g, i)
						h.Load(g)
					}
				})
			}
			m.Close()
			wg.Wait()
		}
	})
	t.Run("context", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			m := scenario.NewChanMap(ctx)
			m.Handle().Store(1, 2)
			cancel()
			synctest.Wait() // the owner has exited, or synctest.Test fails
			assert.Panics(t, func() { m.Handle().Load(1) })
		})
	})
}

// queueImpls returns every hand-off queue.
func queueImpls() map[string]func() scenario.Queue {
	return map[string]func() scenario.Queue{
		"chan":     func() scenario.Queue { return scenario.NewChanQueue(0) },
		"chan64":   func() scenario.Queue { return scenario.NewChanQueue(64) },
		"chan1024": func() scenario.Queue { return scenario.NewChanQueue(1024) },
		"cond1024": func() scenario.Queue { return scenario.NewCondQueue(1024) },
		// A queue of one forces producers to wait on a full queue.
		"cond1": func() scenario.Queue { return scenario.NewCondQueue(1) },
	}
}

func TestHandoffDeliversEachItemOnceInOrder(t *testing.T) {
	const each = 3000
	shapes := []struct{ producers, consumers int }{{1, 1}, {4, 4}, {3, 2}, {1, 5}}
	for name, mk := range queueImpls() {
		for _, s := range shapes {
			t.Run(fmt.Sprintf("%s/producers=%d/consumers=%d", name, s.producers, s.consumers), func(t *testing.T) {
				q := mk()
				var prod, cons sync.WaitGroup
				for p := range s.producers {
					prod.Go(func() {
						for i := range each {
							q.Put(p*each + i)
						}
					})
				}
				got := make([][]int, s.consumers)
				for c := range s.consumers {
					cons.Go(func() {
						for v, ok := q.Get(); ok; v, ok = q.Get() {
							got[c] = append(got[c], v)
						}
					})
				}
				prod.Wait()
				q.Close()
				cons.Wait()

				var all []int
				for c, vs := range got {
					// FIFO: a consumer sees each producer's items in the
					// order they were put.
					last := make(map[int]int)
					for _, v := range vs {
						p := v / each
						if prev, seen := last[p]; seen && v <= prev {
							t.Errorf("consumer %d got %d after %d", c, v, prev)
						}
						last[p] = v
					}
					all = append(all, vs...)
				}
				slices.Sort(all)
				want := make([]int, s.producers*each)
				for i := range want {
					want[i] = i
				}
				assert.Equal(t, want, all, "%d producers, %d consumers: items lost or duplicated", s.producers, s.consumers)
			})
		}
	}
}

func TestHandoffCloseWakesConsumers(t *testing.T) {
	for name, mk := range queueImpls() {
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				q := mk()
				results := make(chan bool, 2)
				for range 2 {
					go func() {
						_, ok := q.Get()
						results <- ok
					}()
				}
				synctest.Wait()
				require.Empty(t, results, "Get returned from an empty, open queue")
				q.Close()
				assert.False(t, <-results, "Get after Close: ok")
				assert.False(t, <-results, "Get after Close: ok")
			})
		})
	}
}

func TestCondQueue(t *testing.T) {
	t.Run("drains after close", func(t *testing.T) {
		q := scenario.NewCondQueue(4)
		q.Put(1)
		q.Put(2)
		q.Close()
		for _, want := range []int{1, 2} {
			v, ok := q.Get()
			assert.True(t, ok)
			assert.Equal(t, want, v)
		}
		_, ok := q.Get()
		assert.False(t, ok, "Get() on a closed, drained queue: ok")
		assert.PanicsWithValue(t, "scenario: Put on closed CondQueue", func() { q.Put(3) })
	})
	t.Run("put waits while full", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			q := scenario.NewCondQueue(1)
			q.Put(1)
			put := make(chan struct{})
			go func() {
				q.Put(2)
				close(put)
			}()
			synctest.Wait()
			select {
			case <-put:
				t.Fatal("Put returned on a full queue")
			default:
			}
			v, _ := q.Get()
			assert.Equal(t, 1, v)
			<-put
			v, _ = q.Get()
			assert.Equal(t, 2, v)
		})
	})
	t.Run("bad size", func(t *testing.T) {
		assert.PanicsWithValue(t, "scenario: CondQueue size must be at least 1, got 0", func() { scenario.NewCondQueue(0) })
		assert.PanicsWithValue(t, "scenario: negative channel size, got -1", func() { scenario.NewChanQueue(-1) })
		assert.PanicsWithValue(t, "scenario: negative ChanIDs buffer, got -1", func() { scenario.NewChanIDs(context.Background(), -1) })
	})
}

func TestRequestPathRoundTrip(t *testing.T) {
	// Small buffers, so that most bodies take several reads; bodies from
	// empty to several buffers long, the last not a multiple of the
	// buffer size.
	const bufSize = 1000
	sizes := []int{0, 1, bufSize - 1, bufSize, bufSize + 1, 5*bufSize + 123}
	sources := map[string]func() (scenario.Buffers, func()){
		"recycler": func() (scenario.Buffers, func()) {
			return pool.NewRecycler(4, scenario.NewBuffer(bufSize)), func() {}
		},
		"aging": func() (scenario.Buffers, func()) {
			a := pool.NewAgingRecycler(4, time.Minute, scenario.NewBuffer(bufSize))
			return a, func() { assert.NoError(t, a.Close()) }
		},
		"syncpool": func() (scenario.Buffers, func()) { return scenario.NewSyncPoolBuffers(bufSize), func() {} },
		"fresh":    func() (scenario.Buffers, func()) { return scenario.NewFreshBuffers(bufSize), func() {} },
	}
	for name, mk := range sources {
		t.Run(name, func(t *testing.T) {
			bufs, stop := mk()
			defer stop()
			p := scenario.NewProxy(bufs, 4)
			var wg sync.WaitGroup
			for g := range 8 {
				wg.Go(func() {
					for i, size := range sizes {
						body := scenario.RequestBody(size + g + i)
						var out bytes.Buffer
						if err := p.Handle(bytes.NewReader(body), &out); err != nil {
							t.Errorf("Handle(%d bytes) = %v", len(body), err)
							return
						}
						got, err := io.ReadAll(flate.NewReader(&out))
						if err != nil {
							t.Errorf("inflating Handle's output for %d bytes: %v", len(body), err)
							return
						}
						if !bytes.Equal(body, got) {
							t.Errorf("Handle(%d bytes) round trip gave %d bytes, not the body", len(body), len(got))
						}
					}
				})
			}
			wg.Wait()
		})
	}
}

func TestRequestBody(t *testing.T) {
	a, b := scenario.RequestBody(10000), scenario.RequestBody(10000)
	require.Len(t, a, 10000)
	assert.Equal(t, a, b, "RequestBody is not deterministic")
	var z bytes.Buffer
	zw, err := flate.NewWriter(&z, flate.BestSpeed)
	require.NoError(t, err)
	_, _ = zw.Write(a)
	require.NoError(t, zw.Close())
	// Like a web page: compressible, but not trivially.
	assert.Less(t, z.Len(), len(a)/3, "compressed size")
	assert.Greater(t, z.Len(), len(a)/20, "compressed size")
}

func TestNewProxyBadConcurrency(t *testing.T) {
	assert.PanicsWithValue(t, "scenario: concurrency must be at least 1, got 0", func() {
		scenario.NewProxy(scenario.NewFreshBuffers(10), 0)
	})
	assert.PanicsWithValue(t, "scenario: buffer size must be at least 1, got 0", func() { scenario.NewBuffer(0) })
}

// TestScenarioCases checks that each scenario benchmark still compares
// what bench/doc.go (and the issue behind it) says it does: every
// implementation under every parameter set, compendium's own marked as
// ours, and nothing measured twice.
func TestScenarioCases(t *testing.T) {
	cases := []struct {
		p      benchmarks.Pattern
		params []string
		impls  map[string][]string // by params; a missing key means every impl
		all    []string
		ours   []string
	}{
		{
			p:      benchmarks.ScenarioIDs(),
			params: []string{"mode=serial", "mode=parallel"},
			all:    []string{"chan", "chan64", "mutex", "atomic"},
			ours:   []string{"chan"},
		},
		{
			p:      benchmarks.ScenarioOwnedState(),
			params: []string{"mix=read90", "mix=write90"},
			all:    []string{"chan", "chan-replyperreq", "mutex", "rwmutex", "syncmap"},
			ours:   []string{"chan"},
		},
		{
			p:      benchmarks.ScenarioHandoff(),
			params: []string{"producers=1/consumers=1", "producers=4/consumers=4"},
			all:    []string{"chan", "chan64", "chan1024", "cond1024"},
			ours:   []string{"chan", "chan64", "chan1024"},
		},
		{
			p:      benchmarks.ScenarioRequestPath(),
			params: []string{"driver=workers", "driver=goroutines"},
			impls:  map[string][]string{"driver=goroutines": {"recycler", "fresh"}},
			all:    []string{"recycler", "aging", "syncpool", "fresh"},
			ours:   []string{"recycler", "aging"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.p.Name, func(t *testing.T) {
			assert.Equal(t, "bench", tc.p.Pkg)
			assert.Equal(t, tc.ours, tc.p.Ours)
			var want, got []string
			for _, params := range tc.params {
				impls, ok := tc.impls[params]
				if !ok {
					impls = tc.all
				}
				for _, impl := range impls {
					want = append(want, params+"/impl="+impl)
				}
			}
			for _, c := range tc.p.Cases {
				got = append(got, c.Name)
			}
			assert.Equal(t, want, got)
		})
	}
}

// TestEveryCaseNamedOnce checks every pattern that compare runs: each case
// names its impl, and no pattern measures the same case twice (a case
// listed twice shows as two rows of one implementation in the results).
func TestEveryCaseNamedOnce(t *testing.T) {
	for _, p := range benchmarks.All() {
		seen := map[string]bool{}
		for _, c := range p.Cases {
			assert.NotEmpty(t, c.Impl(), "%s.%s/%s names no impl", p.Pkg, p.Name, c.Name)
			assert.False(t, seen[c.Name], "%s.%s/%s is listed twice", p.Pkg, p.Name, c.Name)
			seen[c.Name] = true
		}
	}
}
