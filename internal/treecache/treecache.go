// Package treecache keeps the installed and byte-compiled tree of each
// wheel, so that a rebuild reuses it instead of installing and compiling
// the wheel again: a warm build only redoes the project's own wheel.
//
// An entry is keyed by everything that decides its bytes: the sha256 of the
// wheel, the target interpreter (path, version, cache tag and the size and
// time of its binary, so an upgraded interpreter misses), the virtualenv's
// final prefix and install scheme, the shebang interpreter, whether
// bytecode is compiled, and the sha256 of the running venvpkg executable
// (so a changed installer or compiler never reuses old trees). It holds the
// files exactly as the installer and compiler left them, relative to the
// staging root, and what the installer reported (Installed, compile
// failures).
//
// Entries are linked into a staging root with hard links (a copy where the
// cache lives on another file system), so the staging tree shares inodes
// with the cache: later build stages must not write into installed files,
// which they never do (they only add files). Entries are written under a
// temporary name and renamed into place, so a crashed or concurrent build
// never leaves or reads a half-written entry. Nothing is evicted; removing
// the cache directory is always safe.
package treecache

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"

	"github.com/venvpkg/venvpkg/internal/index"

	"github.com/venvpkg/venvpkg/internal/compile"
	"github.com/venvpkg/venvpkg/internal/interp"
	"github.com/venvpkg/venvpkg/internal/wheel"
)

// schema changes whenever the layout of an entry changes.
const schema = "venvpkg-treecache 1"

// Cache is a directory of entries for one target: interpreter, destination
// and compile setting.
type Cache struct {
	dir  string
	base string // the key lines every entry of this target shares
	py   *interp.Info
	keys sync.Map // wheel path → Key, computed once by Key
	// SHA256 hashes a wheel for its key; nil means index.SHA256File. A
	// build sets the index's remembered digests (index.Finder.SHA256).
	SHA256 func(path string) (string, error)
}

// New returns the cache in dir for wheels installed to dest with the
// interpreter py, compiled to bytecode when compiled is true. The
// directory is created on first use.
func New(dir string, py *interp.Info, dest wheel.Destination, compiled bool) (*Cache, error) {
	self, err := SelfHash()
	if err != nil {
		return nil, fmt.Errorf("tree cache: hashing the venvpkg executable: %w", err)
	}
	real := py.RealPath
	if real == "" {
		real = py.Executable
	}
	st, err := os.Stat(real)
	if err != nil {
		return nil, fmt.Errorf("tree cache: interpreter: %w", err)
	}
	s := dest.Scheme
	base := strings.Join([]string{
		schema,
		"venvpkg " + self,
		fmt.Sprintf("python %s %s %s %s %d %d", py.Executable, real, py.Version, py.CacheTag, st.Size(), st.ModTime().UnixNano()),
		fmt.Sprintf("scheme %s %s %s %s %s", s.Purelib, s.Platlib, s.Headers, s.Scripts, s.Data),
		"shebang " + dest.Python,
		"installer " + dest.Installer,
		fmt.Sprintf("compiled %t", compiled),
	}, "\n")
	return &Cache{dir: dir, base: base, py: py}, nil
}

var (
	selfOnce sync.Once
	selfSum  string
	selfErr  error
)

// SelfHash is the sha256 of the running venvpkg executable, which every
// cache of build output keys its entries by.
func SelfHash() (string, error) {
	selfOnce.Do(func() {
		exe, err := os.Executable()
		if err != nil {
			selfErr = err
			return
		}
		selfSum, selfErr = index.SHA256File(exe)
	})
	return selfSum, selfErr
}

// meta is what an entry records besides its files.
type meta struct {
	Installed *wheel.Installed
	Failed    []compile.Failure
}

// Entry is a complete cached tree.
type Entry struct {
	dir  string
	meta meta
}

// Installed is what the installer reported for the wheel.
func (e *Entry) Installed() *wheel.Installed { return e.meta.Installed }

// Failed lists the wheel's files that did not compile.
func (e *Entry) Failed() []compile.Failure { return e.meta.Failed }

// Key is the name of the entry of one wheel.
type Key string

// Key hashes the wheel at path with the target's key lines, once per
// Cache: the stage, Install and AuxDir all ask for it.
func (c *Cache) Key(path string) (Key, error) {
	if k, ok := c.keys.Load(path); ok {
		return k.(Key), nil
	}
	hash := c.SHA256
	if hash == nil {
		hash = index.SHA256File
	}
	sum, err := hash(path)
	if err != nil {
		return "", fmt.Errorf("tree cache: %w", err)
	}
	h := sha256.Sum256([]byte(c.base + "\nwheel " + sum + "\n"))
	k := Key(hex.EncodeToString(h[:]))
	c.keys.Store(path, k)
	return k, nil
}

// AuxDir is the directory where later stages keep what they derive from
// the committed entry of the wheel at path (the package writer's md5sums,
// the audit's results), so that a warm build reuses them with the tree.
// It is "" when the wheel has no committed entry. What is kept there must
// be written under a temporary name and renamed into place, and must
// depend only on the tree and on what its file name says.
func (c *Cache) AuxDir(path string) string {
	k, err := c.Key(path)
	if err != nil {
		return ""
	}
	dir := c.entryDir(k)
	if _, err := os.Stat(filepath.Join(dir, "meta.json")); err != nil {
		return ""
	}
	return filepath.Join(dir, "aux")
}

func (c *Cache) entryDir(k Key) string { return filepath.Join(c.dir, string(k)) }

// Lookup returns the entry of k, or nil when there is none.
func (c *Cache) Lookup(k Key) (*Entry, error) {
	dir := c.entryDir(k)
	data, err := os.ReadFile(filepath.Join(dir, "meta.json"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("tree cache: %w", err)
	}
	e := &Entry{dir: dir}
	if err := json.Unmarshal(data, &e.meta); err != nil || e.meta.Installed == nil {
		return nil, fmt.Errorf("tree cache: %s is damaged (%v); remove it", dir, err)
	}
	return e, nil
}

// Link adds the entry's tree to the staging root: directories are created
// as needed, files are hard-linked (copied across file systems). A file
// that already exists in root is an error, as for the installer.
func (e *Entry) Link(ctx context.Context, root string) error {
	return linkTree(ctx, filepath.Join(e.dir, "tree"), root)
}

// Pending is an entry being made: the wheel is installed into Root, a
// private staging root, then linked into the build's staging root, and
// Commit adds the bytecode compiled there and publishes the entry.
type Pending struct {
	c   *Cache
	key Key
	dir string
	// Root is the staging root to install the wheel into.
	Root string
}

// Begin starts the entry of k in a temporary directory of the cache.
func (c *Cache) Begin(k Key) (*Pending, error) {
	if err := os.MkdirAll(c.dir, 0o755); err != nil {
		return nil, fmt.Errorf("tree cache: %w", err)
	}
	dir, err := os.MkdirTemp(c.dir, ".pending-"+string(k)[:12]+"-")
	if err != nil {
		return nil, fmt.Errorf("tree cache: %w", err)
	}
	return &Pending{c: c, key: k, dir: dir, Root: filepath.Join(dir, "tree")}, nil
}

// Abort removes the pending entry.
func (p *Pending) Abort() { _ = os.RemoveAll(p.dir) }

// Commit records inst and adds, for each of its .py files, the .pyc the
// compiler wrote under the build's staging root root (none when the file
// failed to compile; failed lists the failures of the whole build, of
// which those of this wheel are kept). The entry then becomes visible to
// Lookup. When another build committed the same entry first, that one is
// kept.
func (p *Pending) Commit(root string, inst *wheel.Installed, failed []compile.Failure, compiled bool) error {
	m := meta{Installed: inst}
	mine := map[string]bool{}
	for _, f := range inst.Files {
		mine[f] = true
	}
	for _, f := range failed {
		if mine[f.Path] {
			m.Failed = append(m.Failed, f)
		}
	}
	if compiled {
		for _, f := range inst.Files {
			if !strings.HasSuffix(f, ".py") {
				continue
			}
			pyc := filepath.Join(filepath.Dir(f), "__pycache__", strings.TrimSuffix(filepath.Base(f), ".py")+"."+p.c.py.CacheTag+".pyc")
			src := filepath.Join(root, pyc)
			if _, err := os.Lstat(src); errors.Is(err, fs.ErrNotExist) {
				continue // did not compile
			}
			dst := filepath.Join(p.Root, pyc)
			if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
				return fmt.Errorf("tree cache: %w", err)
			}
			if err := linkOrCopy(src, dst); err != nil {
				return fmt.Errorf("tree cache: %w", err)
			}
		}
	}
	data, err := json.Marshal(m)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(p.dir, "meta.json"), data, 0o644); err != nil {
		return fmt.Errorf("tree cache: %w", err)
	}
	if err := os.Rename(p.dir, p.c.entryDir(p.key)); err != nil {
		if _, serr := os.Stat(p.c.entryDir(p.key)); serr == nil {
			p.Abort() // a concurrent build was first
			return nil
		}
		return fmt.Errorf("tree cache: %w", err)
	}
	return nil
}

// Link adds the pending tree (the installed wheel, before compiling) to
// the build's staging root, like Entry.Link.
func (p *Pending) Link(ctx context.Context, root string) error {
	return linkTree(ctx, p.Root, root)
}

// LinkTree mirrors the tree src into dst with hard links (copies across
// file systems) and fresh symlinks; a file that exists in dst already is
// an error.
func LinkTree(ctx context.Context, src, dst string) error { return linkTree(ctx, src, dst) }

// linkTree mirrors the tree src into dst.
func linkTree(ctx context.Context, src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		switch {
		case d.IsDir():
			return os.MkdirAll(target, 0o755)
		case d.Type()&fs.ModeSymlink != 0:
			link, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return exists(os.Symlink(link, target), rel)
		default:
			return exists(linkOrCopy(p, target), rel)
		}
	})
}

func exists(err error, rel string) error {
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("/%s already exists; two distributions must not write the same file", filepath.ToSlash(rel))
	}
	return err
}

// linkOrCopy hard-links src to dst, or copies it (with its mode) when the
// two lie on different file systems or the file system refuses links.
func linkOrCopy(src, dst string) error {
	err := os.Link(src, dst)
	if err == nil || errors.Is(err, fs.ErrExist) {
		return err
	}
	var errno syscall.Errno
	if !errors.As(err, &errno) || (errno != syscall.EXDEV && errno != syscall.EPERM && errno != syscall.EMLINK) {
		return err
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	st, err := in.Stat()
	if err != nil {
		return err
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, st.Mode().Perm())
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Chmod(st.Mode().Perm()); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// Install installs the wheel at path into dest.Root through the cache. On
// a hit the entry's tree is linked in (unless the stage st, when not nil,
// holds it already) and pending is nil. On a miss the
// wheel is installed into a new pending entry, which is linked in and
// returned: the caller compiles the staging root and then commits it (or
// aborts it on failure). failed lists the wheel's files that did not
// compile, as recorded by the entry (nil on a miss).
func (c *Cache) Install(ctx context.Context, path string, dest wheel.Destination, st *Stage) (inst *wheel.Installed, pending *Pending, failed []compile.Failure, err error) {
	k, err := c.Key(path)
	if err != nil {
		return nil, nil, nil, err
	}
	e, err := c.Lookup(k)
	if err != nil {
		return nil, nil, nil, err
	}
	if e != nil {
		if st.Has(k) {
			return e.Installed(), nil, e.Failed(), nil // left in the stage by the last build
		}
		if err := e.Link(ctx, dest.Root); err != nil {
			return nil, nil, nil, fmt.Errorf("installing %s from the tree cache: %w", filepath.Base(path), err)
		}
		return e.Installed(), nil, e.Failed(), nil
	}
	p, err := c.Begin(k)
	if err != nil {
		return nil, nil, nil, err
	}
	private := dest
	private.Root = p.Root
	inst, err = wheel.Install(ctx, path, private)
	if err == nil {
		err = p.Link(ctx, dest.Root)
		if err != nil {
			err = fmt.Errorf("installing %s: %w", filepath.Base(path), err)
		}
	}
	if err != nil {
		p.Abort()
		return nil, nil, nil, err
	}
	return inst, p, nil, nil
}
