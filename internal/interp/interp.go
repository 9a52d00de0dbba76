// Package interp probes a target CPython interpreter: it runs the
// interpreter once with an embedded script and records what building a
// virtualenv for it needs to know — version, ABI flags, extension suffix,
// platform, glibc or musl version, the PEP 508 environment marker values and
// the platform compatibility tags (PEP 425, via internal/tags) it accepts.
//
// Results are cached on disk, keyed by the interpreter's path, size and
// modification time, so a build runs the interpreter only when it changed.
package interp

import (
	"bytes"
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/venvpkg/venvpkg/internal/atomicfile"
	"github.com/venvpkg/venvpkg/internal/tags"
)

// Oldest supported CPython version.
const (
	MinMajor = 3
	MinMinor = 8
)

//go:embed probe.py
var probeScript string

// scriptVersion changes whenever probe.py does, invalidating cached results.
var scriptVersion = func() string {
	sum := sha256.Sum256([]byte(probeScript))
	return hex.EncodeToString(sum[:8])
}()

// Info describes a CPython interpreter.
type Info struct {
	Executable     string // absolute path as given (not resolved: target hosts run this path)
	RealPath       string // Executable with symlinks resolved
	Implementation string // sys.implementation.name: "cpython"
	Version        string // "3.11.2"
	VersionXY      string // "3.11"
	Major, Minor   int
	ABIFlags       string // sys.abiflags: "", "t", "d", "m"
	SOABI          string // "cpython-311-x86_64-linux-gnu"
	ExtSuffix      string // ".cpython-311-x86_64-linux-gnu.so"
	CacheTag       string // sys.implementation.cache_tag: "cpython-311"
	Platform       string // sysconfig.get_platform(): "linux-x86_64"
	Machine        string // platform.machine(): "x86_64"
	PlatLibDir     string // sys.platlibdir, "lib" before 3.9
	Glibc          string // "2.36", "" when not linked against glibc
	Musl           string // "1.2", "" when not linked against musl
	GILDisabled    bool   // free-threaded build (Py_GIL_DISABLED)
	Debug          bool   // debug build (Py_DEBUG)
	Pymalloc       bool   // WITH_PYMALLOC (only matters for tags before 3.8)
	Is32Bit        bool   // 32-bit interpreter (sys.maxsize <= 2**32)
	BasePrefix     string // sys.base_prefix: "/usr"
	Stdlib         string // sysconfig.get_path("stdlib"): "/usr/lib/python3.11"

	// Markers holds every PEP 508 environment marker variable
	// (python_version, sys_platform, ...) for this interpreter; "extra" is
	// not among them.
	Markers map[string]string
	// Tags lists the compatibility tags the interpreter accepts, best first.
	Tags []tags.Tag
}

// Supported returns the interpreter's tags, ready to rank wheels.
func (i *Info) Supported() *tags.Supported {
	return tags.NewSupported(i.Tags)
}

// MarkerEnv returns a copy of the environment marker values, which callers
// may extend (with "extra", say) without changing i.
func (i *Info) MarkerEnv() map[string]string {
	env := make(map[string]string, len(i.Markers)+1)
	for k, v := range i.Markers {
		env[k] = v
	}
	return env
}

// TagInput returns what tag generation needs to know about the interpreter.
func (i *Info) TagInput() tags.Input {
	in := tags.Input{
		Major: i.Major, Minor: i.Minor,
		Debug: i.Debug, GILDisabled: i.GILDisabled, Pymalloc: i.Pymalloc,
		Platform: i.Platform,
	}
	if arch, ok := strings.CutPrefix(i.Platform, "linux-"); ok {
		in.OS = "linux"
		if i.Is32Bit {
			// A 32-bit interpreter on a 64-bit kernel.
			switch arch {
			case "x86_64":
				arch = "i686"
			case "aarch64":
				arch = "armv8l"
			}
		}
		in.Arch = strings.NewReplacer(".", "_", "-", "_", " ", "_").Replace(arch)
	}
	in.GlibcMajor, in.GlibcMinor = splitVersion(i.Glibc)
	in.MuslMajor, in.MuslMinor = splitVersion(i.Musl)
	return in
}

// splitVersion parses "2.36" into 2, 36; anything else gives 0, 0.
func splitVersion(s string) (int, int) {
	a, b, ok := strings.Cut(s, ".")
	if !ok {
		return 0, 0
	}
	major, err1 := strconv.Atoi(a)
	minor, err2 := strconv.Atoi(b)
	if err1 != nil || err2 != nil {
		return 0, 0
	}
	return major, minor
}

// probeOutput is the JSON object probe.py prints.
type probeOutput struct {
	Implementation string            `json:"implementation"`
	Version        string            `json:"version"`
	VersionInfo    []int             `json:"version_info"`
	ABIFlags       string            `json:"abiflags"`
	SOABI          string            `json:"soabi"`
	ExtSuffix      string            `json:"ext_suffix"`
	CacheTag       string            `json:"cache_tag"`
	Platform       string            `json:"platform"`
	Machine        string            `json:"machine"`
	PlatLibDir     string            `json:"platlibdir"`
	Glibc          string            `json:"glibc"`
	Musl           string            `json:"musl"`
	GILDisabled    bool              `json:"gil_disabled"`
	Debug          bool              `json:"debug"`
	Pymalloc       bool              `json:"pymalloc"`
	Is32Bit        bool              `json:"is_32bit"`
	BasePrefix     string            `json:"base_prefix"`
	Stdlib         string            `json:"stdlib"`
	Markers        map[string]string `json:"markers"`
}

// ErrUnsupported is wrapped by the errors Probe returns for interpreters
// venvpkg cannot target: another implementation, Python 2, or a CPython
// older than MinMajor.MinMinor.
var ErrUnsupported = errors.New("unsupported interpreter")

// Probe describes the interpreter at python, an absolute or relative path or
// a bare name looked up in $PATH. When cacheDir is not empty, results are
// read from and written to it, so an unchanged interpreter is not run again.
func Probe(ctx context.Context, python, cacheDir string) (*Info, error) {
	abs, err := locate(python)
	if err != nil {
		return nil, err
	}
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return nil, fmt.Errorf("python interpreter %s: resolving symlinks: %w", abs, err)
	}
	st, err := os.Stat(real)
	if err != nil {
		return nil, fmt.Errorf("python interpreter %s: %w", abs, err)
	}

	var cachePath string
	if cacheDir != "" {
		key := sha256.Sum256(fmt.Appendf(nil, "%s\x00%s\x00%d\x00%d\x00%s",
			abs, real, st.Size(), st.ModTime().UnixNano(), scriptVersion))
		cachePath = filepath.Join(cacheDir, "interp-"+hex.EncodeToString(key[:16])+".json")
		if data, err := os.ReadFile(cachePath); err == nil {
			var out probeOutput
			// A corrupt or stale entry is ignored and rewritten below.
			if json.Unmarshal(data, &out) == nil {
				if info, err := newInfo(abs, real, &out); err == nil {
					return info, nil
				}
			}
		}
	}

	data, err := run(ctx, abs)
	if err != nil {
		return nil, err
	}
	var out probeOutput
	if err := json.Unmarshal(data, &out); err != nil {
		return nil, fmt.Errorf("probing python interpreter %s: reading its report: %w: %s", abs, err, bytes.TrimSpace(data))
	}
	info, err := newInfo(abs, real, &out)
	if err != nil {
		return nil, err
	}
	if cachePath != "" {
		if err := writeCache(cachePath, data); err != nil {
			return nil, fmt.Errorf("caching the probe of %s: %w", abs, err)
		}
	}
	return info, nil
}

// locate turns python into an absolute path to an executable file.
func locate(python string) (string, error) {
	if python == "" {
		return "", errors.New("no python interpreter given; pass the path of the target CPython, e.g. /usr/bin/python3.11")
	}
	if !strings.Contains(python, "/") {
		p, err := exec.LookPath(python)
		if err != nil {
			return "", fmt.Errorf("python interpreter %q: not found in $PATH; pass its absolute path: %w", python, err)
		}
		python = p
	}
	abs, err := filepath.Abs(python)
	if err != nil {
		return "", fmt.Errorf("python interpreter %s: %w", python, err)
	}
	st, err := os.Stat(abs)
	if errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("python interpreter %s does not exist; %s or fix the path: %w", abs, installHint(abs), err)
	}
	if err != nil {
		return "", fmt.Errorf("python interpreter %s: %w", abs, err)
	}
	if st.IsDir() {
		return "", fmt.Errorf("python interpreter %s is a directory; pass the interpreter itself, e.g. %s", abs, filepath.Join(abs, "bin", "python3"))
	}
	if st.Mode().Perm()&0o111 == 0 {
		return "", fmt.Errorf("python interpreter %s is not executable (mode %v); chmod +x it or pass the real interpreter", abs, st.Mode().Perm())
	}
	return abs, nil
}

// run executes the probe script with the interpreter at abs and returns its
// standard output. -E, -s and -S keep PYTHON* variables, user and site
// packages out; all three options exist in every Python, so even an old one
// reports its version rather than failing on an unknown option.
func run(ctx context.Context, abs string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, abs, "-E", "-s", "-S", "-c", probeScript)
	cmd.Dir = "/" // keep modules in the caller's directory off sys.path
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			// The file exists (locate checked), so exec failed on what it names.
			return nil, fmt.Errorf("probing python interpreter %s: its #! interpreter or ELF loader is missing: %w", abs, err)
		}
		return nil, fmt.Errorf("probing python interpreter %s: %w: %s", abs, err, bytes.TrimSpace(stderr.Bytes()))
	}
	return stdout.Bytes(), nil
}

// newInfo checks the probe output and turns it into an Info.
func newInfo(abs, real string, out *probeOutput) (*Info, error) {
	if out.Implementation != "cpython" {
		return nil, fmt.Errorf("python interpreter %s: implementation is %s; venvpkg supports CPython 3.x: %w", abs, out.Implementation, ErrUnsupported)
	}
	if len(out.VersionInfo) < 3 {
		return nil, fmt.Errorf("python interpreter %s: probe reported version_info %v; want three numbers", abs, out.VersionInfo)
	}
	major, minor := out.VersionInfo[0], out.VersionInfo[1]
	if major != MinMajor {
		return nil, fmt.Errorf("python interpreter %s is Python %d.%d; venvpkg supports CPython 3.x (%d.%d and newer): %w",
			abs, major, minor, MinMajor, MinMinor, ErrUnsupported)
	}
	if minor < MinMinor {
		return nil, fmt.Errorf("python interpreter %s: python %d.%d is older than the oldest supported CPython %d.%d; install or bundle a modern interpreter (e.g. Debian 12's python3.11 or a python-build-standalone build): %w",
			abs, major, minor, MinMajor, MinMinor, ErrUnsupported)
	}
	if out.Markers == nil || out.Platform == "" || out.ExtSuffix == "" {
		return nil, fmt.Errorf("python interpreter %s: probe report lacks markers, platform or EXT_SUFFIX", abs)
	}
	info := &Info{
		Executable:     abs,
		RealPath:       real,
		Implementation: out.Implementation,
		Version:        out.Version,
		VersionXY:      fmt.Sprintf("%d.%d", major, minor),
		Major:          major,
		Minor:          minor,
		ABIFlags:       out.ABIFlags,
		SOABI:          out.SOABI,
		ExtSuffix:      out.ExtSuffix,
		CacheTag:       out.CacheTag,
		Platform:       out.Platform,
		Machine:        out.Machine,
		PlatLibDir:     out.PlatLibDir,
		Glibc:          out.Glibc,
		Musl:           out.Musl,
		GILDisabled:    out.GILDisabled,
		Debug:          out.Debug,
		Pymalloc:       out.Pymalloc,
		Is32Bit:        out.Is32Bit,
		BasePrefix:     out.BasePrefix,
		Stdlib:         out.Stdlib,
		Markers:        out.Markers,
	}
	if info.PlatLibDir == "" {
		info.PlatLibDir = "lib"
	}
	info.Tags = tags.Generate(info.TagInput())
	return info, nil
}

// writeCache stores data at path atomically: temp file, fsync, rename.
func writeCache(path string, data []byte) error {
	return atomicfile.WriteFile(path, data, 0o644)
}

var versionedPython = regexp.MustCompile(`^python(3\.[0-9]+)$`)

// installHint says how to get a missing interpreter: Debian's package of the version asked for when the path
// names one (/usr/bin/python3.12 → python3.12), else how to find out which to install.
func installHint(path string) string {
	if m := versionedPython.FindStringSubmatch(filepath.Base(path)); m != nil {
		if filepath.Dir(path) == "/usr/bin" {
			return "install it (apt-get install python" + m[1] + ", or dnf install python" + m[1] + ")"
		}
		return "install CPython " + m[1] + " there (or bundle a python-build-standalone build)"
	}
	return "install the interpreter the servers run"
}
