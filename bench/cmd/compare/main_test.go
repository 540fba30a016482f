package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/go-compendium/compendium/internal/benchmarks"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fake is a pattern whose two implementations do measurably different work,
// so the tables have something real to compare.
func fake() []benchmarks.Pattern {
	var n atomic.Int64
	return []benchmarks.Pattern{{
		Pkg: "fake", Name: "Add", Doc: "adds to a counter.", Ours: []string{"atomic"},
		Cases: []benchmarks.Case{
			{Name: "k=1/impl=atomic", F: func(b *testing.B) {
				b.ReportAllocs()
				for range b.N {
					n.Add(1)
				}
			}},
			{Name: "k=1/impl=alloc", F: func(b *testing.B) {
				b.ReportAllocs()
				for range b.N {
					p := new([64]byte)
					n.Add(int64(p[0]) + 1)
				}
				b.ReportMetric(1, "things/op")
			}},
		},
	}}
}

func TestFormats(t *testing.T) {
	cases := []struct {
		format string
		want   []string
	}{
		{"text", []string{"fake.Add: adds to a counter.", "atomic (ours)", "alloc", "things/op", "1.00x"}},
		{"markdown", []string{"## fake.Add", "| case | impl | ns/op | B/op | allocs/op | things/op | vs ours |", "**atomic (ours)**"}},
		{"bench", []string{"pkg: github.com/go-compendium/compendium/fake", "BenchmarkAdd/k=1/impl=atomic", "allocs/op", "1 things/op"}},
	}
	for _, c := range cases {
		t.Run(c.format, func(t *testing.T) {
			var out, progress bytes.Buffer
			err := do(&out, &progress, fake(), options{benchtime: "100x", count: 2, format: c.format})
			require.NoError(t, err)
			for _, w := range c.want {
				assert.Contains(t, out.String(), w)
			}
			assert.Contains(t, progress.String(), "[2/2] fake.Add/k=1/impl=alloc")
		})
	}
}

func TestBenchFormatRepeatsCount(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, do(&out, &bytes.Buffer{}, fake(), options{benchtime: "10x", count: 3, format: "bench"}))
	assert.Equal(t, 3, strings.Count(out.String(), "BenchmarkAdd/k=1/impl=atomic"), "one line per run, for benchstat")
}

func TestRunFilterAndList(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, do(&out, &bytes.Buffer{}, fake(), options{run: "impl=alloc", benchtime: "1x", count: 1, format: "text", list: true}))
	assert.Equal(t, "fake.Add/k=1/impl=alloc\n", out.String())
}

func TestBadFlags(t *testing.T) {
	cases := []struct {
		name string
		o    options
		want string
	}{
		{"count", options{count: 0, format: "text", benchtime: "1x"}, "-count must be at least 1, got 0"},
		{"format", options{count: 1, format: "csv", benchtime: "1x"}, `-format must be text, markdown or bench, got "csv"`},
		{"run", options{count: 1, format: "text", benchtime: "1x", run: "("}, "-run"},
		{"nomatch", options{count: 1, format: "text", benchtime: "1x", run: "nothing"}, "no case matches"},
		{"benchtime", options{count: 1, format: "text", benchtime: "soon"}, "-benchtime"},
		{"argument", options{count: 1, format: "text", benchtime: "1x", args: []string{"bench"}}, `unexpected argument "bench"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var progress bytes.Buffer
			err := do(&bytes.Buffer{}, &progress, fake(), c.o)
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.want)
			assert.Empty(t, progress.String(), "a bad flag fails before anything runs")
		})
	}
}

func TestEmbedSummary(t *testing.T) {
	path := filepath.Join(t.TempDir(), "README.md")
	before := "# title\n\n" + beginMarker + "\nold table\n" + endMarker + "\n\nafter\n"
	require.NoError(t, os.WriteFile(path, []byte(before), 0o644))

	require.NoError(t, do(&bytes.Buffer{}, &bytes.Buffer{}, fake(), options{benchtime: "10x", count: 1, format: "text", embed: path}))
	got, err := os.ReadFile(path)
	require.NoError(t, err)
	s := string(got)
	assert.NotContains(t, s, "old table")
	assert.True(t, strings.HasPrefix(s, "# title\n\n"+beginMarker+"\n"), "text before the block is kept")
	assert.True(t, strings.HasSuffix(s, endMarker+"\n\nafter\n"), "text after the block is kept")
	assert.Contains(t, s, "| fake.Add | k=1 | atomic ")
	assert.Regexp(t, `\| alloc [0-9.]+ \([0-9.]+x\) \|`, s, "the alternative with its multiple of ours")
}

func TestEmbedWithoutMarkersFailsBeforeRunning(t *testing.T) {
	path := filepath.Join(t.TempDir(), "README.md")
	require.NoError(t, os.WriteFile(path, []byte("no markers\n"), 0o644))
	var progress bytes.Buffer
	err := do(&bytes.Buffer{}, &progress, fake(), options{benchtime: "10x", count: 1, format: "text", embed: path})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "no "+beginMarker)
	assert.Empty(t, progress.String(), "nothing ran")
}

// TestSummaryRatioWhateverTheOrder: an alternative listed before ours still
// gets its multiple of ours.
func TestSummaryRatioWhateverTheOrder(t *testing.T) {
	p := fake()
	slices.Reverse(p[0].Cases)
	path := filepath.Join(t.TempDir(), "README.md")
	require.NoError(t, os.WriteFile(path, []byte(beginMarker+"\n"+endMarker+"\n"), 0o644))
	require.NoError(t, do(&bytes.Buffer{}, &bytes.Buffer{}, p, options{benchtime: "10x", count: 1, format: "text", embed: path}))
	got, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Regexp(t, `\| alloc [0-9.]+ \([0-9.]+x\) \|`, string(got))
}

// TestFailedCase: a case that fails (b.Fatal) shows as failed in the
// tables, has no line in the bench format (benchstat would read a zero as
// a measurement) and no ratio, and the other cases still run and compare.
func TestFailedCase(t *testing.T) {
	p := fake()
	p[0].Cases = append(p[0].Cases, benchmarks.Case{Name: "k=1/impl=broken", F: func(b *testing.B) { b.Fatal("broken") }})
	for _, tc := range []struct {
		format string
		want   *regexp.Regexp
	}{
		{"text", regexp.MustCompile(`k=1\s+broken\s+failed`)},
		{"markdown", regexp.MustCompile(`\| k=1 \| broken \| failed \|`)},
	} {
		var out bytes.Buffer
		require.NoError(t, do(&out, &bytes.Buffer{}, p, options{benchtime: "10x", count: 1, format: tc.format}))
		assert.Regexp(t, tc.want, out.String(), tc.format)
		assert.Contains(t, out.String(), "1.00x", "%s: the others still compare", tc.format)
	}
	var out bytes.Buffer
	require.NoError(t, do(&out, &bytes.Buffer{}, p, options{benchtime: "10x", count: 1, format: "bench"}))
	assert.NotContains(t, out.String(), "impl=broken")
	assert.Contains(t, out.String(), "impl=alloc")
}
