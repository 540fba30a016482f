package semaphore

// LockWeighted and UnlockWeighted take and give back w's internal lock.
// A test holds the lock to stop an Acquire at the door of its slow path,
// the one interleaving no black-box test can force: the weight freed
// after Acquire's last lock-free look and before it takes the lock.
func LockWeighted(w *Weighted) { w.lock <- struct{}{} }

// UnlockWeighted gives back the lock LockWeighted took.
func UnlockWeighted(w *Weighted) { <-w.lock }

// SetTuning turns on or off the Gosched with which an Acquire that finds
// no free slot lets the holders run to their Release before it waits,
// for BenchmarkTuning. Call it before the semaphore is used.
func (s *Counting) SetTuning(yield bool) { s.noYield = !yield }

// SetTuning turns on or off the Gosched with which an Acquire that finds
// no room lets the holders run to their Release before it queues, for
// BenchmarkTuning. Call it before the semaphore is used.
func (w *Weighted) SetTuning(yield bool) { w.noYield = !yield }

// SetTuning turns on or off the Gosched with which a Go from outside that
// finds every slot taken lets the running tasks finish before it parks,
// for BenchmarkTuning. Call it before the group is used.
func (g *Group) SetTuning(yield bool) { g.noYield = !yield }
