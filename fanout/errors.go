package fanout

import (
	"errors"

	"github.com/go-compendium/compendium/internal/panics"
)

// ErrClosed is returned by [Balancer.Submit], [Balancer.Do] and
// [Multiplexer.Send] once Close has been called.
var ErrClosed = errors.New("fanout: closed")

// PanicError is a panic recovered from a task: a [Balancer] handler or a
// [Multiplexer] writer. It keeps the value passed to panic and the stack of
// the goroutine that panicked. The request (or the items) that panicked fail
// with it as their error, and Close re-panics with it on the owner's
// goroutine, so callers can recover it and use errors.As; if the panic value
// was an error, errors.Is and errors.As see through it.
type PanicError = panics.Error
