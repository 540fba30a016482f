package semaphore

import "testing"

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
