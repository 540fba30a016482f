package main

import (
	"container/list"
	"context"
	"time"

	"github.com/go-compendium/compendium/pool"
)

// recycler shows the slide's recycler goroutine and what it costs, then
// the two recyclers of package pool and their bounds: a Recycler keeps at
// most size idle buffers, and an AgingRecycler also lets go of those idle
// for ttl.
func recycler(ctx context.Context, p *printer, cfg config) error {
	const size, bufSize, ops = 2, 64 << 10, 10
	newBuf := func() *[]byte { b := make([]byte, bufSize); return &b }

	made := 0
	s := startSlideRecycler(func() *[]byte { made++; return newBuf() })
	for range ops {
		s.give <- <-s.get
	}
	for range 3 {
		s.give <- newBuf()
	}
	loops, held := s.stop()
	p.say("the slide's recycler goroutine: %d Get+Put were %d hand-offs to it; it made", ops, 2*ops)
	p.say("%d buffers and a timer on each of its %d loops, and given 3 more it held all %d", made, loops, held)

	r := pool.NewRecycler(size, newBuf)
	bufs := []*[]byte{r.Get(), r.Get(), r.Get()}
	for _, b := range bufs {
		r.Put(b)
	}
	st := r.Stats()
	p.say("pool.Recycler of size %d: 3 Gets made %d buffers; 3 Puts kept %d and dropped %d",
		size, st.Misses, st.Kept, st.Dropped)
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
	p.say("fixed: the slide's recycler keeps every buffer it is given (its list grows")
	p.say("       without bound), makes a timer on every loop, and costs two hand-offs to")
	p.say("       its goroutine per Get+Put; pool's recyclers keep at most size, hand")
	p.say("       nothing off, and the aging one expires idle buffers with one timer")
	return nil
}

// slideRecycler is the recycler goroutine of the talk's slide (from the
// Cloudflare post "Recycling memory buffers in Go"), as written there but
// for quit, added so that the tour can stop it, and the counts it returns.
type slideRecycler struct {
	get, give chan *[]byte
	quit      chan struct{}
	done      chan [2]int // loops, buffers held, once it has stopped
}

type queued struct {
	when time.Time
	buf  *[]byte
}

func startSlideRecycler(newBuf func() *[]byte) *slideRecycler {
	s := &slideRecycler{
		get: make(chan *[]byte), give: make(chan *[]byte),
		quit: make(chan struct{}), done: make(chan [2]int, 1),
	}
	go func() {
		q := new(list.List)
		for loops := 1; ; loops++ {
			if q.Len() == 0 {
				q.PushFront(queued{when: time.Now(), buf: newBuf()})
			}
			e := q.Front()
			timeout := time.NewTimer(time.Minute) // a new timer on every loop
			select {
			case b := <-s.give:
				timeout.Stop()
				q.PushFront(queued{when: time.Now(), buf: b}) // kept, however many
			case s.get <- e.Value.(queued).buf:
				timeout.Stop()
				q.Remove(e)
			case <-timeout.C:
				for e := q.Front(); e != nil; {
					n := e.Next()
					if time.Since(e.Value.(queued).when) > time.Minute {
						q.Remove(e)
					}
					e = n
				}
			case <-s.quit:
				timeout.Stop()
				s.done <- [2]int{loops, q.Len()}
				return
			}
		}
	}()
	return s
}

// stop stops the goroutine and returns how many loops it made and how many
// buffers it held.
func (s *slideRecycler) stop() (loops, held int) {
	close(s.quit)
	n := <-s.done
	return n[0], n[1]
}
