// Package loopback holds the HTTP plumbing shared by the example programs
// that measure servers on loopback: a client whose connections can be
// closed, a request that reads its whole answer, and a handler's wait.
package loopback

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"
)

// NewClient returns a client with a transport of its own, keeping up to
// conns idle connections per server, and a function that closes them.
// Call it before closing the servers, so that no connection goroutine
// outlives the program's run (the default transport's would).
func NewClient(conns int) (*http.Client, func()) {
	tr := &http.Transport{MaxIdleConnsPerHost: conns}
	return &http.Client{Transport: tr}, tr.CloseIdleConnections
}

// Get makes a GET request and reads the whole answer, so that the
// connection can be reused. An answer other than 200 OK is an error.
func Get(ctx context.Context, client *http.Client, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: unexpected status %s", url, resp.Status)
	}
	return nil
}

// Serve waits d, as a handler doing work would, then answers "ok"; if the
// client goes away first (a cancelled request, a hedge's loser) it returns
// at once without answering.
func Serve(w http.ResponseWriter, r *http.Request, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		io.WriteString(w, "ok")
	case <-r.Context().Done():
	}
}
