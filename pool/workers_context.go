package pool

import (
	"context"
	"runtime/trace"
)

// markKey is the context key of the marker that the context of every task
// carries: a Go whose ctx carries its own pool's marker comes from inside a
// task of that pool, and must never block (see Workers.Go).
type markKey struct{}

// mark is the value under markKey.
type mark struct {
	w *Workers
	// origin is the ctx given to the outermost Go of the task's line of
	// submissions, whose end cancels the task and every task it submits;
	// nil for context.Background and context.TODO, which never end.
	origin context.Context
	// ctx is the context the task received, to tell a submission made
	// with it (the common case, which costs nothing) from one made with a
	// context derived from it.
	ctx context.Context
}

// markOf returns the pool marker ctx carries, or nil.
func markOf(ctx context.Context) *mark {
	m, _ := ctx.Value(markKey{}).(*mark)
	return m
}

// never reports whether ctx is one of the two contexts that never end and
// carry no values, the common case in servers that cancel through the
// pool: a task submitted with one needs no context of its own.
func never(ctx context.Context) bool {
	return ctx == context.Background() || ctx == context.TODO()
}

// job is a queued task with what its context is made from, c:
//   - nil for a task that simply gets the pool's task context;
//   - a context.Context, the submitter's, that gives the task's context
//     its values and (with the pool's) its cancellation;
//   - a *derived, for a task submitted from inside with a context derived
//     from the submitter's: that one gives the values, origin the
//     cancellation.
//
// Three words, not five (a func and two contexts): the ring stores a job
// per slot, and the compiler copies a struct of more than four words
// with pointers into the heap by a call to runtime.wbMove, which
// BenchmarkWorkers' tiny tasks showed as a large share of their cost.
type job struct {
	f func(context.Context) error
	c any
}

// derived is job.c for a task submitted from inside with a context
// derived from the task's.
type derived struct{ vals, origin context.Context }

// contexts returns the contexts a job's task context is made from (see
// job), with vals nil if the task gets the pool's task context.
func (j job) contexts() (vals, origin context.Context) {
	switch c := j.c.(type) {
	case context.Context:
		return c, c
	case *derived:
		return c.vals, c.origin
	}
	return nil, nil
}

// run is the state of one running task that must be released however the
// task ends (return, panic or Goexit): its merged context, its deadline,
// its trace region. A worker keeps one for the task it runs.
type run struct {
	merged *merged
	cancel context.CancelFunc
	region *trace.Region
}

// start returns the context j's task runs with, and opens its trace
// region. A task submitted with context.Background (or from inside, with
// the context its submitter received) gets the pool's task context
// itself: no allocation, nothing to release.
func (r *run) start(w *Workers, j job) context.Context {
	ctx := w.taskCtx
	if vals, origin := j.contexts(); vals != nil {
		r.merged = w.merge(vals, origin)
		ctx = r.merged.ctx
	}
	if w.timeout > 0 {
		ctx, r.cancel = context.WithTimeoutCause(ctx, w.timeout, w.timeoutCause)
		if r.merged != nil {
			r.merged.ctx = ctx // the context the task sees, for the inside check
		}
	}
	// One atomic load per task while tracing is off (issue 15 asks for no
	// more); a region per task while it is on, named as the labels name
	// the type, so go tool trace shows where tasks ran and waited.
	if trace.IsEnabled() {
		r.region = trace.StartRegion(ctx, "pool.Workers")
	}
	return ctx
}

// end releases what start made.
func (r *run) end() {
	if r.region != nil {
		r.region.End()
		r.region = nil
	}
	if r.cancel != nil {
		r.cancel()
		r.cancel = nil
	}
	if r.merged != nil {
		r.merged.release()
		r.merged = nil
	}
}

// merged is the context of a task whose submitter's context must reach it:
// it ends when the pool's context or the submitter's ends, whichever is
// first, with that one's cause, and carries the submitter's values and the
// pool's marker. One allocation holds the marker and the release
// functions.
type merged struct {
	mark
	cancel     context.CancelCauseFunc
	stopPool   func() bool
	stopOrigin func() bool
}

// merge makes the context of a task from vals and origin (see job): a
// WithCancelCause child of the submitter's context (cancelled when the
// pool's ends, through an AfterFunc) with the marker added. A context
// derived inside a task is first detached with WithoutCancel, since the
// task that made it may return, and cancel it, long before the task it
// submitted runs; its cancellation then comes from origin instead.
func (w *Workers) merge(vals, origin context.Context) *merged {
	m := &merged{mark: mark{w: w, origin: origin}}
	parent := vals
	if vals != origin {
		parent = context.WithoutCancel(vals)
	}
	ctx, cancel := context.WithCancelCause(parent)
	m.cancel = cancel
	// The AfterFuncs come after m.cancel is set: one registered on a
	// context that has already ended runs at once.
	m.stopPool = context.AfterFunc(w.own.Context(), m.poolDone)
	if vals != origin && origin != nil {
		m.stopOrigin = context.AfterFunc(origin, m.originDone)
	}
	m.ctx = context.WithValue(ctx, markKey{}, &m.mark)
	return m
}

func (m *merged) poolDone()   { m.cancel(context.Cause(m.w.own.Context())) }
func (m *merged) originDone() { m.cancel(context.Cause(m.origin)) }

// release unregisters the AfterFuncs and cancels the context, so that
// neither the pool's context nor the submitter's keeps a reference to it.
func (m *merged) release() {
	m.stopPool()
	if m.stopOrigin != nil {
		m.stopOrigin()
	}
	m.cancel(nil)
}
