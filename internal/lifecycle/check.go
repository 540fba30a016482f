package lifecycle

import (
	"context"
	"fmt"
	"math"
	"time"
	"unsafe"
)

// Programming errors (a nil function, a size below 1, a duration that can
// mean nothing) panic at the call, on the caller's goroutine, before any
// goroutine starts, with one message form: "pkg: Func: what, got v". The
// helpers below are that form; fn names the function or method as a
// caller writes it ("NewWorkers", "Workers.Go").

// Panicf panics with "pkg: fn: " followed by the formatted message.
func Panicf(pkg, fn, format string, args ...any) {
	panic(fmt.Sprintf("%s: %s: %s", pkg, fn, fmt.Sprintf(format, args...)))
}

// Min panics unless v >= lo: "pkg: fn: name must be at least lo, got v".
func Min[N ~int | ~int64 | ~uint64](pkg, fn, name string, v, lo N) {
	if v < lo {
		Panicf(pkg, fn, "%s must be at least %v, got %v", name, lo, v)
	}
}

// NotNil panics if isNil: "pkg: fn: name must not be nil, got nil".
func NotNil(pkg, fn, name string, isNil bool) {
	if isNil {
		Panicf(pkg, fn, "%s must not be nil, got nil", name)
	}
}

// Context panics if ctx is nil, as the standard library does for a nil
// parent context, but naming the function at fault.
func Context(pkg, fn string, ctx context.Context) {
	if ctx == nil {
		Panicf(pkg, fn, "ctx must not be nil, got nil (use context.Background or context.TODO)")
	}
}

// Positive panics unless d > 0: "pkg: fn: name must be positive, got d".
func Positive(pkg, fn, name string, d time.Duration) {
	if d <= 0 {
		Panicf(pkg, fn, "%s must be positive, got %v", name, d)
	}
}

// NonNegative panics if d < 0: "pkg: fn: name must not be negative, got d".
func NonNegative(pkg, fn, name string, d time.Duration) {
	if d < 0 {
		Panicf(pkg, fn, "%s must not be negative, got %v", name, d)
	}
}

// MaxUpFront is the most memory a constructor allocates before its first
// use. A size that asks for more (a queue of 2^31 slots, a recycler of
// 2^31 values) is a bug, not a plan: refused at the call with a message
// saying so, it cannot end the program in an out-of-memory crash or a
// runtime panic ("makechan: size out of range") from inside the library.
const MaxUpFront = 1 << 30

// UpFront panics unless n values of type T fit in MaxUpFront bytes:
// "pkg: fn: what n would allocate ... up front, more than the 1 GiB limit".
// n is a count the caller has already checked to be at least its minimum.
func UpFront[T any](pkg, fn, what string, n int) {
	size := uint64(unsafe.Sizeof(*new(T)))
	if size == 0 {
		size = 1 // a channel of struct{} still holds a count per slot
	}
	if n < 0 || uint64(n) > MaxUpFront/size {
		Panicf(pkg, fn, "%s %d would allocate %s up front, more than the %s limit", what, n, bytes(uint64(n), size), bytes(MaxUpFront, 1))
	}
}

// bytes formats n*size bytes for a message, without overflowing.
func bytes(n, size uint64) string {
	if n > math.MaxUint64/size {
		return "more than 16 EiB"
	}
	b := n * size
	switch {
	case b >= 1<<40:
		return fmt.Sprintf("%.0f TiB", float64(b)/(1<<40))
	case b >= 1<<30:
		return fmt.Sprintf("%.0f GiB", float64(b)/(1<<30))
	default:
		return fmt.Sprintf("%d bytes", b)
	}
}
