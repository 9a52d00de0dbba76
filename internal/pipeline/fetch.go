package pipeline

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/sync/errgroup"

	"github.com/venvpkg/venvpkg/internal/index"
	"github.com/venvpkg/venvpkg/internal/lock"
	"github.com/venvpkg/venvpkg/internal/logging"
	"github.com/venvpkg/venvpkg/internal/pep440"
	"github.com/venvpkg/venvpkg/internal/pep503"
	"github.com/venvpkg/venvpkg/internal/pep508"
	"github.com/venvpkg/venvpkg/internal/wheel"
)

// maxDownloads bounds parallel downloads and index lookups.
const maxDownloads = 8

// sources resolves where artifacts come from: flags, PIP_* variables,
// [tool.venvpkg] and the lock's own option lines (index.ResolveSources).
func (b *builder) sources() index.Sources {
	o := b.opts
	flags := index.SourceSettings{IndexURL: o.IndexURL, ExtraIndexURLs: o.ExtraIndexURLs, FindLinks: o.FindLinks, NoIndex: o.NoIndex}
	tool := index.SourceSettings{IndexURL: b.cfg.Tool.IndexURL, ExtraIndexURLs: b.cfg.Tool.ExtraIndexURLs, FindLinks: b.cfg.Tool.FindLinks, NoIndex: b.cfg.Tool.NoIndex, Dir: b.projDir}
	var lk index.SourceSettings
	if l := b.lock; l != nil {
		lk = index.SourceSettings{ExtraIndexURLs: l.ExtraIndexURLs, FindLinks: l.FindLinks, NoIndex: l.NoIndex, Dir: filepath.Dir(l.Path)}
		if len(l.IndexURLs) > 0 {
			lk.IndexURL = l.IndexURLs[len(l.IndexURLs)-1]
		}
	}
	return index.ResolveSources(flags, tool, lk)
}

func (b *builder) newFinder() error {
	netrc, err := index.LoadNetrc()
	if err != nil {
		return err
	}
	creds := index.NewCredentials(netrc)
	pyv, err := pep440.Parse(b.py.Version)
	if err != nil {
		return fmt.Errorf("interpreter version %q: %w", b.py.Version, err)
	}
	src := b.sources()
	f, err := index.NewFinder(index.Options{
		IndexURLs:   src.IndexURLs,
		FindLinks:   src.FindLinks,
		Credentials: creds,
		Client:      index.NewClient(index.ClientOptions{Credentials: creds, Timeout: b.opts.Timeout, Retries: b.opts.Retries}),
		Cache:       index.NewCache(b.cacheDir),
		Python:      pyv,
		Supported:   b.py.Supported(),
		Reporter:    &downloadReporter{log: b.log},
	})
	if err != nil {
		return err
	}
	b.finder = f
	for _, s := range f.Sources() {
		b.log.Debugf("source %s", index.Redact(s))
	}
	return nil
}

// pick is the artifact chosen for one requirement of the lock.
type pick struct {
	req     lock.Requirement
	art     index.Artifact
	allowed []string // the lock's hashes in hash-checking mode
	path    string   // local path once fetched
}

// selectArtifacts chooses an artifact for every requirement of the lock,
// fetches them in parallel (checking sizes and hashes) and builds wheels
// from the sdists among them.
func (b *builder) selectArtifacts(ctx context.Context) error {
	selfName := pep503.Normalize(b.project.Name)
	var picks []*pick
	var problems []string
	var fromGit []lock.Requirement
	for _, r := range b.lock.Requirements {
		if r.Name == selfName {
			continue // the project itself is built from source
		}
		if r.VCS != nil {
			fromGit = append(fromGit, r) // the commit is the pin
			continue
		}
		if b.opts.RequireHashes && len(r.Files) == 0 && len(r.Hashes) == 0 {
			problems = append(problems, fmt.Sprintf("%s: %s==%s has no --hash, but --require-hashes is on; add --hash=sha256:<hex> (pip-compile --generate-hashes writes them)", r.Source, r.Display, r.Version))
			continue
		}
		picks = append(picks, &pick{req: r})
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "\n"))
	}
	if err := b.chooseAll(ctx, picks); err != nil {
		return err
	}

	// Fetch in parallel.
	errs := make([]error, len(picks))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(maxDownloads)
	for i, p := range picks {
		g.Go(func() error {
			path, err := b.finder.Fetch(gctx, p.art, p.allowed)
			if err != nil {
				errs[i] = fmt.Errorf("%s: %w", p.req.Source, err)
				return nil
			}
			p.path = path
			b.log.Debugf("%s==%s → %s", p.req.Name, p.req.Version, path)
			return nil
		})
	}
	_ = g.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := joinProblems(errs); err != nil {
		return err
	}

	for _, p := range picks {
		if p.art.IsWheel() {
			b.wheels = append(b.wheels, p.path)
			continue
		}
		whl, err := b.buildSdist(ctx, p)
		if err != nil {
			return fmt.Errorf("%s: %w", p.req.Source, err)
		}
		b.wheels = append(b.wheels, whl)
	}
	for _, r := range fromGit {
		whl, err := b.wheelFromGit(ctx, r)
		if err != nil {
			return fmt.Errorf("%s: %w", r.Source, err)
		}
		b.wheels = append(b.wheels, whl)
	}
	sort.Strings(b.wheels)
	return nil
}

// chooseAll chooses every pick's artifact, reading index pages in parallel; every failure is reported.
func (b *builder) chooseAll(ctx context.Context, picks []*pick) error {
	hashMode := b.lock.HashMode || b.opts.RequireHashes
	errs := make([]error, len(picks))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(maxDownloads)
	for i, p := range picks {
		g.Go(func() error {
			errs[i] = b.choose(gctx, p, hashMode)
			return nil
		})
	}
	_ = g.Wait()
	return joinProblems(errs)
}

func joinProblems(errs []error) error {
	var msgs []string
	for _, e := range errs {
		// An index host that does not resolve fails every requirement alike: say it once.
		var ue *index.UnreachableError
		if errors.As(e, &ue) {
			return ue
		}
	}
	for _, e := range errs {
		if e != nil {
			msgs = append(msgs, index.Redact(e.Error()))
		}
	}
	if len(msgs) == 0 {
		return nil
	}
	return errors.New(strings.Join(msgs, "\n"))
}

// choose picks the artifact of one requirement: from the files a
// pylock.toml entry lists, else from the sources.
func (b *builder) choose(ctx context.Context, p *pick, hashMode bool) error {
	r := p.req
	if len(r.Files) > 0 {
		a, err := b.chooseLockFile(r)
		if err != nil {
			return err
		}
		p.art = a
	} else {
		if hashMode {
			if len(r.Hashes) == 0 {
				return fmt.Errorf("%s: %s has no --hash but the lock is in hash-checking mode; add --hash=sha256:<hex>", r.Source, r.Display)
			}
			p.allowed = r.Hashes
		}
		a, err := b.finder.Pinned(ctx, r.Name, r.Version, r.Exact, p.allowed)
		if err != nil {
			return fmt.Errorf("%s: %w", r.Source, err)
		}
		p.art = a
	}
	if !p.art.IsWheel() && b.onlyBinary(r.Name) {
		return fmt.Errorf("%s: %s==%s has no compatible wheel, only the sdist %s, and --only-binary forbids building it", r.Source, r.Display, r.Version, p.art.Filename)
	}
	return nil
}

func (b *builder) onlyBinary(name string) bool {
	for _, v := range b.lock.OnlyBinary {
		for _, n := range strings.Split(v, ",") {
			if n = strings.TrimSpace(n); n == ":all:" || pep503.Normalize(n) == name {
				return true
			}
		}
	}
	return false
}

// chooseLockFile picks from a pylock.toml entry's files the wheel whose
// tags rank best for the target, else its sdist.
func (b *builder) chooseLockFile(r lock.Requirement) (index.Artifact, error) {
	sup := b.py.Supported()
	best, bestRank := -1, 0
	sdist := -1
	var names []string
	for i, f := range r.Files {
		names = append(names, f.Name)
		if f.Sdist {
			if sdist < 0 {
				sdist = i
			}
			continue
		}
		fn, err := wheel.ParseFilename(f.Name)
		if err != nil {
			return index.Artifact{}, fmt.Errorf("%s: %w", r.Source, err)
		}
		if pep503.Normalize(fn.Distribution) != r.Name {
			return index.Artifact{}, fmt.Errorf("%s: the wheel %s is not a file of %s", r.Source, f.Name, r.Display)
		}
		rank, ok := sup.Rank(fn.Tags)
		if ok && (best < 0 || rank < bestRank) {
			best, bestRank = i, rank
		}
	}
	i := best
	if i < 0 {
		i = sdist
	}
	if i < 0 {
		var top []string
		for j, t := range sup.Tags() {
			if j == 5 {
				break
			}
			top = append(top, t.String())
		}
		return index.Artifact{}, fmt.Errorf("%s: none of the wheels of %s fits the target and there is no sdist: %s; the interpreter's top tags: %s",
			r.Source, r.Display, strings.Join(names, ", "), strings.Join(top, ", "))
	}
	f := r.Files[i]
	a := index.Artifact{
		Path: f.Path, URL: f.URL, Filename: f.Name, Name: r.Name,
		Hashes: f.Hashes, Size: f.Size, Source: b.lock.Path,
	}
	if r.Version != "" {
		v, err := pep440.Parse(r.Version)
		if err != nil {
			return index.Artifact{}, fmt.Errorf("%s: %w", r.Source, err)
		}
		a.Version = v
	}
	if !f.Sdist {
		fn, _ := wheel.ParseFilename(f.Name)
		a.Wheel = &fn
		v, err := pep440.Parse(fn.Version)
		if err != nil {
			return index.Artifact{}, fmt.Errorf("%s: %s: %w", r.Source, f.Name, err)
		}
		if r.Version != "" && v.Compare(a.Version) != 0 {
			return index.Artifact{}, fmt.Errorf("%s: the wheel %s is not version %s", r.Source, f.Name, r.Version)
		}
		a.Version = v
	}
	if a.Path != "" {
		if _, err := os.Stat(a.Path); err != nil {
			return index.Artifact{}, fmt.Errorf("%s: %s: %w", r.Source, f.Name, err)
		}
	}
	return a, nil
}

// findBuildRequirement finds and fetches the wheel of a build requirement
// (of the project or of an sdist) from the same sources; when the best
// match is an sdist, it builds the wheel from it, as pip does.
func (b *builder) findBuildRequirement(ctx context.Context, req pep508.Requirement) (string, error) {
	a, err := b.finder.Best(ctx, req)
	if err != nil {
		if pkg, ok := debianWheelPackages[pep503.Normalize(req.Name)]; ok {
			// Debian 12's setuptools 66 asks for wheel, which /usr/share/python-wheels lacks unless it is installed.
			err = fmt.Errorf("%w (on Debian and Ubuntu, apt-get install %s puts its wheel in %s)", err, pkg, debianWheelsDir)
		}
		return "", err
	}
	path, err := b.finder.Fetch(ctx, a, nil)
	if err != nil || a.IsWheel() {
		return path, err
	}
	return b.wheelFromSdist(ctx, path, a.Filename, a.Name, func(whl string) error {
		return b.checkWheelFrom(a.Filename, whl, a.Name, &a.Version)
	})
}

// debianWheelsDir holds the wheels Debian packages for virtualenvs and build environments.
const debianWheelsDir = "/usr/share/python-wheels"

// debianWheelPackages names the Debian package that puts each distribution's wheel in debianWheelsDir.
var debianWheelPackages = map[string]string{
	"pip": "python3-pip-whl", "setuptools": "python3-setuptools-whl", "wheel": "python3-wheel-whl",
}

// downloadReporter shows downloads: a progress bar of files and bytes when
// the log goes to a terminal, one line per file otherwise, nothing with -q.
type downloadReporter struct {
	log *logging.Logger

	mu      sync.Mutex
	started int
	done    int
	bytes   int64
	bar     *progressbar.ProgressBar
}

func (r *downloadReporter) describe() {
	r.bar.Describe(fmt.Sprintf("downloading %d/%d files, %s", r.done, r.started, humanBytes(r.bytes)))
}

func (r *downloadReporter) Start(a index.Artifact) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.started++
	if f, ok := r.log.Terminal(); ok {
		if r.bar == nil {
			r.bar = progressbar.NewOptions64(-1,
				progressbar.OptionSetWriter(f),
				progressbar.OptionShowBytes(true),
				progressbar.OptionClearOnFinish(),
				progressbar.OptionSetWidth(30),
				progressbar.OptionThrottle(100*time.Millisecond),
			)
		}
		r.describe()
		return
	}
	size := ""
	if a.Size >= 0 {
		size = fmt.Sprintf(" (%s)", humanBytes(a.Size))
	}
	r.log.Infof("downloading %s%s", a.Filename, size)
}

func (r *downloadReporter) Add(n int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.bytes += n
	if r.bar != nil {
		r.describe()
		_ = r.bar.Add64(n)
	}
}

func (r *downloadReporter) Done(a index.Artifact, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.done++
	if r.bar != nil {
		r.describe()
		if r.done == r.started {
			_ = r.bar.Finish()
			r.bar = nil
		}
	}
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
