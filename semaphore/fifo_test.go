package semaphore

import (
	"runtime"
	"testing"
	"weak"
)

// TestFifoStaysBounded is white-box: the pending list of a busy Group
// may never empty, and its array must not grow with every task that ever
// passed through it. A queue holding one to three items through 10^5
// pushes keeps an array of at most twice that.
func TestFifoStaysBounded(t *testing.T) {
	var q fifo[int]
	next := 0
	for i := range 100_000 {
		q.push(i)
		if i%3 != 0 { // two pushes, one pop, then two pops and a push...
			continue
		}
		for q.len() > 1 {
			if v := q.pop(); v != next {
				t.Fatalf("pop = %d; want %d", v, next)
			}
			next++
		}
	}
	if c := cap(q.items); c > 8 {
		t.Errorf("cap = %d after 10^5 pushes with at most 3 queued; want at most 8", c)
	}
	for q.len() > 0 {
		if v := q.pop(); v != next {
			t.Fatalf("pop = %d; want %d", v, next)
		}
		next++
	}
	if next != 100_000 {
		t.Errorf("popped %d; want 100000", next)
	}
}

// obj is big enough to get an allocation of its own (the tiny allocator
// would share one between small objects, and so keep them alive
// together).
type obj [64]byte

// TestFifoLetsGoOfWhatItDrops: once a queued value is popped or cleared,
// the queue's array keeps no reference to it (not even the copy a slide
// leaves behind), so the collector can free it while the queue lives on.
func TestFifoLetsGoOfWhatItDrops(t *testing.T) {
	collected := func(ws []weak.Pointer[obj]) bool {
		runtime.GC()
		for _, w := range ws {
			if w.Value() != nil {
				return false
			}
		}
		return true
	}
	var q fifo[*obj]
	var ws []weak.Pointer[obj]
	push := func() {
		o := new(obj)
		ws = append(ws, weak.Make(o))
		q.push(o)
	}
	for range 4 {
		push()
	}
	q.pop()
	q.pop()
	push() // full only because of the two popped: slides the two queued down
	for q.len() > 0 {
		q.pop()
	}
	if !collected(ws) {
		t.Error("values popped after a slide are still referenced by the array")
	}

	ws = nil
	for range 3 {
		push()
	}
	q.pop()
	q.clear()
	if !collected(ws) {
		t.Error("values dropped by clear are still referenced by the array")
	}
	runtime.KeepAlive(&q)
}
