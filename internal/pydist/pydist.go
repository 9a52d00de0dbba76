// Package pydist prepares a relocatable CPython to bundle inside a package:
// a python-build-standalone archive (the install_only .tar.gz layout, or
// the full .tar.zst layout with python/PYTHON.json and python/install/),
// given as a local file or an https:// URL pinned by sha256, or a directory
// holding such a prefix.
//
// Prepare unpacks the interpreter safely, checks that it is one CPython for
// this machine's architecture, rewrites the build paths the distribution
// recorded (its configure prefix, such as /install, and its clang
// toolchain) to the final prefix inside the package, teaches it to find the
// host's CA bundle on Debian and RedHat systems, removes the bytecode it
// shipped and byte-compiles the standard library with the same
// deterministic rules as the rest of the virtualenv. The result is kept in
// a cache keyed by the archive's sha256 (or the directory's contents), the
// final prefix and the venvpkg executable, so later builds only link it in.
package pydist

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/venvpkg/venvpkg/internal/index"

	"github.com/venvpkg/venvpkg/internal/compile"
	"github.com/venvpkg/venvpkg/internal/interp"
	"github.com/venvpkg/venvpkg/internal/treecache"
)

// schema changes whenever the layout or the preparation of an entry does.
const schema = "venvpkg-pydist 3"

// Source names the interpreter to bundle: exactly one of URL and Path.
type Source struct {
	URL    string // https:// (or http://) URL of an archive
	Path   string // local archive, or a directory holding a CPython prefix
	SHA256 string // lowercase hex sha256 of the archive; required for archives
}

// String describes the source for messages (a URL without credentials).
func (s Source) String() string {
	if s.URL != "" {
		if u, err := url.Parse(s.URL); err == nil {
			u.User = nil
			return u.String()
		}
		return s.URL
	}
	return s.Path
}

var hexSHA256 = regexp.MustCompile(`^[0-9a-f]{64}$`)

// ParseFlag reads the --python-dist value: a path or URL, optionally
// followed by #sha256=<hex> as in pip's URL fragments.
func ParseFlag(v string) (Source, error) {
	loc, frag, _ := strings.Cut(v, "#")
	var s Source
	if frag != "" {
		algo, sum, ok := strings.Cut(frag, "=")
		if !ok || algo != "sha256" {
			return s, fmt.Errorf("--python-dist %q: the fragment must be #sha256=<64 hex digits>", v)
		}
		s.SHA256 = strings.ToLower(sum)
	}
	if strings.HasPrefix(loc, "https://") || strings.HasPrefix(loc, "http://") {
		s.URL = loc
	} else {
		s.Path = loc
	}
	return s, s.Validate()
}

// Validate checks the source's form; it does not look at the file.
func (s Source) Validate() error {
	switch {
	case s.URL == "" && s.Path == "":
		return errors.New("python-dist: give url or path")
	case s.URL != "" && s.Path != "":
		return errors.New("python-dist: give url or path, not both")
	case s.SHA256 != "" && !hexSHA256.MatchString(s.SHA256):
		return fmt.Errorf("python-dist sha256 %q is not 64 lowercase hex digits", s.SHA256)
	case s.URL != "":
		u, err := url.Parse(s.URL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return fmt.Errorf("python-dist url %q is not an http(s) URL", s.String())
		}
		if s.SHA256 == "" {
			return fmt.Errorf("python-dist url %s has no sha256 pin; add sha256 = \"<hex>\" (sha256sum of the archive, or the .sha256 file published beside it)", s.String())
		}
	}
	return nil
}

// Fetcher downloads an archive URL into the download cache, verifying the
// sha256, and returns the local path.
type Fetcher func(ctx context.Context, rawURL, sha256 string) (string, error)

// Options tune Prepare.
type Options struct {
	// CacheDir holds the prepared interpreters (one directory per entry).
	CacheDir string
	// Prefix is the interpreter's final prefix inside the package, such as
	// /opt/venvs/app/python.
	Prefix string
	// Fetch downloads URL sources; nil refuses them.
	Fetch Fetcher
	// Compile byte-compiles the standard library.
	Compile bool
	// Jobs is the number of compile workers (at least one).
	Jobs int
	// Limits bound an archive; zero fields take the defaults.
	Limits Limits
	// Logf reports progress; nil discards it.
	Logf func(format string, args ...any)
}

// Dist is a prepared interpreter in the cache.
type Dist struct {
	// Root is a staging root: the interpreter's files lie at
	// filepath.Join(Root, Prefix). Nothing may write below it.
	Root string
	// Prefix is the final prefix of the interpreter.
	Prefix string
	// Python is the interpreter's path relative to Prefix, bin/python3.X.
	Python string
	// Version is the interpreter's version, "3.11.11".
	Version string
	// Digest is the archive's sha256, or the hash of the directory's tree.
	Digest string
	// Hit reports whether the entry came from the cache.
	Hit bool
}

// Executable is the interpreter's final path.
func (d *Dist) Executable() string { return path.Join(d.Prefix, d.Python) }

// CachedExecutable is the interpreter's path in the cache.
func (d *Dist) CachedExecutable() string {
	return filepath.Join(d.Root, filepath.FromSlash(d.Executable()))
}

// Link mirrors the interpreter's tree into the staging root root with hard
// links, so it appears at filepath.Join(root, Prefix).
func (d *Dist) Link(ctx context.Context, root string) error {
	if err := treecache.LinkTree(ctx, d.Root, root); err != nil {
		return fmt.Errorf("linking the bundled interpreter into %s: %w", root, err)
	}
	return nil
}

// entryMeta is the dist.json of an entry.
type entryMeta struct {
	Schema  string `json:"schema"`
	Source  string `json:"source"`
	Digest  string `json:"digest"`
	Prefix  string `json:"prefix"`
	Python  string `json:"python"`
	Version string `json:"version"`
}

// Prepare returns the interpreter of src, prepared for the final prefix
// opts.Prefix, from the cache or made now.
func Prepare(ctx context.Context, src Source, opts Options) (_ *Dist, err error) {
	if err := src.Validate(); err != nil {
		return nil, err
	}
	if !path.IsAbs(opts.Prefix) || path.Clean(opts.Prefix) != opts.Prefix {
		return nil, fmt.Errorf("python-dist: the interpreter prefix %q is not a clean absolute path", opts.Prefix)
	}
	logf := opts.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}
	local, isDir, digest, err := resolve(ctx, src, opts.Fetch)
	if err != nil {
		return nil, err
	}
	self, err := treecache.SelfHash()
	if err != nil {
		return nil, fmt.Errorf("python-dist: hashing the venvpkg executable: %w", err)
	}
	keySum := sha256.Sum256(fmt.Appendf(nil, "%s\nvenvpkg %s\ndigest %s\nprefix %s\ncompiled %t\n", schema, self, digest, opts.Prefix, opts.Compile))
	key := hex.EncodeToString(keySum[:])
	entry := filepath.Join(opts.CacheDir, key)
	if d, err := readEntry(entry); err == nil {
		d.Hit = true
		return d, nil
	}

	if err := os.MkdirAll(opts.CacheDir, 0o755); err != nil {
		return nil, fmt.Errorf("python-dist: creating the interpreter cache: %w", err)
	}
	pending, err := os.MkdirTemp(opts.CacheDir, ".pending-")
	if err != nil {
		return nil, fmt.Errorf("python-dist: %w", err)
	}
	defer func() {
		if err != nil {
			_ = os.RemoveAll(pending)
		}
	}()
	root := filepath.Join(pending, "root")
	dst := filepath.Join(root, filepath.FromSlash(opts.Prefix))
	logf("unpacking the bundled interpreter %s", src)
	var pythonJSON []byte
	if isDir {
		err = copyDir(ctx, local, dst)
	} else {
		pythonJSON, err = unpackArchive(ctx, local, filepath.Join(pending, "unpack"), dst, opts.Limits.withDefaults())
	}
	if err != nil {
		return nil, fmt.Errorf("python-dist %s: %w", src, err)
	}
	exe, err := findInterpreter(dst)
	if err != nil {
		return nil, fmt.Errorf("python-dist %s: %w", src, err)
	}
	if err := checkArch(filepath.Join(dst, exe)); err != nil {
		return nil, fmt.Errorf("python-dist %s: %w", src, err)
	}
	if err := relocate(dst, opts.Prefix, exe, pythonJSON); err != nil {
		return nil, fmt.Errorf("python-dist %s: relocating to %s: %w", src, opts.Prefix, err)
	}
	if err := fixScripts(dst, opts.Prefix, exe); err != nil {
		return nil, fmt.Errorf("python-dist %s: %w", src, err)
	}
	if err := normalizeModes(dst); err != nil {
		return nil, fmt.Errorf("python-dist %s: %w", src, err)
	}
	py, err := interp.Probe(ctx, filepath.Join(dst, exe), "")
	if err != nil {
		return nil, fmt.Errorf("python-dist %s: %w", src, err)
	}
	if err := writeCertHook(dst, py); err != nil {
		return nil, fmt.Errorf("python-dist %s: %w", src, err)
	}
	if err := removeBytecode(dst); err != nil {
		return nil, fmt.Errorf("python-dist %s: %w", src, err)
	}
	if opts.Compile {
		n, err := compileTree(ctx, py, root, opts.Prefix, max(1, opts.Jobs))
		if err != nil {
			return nil, fmt.Errorf("python-dist %s: %w", src, err)
		}
		logf("compiled %d modules of the bundled interpreter", n)
	}
	meta := entryMeta{Schema: schema, Source: src.String(), Digest: digest, Prefix: opts.Prefix, Python: exe, Version: py.Version}
	data, err := json.MarshalIndent(meta, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(pending, "dist.json"), data, 0o644); err != nil {
		return nil, fmt.Errorf("python-dist: %w", err)
	}
	if err := os.RemoveAll(filepath.Join(pending, "unpack")); err != nil {
		return nil, fmt.Errorf("python-dist: %w", err)
	}
	if err := os.Rename(pending, entry); err != nil {
		// A concurrent build committed the same entry first: use it.
		if d, rerr := readEntry(entry); rerr == nil {
			_ = os.RemoveAll(pending)
			return d, nil
		}
		return nil, fmt.Errorf("python-dist: committing the interpreter cache entry: %w", err)
	}
	return readEntry(entry)
}

func readEntry(dir string) (*Dist, error) {
	data, err := os.ReadFile(filepath.Join(dir, "dist.json"))
	if err != nil {
		return nil, err
	}
	var m entryMeta
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, err
	}
	if m.Schema != schema {
		return nil, fmt.Errorf("%s: schema %q", dir, m.Schema)
	}
	return &Dist{Root: filepath.Join(dir, "root"), Prefix: m.Prefix, Python: m.Python, Version: m.Version, Digest: m.Digest}, nil
}

// resolve returns the local file or directory of src and its digest: the
// archive's verified sha256, or a hash of the directory's tree.
func resolve(ctx context.Context, src Source, fetch Fetcher) (local string, isDir bool, digest string, err error) {
	if src.URL != "" {
		if fetch == nil {
			return "", false, "", fmt.Errorf("python-dist %s: downloads are not available here", src)
		}
		p, err := fetch(ctx, src.URL, src.SHA256)
		if err != nil {
			return "", false, "", fmt.Errorf("python-dist: fetching %s: %w", src, err)
		}
		return p, false, src.SHA256, nil
	}
	st, err := os.Stat(src.Path)
	if err != nil {
		return "", false, "", fmt.Errorf("python-dist path %s: %w", src.Path, err)
	}
	if st.IsDir() {
		d, err := hashTree(ctx, src.Path)
		if err != nil {
			return "", false, "", fmt.Errorf("python-dist path %s: %w", src.Path, err)
		}
		if src.SHA256 != "" {
			return "", false, "", fmt.Errorf("python-dist path %s is a directory; sha256 pins an archive, so drop it (a directory is keyed by its contents)", src.Path)
		}
		return src.Path, true, d, nil
	}
	if src.SHA256 == "" {
		return "", false, "", fmt.Errorf("python-dist path %s has no sha256 pin; add sha256 = \"<hex>\" (run sha256sum on the archive)", src.Path)
	}
	sum, err := index.SHA256File(src.Path)
	if err != nil {
		return "", false, "", fmt.Errorf("python-dist path %s: %w", src.Path, err)
	}
	if sum != src.SHA256 {
		return "", false, "", fmt.Errorf("python-dist %s: sha256 is %s, but the pin says %s; the archive changed or the pin is wrong", src.Path, sum, src.SHA256)
	}
	return src.Path, false, sum, nil
}

// hashTree hashes the names, types, modes, link targets and contents of
// every entry below dir, in lexical order.
func hashTree(ctx context.Context, dir string) (string, error) {
	h := sha256.New()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		info, err := d.Info()
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s\x00%o\x00", filepath.ToSlash(rel), info.Mode())
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			t, err := os.Readlink(p)
			if err != nil {
				return err
			}
			fmt.Fprintf(h, "%s\x00", t)
		case d.Type().IsRegular():
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			_, err = io.Copy(h, f)
			f.Close()
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// interpreterName matches the versioned interpreter of a prefix.
var interpreterName = regexp.MustCompile(`^python3\.[0-9]+t?$`)

// findInterpreter returns bin/python3.X of the prefix dir: it must hold
// exactly one.
func findInterpreter(dir string) (string, error) {
	entries, err := os.ReadDir(filepath.Join(dir, "bin"))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	var found []string
	for _, e := range entries {
		if !interpreterName.MatchString(e.Name()) {
			continue
		}
		st, err := os.Stat(filepath.Join(dir, "bin", e.Name()))
		if err != nil || !st.Mode().IsRegular() {
			continue
		}
		found = append(found, "bin/"+e.Name())
	}
	slices.Sort(found)
	switch len(found) {
	case 0:
		return "", errors.New("no CPython interpreter in it (want one bin/python3.X); give a python-build-standalone install_only or full archive, or a directory holding a CPython prefix")
	case 1:
		return found[0], nil
	default:
		return "", fmt.Errorf("it holds several interpreters (%s); bundle one CPython", strings.Join(found, ", "))
	}
}

// compileTree byte-compiles every .py file of the prefix.
func compileTree(ctx context.Context, py *interp.Info, root, prefix string, jobs int) (int, error) {
	var files []string
	top := filepath.Join(root, filepath.FromSlash(prefix))
	err := filepath.WalkDir(top, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() && strings.HasSuffix(d.Name(), ".py") {
			rel, _ := filepath.Rel(root, p)
			files = append(files, "/"+filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("listing the standard library: %w", err)
	}
	slices.Sort(files)
	res, err := compile.Compile(ctx, py, root, files, jobs)
	if err != nil {
		return 0, fmt.Errorf("compiling the standard library: %w", err)
	}
	// Files that do not compile (test data with deliberate syntax errors,
	// lib2to3 fixtures) stay without bytecode, as CPython's own install does.
	return res.Compiled, nil
}
