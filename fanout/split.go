package fanout

import (
	"context"
	"fmt"
	"hash/maphash"
)

// Broadcast copies in to n consumers: every value received from in is
// delivered to every one of the returned channels, in the order received.
// The channels are closed after in is closed or ctx ends.
//
// The outputs are unbuffered and Broadcast takes the next value from in
// only when every output has received the current one, so the slowest
// reader sets the pace of all, and a reader that stops reading stops them
// all: that is the backpressure the pattern needs to stay bounded (a
// Broadcast that buffered for slow readers would grow without limit). A
// reader that wants to stop early cancels ctx, which frees Broadcast and
// every other reader, and closes every output.
//
// Each value is first offered to every output that is ready without
// waiting, then sent to the rest in order, so a reader waits only for the
// readers that are actually behind. Broadcast starts one goroutine, which
// returns when in is closed or ctx ends; a value being delivered when ctx
// ends may have reached some readers and not others. It panics if n < 1.
func Broadcast[T any](ctx context.Context, in <-chan T, n int) []<-chan T {
	if n < 1 {
		panic(fmt.Sprintf("fanout: Broadcast needs at least 1 output, got %v", n))
	}
	outs, ro := outputs[T](n)
	go func() {
		defer closeAll(outs)
		done := ctx.Done()
		behind := make([]chan T, 0, n)
		for {
			v, ok := recv(done, in)
			if !ok {
				return
			}
			behind = behind[:0]
			for _, o := range outs {
				select {
				case o <- v:
				default:
					behind = append(behind, o)
				}
			}
			for _, o := range behind {
				if !send(done, o, v) {
					return
				}
			}
		}
	}()
	return ro
}

// Partition splits in among n consumers by key: values whose keys are equal
// always go to the same returned channel, and each channel receives its
// values in the order in delivered them. Use it to process independent
// streams (per connection, per user, per account) in parallel while keeping
// each stream in order. The channels are closed after in is closed or ctx
// ends.
//
// The output for a value is maphash.Comparable(seed, key(v)) mod n, with a
// seed chosen per call: keys spread evenly whatever their type, but the
// mapping differs between calls and between runs. A key that contains a
// floating-point NaN hashes at random, so such values are not kept
// together.
//
// Partition starts one goroutine, which calls key and sends each value on
// its output; the outputs are unbuffered, so one slow or stopped reader
// holds up the others (keeping per-key order makes that unavoidable
// without unbounded buffering). Cancel ctx to free everything. Partition
// panics if n < 1 or key is nil. A panic in key, or in hashing a key
// whose dynamic type is not comparable (as a map would panic on it),
// happens on Partition's goroutine and crashes the program, as in any
// goroutine: keep key trivial.
func Partition[T any, K comparable](ctx context.Context, in <-chan T, n int, key func(T) K) []<-chan T {
	if n < 1 {
		panic(fmt.Sprintf("fanout: Partition needs at least 1 output, got %v", n))
	}
	if key == nil {
		panic("fanout: Partition needs a key func, got nil")
	}
	outs, ro := outputs[T](n)
	seed := maphash.MakeSeed()
	go func() {
		defer closeAll(outs)
		done := ctx.Done()
		for {
			v, ok := recv(done, in)
			if !ok || !send(done, outs[maphash.Comparable(seed, key(v))%uint64(n)], v) {
				return
			}
		}
	}()
	return ro
}

// outputs makes n unbuffered channels and the same channels receive-only.
func outputs[T any](n int) ([]chan T, []<-chan T) {
	outs := make([]chan T, n)
	ro := make([]<-chan T, n)
	for i := range outs {
		outs[i] = make(chan T)
		ro[i] = outs[i]
	}
	return outs, ro
}

func closeAll[T any](outs []chan T) {
	for _, o := range outs {
		close(o)
	}
}
