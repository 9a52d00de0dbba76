package vuln

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/venvpkg/venvpkg/internal/config"
	"github.com/venvpkg/venvpkg/internal/lock"
	"github.com/venvpkg/venvpkg/internal/payload"
	"github.com/venvpkg/venvpkg/internal/pep508"
	"github.com/venvpkg/venvpkg/internal/repo"
	"github.com/venvpkg/venvpkg/internal/sbom"
)

// FromLock lists the pinned requirements of a lock; each is installed
// "where" the lock line is.
func FromLock(l *lock.Lock) []Installed {
	var out []Installed
	for _, r := range l.Requirements {
		out = append(out, Installed{Name: r.Name, Version: r.Version, Where: cmp.Or(r.Source, l.Path)})
	}
	return out
}

// FromSBOM lists the Python distributions (pkg:pypi components) of a
// CycloneDX SBOM.
func FromSBOM(data []byte, where string) ([]Installed, error) {
	bom, err := sbom.Decode(data)
	if err != nil {
		return nil, err
	}
	var out []Installed
	add := func(name, version, purl string) {
		if strings.HasPrefix(purl, "pkg:pypi/") {
			out = append(out, Installed{Name: name, Version: version, Where: where})
		}
	}
	if m := bom.Metadata; m != nil && m.Component != nil {
		add(m.Component.Name, m.Component.Version, m.Component.PackageURL)
	}
	if bom.Components != nil {
		for _, c := range *bom.Components {
			add(c.Name, c.Version, c.PackageURL)
		}
	}
	return out, nil
}

// FromTree lists the Python distributions of a package's payload, from
// its SBOM when it has one (the pkg:pypi components), else from the
// .dist-info directories; the note says which, when it is the latter.
func FromTree(t *payload.Tree, where string) ([]Installed, string, error) {
	if data, at, ok := t.SBOM(); ok {
		out, err := FromSBOM(data, where)
		if err != nil {
			return nil, "", fmt.Errorf("%s: %s: %w", where, at, err)
		}
		return out, "", nil
	}
	dists, err := t.Distributions()
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", where, err)
	}
	var out []Installed
	for _, d := range dists {
		out = append(out, Installed{Name: d.Name, Version: d.Version, Where: where})
	}
	return out, fmt.Sprintf("%s has no SBOM; its %d .dist-info directories were read instead", where, len(dists)), nil
}

// FromPackage lists the distributions of a .deb or .rpm file.
func FromPackage(file string) ([]Installed, string, error) {
	t, err := payload.ReadFile(file)
	if err != nil {
		return nil, "", err
	}
	return FromTree(t, filepath.Base(file))
}

// FromRepository lists the distributions of every package and version a
// repository made by venvpkg publish holds, each "installed" at
// "<suite>/<component> <name> <version> <arch>" (apt) or
// "rpm/<suite> <name> <version> <arch>".
func FromRepository(ctx context.Context, dir string) ([]Installed, []string, error) {
	st := repo.Dir{Root: dir}
	pkgs, err := repo.Contents(ctx, st)
	if err != nil {
		return nil, nil, fmt.Errorf("reading repository %s: %w", dir, err)
	}
	if len(pkgs) == 0 {
		return nil, nil, fmt.Errorf("%s holds no package indexes (apt/dists/*/InRelease or rpm/*/repodata/repomd.xml); give the directory venvpkg publish --repo wrote", dir)
	}
	var out []Installed
	var notes []string
	seen := map[string]bool{}
	for _, p := range pkgs {
		where := fmt.Sprintf("apt %s/%s %s %s %s", p.Suite, p.Component, p.Name, p.Version, p.Arch)
		if p.Format == "rpm" {
			where = fmt.Sprintf("rpm/%s %s %s %s", p.Suite, p.Name, p.Version, p.Arch)
		}
		ins, note, err := FromPackage(filepath.Join(dir, filepath.FromSlash(p.Path)))
		if err != nil {
			return nil, nil, fmt.Errorf("reading repository %s: %w", dir, err)
		}
		if note != "" && !seen[p.Path] {
			notes = append(notes, strings.Replace(note, filepath.Base(p.Path), p.Path, 1))
		}
		seen[p.Path] = true
		for i := range ins {
			ins[i].Where = where
		}
		out = append(out, ins...)
	}
	return out, notes, nil
}

// Target kinds.
const (
	TargetLock       = "lock"
	TargetPackage    = "package"
	TargetRepository = "repository"
	TargetProject    = "project"
)

// Kind tells what a target path is: a repository made by venvpkg publish
// (a directory with apt/dists or rpm/), a project directory (its lock is
// checked), a .deb or .rpm file (by content), else a lock file.
func Kind(p string) (string, error) {
	st, err := os.Stat(p)
	if err != nil {
		return "", err
	}
	if st.IsDir() {
		for _, d := range []string{filepath.Join(repo.AptRoot, "dists"), repo.RPMRoot} {
			if fi, err := os.Stat(filepath.Join(p, d)); err == nil && fi.IsDir() {
				return TargetRepository, nil
			}
		}
		return TargetProject, nil
	}
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	head := make([]byte, 8)
	n, _ := io.ReadFull(f, head)
	if payload.IsPackage(head[:n]) {
		return TargetPackage, nil
	}
	return TargetLock, nil
}

// LockOptions say how to read a lock target.
type LockOptions struct {
	// Env evaluates the lock's markers: the target interpreter's.
	Env pep508.Environment
	// Project is the project's configuration, when the lock belongs to one.
	Project *config.Config
}

// FromLockFile reads a lock file as a build would.
func FromLockFile(p string, o LockOptions) ([]Installed, error) {
	lo := lock.LoadOptions{ProjectDir: filepath.Dir(p)}
	if c := o.Project; c != nil {
		lo.Project, lo.Dependencies = c.Project.Name, slices.Clone(c.Project.Dependencies)
		if lock.IsPoetryLock(p) {
			more, err := lock.PoetryDependencies(c.File)
			if err != nil {
				return nil, err
			}
			lo.Dependencies = append(lo.Dependencies, more...)
		}
	}
	l, err := lock.Load(p, o.Env, lo)
	if err != nil {
		return nil, err
	}
	return FromLock(l), nil
}

// CollectOptions say how Collect reads lock targets.
type CollectOptions struct {
	// Env returns the marker environment for locks (the target
	// interpreter's); it is called only when a lock is checked, with the
	// project's configuration when there is one.
	Env func(ctx context.Context, project *config.Config) (pep508.Environment, error)
	// Project is the configuration given with --project; without it a
	// project directory target, or the pyproject.toml beside a lock
	// target, is used.
	Project *config.Config
}

// Collected is what Collect found in the targets.
type Collected struct {
	Installed []Installed
	Notes     []string
	// Project is the configuration the ignores come from, nil when none.
	Project *config.Config
}

// Collect lists the distributions of every target (see Kind).
func Collect(ctx context.Context, targets []string, o CollectOptions) (*Collected, error) {
	c := &Collected{Project: o.Project}
	for _, t := range targets {
		kind, err := Kind(t)
		if err != nil {
			return nil, err
		}
		switch kind {
		case TargetRepository:
			ins, notes, err := FromRepository(ctx, t)
			if err != nil {
				return nil, err
			}
			c.Installed = append(c.Installed, ins...)
			c.Notes = append(c.Notes, notes...)
			continue
		case TargetPackage:
			ins, note, err := FromPackage(t)
			if err != nil {
				return nil, err
			}
			c.Installed = append(c.Installed, ins...)
			if note != "" {
				c.Notes = append(c.Notes, note)
			}
			continue
		}
		cfg := o.Project
		lockPath := t
		if kind == TargetProject {
			if cfg, err = config.Load(t); err != nil {
				return nil, err
			}
			if lockPath = cfg.Tool.Lock; lockPath != "" {
				lockPath = filepath.Join(t, lockPath)
			} else if lockPath, err = lock.Find(t); err != nil {
				return nil, err
			} else if lockPath == "" {
				return nil, fmt.Errorf("%s has no lock file (looked for %s); name the lock file instead", t, strings.Join(lock.DefaultNames, ", "))
			}
		} else if cfg == nil {
			if _, err := os.Stat(filepath.Join(filepath.Dir(t), config.FileName)); err == nil {
				if cfg, err = config.Load(filepath.Dir(t)); err != nil {
					return nil, err
				}
			}
		}
		if c.Project == nil {
			c.Project = cfg
		}
		env, err := o.Env(ctx, cfg)
		if err != nil {
			return nil, err
		}
		ins, err := FromLockFile(lockPath, LockOptions{Env: env, Project: cfg})
		if err != nil {
			return nil, err
		}
		c.Installed = append(c.Installed, ins...)
	}
	return c, nil
}

// IgnoresFrom returns the project's [[tool.venvpkg.ignore-vulnerabilities]]
// as ignore rules; none for a nil project.
func IgnoresFrom(c *config.Config) []Ignore {
	if c == nil {
		return nil
	}
	var out []Ignore
	for _, i := range c.Tool.IgnoreVulnerabilities {
		out = append(out, Ignore{ID: i.ID, Reason: i.Reason, Expires: i.ExpiresTime()})
	}
	return out
}
