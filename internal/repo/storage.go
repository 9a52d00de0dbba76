package repo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/venvpkg/venvpkg/internal/atomicfile"
)

// Storage is where a published repository lives. Paths are slash-separated
// and relative to the repository root. Index generation and the publish
// transaction use only this interface, so an object store can hold a
// repository as well as a local directory.
type Storage interface {
	// Open opens the object at name; a missing object gives an error
	// wrapping fs.ErrNotExist.
	Open(ctx context.Context, name string) (io.ReadCloser, error)
	// Put stores the data read from r as name, replacing any object of that
	// name in one step: readers see the old object or the whole new one.
	Put(ctx context.Context, name string, r io.Reader) error
	// Rename moves from to to in one step, replacing to.
	Rename(ctx context.Context, from, to string) error
	// Remove deletes name; a missing object is not an error.
	Remove(ctx context.Context, name string) error
	// List returns the names of every object below the directory prefix
	// (all of them for ""), sorted.
	List(ctx context.Context, prefix string) ([]string, error)
	// Lock takes the repository's publish lock, waiting while another
	// publisher holds it, and returns the function that releases it.
	Lock(ctx context.Context) (unlock func() error, err error)
}

// LockName is the lock file of a Dir repository.
const LockName = ".venvpkg-publish.lock"

// Dir is a repository in a local directory, to be served by any web server.
// Files are written to a temp file in their directory, synced and renamed;
// directories are synced after renames. The lock is an flock(2) on LockName.
type Dir struct {
	Root string
	// noSync skips fsync, for tests that publish many times over.
	noSync bool
}

func (d Dir) path(name string) (string, error) {
	if name == "" || path.IsAbs(name) || path.Clean(name) != name || name == ".." || strings.HasPrefix(name, "../") {
		return "", fmt.Errorf("repository path %q is not a clean relative path", name)
	}
	return filepath.Join(d.Root, filepath.FromSlash(name)), nil
}

// Open implements Storage.
func (d Dir) Open(ctx context.Context, name string) (io.ReadCloser, error) {
	p, err := d.path(name)
	if err != nil {
		return nil, err
	}
	return os.Open(p)
}

// Put implements Storage.
func (d Dir) Put(ctx context.Context, name string, r io.Reader) (err error) {
	p, err := d.path(name)
	if err != nil {
		return err
	}
	dir := filepath.Dir(p)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := atomicfile.Create(p, 0o644)
	if err != nil {
		return err
	}
	defer f.Abort()
	f.NoSync = d.noSync
	if _, err := io.Copy(f, ctxReader{ctx, r}); err != nil {
		return fmt.Errorf("writing %s: %w", name, err)
	}
	return f.Commit()
}

// Rename implements Storage.
func (d Dir) Rename(ctx context.Context, from, to string) error {
	f, err := d.path(from)
	if err != nil {
		return err
	}
	t, err := d.path(to)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(t), 0o755); err != nil {
		return err
	}
	if err := os.Rename(f, t); err != nil {
		return err
	}
	return d.syncDir(filepath.Dir(t))
}

// Remove implements Storage. Directories left empty are removed too, up to
// the repository root.
func (d Dir) Remove(ctx context.Context, name string) error {
	p, err := d.path(name)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	root := filepath.Clean(d.Root)
	for dir := filepath.Dir(p); dir != root && strings.HasPrefix(dir, root+string(filepath.Separator)); dir = filepath.Dir(dir) {
		if os.Remove(dir) != nil {
			break // not empty, or gone
		}
	}
	return nil
}

// List implements Storage.
func (d Dir) List(ctx context.Context, prefix string) ([]string, error) {
	root := d.Root
	if prefix != "" {
		p, err := d.path(prefix)
		if err != nil {
			return nil, err
		}
		root = p
	}
	var names []string
	err := filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && p == root {
				return filepath.SkipAll
			}
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if e.Type().IsRegular() {
			rel, err := filepath.Rel(d.Root, p)
			if err != nil {
				return err
			}
			names = append(names, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("listing %s: %w", root, err)
	}
	sort.Strings(names)
	return names, nil
}

// Lock implements Storage.
func (d Dir) Lock(ctx context.Context) (func() error, error) {
	if err := os.MkdirAll(d.Root, 0o755); err != nil {
		return nil, fmt.Errorf("creating the repository directory: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(d.Root, LockName), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("opening the publish lock: %w", err)
	}
	// flock blocks without a way to cancel it; poll so ctx can stop the wait.
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			break
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("locking %s: %w", f.Name(), err)
		}
		if err := sleepCtx(ctx); err != nil {
			f.Close()
			return nil, fmt.Errorf("waiting for another publish to release %s: %w", f.Name(), err)
		}
	}
	return func() error {
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_UN); err != nil {
			f.Close()
			return fmt.Errorf("unlocking %s: %w", f.Name(), err)
		}
		return f.Close()
	}, nil
}

func (d Dir) syncDir(dir string) error {
	if d.noSync {
		return nil
	}
	return atomicfile.SyncDir(dir)
}

// ctxReader stops a copy when its context is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// sleepCtx waits a moment between attempts to take a lock.
func sleepCtx(ctx context.Context) error {
	t := time.NewTimer(50 * time.Millisecond)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
