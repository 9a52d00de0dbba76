package pipeline

import (
	"archive/tar"
	"archive/zip"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/venvpkg/venvpkg/internal/index"
	"github.com/venvpkg/venvpkg/internal/interp"
	"github.com/venvpkg/venvpkg/internal/pep440"
	"github.com/venvpkg/venvpkg/internal/pep503"
	"github.com/venvpkg/venvpkg/internal/pybuild"
	"github.com/venvpkg/venvpkg/internal/wheel"
)

// maxSdistSize bounds the unpacked size of one sdist.
const maxSdistSize = 1 << 30

// interpreterKey identifies the interpreter a wheel was built for in the
// cache of wheels built from sdists.
func interpreterKey(py *interp.Info) string {
	sum := sha256.Sum256([]byte(strings.Join([]string{py.Executable, py.Version, py.SOABI, py.Platform, py.Glibc, py.Musl}, "\x00")))
	return hex.EncodeToString(sum[:8])
}

// buildSdist turns a fetched sdist of the lock into a wheel (see
// wheelFromSdist) and checks that it is the pinned project and version.
func (b *builder) buildSdist(ctx context.Context, p *pick) (string, error) {
	return b.wheelFromSdist(ctx, p.path, p.art.Filename, p.req.Name, func(whl string) error { return b.checkBuiltWheel(p, whl) })
}

// wheelFromSdist builds the sdist at path (of the project name, file
// filename) into a wheel with its PEP 517 backend in an isolated build
// environment whose requirements come from the build's sources, reusing a
// wheel built earlier from the same sdist (by sha256) for the same
// interpreter. check vets the wheel, cached or new.
//
// Build requirements found only as sdists are built the same way, so
// builds nest; b.sdistStack holds the sdists being built, and an sdist
// that needs itself to build is a cycle, reported with its chain. Builds
// run one at a time (the frontend installs requirements in order).
func (b *builder) wheelFromSdist(ctx context.Context, path, filename, name string, check func(string) error) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	_, err = io.Copy(h, f)
	f.Close()
	if err != nil {
		return "", fmt.Errorf("hashing %s: %w", filename, err)
	}
	sha := hex.EncodeToString(h.Sum(nil))
	cache := index.NewCache(b.cacheDir)
	key := interpreterKey(b.py)
	if whl, ok := cache.BuiltWheel(sha, key); ok {
		if err := check(whl); err == nil {
			b.log.Debugf("%s: using the wheel built earlier, %s", filename, filepath.Base(whl))
			return whl, nil
		}
	}
	for i, n := range b.sdistStack {
		if n == name {
			chain := append(append([]string{}, b.sdistStack[i:]...), name)
			return "", fmt.Errorf("build requirement cycle: %s; each needs the next to build and none is available as a wheel; provide a wheel of one of them in --find-links", strings.Join(chain, " → "))
		}
	}
	b.sdistStack = append(b.sdistStack, name)
	defer func() { b.sdistStack = b.sdistStack[:len(b.sdistStack)-1] }()

	b.log.Infof("building %s from its sdist", filename)
	b.sdistBuilds++
	dir := filepath.Join(b.tmp, "sdist", fmt.Sprintf("%d-%s", b.sdistBuilds, name))
	src, err := unpackSdist(path, dir)
	if err != nil {
		return "", fmt.Errorf("unpacking %s: %w", filename, err)
	}
	fe := &pybuild.Frontend{Python: b.runner(), TempDir: b.tmp, Find: b.findBuildRequirement}
	if w := b.log.Verbose(); w != nil {
		fe.Stdout, fe.Stderr = w, w
	}
	built, err := fe.BuildWheel(ctx, src, filepath.Join(dir, "wheel"))
	if err != nil {
		return "", fmt.Errorf("building %s: %w", filename, err)
	}
	if err := check(built); err != nil {
		return "", err
	}
	return cache.StoreBuiltWheel(sha, key, built)
}

// checkBuiltWheel checks that a wheel built from an sdist of the lock is
// the pinned project and version and installs on the target.
func (b *builder) checkBuiltWheel(p *pick, whl string) error {
	var want *pep440.Version
	if p.req.Version != "" && !p.req.Exact {
		v, err := pep440.Parse(p.req.Version)
		if err != nil {
			return fmt.Errorf("building %s: the pinned version %s: %w", p.art.Filename, p.req.Version, err)
		}
		want = &v
	}
	return b.checkWheelFrom(p.art.Filename, whl, p.req.Name, want)
}

// checkWheelFrom checks that the wheel built from the sdist named sdist is
// of the project name (normalised), at version want unless nil, and
// installs on the target.
func (b *builder) checkWheelFrom(sdist, whl, name string, want *pep440.Version) error {
	fn, err := wheel.ParseFilename(filepath.Base(whl))
	if err != nil {
		return fmt.Errorf("the backend of %s wrote %s: %w", sdist, filepath.Base(whl), err)
	}
	if pep503.Normalize(fn.Distribution) != name {
		return fmt.Errorf("building %s gave a wheel of %s, not %s", sdist, fn.Distribution, name)
	}
	if want != nil {
		if v, err := pep440.Parse(fn.Version); err != nil || v.Compare(*want) != 0 {
			return fmt.Errorf("building %s gave version %s, not %s", sdist, fn.Version, want)
		}
	}
	if _, ok := b.py.Supported().Rank(fn.Tags); !ok {
		return fmt.Errorf("building %s gave %s, which does not install on the target interpreter", sdist, filepath.Base(whl))
	}
	return nil
}

// unpackSdist extracts a .tar.gz or .zip sdist into dir and returns the
// source tree: the single top-level directory, as sdists have, or dir.
// Members that would land outside dir, links and special files are refused
// or skipped.
func unpackSdist(archive, dir string) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	var err error
	switch {
	case strings.HasSuffix(archive, ".tar.gz"), strings.HasSuffix(archive, ".tgz"):
		err = untarGz(archive, dir)
	case strings.HasSuffix(archive, ".zip"):
		err = unzipTo(archive, dir)
	default:
		err = fmt.Errorf("%s is not a .tar.gz or .zip sdist", filepath.Base(archive))
	}
	if err != nil {
		return "", err
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return "", err
	}
	root := dir
	if len(entries) == 1 && entries[0].IsDir() {
		root = filepath.Join(dir, entries[0].Name())
	}
	for _, marker := range []string{"pyproject.toml", "setup.py"} {
		if _, err := os.Stat(filepath.Join(root, marker)); err == nil {
			return root, nil
		}
	}
	return "", errors.New("no pyproject.toml or setup.py at the top of the sdist")
}

// memberPath maps an archive member name to a path under dir.
func memberPath(dir, name string) (string, error) {
	clean := path.Clean(strings.TrimPrefix(name, "./"))
	if clean == "." {
		return dir, nil
	}
	if path.IsAbs(clean) || clean == ".." || strings.HasPrefix(clean, "../") || strings.Contains(name, "\\") || strings.ContainsRune(name, 0) {
		return "", fmt.Errorf("member %q leaves the archive's directory", name)
	}
	return filepath.Join(dir, filepath.FromSlash(clean)), nil
}

func writeMember(dst string, r io.Reader, exec bool, budget *int64) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	mode := os.FileMode(0o644)
	if exec {
		mode = 0o755
	}
	f, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	n, err := io.Copy(f, io.LimitReader(r, *budget+1))
	*budget -= n
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && *budget < 0 {
		err = fmt.Errorf("the sdist unpacks to more than %d MiB", maxSdistSize>>20)
	}
	return err
}

func untarGz(archive, dir string) error {
	f, err := os.Open(archive)
	if err != nil {
		return err
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		return err
	}
	defer gz.Close()
	tr := tar.NewReader(gz)
	budget := int64(maxSdistSize)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		dst, err := memberPath(dir, hdr.Name)
		if err != nil {
			return err
		}
		switch hdr.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(dst, 0o755); err != nil {
				return err
			}
		case tar.TypeReg:
			if err := writeMember(dst, tr, hdr.Mode&0o111 != 0, &budget); err != nil {
				return err
			}
		}
		// Links, devices and the like are not part of a source tree a
		// backend needs; they are skipped.
	}
}

func unzipTo(archive, dir string) error {
	zr, err := zip.OpenReader(archive)
	if err != nil {
		return err
	}
	defer zr.Close()
	budget := int64(maxSdistSize)
	for _, zf := range zr.File {
		dst, err := memberPath(dir, zf.Name)
		if err != nil {
			return err
		}
		if strings.HasSuffix(zf.Name, "/") {
			if err := os.MkdirAll(dst, 0o755); err != nil {
				return err
			}
			continue
		}
		if !zf.Mode().IsRegular() {
			continue
		}
		rc, err := zf.Open()
		if err != nil {
			return err
		}
		err = writeMember(dst, rc, zf.Mode()&0o111 != 0, &budget)
		rc.Close()
		if err != nil {
			return err
		}
	}
	return nil
}
