package debarchive

import (
	"archive/tar"
	"cmp"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"time"

	"github.com/venvpkg/venvpkg/internal/atomicfile"
)

// Type is the kind of a payload entry.
type Type int

const (
	Dir Type = iota
	File
	Symlink
)

// Entry is one member of data.tar.
type Entry struct {
	Path string      // final absolute path, clean ("/opt/venvs/app/bin/app")
	Type Type        // Dir, File or Symlink
	Mode fs.FileMode // permission bits; symlinks are always 0777
	// Size is the size of a regular file; the file must still have it
	// when it is read.
	Size int64
	// Source is the file on disk holding a regular file's bytes; when it
	// is empty, Data holds them.
	Source string
	Data   []byte
	Link   string // a symlink's target
	// Owner and Group name the owner; empty means root. dpkg resolves the
	// names on the target host.
	Owner, Group string
}

// Part is a run of consecutive data.tar entries that is compressed on
// its own: its bytes never depend on what comes before or after it, so
// a cached part is reused as it is. Which parts a package has, and their
// order, is decided by the caller and is part of the package's format:
// the output is the same whether a part came from the cache or not.
type Part struct {
	// Name names the part in errors ("attrs-22.2.0", "the virtualenv").
	Name string
	// Entries in archive order; a directory must come before what it
	// holds (in this part or an earlier one).
	Entries []Entry
	// MTime is every entry's modification time.
	MTime time.Time
	// CacheDir, when set, keeps the part's md5sums and installed size, so
	// a later package with the same part (same entries and sizes) reads
	// its files only to compress them. The directory is created on first
	// use.
	// The caller promises that a file's bytes do not change while its
	// path and size stay the same (the files of a cached tree never do).
	CacheDir string
}

// formatVersion changes whenever what a part's cache holds changes.
const formatVersion = "venvpkg-debarchive 1"

// tarHeader is the header of e, as dpkg-deb writes it: "./"-relative
// names, directories ending in "/", GNU format.
func tarHeader(e *Entry, mtime time.Time) (*tar.Header, error) {
	if !path.IsAbs(e.Path) || path.Clean(e.Path) != e.Path || e.Path == "/" {
		return nil, fmt.Errorf("payload path %q is not a clean absolute path", e.Path)
	}
	h := &tar.Header{
		Name:    "." + e.Path,
		Mode:    int64(e.Mode.Perm()),
		Uname:   cmp.Or(e.Owner, "root"),
		Gname:   cmp.Or(e.Group, "root"),
		ModTime: mtime,
		Format:  tar.FormatGNU,
	}
	switch e.Type {
	case Dir:
		h.Typeflag = tar.TypeDir
		h.Name += "/"
	case File:
		h.Typeflag = tar.TypeReg
		h.Size = e.Size
		if e.Source == "" && int64(len(e.Data)) != e.Size {
			return nil, fmt.Errorf("%s: %d bytes of data for a size of %d", e.Path, len(e.Data), e.Size)
		}
	case Symlink:
		h.Typeflag = tar.TypeSymlink
		h.Linkname = e.Link
		h.Mode = 0o777
	default:
		return nil, fmt.Errorf("%s: unknown entry type %d", e.Path, e.Type)
	}
	return h, nil
}

// partKey names a part's cache files: everything its bytes depend on
// except the content of its files (see Part.CacheDir).
func partKey(p *Part) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\n", formatVersion)
	for _, e := range p.Entries {
		fmt.Fprintf(h, "%d %q %o %d %q %q %q\n", e.Type, e.Path, e.Mode.Perm(), e.Size, e.Link, e.Owner, e.Group)
		if e.Source == "" && e.Type == File {
			d := sha256.Sum256(e.Data)
			h.Write(d[:])
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

// partSums is what a part contributes to the control member.
type partSums struct {
	MD5Sums      string // lines of md5sums, in entry order
	InstalledKiB int64  // Installed-Size of the part's entries
}

// encodePart writes p's entries to w as tar members, without the
// end-of-archive blocks, and returns its md5sums (when hashed) and
// installed size.
func encodePart(p *Part, w io.Writer, stop func() error, hashed bool) (partSums, error) {
	var sums partSums
	var lines []byte
	tw := tar.NewWriter(w)
	buf := make([]byte, 256<<10)
	for i := range p.Entries {
		e := &p.Entries[i]
		if err := stop(); err != nil {
			return sums, err
		}
		h, err := tarHeader(e, p.MTime)
		if err != nil {
			return sums, err
		}
		if err := tw.WriteHeader(h); err != nil {
			return sums, fmt.Errorf("%s: %w", e.Path, err)
		}
		if e.Type != File {
			sums.InstalledKiB++
			continue
		}
		sums.InstalledKiB += (e.Size + 1023) / 1024
		var dst io.Writer = tw
		sum := md5.New()
		if hashed {
			dst = io.MultiWriter(tw, sum)
		}
		if e.Source == "" {
			if _, err := dst.Write(e.Data); err != nil {
				return sums, fmt.Errorf("%s: %w", e.Path, err)
			}
		} else if err := copyFile(dst, e, buf); err != nil {
			return sums, err
		}
		if !hashed {
			continue
		}
		lines = hex.AppendEncode(lines, sum.Sum(nil))
		lines = append(lines, "  "...)
		lines = append(lines, e.Path[1:]...)
		lines = append(lines, '\n')
	}
	if err := tw.Flush(); err != nil {
		return sums, err
	}
	sums.MD5Sums = string(lines)
	return sums, nil
}

// copyFile copies exactly e.Size bytes of e.Source to w.
func copyFile(w io.Writer, e *Entry, buf []byte) error {
	f, err := os.Open(e.Source)
	if err != nil {
		return fmt.Errorf("%s: %w", e.Path, err)
	}
	defer f.Close()
	n, err := io.CopyBuffer(w, io.LimitReader(f, e.Size), buf)
	if err != nil {
		return fmt.Errorf("%s: reading %s: %w", e.Path, e.Source, err)
	}
	var one [1]byte
	if m, _ := f.Read(one[:]); n != e.Size || m != 0 {
		return fmt.Errorf("%s: %s changed size while it was packaged (%d bytes, want %d)", e.Path, e.Source, n, e.Size)
	}
	return nil
}

// cachedSums returns the sums of the part key when dir holds them.
func cachedSums(dir, key string) (partSums, bool) {
	var sums partSums
	data, err := os.ReadFile(filepath.Join(dir, key+".json"))
	if err != nil || json.Unmarshal(data, &sums) != nil {
		return sums, false
	}
	return sums, true
}

// saveSums records the sums of the part key in dir, atomically.
func saveSums(dir, key string, sums partSums) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	data, err := json.Marshal(sums)
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(filepath.Join(dir, key+".json"), data, 0o644)
}
