package lifecycle_test

import (
	"testing"

	"github.com/go-compendium/compendium/internal/lifecycle"
)

var sink error

// BenchmarkCall measures what lifecycle.Call adds to calling user code:
// impl=direct is the bare call, impl=recover the floor of any call that can
// recover a panic (one deferred recover).
func BenchmarkCall(b *testing.B) {
	b.ReportAllocs()
	n := 0
	f := func() error { n++; return nil }
	b.Run("impl=call", func(b *testing.B) {
		for range b.N {
			_, sink = lifecycle.Call(f, nil)
		}
	})
	b.Run("impl=direct", func(b *testing.B) {
		for range b.N {
			sink = f()
		}
	})
	b.Run("impl=recover", func(b *testing.B) {
		for range b.N {
			sink = recoverOnly(f)
		}
	})
}

func recoverOnly(f func() error) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = nil
		}
	}()
	return f()
}
