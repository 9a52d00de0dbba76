// Package venv lays out a virtual environment (PEP 405) at a final prefix
// inside a staging root, as CPython's venv module would lay it out for the
// target interpreter, without ever naming the staging root in a file:
// pyvenv.cfg, the interpreter symlinks, lib64, include/, site-packages and
// the bash/zsh, fish and csh activate scripts.
//
// The layout follows CPython's Lib/venv/__init__.py of the interpreter's
// version (3.7 and later): the directory names come from sysconfig's
// posix_venv scheme, lib64 -> lib is made for 64-bit interpreters on POSIX
// systems before 3.15, and pyvenv.cfg gains the executable and command keys
// from 3.11, the command being the one that makes the same environment
// (python -m venv --without-pip <prefix>, as no pip is installed). The
// activate scripts are venvpkg's own; they behave as CPython's do. Not
// made: Activate.ps1 (PowerShell) and the .gitignore of 3.13 and later,
// which only matters for environments inside a git checkout.
package venv

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/venvpkg/venvpkg/internal/interp"
	"github.com/venvpkg/venvpkg/internal/wheel"
)

// Options are the choices python -m venv offers that make sense for a
// packaged environment.
type Options struct {
	// Prompt is the name shown in the shell prompt while the environment is
	// active; empty means the base name of the prefix. A non-empty Prompt is
	// also recorded in pyvenv.cfg, as venv --prompt does.
	Prompt string
	// Beside lets the prefix hold files already: the installed
	// distributions a kept staging root holds (treecache.Stage), which
	// the environment's own files never collide with. Without it the
	// prefix must be empty or absent.
	Beside bool
	// SystemSitePackages makes the base interpreter's site-packages visible
	// (include-system-site-packages = true).
	SystemSitePackages bool
}

//go:embed scripts/activate.sh
var activateSh string

//go:embed scripts/activate.fish
var activateFish string

//go:embed scripts/activate.csh
var activateCsh string

// binName is the scripts directory of the posix_venv scheme.
const binName = "bin"

// Create makes the virtual environment whose final location is prefix in
// the staging root root: its files are written under filepath.Join(root,
// prefix). The directory may exist but must be empty. Every file names the
// final prefix, never root, so the tree can be packaged as it is.
func Create(ctx context.Context, root, prefix string, py *interp.Info, opts Options) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := checkInputs(prefix, py, opts); err != nil {
		return err
	}
	prefix = path.Clean(prefix)
	dir := filepath.Join(root, filepath.FromSlash(prefix))
	if opts.Beside {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("creating virtual environment: %w", err)
		}
	} else if err := ensureEmptyDir(dir); err != nil {
		return err
	}

	pyDir := pythonDirName(py)
	dirs := []string{
		binName,
		includeDir(py),
		path.Join("lib", pyDir, "site-packages"),
	}
	for _, d := range dirs {
		if err := os.MkdirAll(filepath.Join(dir, filepath.FromSlash(d)), 0o755); err != nil {
			return fmt.Errorf("creating virtual environment %s: %w", prefix, err)
		}
	}
	if wantsLib64(py) {
		if err := os.Symlink("lib", filepath.Join(dir, "lib64")); err != nil {
			return fmt.Errorf("creating virtual environment %s: %w", prefix, err)
		}
	}
	if err := linkInterpreter(filepath.Join(dir, binName), py); err != nil {
		return fmt.Errorf("creating virtual environment %s: %w", prefix, err)
	}

	files := []struct {
		name, text string
	}{
		{"pyvenv.cfg", Config(prefix, py, opts)},
		{path.Join(binName, "activate"), render(activateSh, prefix, opts, quoteSh)},
		{path.Join(binName, "activate.fish"), render(activateFish, prefix, opts, quoteFish)},
		{path.Join(binName, "activate.csh"), render(activateCsh, prefix, opts, quoteCsh)},
	}
	for _, f := range files {
		if err := os.WriteFile(filepath.Join(dir, filepath.FromSlash(f.name)), []byte(f.text), 0o644); err != nil {
			return fmt.Errorf("creating virtual environment %s: %w", prefix, err)
		}
	}
	return nil
}

// Scheme returns the posix_venv installation scheme of the environment at
// prefix, as final absolute paths. Headers go under include/site/python3.X,
// where pip puts them for a venv (the scheme itself has no headers key).
func Scheme(prefix string, py *interp.Info) wheel.Scheme {
	prefix = path.Clean(prefix)
	pyDir := pythonDirName(py)
	platlib := py.PlatLibDir
	if platlib == "" {
		platlib = "lib"
	}
	return wheel.Scheme{
		Purelib: path.Join(prefix, "lib", pyDir, "site-packages"),
		Platlib: path.Join(prefix, platlib, pyDir, "site-packages"),
		Headers: path.Join(prefix, "include", "site", "python"+py.VersionXY),
		Scripts: path.Join(prefix, binName),
		Data:    prefix,
	}
}

// Python returns the final path of the environment's interpreter,
// prefix/bin/python, the path scripts' shebangs should name.
func Python(prefix string) string {
	return path.Join(path.Clean(prefix), binName, "python")
}

// Config returns the text of pyvenv.cfg for the environment at prefix, as
// CPython's venv writes it for that interpreter.
func Config(prefix string, py *interp.Info, opts Options) string {
	var b strings.Builder
	fmt.Fprintf(&b, "home = %s\n", path.Dir(py.Executable))
	include := "false"
	if opts.SystemSitePackages {
		include = "true"
	}
	fmt.Fprintf(&b, "include-system-site-packages = %s\n", include)
	fmt.Fprintf(&b, "version = %s\n", py.Version)
	if opts.Prompt != "" {
		fmt.Fprintf(&b, "prompt = %s\n", pyRepr(opts.Prompt))
	}
	if atLeast(py, 3, 11) {
		real := py.RealPath
		if real == "" {
			real = py.Executable
		}
		fmt.Fprintf(&b, "executable = %s\n", real)
		args := []string{"--without-pip"}
		if opts.SystemSitePackages {
			args = append(args, "--system-site-packages")
		}
		if opts.Prompt != "" {
			args = append(args, fmt.Sprintf("--prompt=%q", opts.Prompt))
		}
		args = append(args, path.Clean(prefix))
		fmt.Fprintf(&b, "command = %s -m venv %s\n", py.Executable, strings.Join(args, " "))
	}
	return b.String()
}

func checkInputs(prefix string, py *interp.Info, opts Options) error {
	if py == nil {
		return errors.New("creating virtual environment: no interpreter given")
	}
	if !path.IsAbs(prefix) {
		return fmt.Errorf("creating virtual environment: prefix %q is not absolute; give the final absolute path, such as /opt/venvs/app", prefix)
	}
	if !path.IsAbs(py.Executable) {
		return fmt.Errorf("creating virtual environment %s: interpreter path %q is not absolute; the environment links to it, so give its absolute path", prefix, py.Executable)
	}
	if py.Major != 3 || py.Minor < 7 {
		return fmt.Errorf("creating virtual environment %s: Python %s is not supported; use Python 3.7 or later", prefix, py.Version)
	}
	for _, s := range []struct{ what, v string }{
		{"prefix", prefix}, {"interpreter path", py.Executable}, {"prompt", opts.Prompt},
	} {
		if strings.IndexFunc(s.v, unicode.IsControl) >= 0 || !utf8.ValidString(s.v) {
			return fmt.Errorf("creating virtual environment: %s %q contains control characters or invalid UTF-8", s.what, s.v)
		}
	}
	return nil
}

// ensureEmptyDir creates dir, or accepts it when it already exists empty.
func ensureEmptyDir(dir string) error {
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("creating virtual environment: %w", err)
		}
		return nil
	case err != nil:
		return fmt.Errorf("creating virtual environment: %w", err)
	case len(entries) > 0:
		return fmt.Errorf("creating virtual environment: %s is not empty; remove it or choose another directory", dir)
	}
	return nil
}

// linkInterpreter makes bin/<name of the base executable> an absolute
// symlink to the interpreter and python, python3 and python3.X relative
// links to it, skipping names that already exist as venv's setup_python does.
func linkInterpreter(bin string, py *interp.Info) error {
	exe := path.Base(py.Executable)
	if err := os.Symlink(py.Executable, filepath.Join(bin, exe)); err != nil {
		return err
	}
	for _, name := range []string{"python", "python3", fmt.Sprintf("python3.%d", py.Minor)} {
		if name == exe {
			continue
		}
		if err := os.Symlink(exe, filepath.Join(bin, name)); err != nil {
			return err
		}
	}
	return nil
}

// pythonDirName is the lib/ subdirectory name: python3.X, with a "t" for
// free-threaded builds.
func pythonDirName(py *interp.Info) string {
	if py.GILDisabled {
		return "python" + py.VersionXY + "t"
	}
	return "python" + py.VersionXY
}

// includeDir is the include path venv creates: include/python3.X<abiflags>
// from 3.11 (sysconfig's venv scheme), include/ before.
func includeDir(py *interp.Info) string {
	if atLeast(py, 3, 11) {
		return path.Join("include", "python"+py.VersionXY+py.ABIFlags)
	}
	return "include"
}

// wantsLib64 reports whether venv makes lib64 -> lib: for 64-bit
// interpreters on POSIX systems other than macOS, up to Python 3.14.
func wantsLib64(py *interp.Info) bool {
	if atLeast(py, 3, 15) {
		return false
	}
	if strings.HasPrefix(py.Platform, "macosx") || strings.HasPrefix(py.Platform, "darwin") {
		return false
	}
	return !py.Is32Bit
}

func atLeast(py *interp.Info, major, minor int) bool {
	return py.Major > major || (py.Major == major && py.Minor >= minor)
}

// render fills an activate template: the final prefix, the scripts
// directory name and the prompt, each quoted for the shell by quote.
func render(tmpl, prefix string, opts Options, quote func(string) string) string {
	prompt := opts.Prompt
	if prompt == "" {
		prompt = path.Base(prefix)
	}
	r := strings.NewReplacer(
		"@@VENV_DIR_COMMENT@@", prefix,
		"@@VENV_DIR@@", quote(prefix),
		"@@BIN_NAME@@", quote(binName),
		"@@PROMPT@@", quote("("+prompt+") "),
	)
	return r.Replace(tmpl)
}

// quoteSh quotes s for bash, zsh and other POSIX shells.
func quoteSh(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// quoteFish quotes s for fish, where \ and ' are escaped inside '...'.
func quoteFish(s string) string {
	s = strings.ReplaceAll(s, `\`, `\\`)
	return "'" + strings.ReplaceAll(s, "'", `\'`) + "'"
}

// quoteCsh quotes s for csh, where history substitution reaches inside
// single quotes, so ! needs its own backslash.
func quoteCsh(s string) string {
	s = strings.ReplaceAll(s, "'", `'\''`)
	return "'" + strings.ReplaceAll(s, "!", `\!`) + "'"
}

// pyRepr returns Python's repr() of a string without control characters:
// single quotes unless the string holds ' and no ".
func pyRepr(s string) string {
	q := "'"
	if strings.Contains(s, "'") && !strings.Contains(s, `"`) {
		q = `"`
	}
	s = strings.ReplaceAll(s, `\`, `\\`)
	s = strings.ReplaceAll(s, q, `\`+q)
	return q + s + q
}
