// Package pipeline runs venvpkg's pipeline for one project:
//
//	config → probe → lock → build → fetch → check → venv → install → compile → audit → package
//
// It owns the build's temporary directories and removes them whatever
// happens, so a failed or interrupted run leaves nothing behind but its
// error; packages appear in the output directory only once complete.
package pipeline

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/venvpkg/venvpkg/internal/audit"
	"github.com/venvpkg/venvpkg/internal/compile"
	"github.com/venvpkg/venvpkg/internal/config"
	"github.com/venvpkg/venvpkg/internal/distver"
	"github.com/venvpkg/venvpkg/internal/env"
	"github.com/venvpkg/venvpkg/internal/format"
	"github.com/venvpkg/venvpkg/internal/index"
	"github.com/venvpkg/venvpkg/internal/interp"
	"github.com/venvpkg/venvpkg/internal/lock"
	"github.com/venvpkg/venvpkg/internal/logging"
	"github.com/venvpkg/venvpkg/internal/pep440"
	"github.com/venvpkg/venvpkg/internal/pep503"
	"github.com/venvpkg/venvpkg/internal/pep508"
	"github.com/venvpkg/venvpkg/internal/pkg"
	"github.com/venvpkg/venvpkg/internal/pybuild"
	"github.com/venvpkg/venvpkg/internal/pydist"
	"github.com/venvpkg/venvpkg/internal/sign"
	"github.com/venvpkg/venvpkg/internal/treecache"
	"github.com/venvpkg/venvpkg/internal/venv"
	"github.com/venvpkg/venvpkg/internal/vuln"
	"github.com/venvpkg/venvpkg/internal/wheel"
)

// buildDirPattern names every build's temporary directory (a MkdirTemp
// pattern, and the prefix the audit refuses in any payload file).
const buildDirPattern = "venvpkg-build-"

// DefaultSourceDateEpoch is used when neither SOURCE_DATE_EPOCH nor a git
// commit gives a time: 2000-01-01T00:00:00Z.
const DefaultSourceDateEpoch = 946684800

// Options are the inputs of one build; the CLI fills them from flags.
// Empty fields fall back to [tool.venvpkg] and then to defaults.
type Options struct {
	ProjectDir string
	Lock       string
	FindLinks  []string
	NoIndex    bool

	// IndexURL and ExtraIndexURLs are --index-url and --extra-index-url;
	// with FindLinks, empty means PIP_INDEX_URL, PIP_EXTRA_INDEX_URL and
	// PIP_FIND_LINKS, then [tool.venvpkg].
	IndexURL       string
	ExtraIndexURLs []string
	RequireHashes  bool // --require-hashes: every requirement must carry a hash
	// AllowPartialLock is --allow-partial-lock: the lock's closure problems
	// (or [tool.venvpkg] allow-partial-lock's) are warnings, not errors.
	AllowPartialLock bool
	Timeout          time.Duration // network timeout; 0 = 60s
	Retries          int           // retries of a failed request; 0 = 4, negative = none

	Python string
	// PythonDist bundles a relocatable CPython (--python-dist: a path or
	// URL, with #sha256=<hex> for archives) instead of linking to Python.
	PythonDist string
	OutDir     string
	Formats    []string // "deb", "rpm" or both; the venv is staged once for all
	Prefix     string
	Version    string // PEP 440 version override
	Release    string
	NoCompile  bool
	Strict     bool // unresolved shared libraries are errors
	Jobs       int  // parallel installs and compile workers; 0 = number of CPUs
	CacheDir   string
	Log        *logging.Logger

	// BaseImage is the base of container images (--format oci,
	// docker-archive): an OCI image layout directory, an oci-archive, a
	// docker-archive, or "scratch".
	BaseImage string

	// SignKey is an OpenPGP private key file that signs .rpm packages
	// (header signature); empty uses $VENVPKG_SIGN_KEY when it is set.
	SignKey string

	// WheelLimits bound each wheel (entries, uncompressed size, compression
	// ratio); zero fields take the defaults listed in docs/security.md.
	WheelLimits wheel.Limits

	// VulnDB is a vulnerability database (docs/sbom.md): when set, the
	// payload's distributions are checked against it and a finding at or
	// above VulnFailOn (default "any") refuses the build.
	VulnDB     string
	VulnFailOn string
	// DryRun stops after resolving every pin to its artifact: Result.Plan says what the build would use and
	// write; nothing is downloaded, built, installed or written.
	DryRun bool
	// Report writes the HTML report of each package beside it
	// (<package>.html), with the vulnerabilities when VulnDB is set.
	Report bool

	// NoTreeCache installs and compiles every wheel afresh instead of
	// reusing the trees cached by earlier builds: the reference path the
	// tests compare the cached one with.
	NoTreeCache bool
}

// Result describes a finished build.
type Result struct {
	// Plan is what the build would do; set by a dry run (Options.DryRun), which writes no package.
	Plan     *Plan    `json:"plan,omitempty"`
	Packages []string // written package paths
	SBOMs    []string // the SBOM written beside each package
	Reports  []string // the HTML report beside each package (Options.Report)
	Name     string
	Version  string // PEP 440
	Arch     string
	Depends  []string
	Warnings []string
	// Project is the core metadata of the project's built wheel, where
	// the package's name, version, summary, homepage and licence come from.
	Project *wheel.Metadata
}

// Run builds the project described by opts.
func Run(ctx context.Context, opts Options) (_ *Result, err error) {
	log := opts.Log
	if log == nil {
		log = logging.NewLogger(io.Discard, logging.LevelQuiet)
	}
	b := &builder{opts: opts, log: log, res: &Result{}}
	if err := b.prepare(ctx); err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp("", buildDirPattern)
	if err != nil {
		return nil, fmt.Errorf("creating build directory: %w", err)
	}
	defer func() {
		if rerr := os.RemoveAll(tmp); rerr != nil && err == nil {
			err = fmt.Errorf("removing build directory: %w", rerr)
		}
	}()
	b.tmp = tmp
	defer func() { b.stage.Close() }()
	if err := b.run(ctx); err != nil {
		return nil, err
	}
	b.saveStage()
	return b.res, nil
}

type builder struct {
	opts Options
	log  *logging.Logger
	res  *Result

	cfg       *config.Config
	projDir   string
	name      string // package name; "" until the wheel names the project
	maint     string // "Name <email>"; "" until the wheel names one
	prefix    string
	release   string
	python    string
	formats   []string
	writers   []format.Format // the formats, from the registry
	outDir    string
	cacheDir  string
	jobs      int
	epoch     time.Time
	py        *interp.Info
	lock      *lock.Lock
	lockPath  string // "" when no lock file was found
	finder    *index.Finder
	tmp       string
	root      string
	stage     *treecache.Stage // the staging root kept between builds; nil for a new one in tmp
	stageKeys []treecache.Key  // the tree cache keys of wheels, when staging into stage
	wheels    []string         // dependency wheels to install, sorted
	projWheel string
	// project is the METADATA of the project's built wheel: the project's
	// own requirements and what the package's control fields say.
	project *wheel.Metadata
	signer  *sign.Signer
	sbom    []byte   // the SBOM installed in the payload
	vulnDB  *vuln.DB // Options.VulnDB, loaded

	// A bundled interpreter (pydist.go); nil when linking to the host's.
	distSrc  *pydist.Source
	dist     *pydist.Dist
	cachedPy *interp.Info
	runPy    *interp.Info

	elfRequires []string     // rpm's ELF requirements of the payload
	trees       payloadTrees // what each installed wheel put into root

	sdistStack  []string // the sdists being built, outermost first (wheelFromSdist)
	sdistBuilds int      // sdists built so far, naming their directories
}

func (b *builder) prepare(ctx context.Context) error {
	o := b.opts
	dir := o.ProjectDir
	if dir == "" {
		dir = "."
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	b.projDir = abs
	cfg, err := config.Load(abs)
	if err != nil {
		return err
	}
	b.cfg = cfg
	for _, w := range cfg.Warnings {
		b.warn(w)
	}
	b.maint, err = cfg.Maintainer()
	if err != nil {
		return err
	}
	b.prefix = cmp.Or(o.Prefix, cfg.Tool.Prefix)
	if b.prefix != "" {
		if err := config.ValidPrefix(b.prefix); err != nil {
			return fmt.Errorf("--prefix: %w", err)
		}
	}
	if name := cfg.PackageName(); name != "" {
		b.setName(name)
	}
	b.release = cmp.Or(o.Release, cfg.Tool.Release, "1")
	if err := config.ValidRelease(b.release); err != nil {
		return fmt.Errorf("--release: %w", err)
	}
	if o.Version != "" {
		if _, err := pep440.Parse(o.Version); err != nil {
			return fmt.Errorf("--version %q: %w", o.Version, err)
		}
	}
	b.python = cmp.Or(o.Python, cfg.Tool.Python, "/usr/bin/python3")
	if !filepath.IsAbs(b.python) {
		return fmt.Errorf("--python %q: give the absolute path the target hosts run (e.g. /usr/bin/python3.11); the virtualenv links to it", b.python)
	}
	if b.distSrc, err = b.distSource(); err != nil {
		return err
	}
	if b.distSrc != nil && b.prefix == "" {
		return fmt.Errorf("%s: the project's name comes from its built wheel, but the bundled interpreter is prepared for its prefix before the build; set [tool.venvpkg] name or prefix, or --prefix", cfg.File)
	}
	b.formats = o.Formats
	if len(b.formats) == 0 {
		b.formats = []string{"deb"}
	}
	if b.formats, b.writers, err = packageFormats(b.formats); err != nil {
		return err
	}
	b.outDir = cmp.Or(o.OutDir, "dist")
	b.cacheDir = o.CacheDir
	if b.cacheDir == "" {
		b.cacheDir = env.Cache()
	}
	b.jobs = o.Jobs
	if b.jobs <= 0 {
		b.jobs = runtime.NumCPU()
	}
	if b.epoch, err = sourceDateEpoch(ctx, abs); err != nil {
		return err
	}
	if err := b.loadSigner(); err != nil {
		return err
	}
	return b.validate()
}

// setName sets the package name and, unless given, the default prefix.
func (b *builder) setName(name string) {
	b.name = name
	if b.prefix == "" {
		b.prefix = "/opt/venvs/" + name
	}
}

// loadSigner loads the RPM signing key from --sign-key or
// $VENVPKG_SIGN_KEY; signatures carry the build's timestamp so signed
// packages stay reproducible.
func (b *builder) loadSigner() error {
	rpm := slices.Contains(b.formats, "rpm")
	switch {
	case b.opts.SignKey != "" && !rpm:
		return fmt.Errorf("--sign-key signs .rpm packages; add --format rpm (APT verifies the signed repository that venvpkg publish writes, not single .deb files)")
	case !rpm, b.opts.SignKey == "" && env.SignKey.String() == "":
		return nil
	}
	s, err := sign.Load(b.opts.SignKey, sign.Passphrase(os.Stdin, os.Stderr))
	if err != nil {
		return fmt.Errorf("loading the RPM signing key: %w", err)
	}
	// The build's timestamp, unless the key is younger: a signature cannot
	// predate its key. Either way the time is fixed by the inputs.
	when := b.epoch
	if c := s.Created(); when.Before(c) {
		when = c
	}
	s.Now = func() time.Time { return when }
	b.signer = s
	return nil
}

func (b *builder) run(ctx context.Context) error {
	steps := []struct {
		name string
		fn   func(context.Context) error
	}{
		{"probing interpreter", b.probe},
		{"reading lock", b.readLock},
		{"planning", b.dryRun},
		{"building project", b.buildProject},
		{"selecting artifacts", b.selectArtifacts},
		{"checking the lock", b.checkLock},
		{"installing", b.install},
		{"packaging", b.packageIt},
	}
	for _, s := range steps {
		pauseForTest(ctx, b.log, s.name)
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
		start := time.Now()
		if err := s.fn(ctx); errors.Is(err, errDryRun) {
			return nil
		} else if err != nil {
			return err
		}
		b.log.Debugf("%s: done in %s", s.name, time.Since(start).Round(time.Millisecond))
	}
	return nil
}

// pythonSource says where the interpreter's path came from when it was not --python, for errors.
func (b *builder) pythonSource() string {
	switch {
	case b.opts.Python != "":
		return ""
	case b.cfg.Tool.Python != "":
		return fmt.Sprintf("%s: [tool.venvpkg] python = %q", b.cfg.File, b.cfg.Tool.Python)
	}
	return "the default interpreter " + b.python + " (set [tool.venvpkg] python or --python)"
}

func (b *builder) probe(ctx context.Context) error {
	if b.distSrc != nil {
		if err := b.probeDist(ctx, *b.distSrc); err != nil {
			return err
		}
	} else {
		// The virtualenv links to the versioned path, which the package's Depends (python3.N) provides; a host
		// that has python3.11 without the python3 package then runs it, and it stays on 3.11 when python3 moves.
		if v := interp.Versioned(b.python); v != b.python {
			b.log.Infof("interpreter %s is %s; the virtualenv links to %s", b.python, v, v)
			b.python = v
		}
		py, err := interp.Probe(ctx, b.python, filepath.Join(b.cacheDir, "interp"))
		if err != nil {
			if src := b.pythonSource(); src != "" {
				return fmt.Errorf("%s: %w", src, err)
			}
			return err
		}
		b.py = py
		b.log.Infof("interpreter %s (CPython %s, %s)", py.Executable, py.Version, py.Platform)
	}
	if rp := b.cfg.Project.RequiresPython; rp != "" {
		return b.checkRequiresPython(rp, b.cfg.File+" requires-python")
	}
	return nil
}

// checkRequiresPython checks the target interpreter against the project's
// requires-python spec, read from where.
func (b *builder) checkRequiresPython(spec, where string) error {
	set, err := pep440.ParseSpecifierSet(spec)
	if err != nil {
		return fmt.Errorf("%s %q: %w", where, spec, err)
	}
	v, err := pep440.Parse(b.py.Version)
	if err != nil {
		return fmt.Errorf("interpreter version %q: %w", b.py.Version, err)
	}
	if !set.Contains(v, true) {
		return fmt.Errorf("%s %q excludes the target interpreter %s (CPython %s); choose a matching --python", where, spec, b.py.Executable, b.py.Version)
	}
	return nil
}

func (b *builder) readLock(ctx context.Context) error {
	path := cmp.Or(b.opts.Lock, b.cfg.Tool.Lock)
	if path == "" {
		found, err := lock.Find(b.projDir)
		if err != nil {
			return err
		}
		path = found
	} else if !filepath.IsAbs(path) && b.opts.Lock == "" {
		path = filepath.Join(b.projDir, path) // [tool.venvpkg] lock is relative to the project
	}
	b.lockPath = path
	env := pep508.Environment(b.py.Markers)
	if path == "" {
		b.lock = &lock.Lock{}
	} else {
		roots := slices.Clone(b.cfg.Project.Dependencies)
		if lock.IsPoetryLock(path) {
			more, err := lock.PoetryDependencies(b.cfg.File)
			if err != nil {
				return err
			}
			roots = append(roots, more...)
		}
		l, err := lock.Load(path, env, lock.LoadOptions{ProjectDir: b.projDir, Project: b.cfg.Project.Name, Dependencies: roots})
		if err != nil {
			return err
		}
		b.lock = l
	}
	b.log.Infof("lock %s: %d requirements", displayPath(path), len(b.lock.Requirements))
	// The sources serve the project's build requirements too.
	return b.newFinder()
}

func (b *builder) buildProject(ctx context.Context) error {
	src, err := copyProject(ctx, b.projDir, filepath.Join(b.tmp, "src"), b.absOutDir())
	if err != nil {
		return fmt.Errorf("copying the project to the build directory: %w", err)
	}
	out := filepath.Join(b.tmp, "project-wheel")
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	fe := &pybuild.Frontend{
		Python:      b.runner(),
		TempDir:     b.tmp,
		Find:        b.findBuildRequirement,
		EnvCacheDir: b.buildEnvDir(),
	}
	if w := b.log.Verbose(); w != nil {
		fe.Stdout, fe.Stderr = w, w
	}
	what := cmp.Or(b.cfg.Project.Name, filepath.Base(b.projDir))
	b.log.Infof("building %s with its PEP 517 backend", what)
	spin := b.log.Spinner("building " + what)
	whl, err := fe.BuildWheel(ctx, src, out)
	spin.Done()
	if err != nil {
		return fmt.Errorf("building the project %s: %w", what, err)
	}
	meta, err := wheel.ReadMetadataLimits(whl, b.opts.WheelLimits)
	if err != nil {
		return err // names the wheel
	}
	if b.cfg.HasProject && pep503.Normalize(meta.Name) != pep503.Normalize(b.cfg.Project.Name) {
		return fmt.Errorf("the project's build backend wrote a wheel for %q, not %q", meta.Name, b.cfg.Project.Name)
	}
	if b.res.Version = b.opts.Version; b.res.Version == "" {
		b.res.Version = meta.Version
	}
	if meta.RequiresPython != "" && b.cfg.Project.RequiresPython == "" {
		// Checked from [project] before any work when it is there.
		if err := b.checkRequiresPython(meta.RequiresPython, filepath.Base(whl)+" Requires-Python"); err != nil {
			return err
		}
	}
	if b.name == "" {
		name := pep503.Normalize(meta.Name)
		if err := config.ValidPackageName(name); err != nil {
			return fmt.Errorf("the project's name %q from its built wheel cannot name the package (%w); set [tool.venvpkg] name", meta.Name, err)
		}
		b.setName(name)
	}
	if b.maint == "" {
		m, err := wheelMaintainer(meta)
		if err != nil {
			return fmt.Errorf("%s: %w; set [tool.venvpkg] maintainer = \"Name <email>\" in pyproject.toml", filepath.Base(whl), err)
		}
		b.maint = m // "" when the wheel names nobody either
	}
	b.projWheel = whl
	b.project = meta
	b.res.Project = meta
	return nil
}

// wheelMaintainer forms the package's maintainer from the Maintainer and
// Maintainer-email fields of core metadata, else Author and Author-email;
// "" when neither email field is there.
func wheelMaintainer(m *wheel.Metadata) (string, error) {
	for _, p := range []struct{ field, name, email string }{
		{"Maintainer-email", m.Maintainer, m.MaintainerEmail},
		{"Author-email", m.Author, m.AuthorEmail},
	} {
		if p.email == "" || strings.EqualFold(p.email, "UNKNOWN") {
			continue
		}
		name := p.name
		if strings.Contains(name, ",") {
			name = "" // several people: the address list names them
		}
		out, err := config.FormatMaintainer(p.email, name)
		if err != nil {
			return "", fmt.Errorf("METADATA %s: %w", p.field, err)
		}
		return out, nil
	}
	return "", nil
}

func (b *builder) absOutDir() string {
	abs, err := filepath.Abs(b.outDir)
	if err != nil {
		return b.outDir
	}
	return abs
}

func (b *builder) install(ctx context.Context) error {
	dest := wheel.Destination{
		Scheme:    venv.Scheme(b.prefix, b.py),
		Python:    venv.Python(b.prefix),
		Installer: "venvpkg",
		Limits:    b.opts.WheelLimits,
	}
	// Dependency wheels go through the tree cache: a hit links the wheel's
	// installed and compiled tree in, a miss installs it into a pending
	// entry committed once compiled. The project's wheel never does.
	tc, err := b.treeCache(dest)
	if err != nil {
		return err
	}
	b.root = filepath.Join(b.tmp, "root")
	if tc != nil {
		if err := b.openStage(ctx, tc); err != nil {
			return err
		}
	}
	dest.Root = b.root
	if err := venv.Create(ctx, b.root, b.prefix, b.py, venv.Options{Prompt: b.name, Beside: b.stage != nil}); err != nil {
		return err
	}
	if err := b.linkDist(ctx); err != nil {
		return err
	}
	all := append(append([]string{}, b.wheels...), b.projWheel)
	installed := make([]*wheel.Installed, len(all))
	pending := make([]*treecache.Pending, len(all))
	cachedFailed := make([][]compile.Failure, len(all))
	defer func() {
		for _, p := range pending {
			if p != nil {
				p.Abort()
			}
		}
	}()
	b.log.Infof("installing %s into %s", plural(len(all), "wheel"), b.prefix)
	bar := b.log.Progress(len(all), "installing")
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(b.jobs)
	for i, w := range all {
		g.Go(func() error {
			var inst *wheel.Installed
			var err error
			if tc != nil && i < len(b.wheels) {
				inst, pending[i], cachedFailed[i], err = tc.Install(gctx, w, dest, b.stage)
			} else {
				inst, err = wheel.Install(gctx, w, dest)
			}
			if err != nil {
				return err // names the wheel already
			}
			installed[i] = inst
			bar.Add(1)
			return nil
		})
	}
	err = g.Wait()
	bar.Done()
	if err != nil {
		return err
	}
	b.trees = payloadTrees{cache: tc, wheels: all, installed: installed}
	if b.opts.NoCompile {
		return b.commitTrees(pending, installed, nil)
	}
	var py []string
	reused := 0
	for i, inst := range installed {
		if tc != nil && i < len(b.wheels) && pending[i] == nil {
			reused++
			continue // compiled in the cache
		}
		for _, f := range inst.Files {
			if strings.HasSuffix(f, ".py") {
				py = append(py, f)
			}
		}
	}
	sort.Strings(py)
	if reused > 0 {
		b.log.Infof("reusing %s, compiling %s", plural(reused, "cached tree"), plural(len(py), "module"))
	} else {
		b.log.Infof("compiling %s", plural(len(py), "module"))
	}
	cbar := b.log.Progress(len(py), "compiling")
	res, err := compile.CompileProgress(ctx, b.runner(), b.root, py, b.jobs, cbar.Add)
	cbar.Done()
	if err != nil {
		return fmt.Errorf("compiling bytecode: %w", err)
	}
	failed := res.Failed
	for _, fs := range cachedFailed {
		failed = append(failed, fs...)
	}
	sort.Slice(failed, func(i, j int) bool { return failed[i].Path < failed[j].Path })
	for _, f := range failed {
		b.warn(fmt.Sprintf("not compiled: %s", f))
	}
	return b.commitTrees(pending, installed, res.Failed)
}

// treeCache opens the tree cache of this build's target, or returns nil
// when Options.NoTreeCache is set.
func (b *builder) treeCache(dest wheel.Destination) (*treecache.Cache, error) {
	if b.opts.NoTreeCache {
		return nil, nil
	}
	return treecache.New(filepath.Join(b.cacheDir, "trees"), b.cacheKeyInterpreter(), dest, !b.opts.NoCompile)
}

// commitTrees publishes the tree cache entries made by this build, with
// the bytecode compiled into the staging root.
func (b *builder) commitTrees(pending []*treecache.Pending, installed []*wheel.Installed, failed []compile.Failure) error {
	for i, p := range pending {
		if p == nil {
			continue
		}
		if err := p.Commit(b.root, installed[i], failed, !b.opts.NoCompile); err != nil {
			return err
		}
		pending[i] = nil
	}
	return nil
}

func (b *builder) warn(msg string) {
	b.res.Warnings = append(b.res.Warnings, msg)
	b.log.Warnf("%s", msg)
}

func (b *builder) packageIt(ctx context.Context) error {
	if err := subStage(ctx, b.log, "auditing"); err != nil {
		return err
	}
	start := time.Now()
	// The SBOM's scan of the payload only reads it, as the audit does: it
	// runs meanwhile on another core.
	scan := scanPayload(b.root)
	defer scan() // never left running
	spin := b.log.Spinner("auditing")
	defer spin.Done()
	// The build dirs of every build, not only this one: trees reused from
	// the cache were staged by earlier builds.
	forbidden := []string{filepath.Join(filepath.Dir(b.tmp), buildDirPattern), b.projDir, b.cacheDir}
	if rt, err := filepath.EvalSymlinks(filepath.Dir(b.tmp)); err == nil && rt != filepath.Dir(b.tmp) {
		forbidden = append(forbidden, filepath.Join(rt, buildDirPattern))
	}
	kept := b.trees.audit(b.py.CacheTag, !b.opts.NoCompile)
	if err := audit.ScanTrees(b.root, forbidden, kept); err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	if err := audit.CheckSymlinks(b.root, []string{b.prefix}); err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	shlOpts := audit.ShlibOptions{Interpreter: b.py.RealPath, Trees: kept, HostCacheDir: filepath.Join(b.cacheDir, "host")}
	if b.dist != nil {
		shlOpts.Interpreter = "" // in the payload: its needs are the package's
	}
	shl, err := audit.SharedLibraries(ctx, b.root, shlOpts)
	if err != nil {
		return fmt.Errorf("audit: shared libraries: %w", err)
	}
	for _, u := range shl.Unresolved {
		msg := fmt.Sprintf("%s needs %s, which no Debian package on this host provides; add the package to [tool.venvpkg] depends", strings.Join(u.Files, ", "), u.Soname)
		if b.opts.Strict {
			return errors.New(msg)
		}
		b.warn(msg)
	}
	spin.Done()
	for _, n := range shl.Needs {
		why := n.Package
		if v := shl.Versions[n.Package]; v != "" {
			why = v + " (the newest symbol version its ELF files import)"
		}
		b.log.Debugf("%s needs %s, which Debian's %s provides: depends on %s", strings.Join(n.Files, ", "), n.Soname, n.Package, why)
	}
	b.log.Debugf("auditing: done in %s", time.Since(start).Round(time.Millisecond))
	var interpPkg string
	var depends []string
	if b.dist == nil {
		interpPkg = b.interpreterDepends(ctx)
		depends = append(depends, interpPkg)
	}
	for _, d := range shl.Depends {
		depends = append(depends, shl.Dependency(d)) // versioned as dpkg-shlibdeps does
	}
	if shl.HasELF {
		libc := shl.Dependency("libc6") // as dpkg-shlibdeps always records for ELF objects
		depends = append(depends, libc)
		b.log.Debugf("the payload's ELF objects link the C library, which Debian's libc6 provides: depends on %s", libc)
	}
	b.elfRequires = shl.RPMRequires
	depends = append(depends, b.cfg.Tool.Depends...)
	b.res.Depends = uniqueSorted(depends)
	b.res.Arch = "all"
	if shl.HasELF {
		b.res.Arch = pkg.DebArch()
	}
	b.res.Name = b.name
	if b.sbom, err = b.writeSBOM(scan, shl, interpPkg); err != nil {
		return err
	}
	if err := b.checkVulns(); err != nil {
		return err
	}

	v, err := pep440.Parse(b.res.Version)
	if err != nil {
		return fmt.Errorf("project version %q: %w", b.res.Version, err)
	}
	if b.maint == "" {
		return fmt.Errorf("%s: no maintainer: neither pyproject.toml nor the built wheel's METADATA names one; set [tool.venvpkg] maintainer = \"Name <email>\"", b.cfg.File)
	}
	if err := os.MkdirAll(b.outDir, 0o755); err != nil {
		return fmt.Errorf("creating --out directory: %w", err)
	}
	p := &pkg.Package{
		Name:        b.name,
		Version:     distver.DebVersion(v, b.release),
		Arch:        b.res.Arch,
		Maintainer:  b.maint,
		Summary:     cmp.Or(strings.TrimSpace(b.project.Summary), b.project.Name),
		Description: fmt.Sprintf("This package ships %s and its dependencies in a self-contained virtual\nenvironment at %s, built by venvpkg.", b.project.Name, b.prefix),
		Homepage:    b.project.Homepage(),
		// flit_core before 3.10 writes no License field for
		// license = {text = "..."}: the project's own table then says it.
		License:     cmp.Or(b.project.ShortLicense(), b.cfg.Project.License.Short()),
		Depends:     b.res.Depends,
		Root:        b.root,
		MTime:       b.epoch,
		Compression: cmp.Or(b.cfg.Tool.Compression, "zstd"),
		Trees:       b.trees.deb(b.py.CacheTag, !b.opts.NoCompile),
	}
	if err := subStage(ctx, b.log, "writing packages"); err != nil {
		return err
	}
	start = time.Now()
	if err := b.writePackages(ctx, p, v); err != nil {
		return err
	}
	b.log.Debugf("writing packages: done in %s", time.Since(start).Round(time.Millisecond))
	return nil
}

// interpreterDepends names the package that provides the target interpreter:
// python3.X for Debian's /usr/bin/python3.X, else the dpkg owner of its real
// path.
func (b *builder) interpreterDepends(ctx context.Context) string {
	if pkg, ok := audit.InterpreterPackage(ctx, b.py.Executable, b.py.RealPath, b.py.VersionXY); ok {
		return pkg
	}
	b.warn(fmt.Sprintf("the interpreter %s belongs to no Debian package; the target hosts must provide it at that path (list its package in [tool.venvpkg] depends)", b.py.Executable))
	return ""
}

func uniqueSorted(in []string) []string {
	var out []string
	for _, s := range in {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return slices.Compact(out)
}

// sourceDateEpoch returns SOURCE_DATE_EPOCH, else the commit time of the
// project's git HEAD, else DefaultSourceDateEpoch.
func sourceDateEpoch(ctx context.Context, dir string) (time.Time, error) {
	if t, ok, err := env.Epoch(); ok || err != nil {
		return t, err
	}
	cmd := exec.CommandContext(ctx, "git", "-C", dir, "log", "-1", "--format=%ct", "HEAD")
	if out, err := cmd.Output(); err == nil {
		if n, err := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64); err == nil {
			return time.Unix(n, 0).UTC(), nil
		}
	}
	return time.Unix(DefaultSourceDateEpoch, 0).UTC(), nil
}

// subStage starts a part of a stage that -v times on its own line: the
// interrupt test pauses there as at any stage, and a cancelled build stops
// before it.
func subStage(ctx context.Context, log *logging.Logger, name string) error {
	pauseForTest(ctx, log, name)
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// pauseForTest is a test hook: when $VENVPKG_TEST_PAUSE_AT names a stage
// ("installing"), the build stops at the start of that stage, with its
// build directory in place, logs "paused at <stage>" and waits until it is
// cancelled. The interrupt test uses it to deliver a signal at a known
// point of every stage.
func pauseForTest(ctx context.Context, log *logging.Logger, stage string) {
	if env.TestPauseAt.String() != stage {
		return
	}
	log.Printf("paused at %s", stage)
	<-ctx.Done()
}

func displayPath(p string) string {
	if p == "" {
		return "(none)"
	}
	// A path under the working directory is shown relative to it, as the user would type it.
	if wd, err := os.Getwd(); err == nil && filepath.IsAbs(p) {
		if rel, err := filepath.Rel(wd, p); err == nil && rel != ".." && !strings.HasPrefix(rel, "../") {
			return rel
		}
	}
	return p
}

// plural writes "1 wheel" or "3 wheels".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}
