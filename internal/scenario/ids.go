package scenario

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
)

// IDs hands out unique IDs: 1, 2, 3, ... in the order Next is called, each
// exactly once, to any number of goroutines.
type IDs interface {
	// Next returns the next unused ID. IDs start at 1, so 0 never is one.
	Next() uint64
}

// ChanIDs is the talk's "hide state" generator: one goroutine owns the
// counter and hands each ID over a channel (unbuffered on the slide).
//
// The slide's version says "x will be 1" but starts its counter at 0, and
// its goroutine never exits. ChanIDs starts at 1 and its goroutine ends when
// the context passed to [NewChanIDs] is done or [ChanIDs.Close] is called.
//
// Next is safe for concurrent use; the channel hand-off orders the IDs, so
// an ID received first is smaller than every ID received after it on any
// goroutine. It costs a goroutine hand-off per ID, about 200 ns: 30x to 40x
// a mutex counter and 45x to 95x an atomic one (bench/doc.go has the
// numbers).
type ChanIDs struct {
	ids    chan uint64
	cancel context.CancelFunc
	done   chan struct{}
}

// NewChanIDs starts the generator goroutine, which hands IDs over a channel
// with the given buffer: 0 is the slide's unbuffered channel, where every
// Next waits for the generator to run; a buffer lets it run ahead. The
// goroutine runs until ctx is done or Close is called; call Close to join it.
func NewChanIDs(ctx context.Context, buffer int) *ChanIDs {
	if buffer < 0 {
		panic(fmt.Sprintf("scenario: negative ChanIDs buffer, got %d", buffer))
	}
	ctx, cancel := context.WithCancel(ctx)
	g := &ChanIDs{ids: make(chan uint64, buffer), cancel: cancel, done: make(chan struct{})}
	go g.run(ctx)
	return g
}

func (g *ChanIDs) run(ctx context.Context) {
	defer close(g.done)
	// Closing ids on the way out turns every later Next into a receive
	// from a closed channel, which returns 0: never a valid ID, and never a
	// Next blocked forever on a generator that is gone.
	defer close(g.ids)
	for id := uint64(1); ; id++ {
		select {
		case g.ids <- id:
		case <-ctx.Done():
			return
		}
	}
}

// Next returns the next ID, or 0 once the generator has stopped and the
// IDs it buffered are taken.
func (g *ChanIDs) Next() uint64 { return <-g.ids }

// Close stops the generator goroutine and waits for it to exit. It is
// idempotent and safe to call concurrently with Next.
func (g *ChanIDs) Close() {
	g.cancel()
	<-g.done
}

// MutexIDs is a counter behind a sync.Mutex. The zero value is ready to use
// and must not be copied after first use.
type MutexIDs struct {
	mu   sync.Mutex
	last uint64
}

// Next returns the next ID.
func (g *MutexIDs) Next() uint64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.last++
	return g.last
}

// AtomicIDs is a counter in a sync/atomic.Uint64. The zero value is ready to
// use and must not be copied after first use.
type AtomicIDs struct{ last atomic.Uint64 }

// Next returns the next ID.
func (g *AtomicIDs) Next() uint64 { return g.last.Add(1) }
