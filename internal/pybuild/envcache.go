package pybuild

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/venvpkg/venvpkg/internal/pep440"
	"github.com/venvpkg/venvpkg/internal/pep503"
	"github.com/venvpkg/venvpkg/internal/pep508"
	"github.com/venvpkg/venvpkg/internal/wheel"
)

// envSchema changes whenever the layout of a kept build environment or
// of its manifest changes.
const envSchema = "venvpkg-buildenv 1"

// envManifest records how a kept build environment was made: every wheel
// Find chose (and its size and time, so a replaced wheel is noticed) and
// the extras whose requirements were installed.
type envManifest struct {
	Found []foundWheel
	Dists []keptDist
}

type foundWheel struct {
	Requirement string // as passed to Find
	Path        string
	Size        int64
	MTime       int64
}

type keptDist struct {
	Name   string // normalised
	Wheel  string
	Extras []string
}

// keptEnv opens the kept build environment for requires below
// f.EnvCacheDir, making it when there is none or when a wheel it was made
// from is no longer the one Find chooses. The environment is shared with
// concurrent builds: the returned release function must be called once
// the hooks are done, and until then nobody replaces it. Backends may
// write bytecode into it (atomically, as Python does), which is what
// makes a kept environment start faster.
func (f *Frontend) keptEnv(ctx context.Context, requires []string) (*env, func(), error) {
	cacheDir, err := filepath.Abs(f.EnvCacheDir) // the environment's paths are absolute
	if err != nil {
		return nil, nil, fmt.Errorf("build environment cache: %w", err)
	}
	if err := os.MkdirAll(cacheDir, 0o755); err != nil {
		return nil, nil, fmt.Errorf("build environment cache: %w", err)
	}
	real := f.Python.RealPath
	if real == "" {
		real = f.Python.Executable
	}
	st, err := os.Stat(real)
	if err != nil {
		return nil, nil, fmt.Errorf("build environment cache: interpreter: %w", err)
	}
	reqs := slices.Clone(requires)
	slices.Sort(reqs)
	h := sha256.Sum256(fmt.Appendf(nil, "%s\npython %s %s %s %d %d\nrequires %q\n",
		envSchema, f.Python.Executable, real, f.Python.Version, st.Size(), st.ModTime().UnixNano(), reqs))
	dir := filepath.Join(cacheDir, hex.EncodeToString(h[:16]))

	lock, err := os.OpenFile(dir+".lock", os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, nil, fmt.Errorf("build environment cache: %w", err)
	}
	release := func() { _ = lock.Close() } // closing drops the lock
	if err := flock(ctx, lock, syscall.LOCK_EX); err != nil {
		release()
		return nil, nil, err
	}
	e, err := f.reuseEnv(ctx, dir)
	if err == nil && e == nil {
		e, err = f.makeKeptEnv(ctx, dir, requires)
	}
	if err == nil {
		// Others may use it too now, but not replace it.
		err = flock(ctx, lock, syscall.LOCK_SH)
	}
	if err != nil {
		release()
		return nil, nil, err
	}
	return e, release, nil
}

func flock(ctx context.Context, f *os.File, how int) error {
	for {
		err := syscall.Flock(int(f.Fd()), how|syscall.LOCK_NB)
		if err == nil {
			return nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			return fmt.Errorf("locking %s: %w", f.Name(), err)
		}
		if err := sleepCtx(ctx); err != nil {
			return err
		}
	}
}

// reuseEnv returns the environment in dir when its manifest is complete
// and every wheel it was made from is still the one Find chooses; nil
// when it must be made again.
func (f *Frontend) reuseEnv(ctx context.Context, dir string) (*env, error) {
	data, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("build environment cache: %w", err)
	}
	var m envManifest
	if json.Unmarshal(data, &m) != nil {
		return nil, nil
	}
	for _, fw := range m.Found {
		req, err := pep508.ParseRequirement(fw.Requirement)
		if err != nil {
			return nil, nil
		}
		p, err := f.Find(ctx, req)
		if err != nil || p != fw.Path {
			return nil, nil
		}
		if st, err := os.Stat(p); err != nil || st.Size() != fw.Size || st.ModTime().UnixNano() != fw.MTime {
			return nil, nil
		}
	}
	e, err := f.envAt(filepath.Join(dir, "env"))
	if err != nil {
		return nil, err
	}
	for _, kd := range m.Dists {
		meta, err := wheel.ReadMetadata(kd.Wheel)
		if err != nil {
			return nil, nil
		}
		v, err := pep440.Parse(meta.Version)
		if err != nil {
			return nil, nil
		}
		d := &dist{name: meta.Name, version: v, meta: meta, extras: map[string]bool{}}
		for _, x := range kd.Extras {
			d.extras[x] = true
		}
		e.dists[kd.Name] = d
	}
	e.kept = true
	return e, nil
}

// makeKeptEnv makes the environment in dir afresh, recording what Find
// chose, and writes its manifest last.
func (f *Frontend) makeKeptEnv(ctx context.Context, dir string, requires []string) (*env, error) {
	if err := os.RemoveAll(dir); err != nil {
		return nil, fmt.Errorf("build environment cache: %w", err)
	}
	var m envManifest
	rec := *f
	rec.Find = func(ctx context.Context, req pep508.Requirement) (string, error) {
		p, err := f.Find(ctx, req)
		if err != nil {
			return p, err
		}
		st, err := os.Stat(p)
		if err != nil {
			return "", err
		}
		m.Found = append(m.Found, foundWheel{Requirement: req.String(), Path: p, Size: st.Size(), MTime: st.ModTime().UnixNano()})
		return p, nil
	}
	e, err := rec.newEnv(ctx, dir)
	if err != nil {
		return nil, err
	}
	if err := e.install(ctx, requires, "[build-system] requires"); err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	for name, d := range e.dists {
		kd := keptDist{Name: name}
		for _, fw := range m.Found {
			if meta, err := wheel.ReadMetadata(fw.Path); err == nil && pep503.Normalize(meta.Name) == name {
				kd.Wheel = fw.Path
			}
		}
		for x := range d.extras {
			kd.Extras = append(kd.Extras, x)
		}
		slices.Sort(kd.Extras)
		m.Dists = append(m.Dists, kd)
	}
	slices.SortFunc(m.Dists, func(a, b keptDist) int { return strings.Compare(a.Name, b.Name) })
	data, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	tmp := filepath.Join(dir, ".manifest.json.tmp")
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return nil, fmt.Errorf("build environment cache: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, "manifest.json")); err != nil {
		return nil, fmt.Errorf("build environment cache: %w", err)
	}
	e.f = f
	e.kept = true
	return e, nil
}

// satisfied reports whether every requirement of reqs that applies is
// met by a distribution already in the environment, so a kept
// environment serves them without a change.
func (e *env) satisfied(reqs []string) bool {
	for _, s := range reqs {
		req, err := pep508.ParseRequirement(s)
		if err != nil {
			return false
		}
		if !e.applies(req.Marker, "") {
			continue
		}
		d := e.dists[pep503.Normalize(req.Name)]
		if d == nil || len(req.Specifier) > 0 && !req.Specifier.Contains(d.version, true) {
			return false
		}
		for _, x := range req.Extras {
			if !d.extras[pep503.Normalize(x)] {
				return false
			}
		}
	}
	return true
}

// buildEnv returns the build environment with requires installed: a kept
// one when f.EnvCacheDir is set, else a fresh one in work. release must
// be called once the hooks are done.
func (f *Frontend) buildEnv(ctx context.Context, work string, requires []string) (*env, func(), error) {
	if f.EnvCacheDir != "" {
		return f.keptEnv(ctx, requires)
	}
	return f.freshEnv(ctx, work, requires)
}

// freshEnv makes a build environment in work and installs requires.
func (f *Frontend) freshEnv(ctx context.Context, work string, requires []string) (*env, func(), error) {
	e, err := f.newEnv(ctx, work)
	if err != nil {
		return nil, nil, err
	}
	if err := e.install(ctx, requires, "[build-system] requires"); err != nil {
		return nil, nil, err
	}
	return e, func() {}, nil
}

func sleepCtx(ctx context.Context) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(20 * time.Millisecond):
		return nil
	}
}
