package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/venvpkg/venvpkg/internal/testutil/debwheel"
	"github.com/venvpkg/venvpkg/internal/testutil/pbs"
)

// The bundled variant packages the same application with its own CPython (--python-dist): the python-build-standalone
// 3.11.11 build that the tests make from the go-embed-python module (internal/testutil/pbs), pinned by sha256. Its
// cold run prepares the interpreter (unpack, relocate, byte-compile the standard library) in an empty cache; its
// warm run, after the same one-line change, links the cached interpreter and wheel trees. Debian's setuptools
// cannot build on a python-build-standalone CPython, so this variant's copy of the project uses flit_core,
// repacked from Debian's flit package.
const (
	toolBundledCold = "venvpkg build --python-dist, cold cache"
	toolBundledWarm = "venvpkg build --python-dist, warm (one-line change)"
)

// bundledInputs are what the bundled variant needs besides the workload: the archive and the build backend.
type bundledInputs struct {
	Dist     string // --python-dist value: archive#sha256=...
	Backends string // --find-links directory with flit_core
}

func prepareBundled(ctx context.Context, cfg config) (*bundledInputs, error) {
	a, err := pbs.Make(ctx, filepath.Join(cfg.Cache, "pbs"), pbs.V311)
	if err != nil {
		return nil, fmt.Errorf("making the bundled interpreter's archive: %w", err)
	}
	dir := filepath.Join(cfg.Work, "backend-wheels")
	if _, err := debwheel.Repack(ctx, cfg.Cache, dir, "flit"); err != nil {
		return nil, fmt.Errorf("repacking flit_core from Debian: %w", err)
	}
	return &bundledInputs{Dist: a.Path + "#sha256=" + a.SHA256, Backends: dir}, nil
}

var buildSystem = regexp.MustCompile(`(?s)\[build-system\].*?\n\n`)

// bundledProject copies the workload's project with flit_core as its backend, without the setuptools tables and
// the [tool.venvpkg] python key.
func bundledProject(w *workload) (string, error) {
	dst := filepath.Join(w.Dir, "benchapp-bundled")
	if err := os.RemoveAll(dst); err != nil {
		return "", err
	}
	err := filepath.WalkDir(w.Project, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(w.Project, p)
		if err := os.MkdirAll(filepath.Join(dst, filepath.Dir(rel)), 0o755); err != nil {
			return err
		}
		return copyFile(p, filepath.Join(dst, rel))
	})
	if err != nil {
		return "", err
	}
	data, err := os.ReadFile(filepath.Join(dst, "pyproject.toml"))
	if err != nil {
		return "", err
	}
	text := buildSystem.ReplaceAllString(string(data), "[build-system]\nrequires = [\"flit_core>=3.4,<4\"]\nbuild-backend = \"flit_core.buildapi\"\n\n")
	if i := strings.Index(text, "[tool.setuptools.packages.find]"); i >= 0 {
		if j := strings.Index(text, "[tool.venvpkg]"); j > i {
			text = text[:i] + text[j:]
		}
	}
	text = strings.Replace(text, "python = \"/usr/bin/python3.11\"\n", "", 1)
	if err := os.Remove(filepath.Join(dst, "setup.cfg")); err != nil && !os.IsNotExist(err) {
		return "", err
	}
	return dst, os.WriteFile(filepath.Join(dst, "pyproject.toml"), []byte(text), 0o644)
}

// runBundled builds the bundled variant's project with the venvpkg binary and cache directory given.
func runBundled(ctx context.Context, bin string, w *workload, in *bundledInputs, project, cache, dir string) (sample, error) {
	out := filepath.Join(dir, "out")
	env := []string{"VENVPKG_CACHE_DIR=" + cache, "SOURCE_DATE_EPOCH=1700000000"}
	s, err := run(ctx, dir, env, bin, "build", project, "-q", "--no-index",
		"--find-links", w.Wheels, "--find-links", in.Backends, "--python-dist", in.Dist, "--out", out)
	if err != nil {
		return s, err
	}
	debs, _ := filepath.Glob(filepath.Join(out, "*.deb"))
	if len(debs) != 1 {
		return s, fmt.Errorf("venvpkg wrote %d packages into %s, want one", len(debs), out)
	}
	s.Size = fileSize(debs[0])
	return s, nil
}
