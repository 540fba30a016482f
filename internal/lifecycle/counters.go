package lifecycle

import (
	"sync/atomic"

	"github.com/go-compendium/compendium"
)

// Counters keep a compendium.TaskStats with atomic adds, for types that
// count without a lock. Each unit of work goes Submit, then Start and one
// of Complete, Fail or Panic, or Cancel instead of Start; a refusal is
// Reject. Queued and Running are not stored but derived, and Snapshot
// reads the counters in an order that makes the identity
//
//	Submitted = Queued + Running + Completed + Failed + Panicked + Canceled
//
// hold in every snapshot, also while other goroutines count.
type Counters struct {
	submitted, rejected, started          atomic.Uint64
	completed, failed, panicked, canceled atomic.Uint64
}

func (c *Counters) Submit()   { c.submitted.Add(1) }
func (c *Counters) Reject()   { c.rejected.Add(1) }
func (c *Counters) Start()    { c.started.Add(1) }
func (c *Counters) Complete() { c.completed.Add(1) }
func (c *Counters) Fail()     { c.failed.Add(1) }
func (c *Counters) Panic()    { c.panicked.Add(1) }
func (c *Counters) Cancel()   { c.canceled.Add(1) }

// SubmitN, StartN, CompleteN, FailN, PanicN and CancelN count n units at
// once (a batch of items, say).
func (c *Counters) SubmitN(n uint64)   { c.submitted.Add(n) }
func (c *Counters) StartN(n uint64)    { c.started.Add(n) }
func (c *Counters) CompleteN(n uint64) { c.completed.Add(n) }
func (c *Counters) FailN(n uint64)     { c.failed.Add(n) }
func (c *Counters) PanicN(n uint64)    { c.panicked.Add(n) }
func (c *Counters) CancelN(n uint64)   { c.canceled.Add(n) }

// End counts a started unit's end from the error and panic that [Call]
// returned: a panic, a failure (err != nil), or a completion.
func (c *Counters) End(p *compendium.PanicError, err error) {
	switch {
	case p != nil:
		c.panicked.Add(1)
	case err != nil:
		c.failed.Add(1)
	default:
		c.completed.Add(1)
	}
}

// Snapshot returns the counters. Every unit counts its steps in order
// (submitted before started or canceled, started before its end), so
// reading the ends first, then started, then submitted, sees every unit
// it counts as ended also as started, and every unit counted started or
// canceled also as submitted: the derived Running and Queued cannot be
// negative, and the identity holds.
func (c *Counters) Snapshot() compendium.TaskStats {
	var s compendium.TaskStats
	s.Completed = c.completed.Load()
	s.Failed = c.failed.Load()
	s.Panicked = c.panicked.Load()
	s.Canceled = c.canceled.Load()
	started := c.started.Load()
	s.Submitted = c.submitted.Load()
	s.Rejected = c.rejected.Load()
	s.Running = started - s.Completed - s.Failed - s.Panicked
	s.Queued = s.Submitted - started - s.Canceled
	return s
}
