package fanout_test

import (
	"context"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"

	"github.com/go-compendium/compendium/fanout"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestBalancerDoAnswerSurvivesCloseBeforeItIsRead: a handler that has
// returned has answered, and Do returns that answer, even when the
// Balancer is closed between the answer and the moment Do's caller gets
// to wait for it. The worker must be able to hand the answer over without
// Do's caller being there yet: an answer it could only hand over in person
// would be dropped by the Close, and Do, which waits on its own ctx only,
// would wait forever.
//
// The window is the instant between Do's submit and its wait, in which
// Do's only call into user code is ctx.Done: a ctx whose Done, on that
// call from the caller's goroutine, holds the caller there opens it.
func TestBalancerDoAnswerSurvivesCloseBeforeItIsRead(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := &holdingCtx{
			Context: context.Background(),
			caller:  goid(),
			held:    make(chan struct{}),
			release: make(chan struct{}),
		}
		b := fanout.NewBalancer(context.Background(), 1, 1, func(_ context.Context, v int) (int, error) {
			<-ctx.held // answer once Do's caller is held before its wait
			return 2 * v, nil
		})
		go func() {
			<-ctx.held
			synctest.Wait() // the handler has returned and its answer is given (or waits)
			assert.NoError(t, b.Close())
			close(ctx.release)
		}()
		v, err := b.Do(ctx, 21)
		require.NoError(t, err)
		assert.Equal(t, 42, v)
		assert.NoError(t, b.Close())
	})
}

// holdingCtx never ends; the second call of Done from the caller's
// goroutine (Do's wait for its answer, after the one in Do's wait for a
// slot) closes held and waits for release.
type holdingCtx struct {
	context.Context
	caller        uint64
	calls         atomic.Int32
	held, release chan struct{}
}

func (c *holdingCtx) Done() <-chan struct{} {
	if goid() == c.caller && c.calls.Add(1) == 2 {
		close(c.held)
		<-c.release
	}
	return nil
}

// goid returns the calling goroutine's id, from the first line of its
// stack ("goroutine 7 [running]:").
func goid() uint64 {
	var buf [64]byte
	f := strings.Fields(string(buf[:runtime.Stack(buf[:], false)]))
	id, err := strconv.ParseUint(f[1], 10, 64)
	if err != nil {
		panic("goid: " + string(buf[:]))
	}
	return id
}
