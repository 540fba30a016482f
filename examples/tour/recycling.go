package main

import (
	"context"
	"time"

	"github.com/go-compendium/compendium/pool"
)

// recycler reuses buffers through the two recyclers of package pool and
// shows their bounds: a Recycler keeps at most size idle buffers, and an
// AgingRecycler also lets go of those idle for ttl.
func recycler(ctx context.Context, p *printer, cfg config) error {
	const size, bufSize = 2, 64 << 10
	newBuf := func() []byte { return make([]byte, bufSize) }

	r := pool.NewRecycler(size, newBuf)
	bufs := [][]byte{r.Get(), r.Get(), r.Get()}
	for _, b := range bufs {
		r.Put(b)
	}
	st := r.Stats()
	p.say("pool.Recycler of size %d: 3 Gets made %d buffers; 3 Puts kept %d and dropped %d",
		size, st.Misses, st.Kept, st.Drops)
	r.Put(r.Get())
	st = r.Stats()
	p.say("the next Get reused an idle buffer: Hits = %d, Misses still %d", st.Hits, st.Misses)

	ttl := 2 * cfg.tick
	a := pool.NewAgingRecycler(size, ttl, newBuf)
	defer a.Close()
	b1, b2 := a.Get(), a.Get()
	a.Put(b1)
	a.Put(b2)
	p.say("pool.AgingRecycler with ttl %v: 2 buffers put back, Idle = %d", ttl, a.Stats().Idle)
	t := time.NewTimer(ttl + cfg.tick)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
		return ctx.Err()
	}
	st = a.Stats()
	p.say("%v later both had expired, for the garbage collector to free: Expired = %d, Idle = %d",
		ttl+cfg.tick, st.Expired, st.Idle)
	p.say("fixed: the post's recycler goroutine keeps every buffer it is given (its list")
	p.say("       grows without bound) and makes a new timer on every loop; both recyclers")
	p.say("       keep at most size, and the aging one expires idle buffers with one timer")
	return nil
}
