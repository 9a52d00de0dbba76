package pydist

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/venvpkg/venvpkg/internal/interp"
)

// recordedPrefix reads the configure prefix a CPython recorded in its
// _sysconfigdata (python-build-standalone: /install; a uv-installed copy:
// the directory uv put it in).
var recordedPrefix = regexp.MustCompile(`(?m)^\s*['"]prefix['"]\s*:\s*['"]([^'"]+)['"]`)

// toolchain maps the compilers and tools python-build-standalone records
// (its own clang and LLVM, absent on targets) to the host's defaults, as
// uv does when it installs such a Python.
var toolchain = []struct {
	re   *regexp.Regexp
	repl string
}{
	{regexp.MustCompile(`(^|[\s'"=])(?:/tools/llvm/bin/)?clang\+\+([\s'"]|$)`), "${1}c++${2}"},
	{regexp.MustCompile(`(^|[\s'"=])(?:/tools/llvm/bin/)?clang([\s'"]|$)`), "${1}cc${2}"},
	{regexp.MustCompile(`(^|[\s'"=])/tools/llvm/bin/llvm-ar([\s'"]|$)`), "${1}ar${2}"},
}

// relocate rewrites the build paths recorded in the prefix dir to the final
// prefix: _sysconfigdata_*.py, config-*/Makefile, python*-config,
// pkg-config files and PYTHON.json (pythonJSON, written to dir when not
// nil). It then checks that none of those files names the old prefix.
func relocate(dir, final, exe string, pythonJSON []byte) error {
	stdlib := filepath.Join(dir, "lib", filepath.Base(exe)) // lib/python3.X[t]
	sysconfigs, err := filepath.Glob(filepath.Join(stdlib, "_sysconfigdata_*.py"))
	if err != nil {
		return err
	}
	if len(sysconfigs) == 0 {
		return fmt.Errorf("no %s/_sysconfigdata_*.py: not a CPython prefix", rel(dir, stdlib))
	}
	data, err := os.ReadFile(sysconfigs[0])
	if err != nil {
		return err
	}
	m := recordedPrefix.FindSubmatch(data)
	if m == nil {
		return fmt.Errorf("%s records no prefix", rel(dir, sysconfigs[0]))
	}
	old := string(m[1])

	var files []string
	files = append(files, sysconfigs...)
	for _, pattern := range []string{
		filepath.Join(stdlib, "config-*", "Makefile"),
		filepath.Join(dir, "bin", "python*-config"),
		filepath.Join(dir, "lib", "pkgconfig", "*.pc"),
		filepath.Join(dir, "share", "pkgconfig", "*.pc"),
	} {
		more, err := filepath.Glob(pattern)
		if err != nil {
			return err
		}
		files = append(files, more...)
	}
	for _, f := range files {
		st, err := os.Lstat(f)
		if err != nil {
			return err
		}
		if !st.Mode().IsRegular() {
			continue // python3-config -> python3.X-config
		}
		data, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		out := replacePrefix(data, old, final)
		if strings.HasPrefix(filepath.Base(f), "_sysconfigdata_") || filepath.Base(f) == "Makefile" {
			for _, t := range toolchain {
				out = t.re.ReplaceAll(out, []byte(t.repl))
			}
		}
		if err := os.WriteFile(f, out, st.Mode().Perm()); err != nil {
			return err
		}
		if hasPrefix(out, old) {
			return fmt.Errorf("%s still names %s after relocation", rel(dir, f), old)
		}
	}
	if pythonJSON != nil {
		// Paths in PYTHON.json are relative to python/; the prefix is
		// python/install/, which is now dir itself.
		out := bytes.ReplaceAll(pythonJSON, []byte(`"install/`), []byte(`"`))
		out = replacePrefix(out, old, final)
		if err := os.WriteFile(filepath.Join(dir, "PYTHON.json"), out, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// prefixPattern matches old where a path starts with it: after the start,
// a character that cannot be part of a path, or -I / -L, and before /, a
// quote, whitespace, :, ;, ) or the end. /usr/bin/install is not matched.
func prefixPattern(old string) *regexp.Regexp {
	return regexp.MustCompile(`(^|[^A-Za-z0-9_.~/+-]|-[IL])` + regexp.QuoteMeta(old) + `([/'"\s:;)]|$)`)
}

// replacePrefix replaces the recorded prefix old by final.
func replacePrefix(data []byte, old, final string) []byte {
	re := prefixPattern(old)
	// Adjacent paths ("/install/lib:/install/lib64") share a delimiter
	// that one pass consumes, hence a few passes.
	for i := 0; i < 4 && re.Match(data); i++ {
		data = re.ReplaceAll(data, []byte("${1}"+final+"${2}"))
	}
	return data
}

func hasPrefix(data []byte, old string) bool {
	return prefixPattern(old).Match(data)
}

func rel(dir, p string) string {
	r, err := filepath.Rel(dir, p)
	if err != nil {
		return p
	}
	return filepath.ToSlash(r)
}

// certHook is the sitecustomize module written into the bundled
// interpreter's standard library. python-build-standalone's OpenSSL looks
// for /etc/ssl/cert.pem, which the Debian and RedHat families do not have;
// the hook points SSL_CERT_FILE at the host's bundle instead, unless the
// environment already names one or the host has /etc/ssl/cert.pem. It
// imports nothing but os, which the interpreter has already loaded.
const certHook = `# Written by venvpkg into its bundled interpreter (docs/interpreter.md).
# python-build-standalone's OpenSSL reads /etc/ssl/cert.pem, which Debian and
# RedHat systems lack: use their CA bundle unless SSL_CERT_FILE names one.
import os as _os


def _venvpkg_ca_bundle():
    if _os.environ.get("SSL_CERT_FILE") or _os.path.exists("/etc/ssl/cert.pem"):
        return
    for f in (
        "/etc/ssl/certs/ca-certificates.crt",  # Debian, Ubuntu
        "/etc/pki/tls/certs/ca-bundle.crt",  # RHEL, Fedora, Amazon Linux
        "/etc/ssl/ca-bundle.pem",  # SUSE
    ):
        if _os.path.exists(f):
            _os.environ["SSL_CERT_FILE"] = f
            return


_venvpkg_ca_bundle()
del _os, _venvpkg_ca_bundle
`

// writeCertHook adds the CA hook to the standard library's
// sitecustomize.py, before what the distribution may already have there.
func writeCertHook(dir string, py *interp.Info) error {
	stdlib := filepath.Join(dir, "lib", "python"+py.VersionXY)
	if py.GILDisabled {
		stdlib += "t"
	}
	p := filepath.Join(stdlib, "sitecustomize.py")
	old, err := os.ReadFile(p)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return os.WriteFile(p, append([]byte(certHook), old...), 0o644)
}

// removeBytecode deletes every __pycache__ directory below dir: the
// distribution's own .pyc files are timestamp-based and name its build
// paths.
func removeBytecode(dir string) error {
	var dirs []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == "__pycache__" {
			dirs = append(dirs, p)
			return filepath.SkipDir
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, d := range dirs {
		if err := os.RemoveAll(d); err != nil {
			return err
		}
	}
	return nil
}

// shellTrampoline starts the scripts python-build-standalone rewrites
// (bin/pip, bin/pydoc3, lib/python3.X/cgi.py, python-config.py): a
// sh/Python polyglot that finds the interpreter beside itself at run time.
var shellTrampoline = regexp.MustCompile(`^#!/bin/sh\n'''exec' [^\n]*\n' '''\n`)

// fixScripts gives every file of the prefix that starts with the trampoline
// a plain #! line naming the interpreter's final path: the prefix is known,
// and sh cannot parse the Python that follows the trampoline (lintian runs
// sh -n on #!/bin/sh scripts).
func fixScripts(dir, final, exe string) error {
	head := []byte("#!/bin/sh\n'''exec'")
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		buf := make([]byte, len(head))
		n, _ := io.ReadFull(f, buf)
		f.Close()
		if !bytes.Equal(buf[:n], head) {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		loc := shellTrampoline.FindIndex(data)
		if loc == nil {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		out := append([]byte("#!"+final+"/"+exe+"\n"), data[loc[1]:]...)
		return os.WriteFile(p, out, info.Mode().Perm())
	})
}

// normalizeModes makes the shared objects and the Python sources of the
// prefix 0644: neither is run directly (Debian's policy for libraries, and
// lintian's python3-script-but-no-python3-dep for stdlib modules with a
// #! line).
func normalizeModes(dir string) error {
	bin := filepath.Join(dir, "bin") + string(filepath.Separator)
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() || strings.HasPrefix(p, bin) {
			return err
		}
		name := d.Name()
		if strings.HasSuffix(name, ".py") || strings.HasSuffix(name, ".so") || strings.Contains(name, ".so.") {
			return os.Chmod(p, 0o644)
		}
		return nil
	})
}
