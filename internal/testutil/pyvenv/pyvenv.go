// Package pyvenv makes throwaway virtual environments (PEP 405) for tests, with pip working offline: wheels are
// installed from local files only, and the build backend comes from Debian's /usr/share/python-wheels.
package pyvenv

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/venvpkg/venvpkg/internal/testutil"
)

// DebianPython is the interpreter end-to-end tests target: Debian bookworm's CPython 3.11.
const DebianPython = "/usr/bin/python3.11"

// DebianWheels is where Debian's python3-pip-whl and python3-setuptools-whl put the wheels that
// `python3 -m venv` seeds from.
const DebianWheels = "/usr/share/python-wheels"

// Venv is a virtual environment in a test's temp directory.
type Venv struct {
	// Dir is the environment's prefix.
	Dir string
}

// New creates a virtual environment with python's venv module (pip included), skipping the test (failing it under
// CI) when python is missing.
func New(t testing.TB, python string) *Venv {
	t.Helper()
	testutil.NeedFile(t, python, "python3.11")
	dir := filepath.Join(t.TempDir(), "venv")
	if out, err := exec.Command(python, "-m", "venv", dir).CombinedOutput(); err != nil {
		t.Fatalf("%s -m venv %s: %v\n%s", python, dir, err, out)
	}
	return &Venv{Dir: dir}
}

// Bin returns the path of a program in the environment's bin directory.
func (v *Venv) Bin(name string) string { return filepath.Join(v.Dir, "bin", name) }

// Python returns the environment's interpreter.
func (v *Venv) Python() string { return v.Bin("python") }

// Run runs bin/name from the environment and returns its combined output, failing the test on error.
func (v *Venv) Run(t testing.TB, name string, args ...string) string {
	t.Helper()
	out, err := v.RunErr(context.Background(), name, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// RunErr runs bin/name from the environment and returns its combined output; the error includes the output.
func (v *Venv) RunErr(ctx context.Context, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, v.Bin(name), args...)
	cmd.Env = append(os.Environ(),
		"PIP_NO_INDEX=1",
		"PIP_DISABLE_PIP_VERSION_CHECK=1",
		"PIP_NO_INPUT=1",
		"PIP_NO_CACHE_DIR=1",
		"PYTHONNOUSERSITE=1",
	)
	cmd.Dir = v.Dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

// Pip runs `python -m pip args...` offline (no index) in the environment.
func (v *Venv) Pip(t testing.TB, args ...string) string {
	t.Helper()
	return v.Run(t, "python", append([]string{"-m", "pip"}, args...)...)
}

// InstallBuildBackend installs setuptools and wheel from Debian's /usr/share/python-wheels, so the environment can
// build setuptools projects without build isolation. It skips the test (fails it under CI) when those wheels are
// missing.
func (v *Venv) InstallBuildBackend(t testing.TB) {
	t.Helper()
	var wheels []string
	for _, w := range []struct{ pattern, debPackage string }{
		{"setuptools-*.whl", "python3-setuptools-whl"},
		{"wheel-*.whl", "python3-wheel-whl"},
	} {
		m := testutil.NeedGlob(t, filepath.Join(DebianWheels, w.pattern), w.debPackage)
		wheels = append(wheels, m[len(m)-1])
	}
	v.Pip(t, append([]string{"install", "--no-deps"}, wheels...)...)
}

// BuildWheel builds the project at srcDir into outDir with `pip wheel --no-deps --no-build-isolation` and returns
// the wheel's path. The project is copied first, so the build leaves nothing in srcDir. The environment needs its
// build backend (InstallBuildBackend).
func (v *Venv) BuildWheel(t testing.TB, srcDir, outDir string) string {
	t.Helper()
	work := filepath.Join(t.TempDir(), filepath.Base(srcDir))
	if out, err := exec.Command("cp", "-a", srcDir, work).CombinedOutput(); err != nil {
		t.Fatalf("copying %s: %v\n%s", srcDir, err, out)
	}
	before, err := filepath.Glob(filepath.Join(outDir, "*.whl"))
	if err != nil {
		t.Fatal(err)
	}
	v.Pip(t, "wheel", "--no-deps", "--no-build-isolation", "--wheel-dir", outDir, work)
	after, err := filepath.Glob(filepath.Join(outDir, "*.whl"))
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != len(before)+1 {
		t.Fatalf("pip wheel %s: %s held %d wheels before and %d after, want one more", srcDir, outDir, len(before), len(after))
	}
	seen := map[string]bool{}
	for _, w := range before {
		seen[w] = true
	}
	for _, w := range after {
		if !seen[w] {
			return w
		}
	}
	t.Fatalf("pip wheel %s wrote no new wheel to %s", srcDir, outDir)
	return ""
}
