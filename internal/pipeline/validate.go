package pipeline

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/venvpkg/venvpkg/internal/config"
	"github.com/venvpkg/venvpkg/internal/pep440"
	"github.com/venvpkg/venvpkg/internal/pep508"
	"github.com/venvpkg/venvpkg/internal/service"
	"github.com/venvpkg/venvpkg/internal/vuln"
)

// validate checks, in the first stage, every setting that a later stage would otherwise refuse after minutes of
// fetching and installing: the maintainer, the versions, the project's requirements, services, dependencies in
// Debian's syntax, the package sources given on the command line, the lock file named, the output directory and the
// vulnerability database. It starts no process and reaches no network.
func (b *builder) validate() error {
	c := b.cfg
	// A project without [project] (setup.py, [tool.poetry]) or with dynamic
	// authors names its maintainer in the wheel its backend builds.
	if b.maint == "" && c.HasProject && !c.Project.IsDynamic("authors") && !c.Project.IsDynamic("maintainers") {
		return fmt.Errorf("%s: no maintainer: set [tool.venvpkg] maintainer = \"Name <email>\" or [project] maintainers/authors with a name and an email", c.File)
	}
	if c.HasProject && b.opts.Version == "" && !c.Project.IsDynamic("version") {
		if _, err := pep440.Parse(c.Project.Version); err != nil {
			return fmt.Errorf("%s: [project] version: %w", c.File, err)
		}
	}
	if rp := c.Project.RequiresPython; rp != "" {
		if _, err := pep440.ParseSpecifierSet(rp); err != nil {
			return fmt.Errorf("%s: [project] requires-python %q: %w", c.File, rp, err)
		}
	}
	for _, d := range c.Project.Dependencies {
		if _, err := pep508.ParseRequirement(d); err != nil {
			return fmt.Errorf("%s: [project] dependencies: %w", c.File, err)
		}
	}
	// Without [project] the name, and so the default prefix, come from the
	// built wheel: the services' own settings are checked with stand-ins.
	name, prefix := cmp.Or(b.name, "project"), cmp.Or(b.prefix, "/opt/venvs/project")
	for _, f := range b.writers {
		if fl := f.Services(); fl != nil {
			if _, err := service.Generate(service.Spec{Package: name, Prefix: prefix, Services: c.Services}, fl); err != nil {
				return fmt.Errorf("%s: [tool.venvpkg.services]: %w", c.File, err)
			}
		}
	}
	if err := b.validateSources(); err != nil {
		return err
	}
	if p := cmp.Or(b.opts.Lock, c.Tool.Lock); p != "" {
		if !filepath.IsAbs(p) && b.opts.Lock == "" {
			p = filepath.Join(b.projDir, p)
		}
		if _, err := os.Stat(p); err != nil {
			return fmt.Errorf("the lock file: %w", err)
		}
	}
	if err := writableDir(b.outDir); err != nil {
		return fmt.Errorf("--out %s: %w", b.outDir, err)
	}
	if b.opts.VulnDB != "" {
		if _, err := vuln.ParseThreshold(cmp.Or(b.opts.VulnFailOn, "any")); err != nil {
			return err
		}
		if _, err := os.Stat(b.opts.VulnDB); err != nil {
			return fmt.Errorf("--vuln-db: %w", err)
		}
	}
	return nil
}

// validateSources checks the package sources that come from flags, PIP_* variables and [tool.venvpkg] (the lock's
// own are checked when it is read): index URLs are http(s) URLs, find-links are such URLs or existing directories.
func (b *builder) validateSources() error {
	src := b.sources()
	for _, u := range src.IndexURLs {
		if err := config.ValidIndexURL(u); err != nil {
			return fmt.Errorf("index URL: %w", err)
		}
	}
	for _, l := range src.FindLinks {
		switch {
		case strings.HasPrefix(l, "http://"), strings.HasPrefix(l, "https://"):
			if err := config.ValidIndexURL(l); err != nil {
				return fmt.Errorf("--find-links: %w", err)
			}
		case strings.HasPrefix(l, "file://"):
			u, err := url.Parse(l)
			if err != nil {
				return fmt.Errorf("--find-links %s: %w", l, err)
			}
			if err := isDir(u.Path); err != nil {
				return fmt.Errorf("--find-links %s: %w", l, err)
			}
		case strings.Contains(l, "://"):
			return fmt.Errorf("--find-links %s: only directories, file:// and http(s):// URLs are supported", l)
		default:
			if err := isDir(l); err != nil {
				return fmt.Errorf("--find-links: %w", err)
			}
		}
	}
	return nil
}

func isDir(p string) error {
	st, err := os.Stat(p)
	if err != nil {
		return err
	}
	if !st.IsDir() {
		return fmt.Errorf("%s is not a directory", p)
	}
	return nil
}

// writableDir checks that dir is a directory this process can write to, or can be created: its nearest existing
// ancestor is a writable directory. It creates nothing, so a refused build leaves no empty output directory.
func writableDir(dir string) error {
	p, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	for {
		st, err := os.Stat(p)
		switch {
		case err == nil && !st.IsDir():
			return fmt.Errorf("%s is not a directory", p)
		case err == nil:
			if err := syscall.Access(p, 2 /* W_OK */); err != nil {
				return fmt.Errorf("%s is not writable: %w", p, err)
			}
			return nil
		case !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.ENOTDIR):
			return err
		}
		parent := filepath.Dir(p)
		if parent == p {
			return fmt.Errorf("no existing directory above %s", dir)
		}
		p = parent
	}
}
