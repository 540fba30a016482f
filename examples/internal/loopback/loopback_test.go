package loopback_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/go-compendium/compendium/examples/internal/loopback"
	"github.com/stretchr/testify/assert"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestGet checks that Get succeeds on 200 OK, fails on any other status
// and on a cancelled context, and that closing the client's idle
// connections and the server leaves nothing running.
func TestGet(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/missing" {
			http.NotFound(w, r)
			return
		}
		loopback.Serve(w, r, time.Microsecond)
	}))
	defer srv.Close()
	client, closeIdle := loopback.NewClient(1)
	defer closeIdle()

	ctx := context.Background()
	assert.NoError(t, loopback.Get(ctx, client, srv.URL))
	assert.ErrorContains(t, loopback.Get(ctx, client, srv.URL+"/missing"), "404")
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	assert.ErrorIs(t, loopback.Get(canceled, client, srv.URL), context.Canceled)
}
