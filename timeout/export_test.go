package timeout

import (
	"context"
	"time"

	"github.com/go-compendium/compendium"
)

// SettleCall is Call's last step, given f's outcome (v, err) and the
// context f was given: the rule "f failed once its context had ended: the
// timeout (or ctx's) error, not f's" applies when f's error and the end
// of its context come together, an interleaving that the scheduler
// decides and no black-box test can force.
func SettleCall(ctx, fctx context.Context, d time.Duration, v int, err error) (int, error) {
	return settle(ctx, fctx, kindCall, d, outcome[int]{v: v, err: err})
}

// Outcome is one function's outcome in a race: a value, an error or a
// panic.
type Outcome struct {
	V     int
	Err   error
	Panic *compendium.PanicError
}

// Finish puts outs in a race's buffer, as functions that all finished
// before the caller looked would, ends the race and returns what the
// caller gets: the first outcome, whether there was one, and the first
// panic among them. Which outcomes are waiting when a caller ends its race
// is the scheduler's choice; this makes each case happen.
func Finish(outs ...Outcome) (first Outcome, ok bool, p *compendium.PanicError) {
	r := newRace[int](context.Background(), kindFirst, len(outs))
	for i, o := range outs {
		r.ch <- outcome[int]{v: o.V, err: o.Err, p: o.Panic, i: i}
	}
	f, ok, p := r.finish()
	return Outcome{V: f.v, Err: f.err, Panic: f.p}, ok, p
}
