// Package atomicfile writes files that appear complete or not at all: the
// data goes to a temporary file in the destination's directory, which is
// flushed to disk (fsync), given its mode and renamed over the destination;
// the directory is then synced so the rename survives a crash. Every
// package, cache entry and repository file venvpkg writes goes through it.
package atomicfile

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// File is an output being written. Write to it, then Commit; Abort (safe
// to defer, a no-op after Commit) removes the temporary file.
type File struct {
	*os.File
	dst  string
	mode fs.FileMode
	done bool

	// NoSync skips the fsync of the file and its directory: for scratch
	// trees (tests) where durability costs time and buys nothing.
	NoSync bool
}

// Create starts writing dst with the given permission bits, creating its
// directory.
func Create(dst string, mode fs.FileMode) (*File, error) {
	dir := filepath.Dir(dst)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("creating %s: %w", dir, err)
	}
	return create(dir, "."+filepath.Base(dst)+".*.tmp", dst, mode)
}

// CreateTemp starts writing a file whose destination is known only when it
// is complete (a download named by its hash): the temporary file is made in
// dir, which must be on the destination's file system; CommitTo names the
// destination.
func CreateTemp(dir string, mode fs.FileMode) (*File, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("creating %s: %w", dir, err)
	}
	return create(dir, ".venvpkg-*.tmp", "", mode)
}

func create(dir, pattern, dst string, mode fs.FileMode) (*File, error) {
	f, err := os.CreateTemp(dir, pattern)
	if err != nil {
		return nil, fmt.Errorf("writing %s: %w", cmp.Or(dst, dir), err)
	}
	return &File{File: f, dst: dst, mode: mode}, nil
}

// Commit makes the file its destination.
func (f *File) Commit() error {
	if f.dst == "" {
		return errors.New("atomicfile: Commit of a file made by CreateTemp; use CommitTo")
	}
	return f.CommitTo(f.dst)
}

// CommitTo flushes, closes and renames the file to dst, creating dst's
// directory, and syncs that directory. On error the temporary file is
// removed.
func (f *File) CommitTo(dst string) (err error) {
	if f.done {
		return fmt.Errorf("writing %s: already committed or aborted", dst)
	}
	defer func() {
		if err != nil {
			f.Abort()
			err = fmt.Errorf("writing %s: %w", dst, err)
		}
	}()
	if err := f.Chmod(f.mode); err != nil {
		return err
	}
	if !f.NoSync {
		if err := f.Sync(); err != nil {
			return err
		}
	}
	if err := f.Close(); err != nil {
		return err
	}
	dir := filepath.Dir(dst)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := os.Rename(f.Name(), dst); err != nil {
		return err
	}
	f.done = true
	if f.NoSync {
		return nil
	}
	return SyncDir(dir)
}

// Abort closes and removes the temporary file unless it was committed.
func (f *File) Abort() {
	if f == nil || f.done {
		return
	}
	f.done = true
	_ = f.Close()
	_ = os.Remove(f.Name())
}

// WriteFile writes data to dst atomically with the given permission bits.
func WriteFile(dst string, data []byte, mode fs.FileMode) error {
	f, err := Create(dst, mode)
	if err != nil {
		return err
	}
	defer f.Abort()
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("writing %s: %w", dst, err)
	}
	return f.Commit()
}

// Copy writes the contents of r to dst atomically.
func Copy(dst string, r io.Reader, mode fs.FileMode) error {
	f, err := Create(dst, mode)
	if err != nil {
		return err
	}
	defer f.Abort()
	if _, err := io.Copy(f, r); err != nil {
		return fmt.Errorf("writing %s: %w", dst, err)
	}
	return f.Commit()
}

// SyncDir flushes a directory's entries (a rename into it) to disk.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
