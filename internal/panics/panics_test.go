package panics_test

import (
	"errors"
	"io"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/go-compendium/compendium/internal/panics"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestTryReturnsNilOnNormalReturn(t *testing.T) {
	ran := false
	assert.Nil(t, panics.Try(func() { ran = true }))
	assert.True(t, ran)
}

func TestTryCapturesValueAndStack(t *testing.T) {
	p := panics.Try(func() { panicHere("boom") })
	require.NotNil(t, p)
	assert.Equal(t, "boom", p.Value)
	assert.Contains(t, string(p.Stack), "panicHere", "stack must show the frame that panicked")
	assert.True(t, strings.HasPrefix(p.Error(), "panic: boom [recovered]"), "Error() = %q", p.Error())
	assert.Nil(t, p.Unwrap(), "a non-error value unwraps to nil")
}

func TestTryUnwrapsErrorValues(t *testing.T) {
	p := panics.Try(func() { panic(io.EOF) })
	require.NotNil(t, p)
	assert.ErrorIs(t, p, io.EOF)
}

func TestTryReportsPanicNil(t *testing.T) {
	p := panics.Try(func() { panic(nil) })
	require.NotNil(t, p)
	var pe *runtime.PanicNilError
	assert.True(t, errors.As(p, &pe), "Value = %#v; want *runtime.PanicNilError", p.Value)
}

func TestTryLetsGoexitThrough(t *testing.T) {
	var wg sync.WaitGroup
	returned := false
	wg.Add(1)
	go func() {
		defer wg.Done()
		panics.Try(runtime.Goexit)
		returned = true
	}()
	wg.Wait()
	assert.False(t, returned, "Try must not return after runtime.Goexit")
}

//go:noinline
func panicHere(v any) { panic(v) }
