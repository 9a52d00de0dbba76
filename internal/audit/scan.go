// Package audit checks a staged payload before it is packaged: no file may
// name a build path (the staging root or a temporary directory of the
// build), no symlink may dangle once the package is installed, and every
// shared library an ELF object needs (its DT_NEEDED entries, System V ABI
// "Dynamic Section") must come from the payload, the interpreter or a
// Debian package, which then becomes a dependency, as dpkg-shlibdeps(1)
// would compute it.
//
// Paths in reports are final paths: the path below the staging root with
// a leading "/", as the file will be named once installed.
package audit

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"

	"golang.org/x/sync/errgroup"
)

// maxListed is how many offending files an error names before it counts
// the rest.
const maxListed = 20

// Leak is one file that names a forbidden string.
type Leak struct {
	Path  string   // final path
	Found []string // forbidden strings it contains, in the order given to Scan
}

// LeakError reports the files of a payload that name build paths.
type LeakError struct {
	Leaks []Leak // sorted by Path
}

func (e *LeakError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d %s in the payload name build paths; the package must only refer to final paths (check shebangs, .pth files, RECORD, pyvenv.cfg and compiled files):",
		len(e.Leaks), plural(len(e.Leaks), "file", "files"))
	for i, l := range e.Leaks {
		if i == maxListed {
			fmt.Fprintf(&b, "\n  ... and %d more", len(e.Leaks)-maxListed)
			break
		}
		fmt.Fprintf(&b, "\n  %s contains %s", l.Path, strings.Join(quoteAll(l.Found), ", "))
	}
	return b.String()
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func quoteAll(ss []string) []string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = fmt.Sprintf("%q", s)
	}
	return q
}

// finalPath returns the final path of path below root.
func finalPath(root, path string) string {
	rel, err := filepath.Rel(root, path)
	if err != nil || rel == "." {
		return "/"
	}
	return "/" + filepath.ToSlash(rel)
}

// Scan searches every regular file and every symlink target below root for
// each forbidden byte string (the staging root, temp dirs of the build) and
// returns a *LeakError listing the files that contain any of them. Empty
// strings in forbidden are ignored. Files are streamed in chunks and
// scanned in parallel.
func Scan(root string, forbidden []string) error {
	return ScanTrees(root, forbidden, nil)
}

// ScanTrees is Scan, except that the files of each tree with a cache
// directory are read only the first time the tree is scanned for these
// forbidden strings: the result is kept in the tree's cache directory
// (see Tree).
func ScanTrees(root string, forbidden []string, trees []Tree) error {
	var needles [][]byte
	longest := 0
	for _, f := range forbidden {
		if f == "" || slices.ContainsFunc(needles, func(n []byte) bool { return string(n) == f }) {
			continue
		}
		needles = append(needles, []byte(f))
		longest = max(longest, len(f))
	}
	if len(needles) == 0 {
		return nil
	}
	kept, owner := keptTrees(trees, "scan", needles)
	var leaks []Leak
	for _, k := range kept {
		if k.done {
			if err := k.load(&k.leaks); err != nil {
				k.done = false // damaged: scan again
			}
		}
		if k.done {
			leaks = append(leaks, k.leaks...)
		}
	}

	type entry struct {
		path   string
		final  string
		target string // symlink target; "" for regular files
		link   bool
		tree   *keptTree
	}
	var entries []entry
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.Type().IsRegular() && d.Type()&fs.ModeSymlink == 0 {
			return nil
		}
		e := entry{path: path, final: finalPath(root, path)}
		if e.tree = owner[e.final]; e.tree != nil && e.tree.done {
			return nil
		}
		if d.Type()&fs.ModeSymlink != 0 {
			target, err := os.Readlink(path)
			if err != nil {
				return err
			}
			e.target, e.link = target, true
		}
		entries = append(entries, e)
		return nil
	})
	if err != nil {
		return fmt.Errorf("scanning payload %s for build paths: %w", root, err)
	}

	found := make([][]string, len(entries))
	var g errgroup.Group
	g.SetLimit(runtime.GOMAXPROCS(0))
	for i, e := range entries {
		if e.link {
			found[i] = containsAny([]byte(e.target), needles)
			continue
		}
		g.Go(func() error {
			f, err := scanFile(e.path, needles, longest)
			if err != nil {
				return fmt.Errorf("scanning %s for build paths: %w", e.final, err)
			}
			found[i] = f
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}

	for i, f := range found {
		if len(f) == 0 {
			continue
		}
		l := Leak{Path: entries[i].final, Found: f}
		leaks = append(leaks, l)
		if t := entries[i].tree; t != nil {
			t.leaks = append(t.leaks, l)
		}
	}
	for _, k := range kept {
		if !k.done {
			if err := k.save(k.leaks); err != nil {
				return fmt.Errorf("keeping the audit of %s: %w", k.dir, err)
			}
		}
	}
	if len(leaks) == 0 {
		return nil
	}
	slices.SortFunc(leaks, func(a, b Leak) int { return strings.Compare(a.Path, b.Path) })
	return &LeakError{Leaks: leaks}
}

// containsAny returns the needles found in data, in needle order.
func containsAny(data []byte, needles [][]byte) []string {
	var found []string
	for _, n := range needles {
		if bytes.Contains(data, n) {
			found = append(found, string(n))
		}
	}
	return found
}

const chunkSize = 256 << 10

// scanBuffers holds the read buffers of scanFile.
var scanBuffers = sync.Pool{New: func() any { return new([]byte) }}

// scanFile streams the file at path and returns the needles it contains.
// Consecutive chunks overlap by longest-1 bytes so that a needle spanning
// a chunk boundary is still seen.
func scanFile(path string, needles [][]byte, longest int) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	overlap := longest - 1
	// One buffer per file would zero 256 KiB for every small .py and .pyc:
	// most of the scan's time, before it was pooled.
	pooled := scanBuffers.Get().(*[]byte)
	defer scanBuffers.Put(pooled)
	if cap(*pooled) < overlap+chunkSize {
		*pooled = make([]byte, overlap+chunkSize)
	}
	buf := (*pooled)[:overlap+chunkSize]
	seen := make([]bool, len(needles))
	remaining := len(needles)
	kept := 0
	for remaining > 0 {
		n, err := io.ReadFull(f, buf[kept:])
		end := kept + n
		if n > 0 {
			window := buf[:end]
			for i, needle := range needles {
				if !seen[i] && bytes.Contains(window, needle) {
					seen[i] = true
					remaining--
				}
			}
			// Keep the tail that could start a needle ending in the next chunk.
			k := min(overlap, end)
			copy(buf, buf[end-k:end])
			kept = k
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			break
		}
		if err != nil {
			return nil, err
		}
	}
	var found []string
	for i, s := range seen {
		if s {
			found = append(found, string(needles[i]))
		}
	}
	return found, nil
}
