package pool

import "fmt"

// config holds what the options set. Each option sets one field and no
// option reads another's, so they never interact.
type config[T any] struct {
	reset    func(T) T
	keep     func(T) bool
	size     func(T) int
	maxBytes int64
}

// AgingOption configures an [AgingRecycler]. Every [RecyclerOption] is also
// an AgingOption; [MaxIdleBytes] is an AgingOption only, because a byte bound
// needs one owner to add up the sizes (a [Recycler] has no owner).
//
// The interface is sealed, as goleak's Option is: only this package
// implements it, so new options can be added without breaking callers.
type AgingOption[T any] interface {
	apply(*config[T])
}

// RecyclerOption configures a [Recycler] or an [AgingRecycler]: see
// [ResetWith] and [KeepIf]. The interface is sealed.
type RecyclerOption[T any] interface {
	AgingOption[T]
	recyclerOption()
}

type resetOption[T any] func(T) T

func (f resetOption[T]) apply(c *config[T]) { c.reset = f }
func (resetOption[T]) recyclerOption()      {}

type keepOption[T any] func(T) bool

func (f keepOption[T]) apply(c *config[T]) { c.keep = f }
func (keepOption[T]) recyclerOption()      {}

type maxBytesOption[T any] struct {
	limit int64
	size  func(T) int
}

func (o maxBytesOption[T]) apply(c *config[T]) { c.maxBytes, c.size = o.limit, o.size }

// ResetWith returns an option that passes every value given to Put through
// reset before keeping it, so that Get returns clean values: for example
// func(b []byte) []byte { return b[:0] }, or a function that calls
// (*bytes.Buffer).Reset and returns its argument. Reset runs on the goroutine
// that calls Put, after the keep rule and only for values that pass it. If
// reset returns nil, Put rejects the value as it rejects Put(nil).
//
// ResetWith panics if reset is nil.
func ResetWith[T any](reset func(T) T) RecyclerOption[T] {
	if reset == nil {
		panic("pool: ResetWith needs a function, got nil")
	}
	return resetOption[T](reset)
}

// KeepIf returns an option that makes Put keep only the values for which
// keep returns true; the others are left to the garbage collector and
// counted in [RecyclerStats].Rejects. Use it to drop values not worth
// keeping, as package fmt drops print buffers over 64 KiB so that one huge
// message does not pin its buffer for the life of the program
// (golang/go#23199): KeepIf(func(b *bytes.Buffer) bool { return b.Cap() <= 64<<10 }).
// Keep runs on the goroutine that calls Put.
//
// KeepIf panics if keep is nil.
func KeepIf[T any](keep func(T) bool) RecyclerOption[T] {
	if keep == nil {
		panic("pool: KeepIf needs a function, got nil")
	}
	return keepOption[T](keep)
}

// MaxIdleBytes returns an option that bounds the total size of the values
// an [AgingRecycler] keeps idle to limit bytes, size(v) being the size of v
// (for a []byte, its capacity). A Put that would take the total over the
// limit is dropped and counted in [RecyclerStats].Drops. With it,
// [RecyclerStats] also reports IdleBytes and ExpiredBytes, the memory handed
// back to the garbage collector by expiry. Size runs on the goroutine that
// calls Put, which panics if it returns a negative size.
//
// MaxIdleBytes panics if limit < 1 or size is nil.
func MaxIdleBytes[T any](limit int64, size func(T) int) AgingOption[T] {
	if limit < 1 {
		panic(fmt.Sprintf("pool: MaxIdleBytes limit must be at least 1, got %d", limit))
	}
	if size == nil {
		panic("pool: MaxIdleBytes needs a size function, got nil")
	}
	return maxBytesOption[T]{limit: limit, size: size}
}

// admit returns the value Put should keep in v's place, with ok false if
// Put must reject v: v is nil, the keep rule refuses it, or the reset
// function turned it into nil (which kept would let a Get return nil).
// It runs the caller's functions, so Put calls it before counting
// anything: if one panics, that Put leaves no trace in the counters.
func (c *config[T]) admit(v T, nilable bool) (_ T, ok bool) {
	if (nilable && isNil(v)) || (c.keep != nil && !c.keep(v)) {
		return v, false
	}
	if c.reset != nil {
		v = c.reset(v)
		if nilable && isNil(v) {
			return v, false
		}
	}
	return v, true
}

// newConfig applies opts in order; a later option of the same kind wins.
// It panics, naming the constructor fn, if an option is nil.
func newConfig[T any, O AgingOption[T]](fn string, opts []O) config[T] {
	var c config[T]
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
