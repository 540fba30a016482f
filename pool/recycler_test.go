package pool_test

import (
	"fmt"
	"math"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-compendium/compendium/pool"
)

// recycler is what Recycler and AgingRecycler have in common, so that one
// test can run against each.
type recycler[E any] interface {
	Get() *E
	Put(*E)
	Stats() pool.RecyclerStats
}

// buf is a buffer a goroutine stamps with its id while it holds it.
type buf struct{ owner [64]int }

func newBuf() *buf { return new(buf) }

// impls returns a fresh Recycler and AgingRecycler of *buf, the latter
// closed when the test ends.
func impls(t *testing.T, size int, opts ...pool.RecyclerOption[buf]) map[string]recycler[buf] {
	t.Helper()
	aopts := make([]pool.AgingOption[buf], len(opts))
	for i, o := range opts {
		aopts[i] = o
	}
	a := pool.NewAgingRecycler(size, time.Hour, newBuf, aopts...)
	t.Cleanup(func() { assert.NoError(t, a.Close()) })
	return map[string]recycler[buf]{
		"recycler": pool.NewRecycler(size, newBuf, opts...),
		"aging":    a,
	}
}

// checkStats asserts that st's counters add up.
func checkStats(t *testing.T, st pool.RecyclerStats) {
	t.Helper()
	assert.Equal(t, st.Gets, st.Hits+st.Misses, "Gets = Hits + Misses: %+v", st)
	assert.Equal(t, st.Puts, st.Kept+st.Dropped+st.Rejected, "Puts = Kept + Dropped + Rejected: %+v", st)
	assert.Equal(t, st.Kept, st.Hits+st.Expired+st.Idle, "Kept = Hits + Expired + Idle: %+v", st)
}

// TestBadInput holds every constructor, method and option of the
// recyclers to the module's rule for programming errors: a panic at the
// call, "pool: Func: what, got v", before anything starts.
func TestBadInput(t *testing.T) {
	newInt := func() *int { return new(int) }
	one := func(*int) int { return 1 }
	const maxUpFront = "more than the 1 GiB limit"
	cases := []struct {
		name string
		f    func()
		want string // the whole message, or, for the up-front limit, its end
	}{
		{"NewRecycler size 0", func() { pool.NewRecycler(0, newInt) }, "pool: NewRecycler: size must be at least 1, got 0"},
		{"NewRecycler size -1", func() { pool.NewRecycler(-1, newInt) }, "pool: NewRecycler: size must be at least 1, got -1"},
		{"NewRecycler size MinInt", func() { pool.NewRecycler(math.MinInt, newInt) }, fmt.Sprintf("pool: NewRecycler: size must be at least 1, got %d", math.MinInt)},
		{"NewRecycler size 1<<31", func() { pool.NewRecycler(1<<31, newInt) }, maxUpFront},
		{"NewRecycler size MaxInt", func() { pool.NewRecycler(math.MaxInt, newInt) }, maxUpFront},
		{"NewRecycler nil newFn", func() { pool.NewRecycler[int](1, nil) }, "pool: NewRecycler: newFn must not be nil, got nil"},
		{"NewRecycler nil option", func() { pool.NewRecycler(1, newInt, nil) }, "pool: NewRecycler: opts[0] must not be nil, got nil"},
		{"NewRecycler second option nil", func() { pool.NewRecycler(1, newInt, pool.KeepIf(func(*int) bool { return true }), nil) }, "pool: NewRecycler: opts[1] must not be nil, got nil"},
		{"NewAgingRecycler size 0", func() { pool.NewAgingRecycler(0, time.Second, newInt) }, "pool: NewAgingRecycler: size must be at least 1, got 0"},
		{"NewAgingRecycler size -1", func() { pool.NewAgingRecycler(-1, time.Second, newInt) }, "pool: NewAgingRecycler: size must be at least 1, got -1"},
		{"NewAgingRecycler size 1<<31", func() { pool.NewAgingRecycler(1<<31, time.Second, newInt) }, maxUpFront},
		{"NewAgingRecycler size MaxInt", func() { pool.NewAgingRecycler(math.MaxInt, time.Second, newInt) }, maxUpFront},
		{"NewAgingRecycler ttl 0", func() { pool.NewAgingRecycler(1, 0, newInt) }, "pool: NewAgingRecycler: ttl must be positive, got 0s"},
		{"NewAgingRecycler ttl -1s", func() { pool.NewAgingRecycler(1, -time.Second, newInt) }, "pool: NewAgingRecycler: ttl must be positive, got -1s"},
		{"NewAgingRecycler ttl MinInt64", func() { pool.NewAgingRecycler(1, math.MinInt64, newInt) }, "pool: NewAgingRecycler: ttl must be positive, got -2562047h47m16.854775808s"},
		{"NewAgingRecycler nil newFn", func() { pool.NewAgingRecycler[int](1, time.Second, nil) }, "pool: NewAgingRecycler: newFn must not be nil, got nil"},
		{"NewAgingRecycler nil option", func() { pool.NewAgingRecycler(1, time.Second, newInt, nil) }, "pool: NewAgingRecycler: opts[0] must not be nil, got nil"},
		{"NewBytes idle 0", func() { pool.NewBytes(0) }, "pool: NewBytes: idle must be at least 1, got 0"},
		{"NewBytes idle -1", func() { pool.NewBytes(-1) }, "pool: NewBytes: idle must be at least 1, got -1"},
		{"NewBytes idle MaxInt", func() { pool.NewBytes(math.MaxInt) }, maxUpFront},
		{"Bytes.Get -1", func() { pool.NewBytes(1).Get(-1) }, "pool: Bytes.Get: n must be at least 0, got -1"},
		{"Bytes.Get MinInt", func() { pool.NewBytes(1).Get(math.MinInt) }, fmt.Sprintf("pool: Bytes.Get: n must be at least 0, got %d", math.MinInt)},
		{"Bytes.Get MaxInt", func() { pool.NewBytes(1).Get(math.MaxInt) }, maxUpFront},
		{"ResetWith nil", func() { pool.ResetWith[int](nil) }, "pool: ResetWith: reset must not be nil, got nil"},
		{"KeepIf nil", func() { pool.KeepIf[int](nil) }, "pool: KeepIf: keep must not be nil, got nil"},
		{"MaxIdleBytes 0", func() { pool.MaxIdleBytes(0, one) }, "pool: MaxIdleBytes: limit must be at least 1, got 0"},
		{"MaxIdleBytes -1", func() { pool.MaxIdleBytes(-1, one) }, "pool: MaxIdleBytes: limit must be at least 1, got -1"},
		{"MaxIdleBytes MinInt64", func() { pool.MaxIdleBytes(math.MinInt64, one) }, fmt.Sprintf("pool: MaxIdleBytes: limit must be at least 1, got %d", math.MinInt64)},
		{"MaxIdleBytes nil size", func() { pool.MaxIdleBytes[int](1, nil) }, "pool: MaxIdleBytes: size must not be nil, got nil"},
		{"AgingRecycler.Put negative size", func() {
			a := pool.NewAgingRecycler(1, time.Second, newInt, pool.MaxIdleBytes(8, func(*int) int { return -4 }))
			defer a.Close()
			a.Put(new(int))
		}, "pool: AgingRecycler.Put: MaxIdleBytes size must not be negative, got -4"},
		{"AgingRecycler.Put size MinInt", func() {
			a := pool.NewAgingRecycler(1, time.Second, newInt, pool.MaxIdleBytes(8, func(*int) int { return math.MinInt }))
			defer a.Close()
			a.Put(new(int))
		}, fmt.Sprintf("pool: AgingRecycler.Put: MaxIdleBytes size must not be negative, got %d", math.MinInt)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := catchPanic(c.f)
			msg, ok := v.(string)
			require.True(t, ok, "panicked with %T %v; want a string", v, v)
			if strings.HasPrefix(c.want, "pool: ") {
				assert.Equal(t, c.want, msg)
			} else {
				assert.True(t, strings.HasPrefix(msg, "pool: "+strings.SplitN(c.name, " ", 2)[0]+": "), "message %q names the function", msg)
				assert.True(t, strings.HasSuffix(msg, c.want), "message %q ends with %q", msg, c.want)
			}
		})
	}
}

// TestExtremeButValid checks the inputs at the edge of what is allowed:
// they work, and nothing overflows.
func TestExtremeButValid(t *testing.T) {
	t.Run("NewRecycler size 1", func(t *testing.T) {
		r := pool.NewRecycler(1, newBuf)
		r.Put(newBuf())
		r.Put(newBuf())
		assert.Equal(t, pool.RecyclerStats{Puts: 2, Kept: 1, Dropped: 1, Idle: 1}, r.Stats())
	})
	t.Run("NewAgingRecycler ttl 1ns and MaxInt64", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			for _, ttl := range []time.Duration{1, 3, math.MaxInt64} {
				a := pool.NewAgingRecycler(1, ttl, newBuf)
				a.Put(newBuf())
				time.Sleep(2 * time.Nanosecond)
				synctest.Wait()
				assert.Equal(t, uint64(b2u(ttl > 2)), a.Stats().Idle, "ttl %v: idle after 2ns", ttl)
				assert.NoError(t, a.Close())
			}
		})
	})
	t.Run("MaxIdleBytes MaxInt64", func(t *testing.T) {
		// IdleBytes + size > limit would wrap around here and keep every
		// value; the bound must hold all the same.
		a := pool.NewAgingRecycler(8, time.Hour, newBuf, pool.MaxIdleBytes(math.MaxInt64, func(*buf) int { return math.MaxInt }))
		defer a.Close()
		a.Put(newBuf())
		a.Put(newBuf())
		st := a.Stats()
		assert.Equal(t, uint64(1), st.Idle, "a second MaxInt-byte value does not fit")
		assert.Equal(t, uint64(math.MaxInt64), st.IdleBytes)
		assert.Equal(t, uint64(1), st.Dropped)
	})
	t.Run("Bytes.Get over the largest class", func(t *testing.T) {
		bs := pool.NewBytes(1)
		b := bs.Get(8 << 20)
		assert.Len(t, b, 8<<20)
		bs.Put(b)
		assert.Equal(t, pool.RecyclerStats{Gets: 1, Misses: 1, Puts: 1, Rejected: 1}, bs.Stats())
	})
}

// b2u returns 1 for true and 0 for false.
func b2u(b bool) int {
	if b {
		return 1
	}
	return 0
}

// catchPanic calls f and returns what it panicked with, or nil.
func catchPanic(f func()) (v any) {
	defer func() { v = recover() }()
	f()
	return nil
}

func TestRecyclerReuse(t *testing.T) {
	for name, r := range impls(t, 4) {
		t.Run(name, func(t *testing.T) {
			a := r.Get()
			r.Put(a)
			assert.Same(t, a, r.Get(), "Get after Put returns the value put")
			assert.NotSame(t, a, r.Get(), "Get with nothing idle makes a value")
			st := r.Stats()
			assert.Equal(t, pool.RecyclerStats{Gets: 3, Hits: 1, Misses: 2, Puts: 1, Kept: 1}, st)
			checkStats(t, st)
		})
	}
}

// TestBound fills recyclers of several sizes and checks that exactly size
// values are kept, however the Recycler spreads them over its shards.
func TestBound(t *testing.T) {
	for _, size := range []int{1, 2, 3, 7, 16, 17, 100, 101, 1000} {
		for name, r := range impls(t, size) {
			t.Run(fmt.Sprintf("%s/size=%d", name, size), func(t *testing.T) {
				held := make([]*buf, size+5)
				for i := range held {
					held[i] = r.Get()
				}
				for _, b := range held {
					r.Put(b)
				}
				st := r.Stats()
				assert.Equal(t, uint64(size), st.Idle, "Idle after %d Puts", len(held))
				assert.Equal(t, uint64(5), st.Dropped, "Dropped after %d Puts", len(held))
				for range size {
					r.Get()
				}
				st = r.Stats()
				assert.Equal(t, uint64(size), st.Hits, "Hits after emptying")
				assert.Zero(t, st.Idle)
				checkStats(t, st)
			})
		}
	}
}

func TestPutNil(t *testing.T) {
	for name, r := range impls(t, 4) {
		t.Run(name, func(t *testing.T) {
			r.Put(nil)
			assert.Equal(t, pool.RecyclerStats{Puts: 1, Rejected: 1}, r.Stats())
			assert.NotNil(t, r.Get(), "Get after Put(nil) makes a value")
		})
	}
}

func TestKeepIfAndResetWith(t *testing.T) {
	keep := pool.KeepIf(func(b *buf) bool { return b.owner[0] >= 0 })
	reset := pool.ResetWith(func(b *buf) { b.owner[1] = 0 })
	for name, r := range impls(t, 4, keep, reset) {
		t.Run(name, func(t *testing.T) {
			bad, good := r.Get(), r.Get()
			bad.owner[0] = -1
			good.owner[1] = 42
			r.Put(bad)
			r.Put(good)
			got := r.Get()
			assert.Same(t, good, got)
			assert.Equal(t, 0, got.owner[1], "ResetWith ran on Put")
			assert.Equal(t, -1, bad.owner[0], "ResetWith did not run on the value KeepIf refused")
			st := r.Stats()
			assert.Equal(t, uint64(1), st.Rejected)
			checkStats(t, st)
		})
	}
}

// TestNoSharing has 64 goroutines Get a buffer, stamp their id all over
// it, yield, and check that no one else wrote to it before they Put it
// back: a correct caller never receives a buffer another goroutine holds.
func TestNoSharing(t *testing.T) {
	const goroutines = 64
	for name, r := range impls(t, 16) {
		const ops = 2000 // per goroutine: 128,000 Get+Put in all
		t.Run(name, func(t *testing.T) {
			stress(t, r, goroutines, ops)
			st := r.Stats()
			assert.Equal(t, uint64(goroutines*ops), st.Gets)
			assert.Equal(t, uint64(goroutines*ops), st.Puts)
			checkStats(t, st)
		})
	}
}

// TestContendedLastValue has goroutines race for a recycler's only value:
// most Gets find it taken by another between their look and their take,
// and must then make a value, never return nil or a value in use.
func TestContendedLastValue(t *testing.T) {
	ops := 50000 // per goroutine: enough that the race happens in every run
	if underRace {
		ops /= 10
	}
	for name, r := range impls(t, 1) {
		t.Run(name, func(t *testing.T) {
			hammer(t, 16, ops, func(int, int) string {
				b := r.Get()
				if b == nil {
					return "Get returned nil"
				}
				r.Put(b)
				return ""
			})
			st := r.Stats()
			assert.Equal(t, uint64(16*ops), st.Gets)
			assert.Equal(t, uint64(16*ops), st.Puts, "every Put counted once, kept or dropped")
			assert.LessOrEqual(t, st.Idle, uint64(1))
			checkStats(t, st)
		})
	}
}

// TestFillAndDrainRace has goroutines fill an empty recycler past its
// bound, then drain it past empty, all at once: Puts and Gets that race
// for the last places and values must drop and miss, never block.
func TestFillAndDrainRace(t *testing.T) {
	const size, goroutines = 1000, 16 // the shards' channels hold most of the values
	for name, r := range impls(t, size) {
		t.Run(name, func(t *testing.T) {
			each := 2 * size / goroutines
			hammer(t, goroutines, each, func(int, int) string { r.Put(newBuf()); return "" })
			st := r.Stats()
			require.Equal(t, uint64(size), st.Idle, "filled")
			require.Equal(t, uint64(size), st.Dropped)
			hammer(t, goroutines, each, func(int, int) string {
				if r.Get() == nil {
					return "Get returned nil"
				}
				return ""
			})
			st = r.Stats()
			assert.Zero(t, st.Idle, "drained")
			assert.Equal(t, uint64(size), st.Hits)
			assert.Equal(t, uint64(size), st.Misses)
		})
	}
}

// stress runs goroutines x ops Get, stamp, check, Put on r.
func stress(t *testing.T, r recycler[buf], goroutines, ops int) {
	t.Helper()
	hammer(t, goroutines, ops, func(id, _ int) string {
		b := r.Get()
		if b == nil {
			return "Get returned nil"
		}
		defer r.Put(b)
		for i := range b.owner {
			b.owner[i] = id
		}
		for i := range b.owner {
			if b.owner[i] != id {
				return fmt.Sprintf("goroutine %d found %d in its buffer", id, b.owner[i])
			}
		}
		return ""
	})
}

// hammer runs op(id, i) for i below ops on each of goroutines goroutines,
// and reports the failures op returns; a goroutine stops at its first.
func hammer(t *testing.T, goroutines, ops int, op func(id, i int) string) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan string, goroutines)
	for id := range goroutines {
		wg.Go(func() {
			for i := range ops {
				if e := op(id, i); e != "" {
					errs <- e
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

func TestZeroAllocs(t *testing.T) {
	// No skip under -race: the race detector (Go 1.26) allocates nothing
	// on these paths either.
	bs := pool.NewBytes(4)
	cases := map[string]func(){
		"Bytes": func() { bs.Put(bs.Get(3000)) },
	}
	for name, r := range impls(t, 4) {
		cases[name] = func() { r.Put(r.Get()) }
	}
	for name, f := range cases {
		t.Run(name, func(t *testing.T) {
			f() // warm
			assert.Zero(t, testing.AllocsPerRun(1000, f), "allocs per Get+Put")
		})
	}
}

func TestRecyclerGetMissesOnlyWhenEmpty(t *testing.T) {
	// With values idle in any shard, Get must find them, whichever shard
	// it starts from: Put 8, then 8 Gets from 8 goroutines all hit.
	r := pool.NewRecycler(8, newBuf)
	for range 8 {
		r.Put(newBuf())
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() { r.Get() })
	}
	wg.Wait()
	st := r.Stats()
	require.Equal(t, uint64(8), st.Gets)
	assert.Equal(t, uint64(8), st.Hits)
}

// TestGetFindsEveryShard checks that a Get misses only when every shard
// is empty: 64 values Put by 64 goroutines, spread over the shards, are all
// found by one goroutine, wherever it starts.
func TestGetFindsEveryShard(t *testing.T) {
	for name, r := range impls(t, 64) {
		t.Run(name, func(t *testing.T) {
			// 64 goroutines, on shards of their own, Put one value each.
			var wg sync.WaitGroup
			for range 64 {
				wg.Go(func() { r.Put(newBuf()) })
			}
			wg.Wait()
			require.Equal(t, uint64(64), r.Stats().Idle)
			// One goroutine then finds all 64, wherever they are.
			for range 64 {
				r.Get()
			}
			st := r.Stats()
			assert.Equal(t, uint64(64), st.Hits)
			assert.Zero(t, st.Misses)
		})
	}
}

// TestStatsIdentitiesUnderConcurrency takes snapshots while goroutines
// Get, Put, Put nil and Put more than fits: every snapshot satisfies the
// identities RecyclerStats states, however the operations interleave.
func TestStatsIdentitiesUnderConcurrency(t *testing.T) {
	bs := pool.NewBytes(4)
	subjects := map[string]struct {
		op    func(i int)
		stats func() pool.RecyclerStats
	}{}
	for name, r := range impls(t, 8) {
		subjects[name] = struct {
			op    func(i int)
			stats func() pool.RecyclerStats
		}{func(i int) {
			switch i % 4 {
			case 0:
				r.Put(nil)
			case 1:
				r.Put(newBuf()) // one more than was got: some are dropped
			default:
				r.Put(r.Get())
			}
		}, r.Stats}
	}
	subjects["bytes"] = struct {
		op    func(i int)
		stats func() pool.RecyclerStats
	}{func(i int) {
		switch i % 4 {
		case 0:
			bs.Put(make([]byte, 100)) // not a class size
		case 1:
			bs.Put(make([]byte, 512))
		default:
			bs.Put(bs.Get(100 << (i % 3)))
		}
	}, bs.Stats}
	for name, s := range subjects {
		t.Run(name, func(t *testing.T) {
			done := make(chan struct{})
			go func() {
				defer close(done)
				hammer(t, 4, 5000, func(id, i int) string { s.op(id + i); return "" })
			}()
			snapshots := 0
			for running := true; running; snapshots++ {
				select {
				case <-done:
					running = false
				default:
				}
				st := s.stats()
				if st.Gets != st.Hits+st.Misses || st.Puts != st.Kept+st.Dropped+st.Rejected || st.Kept != st.Hits+st.Expired+st.Idle {
					t.Fatalf("snapshot %d breaks an identity: %+v", snapshots, st)
				}
			}
			st := s.stats()
			checkStats(t, st)
			assert.Equal(t, uint64(4*5000), st.Puts)
			assert.NotZero(t, st.Hits)
			assert.NotZero(t, st.Dropped)
			assert.NotZero(t, st.Rejected)
		})
	}
}

// TestRecyclerSurvivesGC checks what sets a Recycler apart from a
// sync.Pool: idle values, in the slots and in the channels, are still
// there after garbage collections, with no other reference to them.
func TestRecyclerSurvivesGC(t *testing.T) {
	type payload struct{ s string }
	const n = 1000 // more than the shards' slots (at most 64 x 8): some wait in channels
	r := pool.NewRecycler(n, func() *payload { t.Error("Get made a value"); return new(payload) })
	for i := range n {
		r.Put(&payload{fmt.Sprint(i)})
	}
	runtime.GC()
	runtime.GC()
	var got []string
	for range n {
		got = append(got, r.Get().s)
	}
	slices.Sort(got)
	want := make([]string, n)
	for i := range want {
		want[i] = fmt.Sprint(i)
	}
	slices.Sort(want)
	assert.Equal(t, want, got)
}

// FuzzRecyclerModel runs a sequence of Gets and Puts, decoded from the
// input, on a Recycler and an AgingRecycler, and checks both against a
// model of a bounded free list: used serially, a Get hits exactly when a
// value is idle, and a Put keeps exactly when a place is free (both try
// every shard); an AgingRecycler of fewer than 16 values (one shard)
// returns the newest idle value; a Get never returns a value the caller
// still holds; the Stats equal the model.
func FuzzRecyclerModel(f *testing.F) {
	f.Add(uint8(1), []byte{0, 1, 1, 0, 0, 2, 1})
	f.Add(uint8(3), []byte{0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 2, 2, 1})
	f.Add(uint8(17), []byte{0, 0, 1, 0, 1, 1, 0, 2, 0, 0, 1, 1, 1})
	f.Fuzz(func(t *testing.T, size uint8, ops []byte) {
		if size == 0 || size > 64 {
			t.Skip()
		}
		for name, r := range impls(t, int(size)) {
			var (
				held, idle []*buf // values the caller holds; the model's idle values, oldest first
				want       pool.RecyclerStats
			)
			for _, op := range ops {
				switch {
				case op%3 == 0 || len(held) == 0: // Get
					v := r.Get()
					require.False(t, slices.Contains(held, v), "%s: Get returned a value the caller holds", name)
					want.Gets++
					if len(idle) > 0 {
						want.Hits++
						if name == "aging" && size < 16 {
							require.Same(t, idle[len(idle)-1], v, "aging: Get returns the newest idle value")
						}
						i := slices.Index(idle, v)
						require.GreaterOrEqual(t, i, 0, "%s: a hit returns an idle value", name)
						idle = slices.Delete(idle, i, i+1)
					} else {
						want.Misses++
					}
					held = append(held, v)
				case op%3 == 1: // Put the value held longest
					v := held[0]
					held = held[1:]
					r.Put(v)
					want.Puts++
					if len(idle) < int(size) {
						want.Kept++
						idle = append(idle, v)
					} else {
						want.Dropped++
					}
				default: // Put(nil)
					r.Put(nil)
					want.Puts++
					want.Rejected++
				}
			}
			want.Idle = uint64(len(idle))
			require.Equal(t, want, r.Stats(), "%s: Stats", name)
		}
	})
}

// TestPanickingOption checks that a KeepIf or ResetWith function that
// panics leaves the counters exact: the panic surfaces on the goroutine
// that called Put, and that Put counts as nothing at all.
func TestPanickingOption(t *testing.T) {
	opts := map[string]pool.RecyclerOption[buf]{
		"KeepIf":    pool.KeepIf(func(*buf) bool { panic("keep") }),
		"ResetWith": pool.ResetWith(func(*buf) { panic("reset") }),
	}
	for optName, opt := range opts {
		for name, r := range impls(t, 4, opt) {
			t.Run(optName+"/"+name, func(t *testing.T) {
				b := r.Get()
				assert.Panics(t, func() { r.Put(b) })
				st := r.Stats()
				assert.Equal(t, pool.RecyclerStats{Gets: 1, Misses: 1}, st)
				checkStats(t, st)
			})
		}
	}
}
