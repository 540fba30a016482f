package timeout

import (
	"context"
	"time"
)

// SettleCall is Call's last step, given f's outcome (v, err) and the
// context f was given: the rule "f failed once its context had ended: the
// timeout (or ctx's) error, not f's" applies when f's error and the end
// of its context come together, an interleaving that the scheduler
// decides and no black-box test can force.
func SettleCall(ctx, fctx context.Context, d time.Duration, v int, err error) (int, error) {
	return settle(ctx, fctx, kindCall, d, outcome[int]{v: v, err: err})
}
