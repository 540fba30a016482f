package lifecycle

import (
	"errors"
	"fmt"
)

// Errors keeps errors for a later Wait, bounded: the first max are kept
// whole, the rest only counted, so that a long-lived owner whose tasks fail
// by the million does not keep every error. The zero value keeps none and
// counts all; use [NewErrors]. Not safe for concurrent use: the owner
// guards it.
type Errors struct {
	max     int
	kept    []error
	dropped uint64
}

// NewErrors returns an Errors that keeps the first max errors.
func NewErrors(max int) Errors { return Errors{max: max} }

// Add keeps err, or counts it if max are kept already. nil is ignored.
func (e *Errors) Add(err error) {
	switch {
	case err == nil:
	case len(e.kept) < e.max:
		e.kept = append(e.kept, err)
	default:
		e.dropped++
	}
}

// Len returns how many errors were added since the last Take.
func (e *Errors) Len() uint64 { return uint64(len(e.kept)) + e.dropped }

// Take returns the errors added since the last Take, joined with
// errors.Join, and forgets them. If some were only counted, the last
// error joined says how many: "and N more errors". It returns nil if
// there were none.
func (e *Errors) Take() error {
	if e.Len() == 0 {
		return nil
	}
	errs := e.kept
	if e.dropped > 0 {
		errs = append(errs, fmt.Errorf("and %d more errors, not kept", e.dropped))
	}
	err := errors.Join(errs...)
	clear(e.kept)
	e.kept, e.dropped = e.kept[:0], 0
	return err
}
