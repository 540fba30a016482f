// Md5all prints the MD5 digest of every regular file under a directory,
// reading several files at once but never more than -workers: the bounded
// parallel digest of the Go blog's "Go Concurrency Patterns: Pipelines and
// cancellation", built with package pipeline.
//
// The blog's program has three stages, each hand-written with channels, a
// done channel and WaitGroups: walk the tree, digest the files on a fixed
// number of goroutines, collect the digests in a map. Here they are a
// pipeline.Generate source that walks the tree, a pipeline.Map stage with
// -workers goroutines and pipeline.Collect; the scope does the rest. The
// first error (an unreadable file) cancels the walk and the digesters, and
// no goroutine outlives the call.
//
// It prints one line per file in the format of md5sum, sorted by path,
// then a summary:
//
//	$ go run ./examples/md5all -workers=4 ./pipeline
//	155b89bf3ca90b7135ed36c9aa52e735  batch.go
//	de96db2eaca720e6bb7768e478019da9  bench_test.go
//	...
//	6cd974e671a2e34255b20bdf9785fce9  stream.go
//	c704ce9a0a158e9ff28c99ced565047d  transform.go
//	13 files, 88899 bytes, 4 digesters
//
// Run it with
//
//	go run ./examples/md5all [-workers=n] [dir]
package main

import (
	"context"
	"crypto/md5"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"slices"
	"strings"

	"github.com/go-compendium/compendium/pipeline"
)

// config is what the flags and argument set.
type config struct {
	root    string // the directory to walk
	workers int    // files read at once
}

func main() {
	var cfg config
	flag.IntVar(&cfg.workers, "workers", 4, "files digested at once")
	flag.Usage = func() {
		fmt.Fprintln(flag.CommandLine.Output(), "usage: md5all [-workers=n] [dir]")
		flag.PrintDefaults()
	}
	flag.Parse()
	switch flag.NArg() {
	case 0:
		cfg.root = "."
	case 1:
		cfg.root = flag.Arg(0)
	default:
		flag.Usage()
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Stdout, cfg); err != nil {
		fmt.Fprintln(os.Stderr, "md5all:", err)
		os.Exit(1)
	}
}

// digest is one file's result.
type digest struct {
	path string // relative to the root, slash-separated (an fs.FS path)
	sum  [md5.Size]byte
	size int64
}

// run digests every regular file under cfg.root and prints the sums,
// sorted by path, then a summary line.
func run(ctx context.Context, w io.Writer, cfg config) error {
	if cfg.workers < 1 {
		return fmt.Errorf("need at least one worker, got %d", cfg.workers)
	}
	digests, err := md5All(ctx, os.DirFS(cfg.root), cfg.workers)
	if err != nil {
		return err
	}
	slices.SortFunc(digests, func(a, b digest) int { return strings.Compare(a.path, b.path) })
	var total int64
	for _, d := range digests {
		total += d.size
		if _, err := fmt.Fprintf(w, "%x  %s\n", d.sum, d.path); err != nil {
			return err
		}
	}
	_, err = fmt.Fprintf(w, "%d files, %d bytes, %d digesters\n", len(digests), total, cfg.workers)
	return err
}

// md5All is the blog's MD5All: the digests of every regular file in fsys,
// computed by at most workers goroutines at once.
func md5All(ctx context.Context, fsys fs.FS, workers int) ([]digest, error) {
	p := pipeline.New(ctx)

	// Stage 1: walk the tree, emitting the path of each regular file. When
	// the scope is cancelled yield returns false and the walk stops.
	paths := pipeline.Generate(p, func(ctx context.Context, yield func(string) bool) error {
		return fs.WalkDir(fsys, ".", func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.Type().IsRegular() {
				return nil // directories, symlinks, devices
			}
			if !yield(path) {
				return fs.SkipAll
			}
			return nil
		})
	})

	// Stage 2: the bounded digesters. Map runs exactly workers goroutines,
	// so at most workers files are open at once however big the tree.
	sums := pipeline.Map(paths, workers, func(ctx context.Context, path string) (digest, error) {
		return sumFile(fsys, path)
	})

	// Stage 3: collect. Collect waits for the scope, so its error is the
	// first error of any stage.
	return pipeline.Collect(sums)
}

// sumFile digests one file, streaming it through the hash rather than
// reading it whole as the blog does, so a big file costs no big buffer.
func sumFile(fsys fs.FS, path string) (digest, error) {
	f, err := fsys.Open(path)
	if err != nil {
		return digest{}, err
	}
	defer f.Close()
	h := md5.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return digest{}, fmt.Errorf("%s: %w", path, err)
	}
	d := digest{path: path, size: n}
	h.Sum(d.sum[:0])
	return d, nil
}
