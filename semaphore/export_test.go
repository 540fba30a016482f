package semaphore

// LockWeighted and UnlockWeighted take and give back w's internal lock.
// A test holds the lock to stop an Acquire at the door of its slow path,
// the one interleaving no black-box test can force: the weight freed
// after Acquire's last lock-free look and before it takes the lock.
func LockWeighted(w *Weighted) { w.lock <- struct{}{} }

// UnlockWeighted gives back the lock LockWeighted took.
func UnlockWeighted(w *Weighted) { <-w.lock }
