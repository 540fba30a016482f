package timeout_test

import (
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"

	"github.com/go-compendium/compendium/timeout"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestQuitZeroValue(t *testing.T) {
	var q timeout.Quit
	assert.False(t, q.Fired(), "Fired() on a zero Quit")
	assert.False(t, received(q.Done()), "Done() of a zero Quit is closed")
	assert.Equal(t, q.Done(), q.Done(), "Done() must return the same channel every time")
	assert.True(t, q.Quit(), "first Quit() = false; want true")
	assert.True(t, q.Fired())
	assert.True(t, received(q.Done()))
}

func TestQuitBeforeDone(t *testing.T) {
	// Quit before anyone asked for the channel must still close the
	// channel handed out afterwards.
	q := timeout.NewQuit()
	q.Quit()
	assert.True(t, received(q.Done()))
}

func TestQuitTwiceDoesNotPanic(t *testing.T) {
	q := timeout.NewQuit()
	assert.True(t, q.Quit())
	assert.NotPanics(t, func() { assert.False(t, q.Quit(), "second Quit() = true; want false") })
	assert.True(t, q.Fired())
}

func TestQuitReleasesEveryWaiter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := timeout.NewQuit()
		const waiters = 10
		var released atomic.Int32
		for range waiters {
			go func() {
				<-q.Done()
				released.Add(1)
			}()
		}
		synctest.Wait()
		require.Zero(t, released.Load(), "a waiter passed before Quit")
		q.Quit()
		synctest.Wait()
		assert.EqualValues(t, waiters, released.Load())
	})
}

// TestQuitFirstDonesRaceForOneChannel: goroutines that ask a fresh Quit
// for its channel at the same moment (each may create one) must all get
// the one that was installed, which Quit closes: a loser that kept its own
// would wait forever. Many rounds, released together by a start gun, so
// that the losing side of the race is taken (most runs, not every run: the
// window is one allocation wide, and no black-box test can hold it open).
func TestQuitFirstDonesRaceForOneChannel(t *testing.T) {
	for range 500 {
		q := timeout.NewQuit()
		gun := make(chan struct{})
		chans := make([]<-chan struct{}, 4)
		var wg sync.WaitGroup
		for i := range chans {
			wg.Go(func() {
				<-gun
				chans[i] = q.Done()
			})
		}
		close(gun)
		wg.Wait()
		q.Quit()
		for i, c := range chans {
			require.True(t, received(c), "goroutine %d got a channel Quit did not close", i)
		}
	}
}

func TestQuitConcurrentFiresOnce(t *testing.T) {
	// Quit racing Quit and Done (which may both create the channel) from
	// many goroutines: one winner, one channel, no double close.
	q := timeout.NewQuit()
	const n = 50
	var wins atomic.Int32
	chans := make([]<-chan struct{}, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			chans[i] = q.Done()
			if q.Quit() {
				wins.Add(1)
			}
		})
	}
	wg.Wait()
	assert.EqualValues(t, 1, wins.Load(), "Quit() returned true %d times; want once", wins.Load())
	for i, c := range chans {
		assert.Equal(t, q.Done(), c, "goroutine %d saw a different channel", i)
	}
}

// received reports whether a receive from c proceeds at once (c is closed
// or holds a value, which it then takes).
func received(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// TestQuitHasFiredWhenAnyQuitReturns: a Quit that loses the race to fire
// must still return only once the signal has fired, as a second cancel of
// a context or a second sync.Once.Do does: code that calls Quit and then
// relies on the signal (Fired, a receive from Done that must not block)
// may be the loser. The winner's close is made slow by goroutines waiting
// on Done, which it must wake.
func TestQuitHasFiredWhenAnyQuitReturns(t *testing.T) {
	var early atomic.Int32
	rounds := 1000 // the race is lost in about one round in 100
	if raceEnabled {
		rounds = 300
	}
	for range rounds {
		synctest.Test(t, func(t *testing.T) {
			q := timeout.NewQuit()
			var waiters, quitters sync.WaitGroup
			for range 50 {
				waiters.Go(func() { <-q.Done() })
			}
			gun := make(chan struct{})
			for range 2 {
				quitters.Go(func() {
					<-gun
					q.Quit()
					if !q.Fired() || !received(q.Done()) {
						early.Add(1)
					}
				})
			}
			synctest.Wait() // every waiter is parked on Done
			close(gun)
			quitters.Wait()
			waiters.Wait()
		})
	}
	assert.Zero(t, early.Load(), "Quit calls that returned before the signal had fired")
}
