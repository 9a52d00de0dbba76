package treecache

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"syscall"

	"github.com/venvpkg/venvpkg/internal/atomicfile"
)

// Stage is a staging root kept between the builds of one project, so a
// warm build does not link every unchanged tree into a new directory
// (one mkdir per directory and one link per file, then as many removals)
// only to take them apart again. A stage holds, after Prepare, exactly
// what a new root holds after linking the same trees: the files of the
// trees that are wanted again stay, everything else the last build put
// there (the virtualenv's own files, the project, the trees no longer
// wanted) is removed, and the directories that end up empty go too.
//
// The stage is trusted only as the last build that finished left it:
// Prepare marks it in use, and only Save, at the end of a build that
// succeeded, records what it holds and clears the mark. A build that
// failed or was killed leaves the mark, and the next one starts from an
// empty root. One build at a time uses a stage (an flock); another one
// gets no stage and stages into a new directory as before.
type Stage struct {
	c    *Cache
	dir  string
	lock *os.File
	prev stageManifest
	kept map[Key]bool
}

// stageManifest is what a finished build left in the stage: the trees
// linked and every other file or symlink, relative to the root.
type stageManifest struct {
	Version string   `json:"version"`
	Trees   []Key    `json:"trees"`
	Others  []string `json:"others"`
}

const stageVersion = "venvpkg-stage 1"

// OpenStage opens the stage in dir, or returns nil when another build
// holds it.
func (c *Cache) OpenStage(dir string) (*Stage, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("stage: %w", err)
	}
	lock, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("stage: %w", err)
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		lock.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, nil
		}
		return nil, fmt.Errorf("stage: locking %s: %w", dir, err)
	}
	s := &Stage{c: c, dir: dir, lock: lock, kept: map[Key]bool{}}
	data, err := os.ReadFile(s.manifestPath())
	_, dirty := os.Stat(s.dirtyPath())
	if err != nil || dirty == nil || json.Unmarshal(data, &s.prev) != nil || s.prev.Version != stageVersion {
		s.prev = stageManifest{}
		if err := os.RemoveAll(s.Root()); err != nil {
			s.Close()
			return nil, fmt.Errorf("stage: emptying %s: %w", s.Root(), err)
		}
	}
	return s, nil
}

// Root is the staging root.
func (s *Stage) Root() string { return filepath.Join(s.dir, "root") }

func (s *Stage) manifestPath() string { return filepath.Join(s.dir, "manifest.json") }
func (s *Stage) dirtyPath() string    { return filepath.Join(s.dir, "in-use") }

// Close releases the stage.
func (s *Stage) Close() {
	if s != nil && s.lock != nil {
		s.lock.Close()
		s.lock = nil
	}
}

// Prepare marks the stage in use and removes from its root everything
// but the trees of wanted the last build linked too; Has then says which
// trees are there already.
func (s *Stage) Prepare(ctx context.Context, wanted []Key) error {
	if err := atomicfile.WriteFile(s.dirtyPath(), nil, 0o644); err != nil {
		return fmt.Errorf("stage: %w", err)
	}
	want := map[Key]bool{}
	for _, k := range wanted {
		want[k] = true
	}
	root := s.Root()
	var gone []string
	for _, k := range s.prev.Trees {
		if want[k] {
			continue
		}
		e, err := s.c.Lookup(k)
		if err != nil || e == nil {
			// The tree's files are not known any more: start afresh.
			return s.empty()
		}
		files, err := e.files()
		if err != nil {
			return s.empty()
		}
		gone = append(gone, files...)
	}
	gone = append(gone, s.prev.Others...)
	dirs := map[string]bool{}
	for _, rel := range gone {
		if err := ctx.Err(); err != nil {
			return err
		}
		p := filepath.Join(root, filepath.FromSlash(rel))
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("stage: %w", err)
		}
		for d := filepath.Dir(p); d != root && strings.HasPrefix(d, root); d = filepath.Dir(d) {
			dirs[d] = true
		}
	}
	// The deepest directories first: a parent empties once its children
	// are gone.
	byDepth := slices.Collect(maps.Keys(dirs))
	sort.Slice(byDepth, func(i, j int) bool {
		ni, nj := strings.Count(byDepth[i], string(filepath.Separator)), strings.Count(byDepth[j], string(filepath.Separator))
		return ni > nj || ni == nj && byDepth[i] < byDepth[j]
	})
	for _, d := range byDepth {
		if err := os.Remove(d); err != nil && !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.ENOTEMPTY) && !errors.Is(err, syscall.EEXIST) {
			return fmt.Errorf("stage: %w", err)
		}
	}
	for _, k := range s.prev.Trees {
		if want[k] {
			s.kept[k] = true
		}
	}
	return nil
}

// empty removes the whole root: nothing in it is kept.
func (s *Stage) empty() error {
	s.prev = stageManifest{}
	clear(s.kept)
	if err := os.RemoveAll(s.Root()); err != nil {
		return fmt.Errorf("stage: emptying %s: %w", s.Root(), err)
	}
	return nil
}

// Has reports whether the tree of k is in the root already.
func (s *Stage) Has(k Key) bool { return s != nil && s.kept[k] }

// Save records, at the end of a build that succeeded, that the root holds
// the given trees, whose files are treeFiles (relative to the root, with
// slashes), and whatever else it holds now; the next build may then keep
// the trees it wants again.
func (s *Stage) Save(trees []Key, treeFiles map[string]bool) error {
	m := stageManifest{Version: stageVersion, Trees: slices.Clone(trees)}
	root := s.Root()
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel := filepath.ToSlash(p[len(root)+1:])
		if !treeFiles[rel] {
			m.Others = append(m.Others, rel)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("stage: %w", err)
	}
	data, err := json.Marshal(m)
	if err != nil {
		return err
	}
	if err := atomicfile.WriteFile(s.manifestPath(), data, 0o644); err != nil {
		return fmt.Errorf("stage: %w", err)
	}
	if err := os.Remove(s.dirtyPath()); err != nil {
		return fmt.Errorf("stage: %w", err)
	}
	return nil
}

// files lists the entry's files and symlinks, relative to the root, with
// slashes.
func (e *Entry) files() ([]string, error) {
	tree := filepath.Join(e.dir, "tree")
	var out []string
	err := filepath.WalkDir(tree, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		out = append(out, filepath.ToSlash(p[len(tree)+1:]))
		return nil
	})
	return out, err
}
