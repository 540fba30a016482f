package compendium

// TaskStats are the counters of a type that runs units of work for its
// callers (tasks, requests, items to write), with one meaning in every
// package. A type's Stats method returns them inside its own stats struct.
//
// Every unit of work accepted is in exactly one state, so at every instant
// a snapshot satisfies
//
//	Submitted = Queued + Running + Completed + Failed + Panicked + Canceled
//
// and Rejected counts what was never accepted. A type's Stats doc says
// whether the snapshot is taken under a lock or assembled from atomic
// counters; either way the identity holds in every snapshot, also while
// work is in flight.
type TaskStats struct {
	// Submitted counts the units of work accepted.
	Submitted uint64
	// Rejected counts the submissions refused: no room for a Try call,
	// the caller's context ended while it waited, or the owner was closed
	// or cancelled. A rejected unit is not in Submitted.
	Rejected uint64
	// Queued is the number of accepted units waiting to start.
	Queued uint64
	// Running is the number of units running now.
	Running uint64
	// Completed counts the units that ran and returned without an error.
	Completed uint64
	// Failed counts the units that ran and returned an error, or called
	// runtime.Goexit (see [ErrGoexit]).
	Failed uint64
	// Panicked counts the units that ran and panicked (see [PanicError]).
	Panicked uint64
	// Canceled counts the accepted units that never ran: their owner was
	// cancelled or closed, or the context they were submitted with ended,
	// before they started.
	Canceled uint64
}
