package fanout_test

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"runtime/pprof"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/go-compendium/compendium/fanout"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

type mergeFunc func(context.Context, ...<-chan int) <-chan int

var merges = []struct {
	name  string
	merge mergeFunc
}{
	{"Merge", fanout.Merge[int]},
	{"MergeSelect", fanout.MergeSelect[int]},
}

// sources starts k producers, producer i sending i*per .. i*per+per-1 in
// order, and returns their channels.
func sources(k, per int) []<-chan int {
	ins := make([]<-chan int, k)
	for i := range ins {
		c := make(chan int)
		ins[i] = c
		go func() {
			defer close(c)
			for j := range per {
				c <- i*per + j
			}
		}()
	}
	return ins
}

func TestMergeDeliversEveryValueInPerInputOrder(t *testing.T) {
	const per = 500
	for _, m := range merges {
		for _, k := range []int{0, 1, 3, 4, 5, 9, 64} {
			t.Run(fmt.Sprintf("%s/k=%d", m.name, k), func(t *testing.T) {
				next := make([]int, k) // next value expected from input i, minus i*per
				n := 0
				for v := range m.merge(context.Background(), sources(k, per)...) {
					i := v / per
					require.Equal(t, next[i], v%per, "input %d out of order", i)
					next[i]++
					n++
				}
				assert.Equal(t, k*per, n)
			})
		}
	}
}

func TestMergeZeroInputsClosedAtOnce(t *testing.T) {
	for _, m := range merges {
		t.Run(m.name, func(t *testing.T) {
			_, ok := <-m.merge(context.Background())
			assert.False(t, ok, "receive from Merge() reported a value")
		})
	}
}

// TestMergeCancelFreesEverything merges inputs that are never closed into
// an output nobody reads: cancelling must still end every goroutine (goleak
// checks) and close the output exactly once.
func TestMergeCancelFreesEverything(t *testing.T) {
	for _, m := range merges {
		for _, k := range []int{1, 4, 9} {
			t.Run(fmt.Sprintf("%s/k=%d", m.name, k), func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					ctx, cancel := context.WithCancel(context.Background())
					ins := make([]<-chan int, k)
					feeds := make([]chan int, k)
					for i := range ins {
						feeds[i] = make(chan int)
						ins[i] = feeds[i]
					}
					out := m.merge(ctx, ins...)
					// Fill the output's buffer and leave a forwarder
					// holding a value, so both kinds of blocked send are
					// cancelled.
					sent := 0
				fill:
					for {
						select {
						case feeds[sent%k] <- sent:
							sent++
						default:
							synctest.Wait()
							select {
							case feeds[sent%k] <- sent:
								sent++
							default:
								break fill
							}
						}
					}
					cancel()
					got := 0
					for range out {
						got++
					}
					assert.LessOrEqual(t, got, sent)
					assert.Greater(t, got, 0)
				})
			})
		}
	}
}

// TestMergeStopsAtCancelWithIdleInputs checks that an output closes when
// ctx ends even though no input ever sends or closes.
func TestMergeStopsAtCancelWithIdleInputs(t *testing.T) {
	for _, m := range merges {
		t.Run(m.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx, cancel := context.WithCancel(context.Background())
				out := m.merge(ctx, make(chan int), make(chan int))
				synctest.Wait()
				select {
				case <-out:
					t.Fatal("output closed before cancel")
				default:
				}
				cancel()
				_, ok := <-out
				assert.False(t, ok)
			})
		})
	}
}

// TestBadInputPanicsAtTheCall holds every function and constructor of the
// channel patterns and the Multiplexer to the module's rule for
// programming errors: a panic on the caller's goroutine, before any
// goroutine starts, with "fanout: Func: what, got v". (A nil ctx used to
// crash a library goroutine instead.)
func TestBadInputPanicsAtTheCall(t *testing.T) {
	before := goleak.IgnoreCurrent()
	var nilCtx context.Context
	bg := context.Background()
	in := make(chan int)
	key := func(v int) int { return v }
	write := func([]int) error { return nil }
	m := fanout.NewMultiplexer(bg, 1, write)
	defer m.Close()
	const nilCtxMsg = ": ctx must not be nil, got nil (use context.Background or context.TODO)"
	const huge = " 9223372036854775807 would allocate more than 16 EiB up front, more than the 1 GiB limit"
	cases := []struct {
		name string
		f    func()
		want string
	}{
		{"Merge nil ctx", func() { fanout.Merge(nilCtx, in) }, "fanout: Merge" + nilCtxMsg},
		{"Merge nil ctx no inputs", func() { fanout.Merge[int](nilCtx) }, "fanout: Merge" + nilCtxMsg},
		{"MergeSelect nil ctx", func() { fanout.MergeSelect(nilCtx, in) }, "fanout: MergeSelect" + nilCtxMsg},
		{"MergeSelect nil ctx no inputs", func() { fanout.MergeSelect[int](nilCtx) }, "fanout: MergeSelect" + nilCtxMsg},
		{"Broadcast nil ctx", func() { fanout.Broadcast(nilCtx, in, 1) }, "fanout: Broadcast" + nilCtxMsg},
		{"Broadcast n=0", func() { fanout.Broadcast(bg, in, 0) }, "fanout: Broadcast: n must be at least 1, got 0"},
		{"Broadcast n=-1", func() { fanout.Broadcast(bg, in, -1) }, "fanout: Broadcast: n must be at least 1, got -1"},
		{"Broadcast n=MaxInt", func() { fanout.Broadcast(bg, in, math.MaxInt) }, "fanout: Broadcast: n" + huge},
		{"Partition nil ctx", func() { fanout.Partition(nilCtx, in, 1, key) }, "fanout: Partition" + nilCtxMsg},
		{"Partition n=0", func() { fanout.Partition(bg, in, 0, key) }, "fanout: Partition: n must be at least 1, got 0"},
		{"Partition n=-1", func() { fanout.Partition(bg, in, -1, key) }, "fanout: Partition: n must be at least 1, got -1"},
		{"Partition n=MaxInt", func() { fanout.Partition(bg, in, math.MaxInt, key) }, "fanout: Partition: n" + huge},
		{"Partition nil key", func() { fanout.Partition[int, int](bg, in, 1, nil) }, "fanout: Partition: key must not be nil, got nil"},
		{"NewMultiplexer nil ctx", func() { fanout.NewMultiplexer(nilCtx, 1, write) }, "fanout: NewMultiplexer" + nilCtxMsg},
		{"NewMultiplexer nil write", func() { fanout.NewMultiplexer[int](bg, 1, nil) }, "fanout: NewMultiplexer: write must not be nil, got nil"},
		{"NewMultiplexer batch=0", func() { fanout.NewMultiplexer(bg, 0, write) }, "fanout: NewMultiplexer: batch must be at least 1, got 0"},
		{"NewMultiplexer batch=-1", func() { fanout.NewMultiplexer(bg, -1, write) }, "fanout: NewMultiplexer: batch must be at least 1, got -1"},
		{"NewMultiplexer batch=MaxInt", func() { fanout.NewMultiplexer(bg, math.MaxInt, write) }, "fanout: NewMultiplexer: batch 9223372036854775807 would allocate more than 16 EiB up front, more than the 1 GiB limit"},
		{"NewMultiplexer batch over 1 GiB", func() { fanout.NewMultiplexer(bg, 1<<26, write) }, "fanout: NewMultiplexer: batch 67108864 would allocate 2 GiB up front, more than the 1 GiB limit"},
		{"Multiplexer.Send nil ctx", func() { _ = m.Send(nilCtx, 1) }, "fanout: Multiplexer.Send" + nilCtxMsg},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			assert.PanicsWithValue(t, c.want, c.f)
		})
	}
	goleak.VerifyNone(t, before) // no goroutine started by a call that panicked
	assert.Equal(t, fanout.MultiplexerStats{}, m.Stats(), "a Send that panicked counts nothing")
}

// TestGoroutinesCarryLabels reads the goroutines that Merge, MergeSelect,
// Broadcast and Partition start back from a pprof goroutine profile: each
// carries compendium=fanout, its type and role, and the labels of the
// caller's ctx.
func TestGoroutinesCarryLabels(t *testing.T) {
	cases := []struct {
		typ   string
		roles []string
		start func(ctx context.Context, ins []chan int) []<-chan int
	}{
		{"Merge", []string{"forward", "close"}, func(ctx context.Context, ins []chan int) []<-chan int {
			return []<-chan int{fanout.Merge(ctx, ins[0], ins[1])}
		}},
		{"MergeSelect", []string{"select", "close"}, func(ctx context.Context, ins []chan int) []<-chan int {
			return []<-chan int{fanout.MergeSelect(ctx, ins[0], ins[1], ins[0], ins[1], ins[0])}
		}},
		{"MergeSelect", []string{"select"}, func(ctx context.Context, ins []chan int) []<-chan int {
			return []<-chan int{fanout.MergeSelect(ctx, ins[0], ins[1])}
		}},
		{"Broadcast", []string{"forward"}, func(ctx context.Context, ins []chan int) []<-chan int {
			return fanout.Broadcast(ctx, ins[0], 2)
		}},
		{"Partition", []string{"forward"}, func(ctx context.Context, ins []chan int) []<-chan int {
			return fanout.Partition(ctx, ins[0], 1, func(v int) int { return v })
		}},
	}
	for _, c := range cases {
		t.Run(c.typ, func(t *testing.T) {
			var buf bytes.Buffer
			synctest.Test(t, func(t *testing.T) {
				var ctx context.Context
				pprof.Do(context.Background(), pprof.Labels("request", "r42"), func(lctx context.Context) { ctx = lctx })
				ctx, cancel := context.WithCancel(ctx)
				outs := c.start(ctx, []chan int{make(chan int), make(chan int)})
				synctest.Wait() // every goroutine has started, set its labels, and blocked
				require.NoError(t, pprof.Lookup("goroutine").WriteTo(&buf, 1))
				cancel()
				for _, o := range outs {
					for range o {
					}
				}
			})
			for _, role := range c.roles {
				found := false
				for _, line := range strings.Split(buf.String(), "\n") {
					if strings.Contains(line, `"type":"`+c.typ+`"`) && strings.Contains(line, `"role":"`+role+`"`) {
						found = true
						assert.Contains(t, line, `"compendium":"fanout"`)
						assert.Contains(t, line, `"request":"r42"`, "the caller's labels are inherited")
					}
				}
				assert.True(t, found, "no goroutine labelled type=%s role=%s in:\n%s", c.typ, role, buf.String())
			}
		})
	}
}

// TestMergeStopsWithinOneValueOfCancel: an input that always has a value
// ready and a reader that keeps reading do not keep Merge going once ctx
// has ended: each forwarder forwards at most one more value, so the
// reader gets at most what was buffered plus one.
func TestMergeStopsWithinOneValueOfCancel(t *testing.T) {
	const ready, before = 10_000, 10
	in := make(chan int, ready)
	for v := range ready {
		in <- v
	}
	ctx, cancel := context.WithCancel(context.Background())
	out := fanout.Merge(ctx, in)
	for range before {
		<-out
	}
	cancel()
	after := 0
	for range out {
		after++
	}
	assert.LessOrEqual(t, after, 64+1, "values received after cancel: at most the buffer and one")

	cancel2ctx, cancel2 := context.WithCancel(context.Background())
	cancel2()
	_, ok := <-fanout.Merge(cancel2ctx, in)
	assert.False(t, ok, "a Merge whose ctx has already ended forwards nothing")
}

// TestMergeCancelWithNobodyReading: forwarders blocked on a full output
// return when ctx ends even though nobody ever reads again (the bubble
// fails if any goroutine is left blocked).
func TestMergeCancelWithNobodyReading(t *testing.T) {
	for _, m := range merges {
		t.Run(m.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx, cancel := context.WithCancel(context.Background())
				in := make(chan int, 100)
				for v := range 100 {
					in <- v
				}
				_ = m.merge(ctx, in, make(chan int))
				synctest.Wait() // the output is full, a forwarder blocked on it
				assert.Less(t, len(in), 100-64, "the forwarder filled the output")
				cancel()
			})
		})
	}
}

// TestMergeSelectGoroutines: MergeSelect starts one goroutine per four
// inputs, and one more to close the output only when there are more than
// four. Counted from a goroutine profile, by their labels.
func TestMergeSelectGoroutines(t *testing.T) {
	for _, c := range []struct{ k, selects, closers int }{{1, 1, 0}, {4, 1, 0}, {5, 2, 1}, {8, 2, 1}, {9, 3, 1}} {
		t.Run(fmt.Sprintf("k=%d", c.k), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx, cancel := context.WithCancel(context.Background())
				ins := make([]<-chan int, c.k)
				for i := range ins {
					ins[i] = make(chan int)
				}
				out := fanout.MergeSelect(ctx, ins...)
				synctest.Wait()
				counts := labelledGoroutines(t, "MergeSelect")
				cancel()
				for range out {
				}
				assert.Equal(t, c.selects, counts["select"], "select loops")
				assert.Equal(t, c.closers, counts["close"], "closers")
			})
		})
	}
}

// labelledGoroutines counts the goroutines labelled compendium=fanout and
// type=typ in a goroutine profile, by their role label.
func labelledGoroutines(t *testing.T, typ string) map[string]int {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, pprof.Lookup("goroutine").WriteTo(&buf, 1))
	counts := map[string]int{}
	n := 0
	for _, line := range strings.Split(buf.String(), "\n") {
		if _, err := fmt.Sscanf(line, "%d @", &n); err == nil {
			continue // a record: n goroutines with the stack and labels below
		}
		if !strings.HasPrefix(line, "# labels:") || !strings.Contains(line, `"compendium":"fanout"`) || !strings.Contains(line, `"type":"`+typ+`"`) {
			continue
		}
		_, rest, _ := strings.Cut(line, `"role":"`)
		role, _, _ := strings.Cut(rest, `"`)
		counts[role] += n
	}
	return counts
}
