package scenario

import (
	"bytes"
	"compress/flate"
	"fmt"
	"io"
	"sync"

	"github.com/go-compendium/compendium/pool"
)

// Buffers is where a request's buffer comes from and goes back to. A
// *pool.Recycler[*[]byte] and a *pool.AgingRecycler[*[]byte] are Buffers,
// and so are [SyncPoolBuffers] and [FreshBuffers].
type Buffers interface {
	Get() *[]byte
	Put(*[]byte)
}

// NewBuffer returns a new buffer of size bytes, the newFn of every Buffers
// in the request-path scenario.
func NewBuffer(size int) func() *[]byte {
	if size < 1 {
		panic(fmt.Sprintf("scenario: buffer size must be at least 1, got %d", size))
	}
	return func() *[]byte {
		b := make([]byte, size)
		return &b
	}
}

// SyncPoolBuffers keeps buffers in a sync.Pool, which lets the garbage
// collector free idle ones: after a collection, Gets allocate again.
type SyncPoolBuffers struct{ p sync.Pool }

// NewSyncPoolBuffers returns a sync.Pool of buffers of size bytes.
func NewSyncPoolBuffers(size int) *SyncPoolBuffers {
	newFn := NewBuffer(size)
	return &SyncPoolBuffers{p: sync.Pool{New: func() any { return newFn() }}}
}

// Get returns an idle buffer or a new one.
func (s *SyncPoolBuffers) Get() *[]byte { return s.p.Get().(*[]byte) }

// Put offers b for reuse.
func (s *SyncPoolBuffers) Put(b *[]byte) { s.p.Put(b) }

// FreshBuffers allocates a buffer for every Get and drops it on Put,
// leaving the garbage collector to free it.
type FreshBuffers struct{ newFn func() *[]byte }

// NewFreshBuffers returns Buffers that allocate size bytes per Get.
func NewFreshBuffers(size int) FreshBuffers { return FreshBuffers{NewBuffer(size)} }

// Get returns a new buffer.
func (f FreshBuffers) Get() *[]byte { return f.newFn() }

// Put drops b.
func (FreshBuffers) Put(*[]byte) {}

// Proxy is the request path of Cloudflare's Railgun, as John Graham-Cumming
// describes it in "Recycling memory buffers in Go": read a request body
// through a buffer, compress it, write the result on. Only the buffers'
// source varies; the flate.Writers, which cost about 1 MB each to make and
// would otherwise dominate, come from one pool.Recycler for every source, so
// that they survive garbage collections whatever the buffers do.
//
// A Proxy is safe for concurrent use.
type Proxy struct {
	bufs Buffers
	zs   *pool.Recycler[flate.Writer]
}

// NewProxy returns a Proxy whose buffers come from bufs, for up to
// concurrency requests at once. It makes a flate.Writer (at
// flate.BestSpeed, a proxy's choice) for each of them now, so that a
// benchmark does not time their making, and keeps twice as many idle.
func NewProxy(bufs Buffers, concurrency int) *Proxy {
	if concurrency < 1 {
		panic(fmt.Sprintf("scenario: concurrency must be at least 1, got %d", concurrency))
	}
	p := &Proxy{
		bufs: bufs,
		// Twice the concurrency: a Get that races a Put on another shard
		// can miss and make a writer, and the spare room keeps it.
		zs: pool.NewRecycler(2*concurrency, func() *flate.Writer {
			// NewWriter fails only for a bad level.
			zw, _ := flate.NewWriter(io.Discard, flate.BestSpeed)
			return zw
		}),
	}
	zws := make([]*flate.Writer, concurrency)
	for i := range zws {
		zws[i] = p.zs.Get()
	}
	for _, zw := range zws {
		p.zs.Put(zw)
	}
	return p
}

// Handle reads body through a buffer and writes it, compressed with flate,
// to out.
//
// body is a *bytes.Reader rather than an io.Reader so that a caller's
// reader can stay on its stack: the benchmark counts allocations per
// request, and an interface would add one that no buffer source causes.
func (p *Proxy) Handle(body *bytes.Reader, out io.Writer) error {
	bp := p.bufs.Get()
	defer p.bufs.Put(bp)
	zw := p.zs.Get()
	defer p.zs.Put(zw)
	zw.Reset(out)
	buf := *bp
	for {
		n, err := body.Read(buf)
		if n > 0 {
			if _, err := zw.Write(buf[:n]); err != nil {
				return err
			}
		}
		if err == io.EOF {
			return zw.Close()
		}
		if err != nil {
			return err
		}
	}
}

// RequestBody returns size bytes of HTML-like text that compresses about as
// well as a web page does (to roughly a fifth), the same for every call.
func RequestBody(size int) []byte {
	var b bytes.Buffer
	for i := 0; b.Len() < size; i++ {
		fmt.Fprintf(&b, "<li class=\"row-%d\"><a href=\"/item/%d\">item %d</a> costs %d.%02d</li>\n", i%7, i, i*7919%10007, i*31%997, i%100)
	}
	return b.Bytes()[:size]
}
