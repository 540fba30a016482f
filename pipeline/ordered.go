package pipeline

import "context"

// piece is one unit of OrderedMap's work: a run of consecutive items and the
// slot where its results go. res has room for one result, so a worker never
// blocks delivering it.
type piece[T, U any] struct {
	items []T
	res   chan []U
}

// windowPerWorker sets OrderedMap's reorder window: how many pieces may be
// done or in progress ahead of the oldest unfinished one, per worker.
const windowPerWorker = 4

// OrderedMap is [Map] with the output in the input's order. It panics if
// workers < 1 or f is nil; errors and cancellation work as for Map.
//
// A dispatcher cuts each incoming batch into up to workers pieces and
// queues each piece's result slot in input order; the workers compute
// pieces, and a collector emits the slots in queue order. The queue holds
// at most 4×workers pieces (the reorder window): when one item is slow, the
// others run ahead by at most that many pieces, each at most one batch (256
// items), and then wait, so memory stays bounded. With one worker,
// OrderedMap is Map with one worker.
func OrderedMap[T, U any](in *Stream[T], workers int, f func(context.Context, T) (U, error)) *Stream[U] {
	checkStream("OrderedMap", in)
	checkWorkers("OrderedMap", workers)
	checkFunc("OrderedMap", "f", f == nil)
	if workers == 1 {
		return Map(in, 1, f)
	}
	in.take("OrderedMap")
	s := in.s
	_, labels := s.stage("OrderedMap")
	ctx := s.ctx
	out := newStream[U](s)
	jobs := make(chan piece[T, U])
	order := make(chan chan []U, windowPerWorker*workers)
	// Result slots are recycled through a free list as large as the
	// number that can exist at once: the window, one per worker, and the
	// collector's.
	slots := make(chan chan []U, (windowPerWorker+1)*workers+2)
	results := newStream[U](s) // only its free list is used: the workers' result batches

	// The dispatcher.
	s.spawn(labels.With("role", "dispatch"), 0, func(done <-chan struct{}) error {
		defer close(order)
		defer close(jobs)
		for {
			b, ok := in.recv()
			if !ok {
				return nil
			}
			k := min(workers, len(b))
			size := (len(b) + k - 1) / k
			for lo := 0; lo < len(b); lo += size {
				items := b
				if k > 1 {
					items = append(in.get(), b[lo:min(lo+size, len(b))]...)
				}
				var res chan []U
				select {
				case res = <-slots:
				default:
					res = make(chan []U, 1)
				}
				select {
				case order <- res:
				case <-done:
					return errCanceled
				}
				select {
				case jobs <- piece[T, U]{items, res}:
				case <-done:
					return errCanceled
				}
			}
			if k > 1 {
				in.put(b)
			}
		}
	})

	// The workers.
	for i := range workers {
		s.spawn(labels, i+1, func(done <-chan struct{}) error {
			for {
				var pc piece[T, U]
				var ok bool
				select {
				case pc, ok = <-jobs:
					if !ok {
						return nil
					}
				case <-done:
					return errCanceled
				}
				r := results.get()
				for _, v := range pc.items {
					if s.canceled() {
						return errCanceled
					}
					u, err := f(ctx, v)
					if err != nil {
						return s.failed(err)
					}
					r = append(r, u)
				}
				in.put(pc.items)
				pc.res <- r
			}
		})
	}

	// The collector.
	s.spawn(labels.With("role", "collect"), 0, func(done <-chan struct{}) error {
		defer close(out.ch)
		e := newEmitter(out, done)
		for {
			var res chan []U
			var ok bool
			select {
			case res, ok = <-order:
				if !ok {
					return e.finish()
				}
			case e.out() <- e.batch():
				e.sent()
				continue
			case <-done:
				return errCanceled
			}
			// Wait for this slot's results, still handing on what is
			// pending meanwhile.
			var r []U
			for r == nil {
				select {
				case r = <-res:
				case e.out() <- e.batch():
					e.sent()
				case <-done:
					return errCanceled
				}
			}
			select {
			case slots <- res:
			default:
			}
			if !e.addAll(r) {
				return errCanceled
			}
			results.put(r)
		}
	})
	return out
}
