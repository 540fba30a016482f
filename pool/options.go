package pool

import (
	"fmt"

	"github.com/go-compendium/compendium/internal/lifecycle"
)

// config holds what the options set. Each option sets one field and no
// option reads another's, so they never interact.
type config[E any] struct {
	reset    func(*E)
	keep     func(*E) bool
	size     func(*E) int
	maxBytes int64
}

// AgingOption configures an [AgingRecycler]. Every [RecyclerOption] is also
// an AgingOption; [MaxIdleBytes] is an AgingOption only. The interface is
// sealed, as goleak's Option is: only this package implements it, so
// options can be added without breaking callers.
type AgingOption[E any] interface {
	apply(*config[E])
}

// RecyclerOption configures a [Recycler] or an [AgingRecycler]: see
// [ResetWith] and [KeepIf]. The interface is sealed.
type RecyclerOption[E any] interface {
	AgingOption[E]
	recyclerOption()
}

type resetOption[E any] func(*E)

func (f resetOption[E]) apply(c *config[E]) { c.reset = f }
func (resetOption[E]) recyclerOption()      {}

type keepOption[E any] func(*E) bool

func (f keepOption[E]) apply(c *config[E]) { c.keep = f }
func (keepOption[E]) recyclerOption()      {}

// A Recycler has no byte bound: it would need a counter shared by every
// Put, the one contended cache line its shards exist to avoid. An
// AgingRecycler already pays for a lock per operation, so it can afford it.
type maxBytesOption[E any] struct {
	limit int64
	size  func(*E) int
}

func (o maxBytesOption[E]) apply(c *config[E]) { c.maxBytes, c.size = o.limit, o.size }

// ResetWith returns an option that makes Put pass every value it is about
// to keep to reset, so that Get returns clean values: for example
// func(b *bytes.Buffer) { b.Reset() }. Reset runs on the goroutine that
// calls Put, after the [KeepIf] rule and only for values that pass it.
//
// ResetWith panics if reset is nil.
func ResetWith[E any](reset func(*E)) RecyclerOption[E] {
	lifecycle.NotNil("pool", "ResetWith", "reset", reset == nil)
	return resetOption[E](reset)
}

// KeepIf returns an option that makes Put keep only the values for which
// keep returns true; the others are left to the garbage collector and
// counted in [RecyclerStats].Rejected. Use it to drop values not worth
// keeping, as package fmt drops print buffers over 64 KiB so that one
// huge message does not pin its buffer for the life of the program
// (golang/go#23199). Keep runs on the goroutine that calls Put.
//
// KeepIf panics if keep is nil.
func KeepIf[E any](keep func(*E) bool) RecyclerOption[E] {
	lifecycle.NotNil("pool", "KeepIf", "keep", keep == nil)
	return keepOption[E](keep)
}

// MaxIdleBytes returns an option that bounds the total size of the values
// an [AgingRecycler] keeps idle to limit bytes, size(v) being the size of v
// (for a *[]byte, its capacity). A Put that would take the total over the
// limit is dropped and counted in [RecyclerStats].Dropped; a value larger
// than limit is never kept. With it, [RecyclerStats] reports IdleBytes and
// ExpiredBytes. Size runs on the goroutine that calls Put, and Put panics
// if it returns a negative size.
//
// MaxIdleBytes panics if limit < 1 or size is nil.
func MaxIdleBytes[E any](limit int64, size func(*E) int) AgingOption[E] {
	lifecycle.Min("pool", "MaxIdleBytes", "limit", limit, 1)
	lifecycle.NotNil("pool", "MaxIdleBytes", "size", size == nil)
	return maxBytesOption[E]{limit: limit, size: size}
}

// admit reports whether Put may keep v, and resets it if so: v is not nil
// and the keep rule accepts it. It runs the caller's functions, so Put
// calls it before counting anything: if one panics, that Put leaves no
// trace in the counters.
func (c *config[E]) admit(v *E) bool {
	if v == nil || (c.keep != nil && !c.keep(v)) {
		return false
	}
	if c.reset != nil {
		c.reset(v)
	}
	return true
}

// newConfig applies opts in order (a later option of the same kind wins).
// It panics, naming the constructor fn, if an option is nil.
func newConfig[E any, O AgingOption[E]](fn string, opts []O) config[E] {
	for i, o := range opts {
		lifecycle.NotNil("pool", fn, fmt.Sprintf("opts[%d]", i), any(o) == nil)
	}
	var c config[E]
	applyOptions(fn, &c, opts)
	return c
}

// applyOptions applies opts to c in order, for every constructor of the
// package, the Recyclers' and NewWorkers alike. It panics, naming the
// constructor fn, if an option is nil.
func applyOptions[C any, O interface{ apply(*C) }](fn string, c *C, opts []O) {
	for _, o := range opts {
		if any(o) == nil {
			panic("pool: " + fn + " needs non-nil options, got nil")
		}
		o.apply(c)
	}
}
