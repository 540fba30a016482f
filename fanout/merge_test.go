package fanout_test

import (
	"context"
	"fmt"
	"testing"
	"testing/synctest"

	"github.com/go-compendium/compendium/fanout"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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
