// Package pybuild is a PEP 517 build frontend: it reads a project's
// [build-system] table (PEP 518), makes an isolated build environment with
// venvpkg's own virtualenv layout and wheel installer, installs the build
// requirements and those the backend asks for, and calls the backend's
// build_wheel hook in a subprocess.
//
// Hooks run through an embedded runner script, with the source tree as the
// working directory, exchanging JSON files with this package. Backends
// build in place: setuptools writes build/ and *.egg-info into the source
// tree. BuildWheel therefore expects a scratch copy of the project (the
// build pipeline always passes one) and does not copy it again.
package pybuild

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"github.com/venvpkg/venvpkg/internal/atomicfile"
	"github.com/venvpkg/venvpkg/internal/interp"
	"github.com/venvpkg/venvpkg/internal/pep440"
	"github.com/venvpkg/venvpkg/internal/pep503"
	"github.com/venvpkg/venvpkg/internal/pep508"
	"github.com/venvpkg/venvpkg/internal/venv"
	"github.com/venvpkg/venvpkg/internal/wheel"
)

//go:embed runner.py
var runnerScript []byte

// Frontend builds wheels from source trees.
type Frontend struct {
	// Python is the interpreter the wheels are built for; the build
	// environment is a virtualenv of it.
	Python *interp.Info
	// Find returns the path of the best wheel for a build requirement.
	Find func(ctx context.Context, req pep508.Requirement) (wheelPath string, err error)
	// TempDir holds the build environments; "" means os.TempDir().
	TempDir string
	// Stdout and Stderr receive the backend's output (verbose mode). When
	// both are nil the output is captured and included in errors.
	Stdout, Stderr io.Writer
	// EnvCacheDir, when set, keeps build environments between builds:
	// one per interpreter and [build-system] requires, reused while Find
	// still chooses the same wheels. "" makes a fresh one in TempDir for
	// every build.
	EnvCacheDir string
}

// BuildWheel builds a wheel of the project in srcDir into outDir and
// returns the wheel's path. srcDir should be a scratch copy: the backend
// may write into it.
func (f *Frontend) BuildWheel(ctx context.Context, srcDir, outDir string) (string, error) {
	if f.Python == nil {
		return "", errors.New("building wheel: no interpreter given")
	}
	if f.Find == nil {
		return "", errors.New("building wheel: no way to find build requirements (Frontend.Find is nil)")
	}
	src, err := filepath.Abs(srcDir)
	if err != nil {
		return "", fmt.Errorf("building wheel in %s: %w", srcDir, err)
	}
	whl, err := f.build(ctx, src, outDir)
	if err != nil {
		return "", fmt.Errorf("building wheel in %s: %w", src, err)
	}
	return whl, nil
}

func (f *Frontend) build(ctx context.Context, src, outDir string) (string, error) {
	bs, err := ReadBuildSystem(src)
	if err != nil {
		return "", err
	}
	work, err := os.MkdirTemp(f.TempDir, "venvpkg-build-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(work)

	requires := bs.Requires
	if bs.Legacy {
		// setuptools before 70.1 needs wheel for bdist_wheel; newer
		// versions do not, so it is added only when it is available.
		if req, err := pep508.ParseRequirement("wheel"); err == nil {
			if _, err := f.Find(ctx, req); err == nil {
				requires = append(requires, "wheel")
			}
		}
	}
	env, release, err := f.buildEnv(ctx, work, requires)
	if err != nil {
		return "", err
	}
	defer func() { release() }()

	h := &hooks{f: f, env: env, bs: bs, src: src, work: work}
	var more []string
	missing, err := h.call(ctx, "get_requires_for_build_wheel", map[string]any{"config_settings": nil}, &more)
	if err != nil {
		return "", err
	}
	if !missing {
		if env.kept && !env.satisfied(more) {
			// A kept environment is never changed: build_wheel runs in
			// the kept environment of requires and more together.
			release()
			if env, release, err = f.buildEnv(ctx, work, slices.Concat(requires, more)); err != nil {
				return "", err
			}
			h.env = env
		}
		if err := env.install(ctx, more, "get_requires_for_build_wheel"); err != nil {
			return "", err
		}
	}

	wheelDir := filepath.Join(work, "wheel")
	if err := os.Mkdir(wheelDir, 0o755); err != nil {
		return "", err
	}
	var name string
	missing, err = h.call(ctx, "build_wheel", map[string]any{
		"wheel_directory":    wheelDir,
		"config_settings":    nil,
		"metadata_directory": nil,
	}, &name)
	if err != nil {
		return "", err
	}
	if missing {
		return "", fmt.Errorf("backend %s has no build_wheel hook; it cannot build wheels", bs.Backend)
	}
	if name != filepath.Base(name) || !strings.HasSuffix(name, ".whl") {
		return "", fmt.Errorf("backend %s returned %q from build_wheel, not a wheel file name", bs.Backend, name)
	}
	if _, err := wheel.ParseFilename(name); err != nil {
		return "", fmt.Errorf("backend %s built %s: %w", bs.Backend, name, err)
	}
	built := filepath.Join(wheelDir, name)
	if _, err := os.Stat(built); err != nil {
		return "", fmt.Errorf("backend %s returned %s from build_wheel but did not write it: %w", bs.Backend, name, err)
	}
	return moveInto(built, outDir)
}

// env is an isolated build environment and what has been installed in it.
type env struct {
	f         *Frontend
	prefix    string
	python    string
	dest      wheel.Destination
	markers   map[string]string
	pyVersion pep440.Version
	dists     map[string]*dist // by normalised name
	kept      bool             // shared through Frontend.EnvCacheDir: never changed
}

type dist struct {
	name    string
	version pep440.Version
	meta    *wheel.Metadata
	extras  map[string]bool // extras whose requirements were queued
}

func (f *Frontend) newEnv(ctx context.Context, work string) (*env, error) {
	prefix := filepath.Join(work, "env")
	if err := venv.Create(ctx, "", prefix, f.Python, venv.Options{}); err != nil {
		return nil, err
	}
	return f.envAt(prefix)
}

// envAt describes the build environment at prefix, with nothing installed.
func (f *Frontend) envAt(prefix string) (*env, error) {
	pyVersion, err := pep440.Parse(f.Python.Version)
	if err != nil {
		return nil, fmt.Errorf("interpreter version %q: %w", f.Python.Version, err)
	}
	python := venv.Python(prefix)
	return &env{
		f:      f,
		prefix: prefix,
		python: python,
		dest: wheel.Destination{
			Scheme:    venv.Scheme(prefix, f.Python),
			Python:    python,
			Installer: "venvpkg",
		},
		markers:   f.Python.Markers,
		pyVersion: pyVersion,
		dists:     map[string]*dist{},
	}, nil
}

// pending is a requirement waiting to be installed and who asked for it.
type pending struct {
	req pep508.Requirement
	by  string
}

// install installs reqs and, recursively, their Requires-Dist, each
// distribution once; by names who asked for reqs, for error messages.
func (e *env) install(ctx context.Context, reqs []string, by string) error {
	var queue []pending
	for _, s := range reqs {
		req, err := pep508.ParseRequirement(s)
		if err != nil {
			return fmt.Errorf("build requirement %q from %s: %w", s, by, err)
		}
		if e.applies(req.Marker, "") {
			queue = append(queue, pending{req, by})
		}
	}
	for len(queue) > 0 {
		if err := ctx.Err(); err != nil {
			return err
		}
		p := queue[0]
		queue = queue[1:]
		more, err := e.installOne(ctx, p)
		if err != nil {
			return err
		}
		queue = append(queue, more...)
	}
	return nil
}

// installOne installs the distribution p asks for unless it is there, and
// returns the requirements that its newly requested extras bring.
func (e *env) installOne(ctx context.Context, p pending) ([]pending, error) {
	req := p.req
	key := pep503.Normalize(req.Name)
	d := e.dists[key]
	if d != nil {
		if len(req.Specifier) > 0 && !req.Specifier.Contains(d.version, true) {
			return nil, fmt.Errorf("build requirement %s%s from %s conflicts with %s %s already in the build environment",
				req.Name, req.Specifier, p.by, d.name, d.version)
		}
		return e.dependencies(d, req.Extras), nil
	}
	if req.URL != "" {
		return nil, fmt.Errorf("build requirement %s @ %s from %s: direct URL build requirements are not supported; publish a wheel to the find-links directory and name it by version", req.Name, req.URL, p.by)
	}
	path, err := e.f.Find(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("finding build requirement %s%s (from %s): %w", req.Name, req.Specifier, p.by, err)
	}
	meta, err := wheel.ReadMetadata(path)
	if err != nil {
		return nil, fmt.Errorf("build requirement %s: %w", req.Name, err)
	}
	if got := pep503.Normalize(meta.Name); got != key {
		return nil, fmt.Errorf("build requirement %s: found %s, which is %s", req.Name, filepath.Base(path), meta.Name)
	}
	v, err := pep440.Parse(meta.Version)
	if err != nil {
		return nil, fmt.Errorf("build requirement %s: %s: %w", req.Name, filepath.Base(path), err)
	}
	if len(req.Specifier) > 0 && !req.Specifier.Contains(v, true) {
		return nil, fmt.Errorf("build requirement %s%s (from %s): found %s %s, which does not match", req.Name, req.Specifier, p.by, meta.Name, meta.Version)
	}
	if meta.RequiresPython != "" {
		rp, err := pep440.ParseSpecifierSet(meta.RequiresPython)
		if err != nil {
			return nil, fmt.Errorf("build requirement %s: %s: Requires-Python: %w", req.Name, filepath.Base(path), err)
		}
		if !rp.Contains(e.pyVersion, true) {
			return nil, fmt.Errorf("build requirement %s: %s needs Python %s, not %s", req.Name, filepath.Base(path), meta.RequiresPython, e.f.Python.Version)
		}
	}
	if _, err := wheel.Install(ctx, path, e.dest); err != nil {
		return nil, fmt.Errorf("installing build requirement: %w", err)
	}
	d = &dist{name: meta.Name, version: v, meta: meta, extras: map[string]bool{}}
	e.dists[key] = d
	return e.dependencies(d, append([]string{""}, req.Extras...)), nil
}

// dependencies returns the Requires-Dist of d that apply to extras not yet
// handled for d ("" is the distribution itself).
func (e *env) dependencies(d *dist, extras []string) []pending {
	var out []pending
	by := d.name + " " + d.version.String()
	for _, x := range extras {
		x = pep503.Normalize(x)
		if d.extras[x] {
			continue
		}
		d.extras[x] = true
		for _, s := range d.meta.RequiresDist {
			req, err := pep508.ParseRequirement(s)
			if err != nil {
				// An unparsable Requires-Dist cannot be honoured; the
				// backend's import will fail and say what is missing.
				continue
			}
			if e.appliesOnly(req.Marker, x) {
				out = append(out, pending{req, by})
			}
		}
	}
	return out
}

// applies evaluates a marker for the build interpreter with the given extra.
func (e *env) applies(m *pep508.Marker, extra string) bool {
	if m == nil {
		return true
	}
	envMap := pep508.Environment{}
	for k, v := range e.markers {
		envMap[k] = v
	}
	envMap["extra"] = extra
	return m.Evaluate(envMap)
}

// appliesOnly reports whether a marker holds for extra x, and for an extra
// other than "" only when it did not already hold without it (those were
// queued with the distribution itself).
func (e *env) appliesOnly(m *pep508.Marker, x string) bool {
	if !e.applies(m, x) {
		return false
	}
	return x == "" || !e.applies(m, "")
}

// hooks calls a backend's hooks in the build environment.
type hooks struct {
	f    *Frontend
	env  *env
	bs   *BuildSystem
	src  string
	work string
	n    int
}

type hookOutput struct {
	ReturnVal      json.RawMessage `json:"return_val"`
	HookMissing    bool            `json:"hook_missing"`
	NoBackend      bool            `json:"no_backend"`
	Traceback      string          `json:"traceback"`
	BackendInvalid string          `json:"backend_invalid"`
	Error          string          `json:"error"`
}

// call runs hook with kwargs and decodes its return value into result. It
// reports whether the backend lacks the hook.
func (h *hooks) call(ctx context.Context, hook string, kwargs map[string]any, result any) (missing bool, err error) {
	h.n++
	dir := filepath.Join(h.work, fmt.Sprintf("hook-%d", h.n))
	if err := os.Mkdir(dir, 0o755); err != nil {
		return false, err
	}
	runner := filepath.Join(h.work, "runner", "venvpkg_hook_runner.py")
	if err := os.MkdirAll(filepath.Dir(runner), 0o755); err != nil {
		return false, err
	}
	if err := os.MkdirAll(filepath.Join(h.work, "tmp"), 0o755); err != nil {
		return false, err
	}
	if err := os.WriteFile(runner, runnerScript, 0o644); err != nil {
		return false, err
	}
	input, err := json.Marshal(map[string]any{
		"backend":      h.bs.Backend,
		"backend_path": h.bs.BackendPath,
		"kwargs":       kwargs,
	})
	if err != nil {
		return false, err
	}
	if err := os.WriteFile(filepath.Join(dir, "input.json"), input, 0o644); err != nil {
		return false, err
	}

	cmd := exec.CommandContext(ctx, h.env.python, "-I", runner, hook, dir)
	cmd.Dir = h.src
	cmd.Env = h.hookEnv()
	var captured bytes.Buffer
	cmd.Stdout, cmd.Stderr = h.f.Stdout, h.f.Stderr
	if cmd.Stdout == nil && cmd.Stderr == nil {
		cmd.Stdout, cmd.Stderr = &captured, &captured
	} else if cmd.Stdout == nil {
		cmd.Stdout = cmd.Stderr
	} else if cmd.Stderr == nil {
		cmd.Stderr = cmd.Stdout
	}
	runErr := cmd.Run()
	if ctx.Err() != nil {
		return false, ctx.Err()
	}

	what := fmt.Sprintf("%s of backend %s", hook, h.bs.Backend)
	fail := func(msg string, detail string) error {
		text := strings.TrimSpace(captured.String())
		if text == "" {
			text = strings.TrimSpace(detail)
		}
		if text != "" {
			return fmt.Errorf("%s: %s:\n%s", what, msg, text)
		}
		return fmt.Errorf("%s: %s", what, msg)
	}
	data, err := os.ReadFile(filepath.Join(dir, "output.json"))
	if err != nil {
		if runErr != nil {
			return false, fail(fmt.Sprintf("the hook runner failed (%v)", runErr), "")
		}
		return false, fail("the hook runner wrote no output.json", "")
	}
	var out hookOutput
	if err := json.Unmarshal(data, &out); err != nil {
		return false, fail(fmt.Sprintf("reading output.json: %v", err), "")
	}
	switch {
	case out.NoBackend:
		return false, fail("cannot import the backend; is it in [build-system] requires?", out.Traceback)
	case out.BackendInvalid != "":
		return false, fail(out.BackendInvalid, "")
	case out.Error != "":
		return false, fail("the backend failed", out.Error)
	case runErr != nil:
		return false, fail(fmt.Sprintf("the hook runner failed (%v)", runErr), "")
	case out.HookMissing:
		return true, nil
	}
	if err := json.Unmarshal(out.ReturnVal, result); err != nil {
		return false, fail(fmt.Sprintf("unexpected return value %s: %v", out.ReturnVal, err), "")
	}
	return false, nil
}

// hookEnv is the caller's environment (SOURCE_DATE_EPOCH included) without
// variables that would point Python or pip elsewhere, with the build
// environment's bin first on PATH and TMPDIR inside the work directory, so
// that what a killed backend leaves in its temporary directory goes away
// with the work directory.
func (h *hooks) hookEnv() []string {
	out := []string{"TMPDIR=" + filepath.Join(h.work, "tmp")}
	path := ""
	for _, kv := range os.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasPrefix(k, "PYTHON"), k == "VIRTUAL_ENV", strings.HasPrefix(k, "PIP_"), k == "TMPDIR", k == "TMP", k == "TEMP":
			continue
		case k == "PATH":
			path = v
			continue
		}
		out = append(out, kv)
	}
	bin := filepath.Join(h.env.prefix, "bin")
	if path != "" {
		bin += string(os.PathListSeparator) + path
	}
	return append(out, "PATH="+bin, "VIRTUAL_ENV="+h.env.prefix)
}

// moveInto moves file into dir, copying when a rename is not possible, and
// returns its new path.
func moveInto(file, dir string) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	dst := filepath.Join(dir, filepath.Base(file))
	if err := os.Rename(file, dst); err == nil {
		return dst, nil
	}
	in, err := os.Open(file)
	if err != nil {
		return "", err
	}
	defer in.Close()
	if err := atomicfile.Copy(dst, in, 0o644); err != nil {
		return "", fmt.Errorf("copying %s to %s: %w", filepath.Base(file), dir, err)
	}
	return dst, nil
}
