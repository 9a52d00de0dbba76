package pipeline

import (
	"context"
	"fmt"
	"net/url"
	"path"
	"path/filepath"

	"github.com/venvpkg/venvpkg/internal/index"
	"github.com/venvpkg/venvpkg/internal/interp"
	"github.com/venvpkg/venvpkg/internal/pydist"
)

// A bundled interpreter (--python-dist, [tool.venvpkg] python-dist) lives
// at <prefix>/python in the package. Three views of it take part in a
// build: b.py names its final paths (the virtualenv links to them), the
// prepared tree in the interpreter cache keys the tree cache, and a linked
// copy in the build directory runs the PEP 517 backends and the compiler,
// so that whatever those write never reaches the cache or the payload.

// distSource returns the interpreter to bundle, or nil for the host's.
func (b *builder) distSource() (*pydist.Source, error) {
	if v := b.opts.PythonDist; v != "" {
		if b.opts.Python != "" {
			return nil, fmt.Errorf("--python and --python-dist exclude each other; --python links to the host's interpreter, --python-dist bundles one")
		}
		src, err := pydist.ParseFlag(v)
		if err != nil {
			return nil, err
		}
		if src.Path != "" {
			abs, err := filepath.Abs(src.Path)
			if err != nil {
				return nil, err
			}
			src.Path = abs
		}
		return &src, nil
	}
	d := b.cfg.Tool.PythonDist
	if d == nil || b.opts.Python != "" {
		return nil, nil // --python overrides the configured bundle
	}
	src := pydist.Source{URL: d.URL, Path: d.Path, SHA256: d.SHA256}
	if err := src.Validate(); err != nil {
		return nil, fmt.Errorf("%s: [tool.venvpkg] %w", b.cfg.File, err)
	}
	return &src, nil
}

// probeDist prepares the bundled interpreter and describes it.
func (b *builder) probeDist(ctx context.Context, src pydist.Source) error {
	d, err := pydist.Prepare(ctx, src, pydist.Options{
		CacheDir: filepath.Join(b.cacheDir, "pythons"),
		Prefix:   path.Join(b.prefix, "python"),
		Fetch:    b.fetchDist,
		Compile:  !b.opts.NoCompile,
		Jobs:     b.jobs,
		Logf:     b.log.Debugf,
	})
	if err != nil {
		return err
	}
	cached, err := interp.Probe(ctx, d.CachedExecutable(), filepath.Join(b.cacheDir, "interp"))
	if err != nil {
		return fmt.Errorf("python-dist %s: %w", src, err)
	}
	run := filepath.Join(b.tmp, "python")
	if err := d.Link(ctx, run); err != nil {
		return err
	}
	runPy := *cached
	runPy.Executable = filepath.Join(run, filepath.FromSlash(d.Executable()))
	runPy.RealPath = runPy.Executable
	final := *cached
	final.Executable = d.Executable()
	final.RealPath = final.Executable
	final.BasePrefix = d.Prefix
	final.Stdlib = path.Join(d.Prefix, "lib", path.Base(d.Python))
	b.dist, b.cachedPy, b.runPy, b.py = d, cached, &runPy, &final
	state := "prepared"
	if d.Hit {
		state = "cached"
	}
	b.log.Infof("bundled interpreter %s (CPython %s, %s, %s) at %s", src, final.Version, final.Platform, state, final.Executable)
	return nil
}

// fetchDist downloads an interpreter archive through the wheel download
// path: the same cache, credentials (URL, ~/.netrc), retries and progress.
func (b *builder) fetchDist(ctx context.Context, rawURL, sha256 string) (string, error) {
	netrc, err := index.LoadNetrc()
	if err != nil {
		return "", err
	}
	creds := index.NewCredentials(netrc)
	stripped, err := creds.Strip(rawURL)
	if err != nil {
		return "", err
	}
	u, err := url.Parse(stripped)
	if err != nil {
		return "", err
	}
	f, err := index.NewFinder(index.Options{
		Credentials: creds,
		Client:      index.NewClient(index.ClientOptions{Credentials: creds, Timeout: b.opts.Timeout, Retries: b.opts.Retries}),
		Cache:       index.NewCache(b.cacheDir),
		Reporter:    &downloadReporter{log: b.log},
	})
	if err != nil {
		return "", err
	}
	a := index.Artifact{URL: stripped, Filename: path.Base(u.Path), Size: -1, Hashes: map[string]string{"sha256": sha256}, Source: "python-dist"}
	return f.Fetch(ctx, a, []string{"sha256:" + sha256})
}

// runner is the interpreter that runs during the build: the linked copy of
// a bundled one, else the target interpreter itself.
func (b *builder) runner() *interp.Info {
	if b.runPy != nil {
		return b.runPy
	}
	return b.py
}

// cacheKeyInterpreter is the interpreter the tree cache keys entries by: a
// stable path with the size and time of the binary.
func (b *builder) cacheKeyInterpreter() *interp.Info {
	if b.cachedPy != nil {
		return b.cachedPy
	}
	return b.py
}

// linkDist adds the bundled interpreter to the staging root.
func (b *builder) linkDist(ctx context.Context) error {
	if b.dist == nil {
		return nil
	}
	return b.dist.Link(ctx, b.root)
}
