package pipeline

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/venvpkg/venvpkg/internal/index"
	"github.com/venvpkg/venvpkg/internal/interp"
	"github.com/venvpkg/venvpkg/internal/pep440"
	"github.com/venvpkg/venvpkg/internal/pep503"
	"github.com/venvpkg/venvpkg/internal/pybuild"
	"github.com/venvpkg/venvpkg/internal/wheel"
)

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
	sha, err := b.finder.SHA256(path)
	if err != nil {
		return "", fmt.Errorf("hashing %s: %w", filename, err)
	}
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
	src, err := pybuild.UnpackSdist(path, dir)
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
