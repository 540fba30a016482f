// Package extest holds the checks that the example programs' tests share.
package extest

import (
	"bytes"
	"context"
	"io"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
)

// Rejects checks that run returns an error, and prints nothing, for each
// configuration made by applying one of edits to a copy of good: a
// program refuses settings it cannot use rather than printing an empty
// or misleading table. Each edit runs as a subtest named by its key.
func Rejects[C any](t *testing.T, run func(context.Context, io.Writer, C) error, good C, edits map[string]func(*C)) {
	t.Helper()
	names := make([]string, 0, len(edits))
	for name := range edits {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			cfg := good
			edits[name](&cfg)
			var out bytes.Buffer
			assert.Error(t, run(context.Background(), &out, cfg))
			assert.Empty(t, out.String())
		})
	}
}
