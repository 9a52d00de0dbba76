// Package pbs gives tests real python-build-standalone interpreters for linux-amd64 in the install_only archive
// layout (python/bin/python3.X, python/lib/...), made from the Go module github.com/kluctl/go-embed-python, which
// embeds trimmed python-build-standalone builds. CPython 3.11 comes through the module's own API (it extracts the
// interpreter into a directory); 3.14 through `go mod download` of another tag of the module and its files.json,
// because one build holds one version of a module. The trees are trimmed: no include/ (headers), no ensurepip, no
// test suite, so a bundled interpreter made from them cannot build C extensions from sdists; every test project
// uses wheels.
//
// Archives are cached in the test cache (pbs/) and made once per machine under a file lock.
package pbs

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"syscall"
	"testing"
	"time"

	"github.com/kluctl/go-embed-python/python"

	"github.com/venvpkg/venvpkg/internal/testutil"
)

// Versions of the two interpreters.
const (
	V311 = "3.11.11"
	V314 = "3.14.6"

	module311 = "github.com/kluctl/go-embed-python@v0.0.0-3.11.11-20241219-1"
	module314 = "github.com/kluctl/go-embed-python@v0.0.0-3.14.6-20260610-1"
)

// Archive is a packed interpreter.
type Archive struct {
	Path    string // .tar.gz in the install_only layout
	SHA256  string
	Dir     string // the unpacked prefix the archive was made from
	Version string
}

// Get returns the archive of version (V311 or V314), making it when missing.
func Get(t testing.TB, version string) *Archive {
	t.Helper()
	a, err := Make(context.Background(), filepath.Join(testutil.CacheDir(), "pbs"), version)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// Make returns the archive of version in cacheDir, making it when missing.
func Make(ctx context.Context, cacheDir, version string) (*Archive, error) {
	name := fmt.Sprintf("cpython-%s-x86_64-unknown-linux-gnu-install_only.tar.gz", version)
	a := &Archive{Path: filepath.Join(cacheDir, name), Dir: filepath.Join(cacheDir, version, "python"), Version: version}
	if err := os.MkdirAll(cacheDir, 0o755); err != nil {
		return nil, err
	}
	lock, err := os.OpenFile(filepath.Join(cacheDir, "make.lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return nil, err
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)
	if _, err := os.Stat(a.Path); err != nil {
		if err := os.RemoveAll(filepath.Dir(a.Dir)); err != nil {
			return nil, err
		}
		switch version {
		case V311:
			// The module's API extracts into the directory it is given.
			if _, err := python.NewEmbeddedPythonWithTmpDir(a.Dir, false); err != nil {
				return nil, fmt.Errorf("extracting go-embed-python %s: %w", version, err)
			}
			// The API writes symlinks as copies; a real archive has them.
			if err := restoreSymlinks(ctx, module311, a.Dir); err != nil {
				return nil, err
			}
		case V314:
			if err := extractModule(ctx, module314, a.Dir); err != nil {
				return nil, err
			}
		default:
			return nil, fmt.Errorf("no test interpreter %s (have %s and %s)", version, V311, V314)
		}
		if err := pack(a.Dir, a.Path); err != nil {
			return nil, fmt.Errorf("packing %s: %w", a.Path, err)
		}
	}
	data, err := os.ReadFile(a.Path)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(data)
	a.SHA256 = hex.EncodeToString(sum[:])
	return a, nil
}

// fileList is go-embed-python's files.json.
type fileList struct {
	Files []struct {
		Name       string      `json:"name"`
		Mode       fs.FileMode `json:"perm"`
		Symlink    string      `json:"symlink"`
		Compressed bool        `json:"compressed"`
	} `json:"files"`
}

// moduleData returns the module's linux-amd64 data directory and its files.json, downloading the module with the
// go command when the module cache lacks it.
func moduleData(ctx context.Context, mod string) (string, *fileList, error) {
	cmd := exec.CommandContext(ctx, "go", "mod", "download", "-json", mod)
	cmd.Dir = os.TempDir()
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GO111MODULE=on")
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			out = append(out, ee.Stderr...)
		}
		return "", nil, fmt.Errorf("go mod download %s: %w\n%s", mod, err, out)
	}
	var info struct{ Dir, Error string }
	if err := json.Unmarshal(out, &info); err != nil || info.Dir == "" {
		return "", nil, fmt.Errorf("go mod download %s: %v %s\n%s", mod, err, info.Error, out)
	}
	data := filepath.Join(info.Dir, "python", "internal", "data", "linux-amd64")
	raw, err := os.ReadFile(filepath.Join(data, "files.json"))
	if err != nil {
		return "", nil, err
	}
	var fl fileList
	if err := json.Unmarshal(raw, &fl); err != nil {
		return "", nil, fmt.Errorf("%s/files.json: %w", data, err)
	}
	return data, &fl, nil
}

// restoreSymlinks turns the files that files.json lists as symlinks back into symlinks.
func restoreSymlinks(ctx context.Context, mod, dir string) error {
	_, fl, err := moduleData(ctx, mod)
	if err != nil {
		return err
	}
	for _, f := range fl.Files {
		if f.Mode&fs.ModeSymlink == 0 {
			continue
		}
		p := filepath.Join(dir, filepath.FromSlash(f.Name))
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		if err := os.Symlink(f.Symlink, p); err != nil {
			return err
		}
	}
	return nil
}

// extractModule lays the module's linux-amd64 data out in dst, symlinks kept.
func extractModule(ctx context.Context, mod, dst string) error {
	data, fl, err := moduleData(ctx, mod)
	if err != nil {
		return err
	}
	for _, f := range fl.Files {
		target := filepath.Join(dst, filepath.FromSlash(f.Name))
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return err
		}
		switch {
		case f.Mode.IsDir():
			if err := os.MkdirAll(target, 0o755); err != nil {
				return err
			}
		case f.Mode&fs.ModeSymlink != 0:
			if err := os.Symlink(f.Symlink, target); err != nil {
				return err
			}
		default:
			var content []byte
			if f.Compressed {
				gz, err := os.ReadFile(filepath.Join(data, f.Name+".gz"))
				if err != nil {
					return err
				}
				zr, err := gzip.NewReader(bytes.NewReader(gz))
				if err != nil {
					return err
				}
				content, err = io.ReadAll(zr)
				if err != nil {
					return err
				}
			} else if content, err = os.ReadFile(filepath.Join(data, f.Name)); err != nil {
				return err
			}
			if err := os.WriteFile(target, content, f.Mode.Perm()|0o600); err != nil {
				return err
			}
		}
	}
	return nil
}

// pack writes dir as python/... into a gzip'd tar at dst, sorted, with fixed times and owners.
func pack(dir, dst string) error {
	var names []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		names = append(names, rel)
		return nil
	})
	if err != nil {
		return err
	}
	sort.Strings(names)
	tmp := dst + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	zw := gzip.NewWriter(f)
	tw := tar.NewWriter(zw)
	mtime := time.Unix(1734566400, 0)
	for _, rel := range names {
		p := filepath.Join(dir, rel)
		st, err := os.Lstat(p)
		if err != nil {
			return err
		}
		name := "python"
		if rel != "." {
			name = "python/" + filepath.ToSlash(rel)
		}
		h := &tar.Header{Name: name, ModTime: mtime, Format: tar.FormatPAX}
		switch {
		case st.IsDir():
			h.Typeflag, h.Name, h.Mode = tar.TypeDir, name+"/", 0o755
		case st.Mode()&fs.ModeSymlink != 0:
			t, err := os.Readlink(p)
			if err != nil {
				return err
			}
			h.Typeflag, h.Linkname, h.Mode = tar.TypeSymlink, t, 0o777
		default:
			h.Typeflag, h.Size, h.Mode = tar.TypeReg, st.Size(), int64(st.Mode().Perm())
		}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if h.Typeflag == tar.TypeReg {
			in, err := os.Open(p)
			if err != nil {
				return err
			}
			_, err = io.Copy(tw, in)
			in.Close()
			if err != nil {
				return err
			}
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, dst)
}
