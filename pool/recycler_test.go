package pool_test

import (
	"fmt"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-compendium/compendium/pool"
)

// recycler is what Recycler, AgingRecycler and (with a length) Bytes have in
// common, so that one test can run against each.
type recycler[T any] interface {
	Get() T
	Put(T)
	Stats() pool.RecyclerStats
}

// buf is a buffer a goroutine stamps with its id while it holds it.
type buf struct{ owner [64]int }

func newBuf() *buf { return new(buf) }

// impls returns a fresh Recycler and AgingRecycler of *buf, and a cleanup.
func impls(t *testing.T, size int, opts ...pool.RecyclerOption[*buf]) map[string]recycler[*buf] {
	t.Helper()
	aopts := make([]pool.AgingOption[*buf], len(opts))
	for i, o := range opts {
		aopts[i] = o
	}
	a := pool.NewAgingRecycler(size, time.Hour, newBuf, aopts...)
	t.Cleanup(a.Close)
	m := map[string]recycler[*buf]{
		"recycler": pool.NewRecycler(size, newBuf, opts...),
		"aging":    a,
	}
	if len(opts) == 0 {
		m["recycler-chan"] = newBoxed(size)
	}
	return m
}

// boxed is a Recycler of [1]*buf seen as a recycler of *buf: an array is
// not pointer-shaped, so it exercises the channel-only path of Recycler,
// which pointer types reach only when their shard's slot is taken.
type boxed struct{ r *pool.Recycler[[1]*buf] }

func newBoxed(size int) boxed {
	return boxed{pool.NewRecycler(size,
		func() [1]*buf { return [1]*buf{newBuf()} },
		pool.KeepIf(func(b [1]*buf) bool { return b[0] != nil }), // as Put(nil) is rejected
	)}
}

func (b boxed) Get() *buf                 { return b.r.Get()[0] }
func (b boxed) Put(v *buf)                { b.r.Put([1]*buf{v}) }
func (b boxed) Stats() pool.RecyclerStats { return b.r.Stats() }

// checkStats asserts that st's counters add up, the recycler being quiet.
func checkStats(t *testing.T, st pool.RecyclerStats) {
	t.Helper()
	assert.Equal(t, st.Gets, st.Hits+st.Misses, "Gets = Hits + Misses: %+v", st)
	assert.Equal(t, st.Puts, st.Kept+st.Drops+st.Rejects, "Puts = Kept + Drops + Rejects: %+v", st)
	assert.Equal(t, st.Kept, st.Hits+st.Expired+uint64(st.Idle), "Kept = Hits + Expired + Idle: %+v", st)
}

func TestConstructorsPanic(t *testing.T) {
	newInt := func() int { return 0 }
	cases := []struct {
		name string
		f    func()
		want string
	}{
		{"Recycler size 0", func() { pool.NewRecycler(0, newInt) }, "pool: size must be at least 1, got 0"},
		{"Recycler size -1", func() { pool.NewRecycler(-1, newInt) }, "pool: size must be at least 1, got -1"},
		{"Recycler nil new", func() { pool.NewRecycler[int](1, nil) }, "pool: NewRecycler needs a new function, got nil"},
		{"Aging size 0", func() { pool.NewAgingRecycler(0, time.Second, newInt) }, "pool: size must be at least 1, got 0"},
		{"Aging ttl 0", func() { pool.NewAgingRecycler(1, 0, newInt) }, "pool: ttl must be positive, got 0s"},
		{"Aging ttl -1s", func() { pool.NewAgingRecycler(1, -time.Second, newInt) }, "pool: ttl must be positive, got -1s"},
		{"Aging nil new", func() { pool.NewAgingRecycler[int](1, time.Second, nil) }, "pool: NewAgingRecycler needs a new function, got nil"},
		{"Bytes idle 0", func() { pool.NewBytes(0) }, "pool: idle must be at least 1, got 0"},
		{"Bytes.Get -1", func() { pool.NewBytes(1).Get(-1) }, "pool: Bytes.Get length must not be negative, got -1"},
		{"ResetWith nil", func() { pool.ResetWith[int](nil) }, "pool: ResetWith needs a function, got nil"},
		{"KeepIf nil", func() { pool.KeepIf[int](nil) }, "pool: KeepIf needs a function, got nil"},
		{"MaxIdleBytes 0", func() { pool.MaxIdleBytes(0, func(int) int { return 1 }) }, "pool: MaxIdleBytes limit must be at least 1, got 0"},
		{"MaxIdleBytes nil", func() { pool.MaxIdleBytes[int](1, nil) }, "pool: MaxIdleBytes needs a size function, got nil"},
		{"Recycler nil option", func() { pool.NewRecycler(1, newInt, nil) }, "pool: NewRecycler needs non-nil options, got nil"},
		{"Aging nil option", func() { pool.NewAgingRecycler(1, time.Second, newInt, nil) }, "pool: NewAgingRecycler needs non-nil options, got nil"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			assert.PanicsWithValue(t, c.want, c.f)
		})
	}
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
	for _, size := range []int{1, 2, 3, 7, 16, 100} {
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
				assert.Equal(t, size, st.Idle, "Idle after %d Puts", len(held))
				assert.Equal(t, uint64(5), st.Drops, "Drops after %d Puts", len(held))
				for range size {
					r.Get()
				}
				st = r.Stats()
				assert.Equal(t, uint64(size), st.Hits, "Hits after emptying")
				assert.Equal(t, 0, st.Idle)
				checkStats(t, st)
			})
		}
	}
}

func TestPutNil(t *testing.T) {
	t.Run("pointer", func(t *testing.T) {
		for name, r := range impls(t, 4) {
			t.Run(name, func(t *testing.T) {
				r.Put(nil)
				assert.Equal(t, pool.RecyclerStats{Puts: 1, Rejects: 1}, r.Stats())
			})
		}
	})
	cases := []struct {
		name string
		put  func() pool.RecyclerStats
		want uint64 // Rejects
	}{
		{"nil slice", putOne[[]byte](nil), 1},
		{"empty slice", putOne([]byte{}), 0},
		{"nil map", putOne[map[int]int](nil), 1},
		{"nil chan", putOne[chan int](nil), 1},
		{"nil func", putOne[func()](nil), 1},
		{"nil interface", putOne[any](nil), 1},
		{"interface holding a nil pointer", putOne[any]((*int)(nil)), 0},
		{"zero int", putOne(0), 0},
		{"zero struct", putOne(struct{ a, b int }{}), 0},
		{"empty string", putOne(""), 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st := c.put()
			assert.Equal(t, c.want, st.Rejects, "Rejects")
			assert.Equal(t, 1-c.want, st.Kept, "Kept")
		})
	}
}

// putOne returns a function that puts v into a new Recycler and a new
// AgingRecycler, checks that both count the same, and returns the counts.
func putOne[T any](v T) func() pool.RecyclerStats {
	return func() pool.RecyclerStats {
		r := pool.NewRecycler(1, func() T { var z T; return z })
		r.Put(v)
		a := pool.NewAgingRecycler(1, time.Hour, func() T { var z T; return z })
		defer a.Close()
		a.Put(v)
		if r.Stats() != a.Stats() {
			panic(fmt.Sprintf("Recycler counted %+v, AgingRecycler %+v", r.Stats(), a.Stats()))
		}
		return r.Stats()
	}
}

func TestKeepIfAndResetWith(t *testing.T) {
	keep := pool.KeepIf(func(b *buf) bool { return b.owner[0] >= 0 })
	reset := pool.ResetWith(func(b *buf) *buf { b.owner[1] = 0; return b })
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
			st := r.Stats()
			assert.Equal(t, uint64(1), st.Rejects)
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
		ops := 2000 // per goroutine: 128,000 Get+Put in all
		if name == "aging" {
			ops = 200 // each operation is a handoff to the owner
		}
		t.Run(name, func(t *testing.T) {
			stress(t, r, goroutines, ops)
			st := r.Stats()
			assert.Equal(t, uint64(goroutines*ops), st.Gets)
			assert.Equal(t, uint64(goroutines*ops), st.Puts)
			checkStats(t, st)
		})
	}
}

// stress runs goroutines x ops Get, stamp, check, Put on r.
func stress(t *testing.T, r recycler[*buf], goroutines, ops int) {
	t.Helper()
	hammer(t, goroutines, ops, func(id, _ int) string {
		b := r.Get()
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

// FuzzRecyclerModel runs a sequence of Gets and Puts, decoded from the
// input, on a Recycler and an AgingRecycler, and checks both against a
// model of a bounded free list: used serially, a Get hits exactly when a
// value is idle, and a Put keeps exactly when a slot is free (both try
// every shard); the AgingRecycler returns the newest idle value; a Get
// never returns a value the caller still holds; the Stats equal the model.
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
						if name == "aging" {
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
						want.Drops++
					}
				default: // Put(nil)
					r.Put(nil)
					want.Puts++
					want.Rejects++
				}
			}
			want.Idle = len(idle)
			require.Equal(t, want, r.Stats(), "%s: Stats", name)
		}
	})
}

// TestResetToNil checks that a value the ResetWith function turns into nil
// is rejected like Put(nil): never kept, so no Get can return nil, and
// counted, so that the Stats still add up.
func TestResetToNil(t *testing.T) {
	toNil := pool.ResetWith(func(*buf) *buf { return nil })
	for name, r := range impls(t, 4, toNil) {
		t.Run(name, func(t *testing.T) {
			r.Put(newBuf())
			st := r.Stats()
			assert.Equal(t, pool.RecyclerStats{Puts: 1, Rejects: 1}, st)
			assert.NotNil(t, r.Get(), "Get after a Put reset to nil")
		})
	}
}

// TestPanickingOption checks that a KeepIf or ResetWith function that
// panics leaves the counters exact: the panic surfaces on the goroutine
// that called Put, and that Put counts as nothing at all.
func TestPanickingOption(t *testing.T) {
	opts := map[string]pool.RecyclerOption[*buf]{
		"KeepIf":    pool.KeepIf(func(*buf) bool { panic("keep") }),
		"ResetWith": pool.ResetWith(func(*buf) *buf { panic("reset") }),
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

// TestSlotKinds round-trips a value of every pointer-shaped kind (the
// kinds a Recycler keeps in its shards' unsafe.Pointer slots) through a
// Recycler of size 1, with garbage collections in between and no other
// reference to the value: the slot must keep it alive and give it back
// intact, as its own type.
func TestSlotKinds(t *testing.T) {
	type payload struct{ s string }
	cases := map[string]func(t *testing.T){
		"pointer": func(t *testing.T) {
			roundTrip(t, func() *payload { return &payload{"pointer"} },
				func(p *payload) string { return p.s })
		},
		"map": func(t *testing.T) {
			roundTrip(t, func() map[int]string { return map[int]string{1: "map"} },
				func(m map[int]string) string { return m[1] })
		},
		"chan": func(t *testing.T) {
			roundTrip(t, func() chan string { c := make(chan string, 1); c <- "chan"; return c },
				func(c chan string) string { return <-c })
		},
		"func": func(t *testing.T) {
			roundTrip(t, func() func() string { s := "func"; return func() string { return s } },
				func(f func() string) string { return f() })
		},
		"unsafe.Pointer": func(t *testing.T) {
			roundTrip(t, func() unsafe.Pointer { return unsafe.Pointer(&payload{"unsafe.Pointer"}) },
				func(p unsafe.Pointer) string { return (*payload)(p).s })
		},
	}
	for name, f := range cases {
		t.Run(name, f)
	}
}

// roundTrip makes a value with newV, Puts it into a Recycler that makes
// nothing, collects garbage, and checks that Get returns it intact.
func roundTrip[T any](t *testing.T, newV func() T, read func(T) string) {
	t.Helper()
	r := pool.NewRecycler(1, func() T { t.Fatal("Get made a value"); var z T; return z })
	want := read(newV())
	r.Put(newV())
	runtime.GC()
	runtime.GC()
	assert.Equal(t, want, read(r.Get()))
	assert.Equal(t, pool.RecyclerStats{Gets: 1, Hits: 1, Puts: 1, Kept: 1}, r.Stats())
}
