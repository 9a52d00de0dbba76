package interp

import (
	"context"
	"debug/elf"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/venvpkg/venvpkg/internal/tags"
	"github.com/venvpkg/venvpkg/internal/testutil"
)

const debianPython = "/usr/bin/python3.11"

func need(t *testing.T, path string) {
	t.Helper()
	testutil.NeedFile(t, path, "python3.11")
}

func TestProbeDebianPython(t *testing.T) {
	need(t, debianPython)
	info, err := Probe(context.Background(), debianPython, "")
	if err != nil {
		t.Fatal(err)
	}
	want := &Info{
		Executable:     debianPython,
		RealPath:       debianPython,
		Implementation: "cpython",
		Version:        "3.11.2",
		VersionXY:      "3.11",
		Major:          3,
		Minor:          11,
		ABIFlags:       "",
		SOABI:          "cpython-311-x86_64-linux-gnu",
		ExtSuffix:      ".cpython-311-x86_64-linux-gnu.so",
		CacheTag:       "cpython-311",
		Platform:       "linux-x86_64",
		Machine:        "x86_64",
		PlatLibDir:     "lib",
		Glibc:          "2.36",
		Pymalloc:       true,
		BasePrefix:     "/usr",
		Stdlib:         "/usr/lib/python3.11",
	}
	got := *info
	got.Markers, got.Tags = nil, nil
	if !reflect.DeepEqual(&got, want) {
		t.Errorf("Probe(%q) =\n%+v\nwant\n%+v", debianPython, got, *want)
	}
	for _, tt := range []struct{ name, key, want string }{
		{name: "python_version", key: "python_version", want: "3.11"},
		{name: "python_full_version", key: "python_full_version", want: "3.11.2"},
		{name: "implementation_name", key: "implementation_name", want: "cpython"},
		{name: "implementation_version", key: "implementation_version", want: "3.11.2"},
		{name: "os_name", key: "os_name", want: "posix"},
		{name: "sys_platform", key: "sys_platform", want: "linux"},
		{name: "platform_system", key: "platform_system", want: "Linux"},
		{name: "platform_machine", key: "platform_machine", want: "x86_64"},
		{name: "platform_python_implementation", key: "platform_python_implementation", want: "CPython"},
	} {
		if g := info.Markers[tt.key]; g != tt.want {
			t.Errorf("Markers[%q] = %q, want %q", tt.key, g, tt.want)
		}
	}
	wantFirst := []string{
		"cp311-cp311-linux_x86_64",
		"cp311-cp311-manylinux_2_36_x86_64",
		"cp311-cp311-manylinux_2_35_x86_64",
	}
	for i, w := range wantFirst {
		if got := info.Tags[i].String(); got != w {
			t.Errorf("Tags[%d] = %s, want %s", i, got, w)
		}
	}
	if got, want := len(info.Tags), 914; got != want {
		t.Errorf("len(Tags) = %d, want %d", got, want)
	}
	wheel, err := tags.ParseSet("cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := info.Supported().Rank(wheel); !ok {
		t.Errorf("Supported().Rank(%v) is not ok, want a manylinux2014 wheel to be accepted", wheel)
	}
}

// markerScript prints PEP 508's default environment as computed by the
// interpreter's own (pip-vendored) packaging library.
const markerScript = `
import json
from pip._vendor.packaging.markers import default_environment
print(json.dumps(default_environment()))
`

var versionedName = regexp.MustCompile(`^python3\.[0-9]+$`)

// TestProbeInstalledInterpreters probes every CPython 3.8+ on the machine
// and checks the result against what the interpreter says about itself
// through pip's vendored packaging library.
func TestProbeInstalledInterpreters(t *testing.T) {
	pythons, _ := filepath.Glob("/root/.pyenv/versions/3.*/bin/python3.*")
	pythons = slices.DeleteFunc(pythons, func(p string) bool { return !versionedName.MatchString(filepath.Base(p)) })
	pythons = append([]string{debianPython}, pythons...)
	probed := 0
	for _, py := range pythons {
		t.Run(py, func(t *testing.T) {
			need(t, py)
			xy := strings.TrimPrefix(filepath.Base(py), "python")
			var major, minor int
			if _, err := fmt.Sscanf(xy, "%d.%d", &major, &minor); err != nil {
				t.Skipf("%s: not a versioned interpreter name", py)
			}
			info, err := Probe(context.Background(), py, t.TempDir())
			if major == 3 && minor < MinMinor {
				if !errors.Is(err, ErrUnsupported) {
					t.Errorf("Probe(%q) error = %v, want ErrUnsupported", py, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			probed++
			nodot := fmt.Sprintf("%d%d", major, minor)
			checks := []struct{ name, got, want string }{
				{name: "Executable", got: info.Executable, want: py},
				{name: "VersionXY", got: info.VersionXY, want: xy},
				{name: "Version prefix", got: info.Version[:len(xy)+1], want: xy + "."},
				{name: "CacheTag", got: info.CacheTag, want: "cpython-" + nodot},
				{name: "ExtSuffix", got: info.ExtSuffix, want: "." + info.SOABI + ".so"},
				{name: "SOABI prefix", got: info.SOABI[:len("cpython-")+len(nodot)+1], want: "cpython-" + nodot + "-"},
				{name: "Stdlib", got: info.Stdlib, want: filepath.Join(info.BasePrefix, info.PlatLibDir, "python"+xy)},
				{name: "first tag", got: info.Tags[0].String(), want: "cp" + nodot + "-cp" + nodot + "-linux_" + info.Machine},
			}
			for _, c := range checks {
				if c.got != c.want {
					t.Errorf("Probe(%q).%s = %q, want %q", py, c.name, c.got, c.want)
				}
			}
			if info.Major != major || info.Minor != minor {
				t.Errorf("Probe(%q) version = %d.%d, want %d.%d", py, info.Major, info.Minor, major, minor)
			}
			out, err := exec.Command(py, "-c", markerScript).Output()
			if err != nil {
				t.Skipf("%s has no pip to cross-check markers: %v", py, err)
			}
			var want map[string]string
			if err := json.Unmarshal(out, &want); err != nil {
				t.Fatalf("%s: %v: %s", py, err, out)
			}
			if !reflect.DeepEqual(info.Markers, want) {
				t.Errorf("Probe(%q).Markers =\n%v\nwant (packaging.markers.default_environment)\n%v", py, info.Markers, want)
			}
		})
	}
	if probed == 0 {
		t.Skip("no CPython 3.8+ installed")
	}
}

func TestProbeSymlinkKeepsGivenPath(t *testing.T) {
	need(t, debianPython)
	link := filepath.Join(t.TempDir(), "python3")
	if err := os.Symlink(debianPython, link); err != nil {
		t.Fatal(err)
	}
	info, err := Probe(context.Background(), link, "")
	if err != nil {
		t.Fatal(err)
	}
	if info.Executable != link || info.RealPath != debianPython {
		t.Errorf("Probe(%q) Executable, RealPath = %q, %q, want %q, %q", link, info.Executable, info.RealPath, link, debianPython)
	}
}

func TestProbeBareName(t *testing.T) {
	need(t, debianPython)
	t.Setenv("PATH", filepath.Dir(debianPython))
	info, err := Probe(context.Background(), filepath.Base(debianPython), "")
	if err != nil {
		t.Fatal(err)
	}
	if info.Executable != debianPython {
		t.Errorf("Probe(%q).Executable = %q, want %q", filepath.Base(debianPython), info.Executable, debianPython)
	}
}

// writeScript writes an executable shell script.
func writeScript(t *testing.T, path, body string) {
	t.Helper()
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+body), 0o755); err != nil {
		t.Fatal(err)
	}
}

// runCount reports how many times the counting wrapper ran.
func runCount(t *testing.T, counter string) int {
	t.Helper()
	data, err := os.ReadFile(counter)
	if errors.Is(err, os.ErrNotExist) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.Count(string(data), "run\n")
}

func TestProbeCache(t *testing.T) {
	need(t, debianPython)
	dir := t.TempDir()
	counter := filepath.Join(dir, "runs")
	python := filepath.Join(dir, "python3")
	writeScript(t, python, fmt.Sprintf("echo run >> %s\nexec %s \"$@\"\n", counter, debianPython))
	cache := filepath.Join(dir, "cache")
	ctx := context.Background()

	first, err := Probe(ctx, python, cache)
	if err != nil {
		t.Fatal(err)
	}
	second, err := Probe(ctx, python, cache)
	if err != nil {
		t.Fatal(err)
	}
	if n := runCount(t, counter); n != 1 {
		t.Errorf("after two probes with a cache the interpreter ran %d times, want 1", n)
	}
	if !reflect.DeepEqual(first, second) {
		t.Errorf("cached Probe = %+v, want %+v", second, first)
	}

	entries, err := filepath.Glob(filepath.Join(cache, "interp-*.json"))
	if err != nil || len(entries) != 1 {
		t.Fatalf("cache holds %v (err %v), want one interp-*.json", entries, err)
	}
	if err := os.WriteFile(entries[0], []byte(`{"implementation": "cpyth`), 0o644); err != nil {
		t.Fatal(err)
	}
	third, err := Probe(ctx, python, cache)
	if err != nil {
		t.Fatalf("Probe with a corrupt cache entry: %v", err)
	}
	if n := runCount(t, counter); n != 2 {
		t.Errorf("a corrupt cache entry gave %d runs, want 2", n)
	}
	if !reflect.DeepEqual(first, third) {
		t.Errorf("Probe after a corrupt cache entry = %+v, want %+v", third, first)
	}
	var out probeOutput
	if data, err := os.ReadFile(entries[0]); err != nil || json.Unmarshal(data, &out) != nil || out.Version != "3.11.2" {
		t.Errorf("corrupt cache entry was not rewritten: %q, %v", data, err)
	}

	// A changed interpreter (new mtime) is probed again.
	later := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	if err := os.Chtimes(python, later, later); err != nil {
		t.Fatal(err)
	}
	if _, err := Probe(ctx, python, cache); err != nil {
		t.Fatal(err)
	}
	if n := runCount(t, counter); n != 3 {
		t.Errorf("a changed interpreter gave %d runs, want 3", n)
	}

	// Without a cache directory every probe runs the interpreter.
	if _, err := Probe(ctx, python, ""); err != nil {
		t.Fatal(err)
	}
	if n := runCount(t, counter); n != 4 {
		t.Errorf("a probe without a cache gave %d runs, want 4", n)
	}
	leftovers, _ := filepath.Glob(filepath.Join(cache, ".interp-*"))
	if len(leftovers) != 0 {
		t.Errorf("temp files left in the cache: %v", leftovers)
	}
}

// fakeReport is a probe report as a shell heredoc, with the implementation
// and version replaced.
func fakeReport(impl string, major, minor int) string {
	return fmt.Sprintf(`cat <<'EOF'
{"implementation": %q, "version": "%d.%d.1", "version_info": [%d, %d, 1], "platform": "linux-x86_64",
 "ext_suffix": ".so", "markers": {}}
EOF
`, impl, major, minor, major, minor)
}

func TestProbeErrors(t *testing.T) {
	dir := t.TempDir()
	notExec := filepath.Join(dir, "not-executable")
	if err := os.WriteFile(notExec, []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	scripts := map[string]string{
		"python2.7": fakeReport("cpython", 2, 7),
		"pypy3":     fakeReport("pypy", 3, 10),
		"python3.7": fakeReport("cpython", 3, 7),
		"crashes":   "echo 'Fatal Python error: init_fs_encoding' >&2\nexit 1\n",
		"garbage":   "echo 'Python 3.11.2'\n",
	}
	for name, body := range scripts {
		writeScript(t, filepath.Join(dir, name), body)
	}
	if err := os.WriteFile(filepath.Join(dir, "bad-shebang"), []byte("#!/nonexistent/python\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name        string
		python      string
		need        string // skip unless this exists
		wantErr     []string
		unsupported bool
	}{
		{name: "empty", python: "", wantErr: []string{"no python interpreter given"}},
		{name: "missing", python: filepath.Join(dir, "nope"), wantErr: []string{"does not exist"}},
		{name: "missing in PATH", python: "venvpkg-no-such-python", wantErr: []string{"not found in $PATH"}},
		{name: "directory", python: dir, wantErr: []string{"is a directory"}},
		{name: "not executable", python: notExec, wantErr: []string{"is not executable", "chmod +x"}},
		{name: "fake python 2", python: filepath.Join(dir, "python2.7"), wantErr: []string{"is Python 2.7", "supports CPython 3.x"}, unsupported: true},
		{name: "fake pypy", python: filepath.Join(dir, "pypy3"), wantErr: []string{"implementation is pypy; venvpkg supports CPython 3.x"}, unsupported: true},
		{name: "fake 3.7", python: filepath.Join(dir, "python3.7"), wantErr: []string{"python 3.7 is older than the oldest supported CPython 3.8; install or bundle a modern interpreter"}, unsupported: true},
		{name: "interpreter fails", python: filepath.Join(dir, "crashes"), wantErr: []string{"exit status 1", "Fatal Python error: init_fs_encoding"}},
		{name: "missing #! interpreter", python: filepath.Join(dir, "bad-shebang"), wantErr: []string{"its #! interpreter or ELF loader is missing"}},
		{name: "not a probe report", python: filepath.Join(dir, "garbage"), wantErr: []string{"reading its report", "Python 3.11.2"}},
		{
			name: "real python 3.6", python: "/root/.pyenv/versions/3.6.15/bin/python3.6", need: "/root/.pyenv/versions/3.6.15/bin/python3.6",
			wantErr: []string{"python 3.6 is older than the oldest supported CPython 3.8"}, unsupported: true,
		},
		{
			name: "real python 2.7", python: "/root/.pyenv/versions/2.7.18/bin/python2.7", need: "/root/.pyenv/versions/2.7.18/bin/python2.7",
			wantErr: []string{"is Python 2.7"}, unsupported: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.need != "" {
				need(t, tt.need)
			}
			info, err := Probe(context.Background(), tt.python, filepath.Join(dir, "cache"))
			if err == nil {
				t.Fatalf("Probe(%q) = %+v, want an error", tt.python, info)
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Probe(%q) error = %q, want it to contain %q", tt.python, err, w)
				}
			}
			if got := errors.Is(err, ErrUnsupported); got != tt.unsupported {
				t.Errorf("errors.Is(Probe(%q) error, ErrUnsupported) = %v, want %v", tt.python, got, tt.unsupported)
			}
		})
	}
	if entries, _ := filepath.Glob(filepath.Join(dir, "cache", "*")); len(entries) != 0 {
		t.Errorf("failed probes left cache entries: %v", entries)
	}
}

func TestTagInput(t *testing.T) {
	tests := []struct {
		name string
		info Info
		want tags.Input
	}{
		{
			name: "x86_64 glibc",
			info: Info{Major: 3, Minor: 11, Platform: "linux-x86_64", Glibc: "2.36", Pymalloc: true},
			want: tags.Input{Major: 3, Minor: 11, Pymalloc: true, OS: "linux", Platform: "linux-x86_64", Arch: "x86_64", GlibcMajor: 2, GlibcMinor: 36},
		},
		{
			name: "32-bit on x86_64",
			info: Info{Major: 3, Minor: 12, Platform: "linux-x86_64", Is32Bit: true, Glibc: "2.31"},
			want: tags.Input{Major: 3, Minor: 12, OS: "linux", Platform: "linux-x86_64", Arch: "i686", GlibcMajor: 2, GlibcMinor: 31},
		},
		{
			name: "32-bit on aarch64",
			info: Info{Major: 3, Minor: 12, Platform: "linux-aarch64", Is32Bit: true, Glibc: "2.31"},
			want: tags.Input{Major: 3, Minor: 12, OS: "linux", Platform: "linux-aarch64", Arch: "armv8l", GlibcMajor: 2, GlibcMinor: 31},
		},
		{
			name: "free-threaded musl",
			info: Info{Major: 3, Minor: 13, Platform: "linux-aarch64", GILDisabled: true, Debug: true, Musl: "1.2"},
			want: tags.Input{Major: 3, Minor: 13, GILDisabled: true, Debug: true, OS: "linux", Platform: "linux-aarch64", Arch: "aarch64", MuslMajor: 1, MuslMinor: 2},
		},
		{
			name: "not linux",
			info: Info{Major: 3, Minor: 12, Platform: "macosx-11.0-arm64"},
			want: tags.Input{Major: 3, Minor: 12, Platform: "macosx-11.0-arm64"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.info.TagInput(); got != tt.want {
				t.Errorf("TagInput() = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestMarkerEnvIsACopy(t *testing.T) {
	info := &Info{Markers: map[string]string{"python_version": "3.11"}}
	env := info.MarkerEnv()
	env["extra"] = "test"
	if _, ok := info.Markers["extra"]; ok {
		t.Errorf("MarkerEnv() shares its map with Info.Markers")
	}
	if env["python_version"] != "3.11" {
		t.Errorf("MarkerEnv()[python_version] = %q, want 3.11", env["python_version"])
	}
}

// helperScript loads probe.py as a module (so main does not run) from
// stdin and prints what its ELF and musl helpers find.
const helperScript = `
import json, sys
ns = {"__name__": "probe"}
exec(compile(sys.stdin.read(), "probe.py", "exec"), ns)
result = {"interp": ns["elf_interpreter"](sys.executable), "musl_here": ns["musl_version"]()}
loader = sys.argv[1]
ns["elf_interpreter"] = lambda path: loader
result["musl_loader"] = ns["musl_version"]()
print(json.dumps(result))
`

// TestProbeScriptLibcHelpers checks the PT_INTERP reader against Go's
// debug/elf and the musl version parser against musl's real loader
// (Debian package musl).
func TestProbeScriptLibcHelpers(t *testing.T) {
	need(t, debianPython)
	const muslLoader = "/lib/ld-musl-x86_64.so.1"
	cmd := exec.Command(debianPython, "-c", helperScript, muslLoader)
	cmd.Stdin = strings.NewReader(probeScript)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v: %s", debianPython, err, out)
	}
	var got struct {
		Interp     string `json:"interp"`
		MuslHere   string `json:"musl_here"`
		MuslLoader string `json:"musl_loader"`
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}

	f, err := elf.Open(debianPython)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var want string
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			data, err := io.ReadAll(p.Open())
			if err != nil {
				t.Fatal(err)
			}
			want = strings.TrimRight(string(data), "\x00")
		}
	}
	if want == "" {
		t.Fatalf("%s has no PT_INTERP", debianPython)
	}
	if got.Interp != want {
		t.Errorf("elf_interpreter(%s) = %q, want %q (debug/elf)", debianPython, got.Interp, want)
	}
	if got.MuslHere != "" {
		t.Errorf("musl_version() on glibc %s = %q, want \"\"", debianPython, got.MuslHere)
	}
	testutil.NeedFile(t, muslLoader, "musl")
	if got.MuslLoader != "1.2" {
		t.Errorf("musl_version() with loader %s = %q, want \"1.2\"", muslLoader, got.MuslLoader)
	}
}
