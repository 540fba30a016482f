package main

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// writeTree writes files of varied sizes in nested directories under dir
// and returns their contents by slash-separated path.
func writeTree(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	for i := range 40 {
		rel := fmt.Sprintf("d%d/e%d/f%02d.txt", i%3, i%5, i)
		if i%7 == 0 {
			rel = fmt.Sprintf("top%02d", i) // some at the root
		}
		content := bytes.Repeat([]byte(fmt.Sprintf("file %d;", i)), i*37) // i=0 is empty
		path := filepath.Join(dir, filepath.FromSlash(rel))
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, content, 0o644))
		files[rel] = content
	}
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "empty", "dir"), 0o755))
	return files
}

// TestRun digests a tree written for the test and checks every line
// against crypto/md5 of what was written: every file once, in path
// order, then the summary.
func TestRun(t *testing.T) {
	dir := t.TempDir()
	files := writeTree(t, dir)
	for _, workers := range []int{1, 4} {
		t.Run(fmt.Sprintf("workers=%d", workers), func(t *testing.T) {
			var out bytes.Buffer
			require.NoError(t, run(context.Background(), &out, config{root: dir, workers: workers}))
			lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
			require.Len(t, lines, len(files)+1)

			var total int
			var paths []string
			for _, line := range lines[:len(files)] {
				sum, path, ok := strings.Cut(line, "  ")
				require.True(t, ok, "line %q", line)
				content, known := files[path]
				require.True(t, known, "unexpected path %q", path)
				want := md5.Sum(content)
				assert.Equal(t, hex.EncodeToString(want[:]), sum, "digest of %s", path)
				total += len(content)
				paths = append(paths, path)
			}
			assert.True(t, slices.IsSorted(paths), "lines sorted by path")
			assert.Len(t, slices.Compact(paths), len(files), "every file once")
			assert.Equal(t, fmt.Sprintf("%d files, %d bytes, %d digesters", len(files), total, workers), lines[len(files)])
		})
	}
}

// TestRunEmpty digests an empty directory: no lines but the summary.
func TestRunEmpty(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, run(context.Background(), &out, config{root: t.TempDir(), workers: 2}))
	assert.Equal(t, "0 files, 0 bytes, 2 digesters\n", out.String())
}

// failingFS is a file system whose Open fails for one name.
type failingFS struct {
	fs.FS
	bad string
}

var errBroken = errors.New("disk on fire")

func (f failingFS) Open(name string) (fs.File, error) {
	if name == f.bad {
		return nil, &fs.PathError{Op: "open", Path: name, Err: errBroken}
	}
	return f.FS.Open(name)
}

// TestMD5AllFileError checks that a file that cannot be read fails the
// whole digest with its error, cancelling the walk and the other
// digesters (goleak checks that none is left).
func TestMD5AllFileError(t *testing.T) {
	dir := t.TempDir()
	files := writeTree(t, dir)
	const bad = "d1/e1/f01.txt"
	require.Contains(t, files, bad)
	for _, workers := range []int{1, 4} {
		_, err := md5All(context.Background(), failingFS{os.DirFS(dir), bad}, workers)
		assert.ErrorIs(t, err, errBroken, "workers=%d", workers)
	}
}

// TestRunErrors checks that a missing root, a cancelled context and a bad
// worker count each stop the program with an error before it prints
// anything, leaving no goroutine behind.
func TestRunErrors(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir)
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	cases := []struct {
		name string
		ctx  context.Context
		cfg  config
	}{
		{"missing root", context.Background(), config{root: filepath.Join(t.TempDir(), "nope"), workers: 2}},
		{"canceled", canceled, config{root: dir, workers: 2}},
		{"no workers", context.Background(), config{root: dir, workers: 0}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			assert.Error(t, run(tc.ctx, &out, tc.cfg))
			assert.Empty(t, out.String())
		})
	}
}
