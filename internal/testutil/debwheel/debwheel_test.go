package debwheel

import (
	"archive/zip"
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/venvpkg/venvpkg/internal/testutil"
	"github.com/venvpkg/venvpkg/internal/testutil/pyvenv"
)

func TestConvertRequires(t *testing.T) {
	tests := []struct {
		name         string
		in           string
		reqs, extras []string
	}{
		{
			name: "unconditional",
			in:   "Werkzeug>=2.2.2\nJinja2>=3.0\n",
			reqs: []string{"Werkzeug>=2.2.2", "Jinja2>=3.0"},
		},
		{
			name:   "extra and marker sections",
			in:     "click>=8.0\n\n[:python_version < \"3.10\"]\nimportlib-metadata>=3.6.0\n\n[async]\nasgiref>=3.2\n",
			reqs:   []string{"click>=8.0", `importlib-metadata>=3.6.0; python_version < "3.10"`, `asgiref>=3.2; extra == "async"`},
			extras: []string{"async"},
		},
		{
			name:   "extra with marker",
			in:     "[socks:sys_platform == \"win32\"]\nwin-inet-pton\n",
			reqs:   []string{`win-inet-pton; (sys_platform == "win32") and extra == "socks"`},
			extras: []string{"socks"},
		},
		{
			name: "empty section as Debian leaves it",
			in:   "\n[:python_version < \"3.10\"]\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reqs, extras, err := convertRequires(tt.in)
			if err != nil {
				t.Fatalf("convertRequires(%q): %v", tt.in, err)
			}
			if !reflect.DeepEqual(reqs, tt.reqs) || !reflect.DeepEqual(extras, tt.extras) {
				t.Errorf("convertRequires(%q) = %q, %q, want %q, %q", tt.in, reqs, extras, tt.reqs, tt.extras)
			}
		})
	}
	if _, _, err := convertRequires("[broken\n"); err == nil {
		t.Error(`convertRequires("[broken") succeeded, want an error`)
	}
}

func TestInsertHeaders(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"with body", "Name: a\nVersion: 1\n\nbody\n", "Name: a\nVersion: 1\nRequires-Dist: b\n\nbody\n"},
		{"without body", "Name: a\nVersion: 1\n", "Name: a\nVersion: 1\nRequires-Dist: b\n"},
		{"no final newline", "Name: a", "Name: a\nRequires-Dist: b\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(insertHeaders([]byte(tt.in), []string{"Requires-Dist: b"})); got != tt.want {
				t.Errorf("insertHeaders(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestWheelTag(t *testing.T) {
	tests := []struct {
		name    string
		arch    string
		depends string
		reqPy   string
		files   []string
		tag     string
		purelib bool
	}{
		{"pure", "all", "python3:any", "", []string{"a/__init__.py", "a/data.json"}, "py3-none-any", true},
		{"version-specific", "amd64", "python3 (>= 3.11~)", "", []string{"m/__init__.py", "m/_speedups.cpython-311-x86_64-linux-gnu.so"}, "cp311-cp311-linux_x86_64", false},
		{"arm64", "arm64", "", "", []string{"m/_c.cpython-312-aarch64-linux-gnu.so"}, "cp312-cp312-linux_aarch64", false},
		{"abi3", "amd64", "python3 (<< 3.12), python3 (>= 3.11~)", "", []string{"c/_rust.abi3.so"}, "cp311-abi3-linux_x86_64", false},
		{"abi3 beside specific", "amd64", "python3 (>= 3.11~)", "", []string{"c/_a.abi3.so", "c/_b.cpython-311-x86_64-linux-gnu.so"}, "cp311-cp311-linux_x86_64", false},
		{"abi3 from Requires-Python", "amd64", "python3 (>= 3~), libc6 (>= 2.34)", ">=3.6", []string{"c/_rust.abi3.so"}, "cp36-abi3-linux_x86_64", false},
		{"untagged library", "amd64", "python3 (>= 3.11~)", "", []string{"c.libs/libfoo.so.1"}, "cp311-cp311-linux_x86_64", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := &debContents{arch: tt.arch, depends: tt.depends}
			tag, purelib, err := wheelTag(d, tt.files, tt.reqPy)
			if err != nil {
				t.Fatalf("wheelTag(%q): %v", tt.files, err)
			}
			if tag != tt.tag || purelib != tt.purelib {
				t.Errorf("wheelTag(%q) = %s, %t, want %s, %t", tt.files, tag, purelib, tt.tag, tt.purelib)
			}
		})
	}
	bad := &debContents{arch: "amd64"}
	if _, _, err := wheelTag(bad, []string{"c/_x.abi3.so"}, ""); err == nil {
		t.Error("wheelTag of an abi3 module without a python3 Depends succeeded, want an error")
	}
}

func TestDependencyNames(t *testing.T) {
	tests := []struct {
		name, depends string
		want          []string
	}{
		{"werkzeug", "libjs-jquery, python3-markupsafe, python3:any", []string{"libjs-jquery", "python3-markupsafe"}},
		{"versions and alternatives", "python3 (<< 3.12), libjs-a (>= 1) | libjs-b, libc6 (>= 2.14), python3.11", []string{"libjs-a"}},
		{"empty", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := dependencyNames(tt.depends); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("dependencyNames(%q) = %q, want %q", tt.depends, got, tt.want)
			}
		})
	}
}

func TestUnderTopLevel(t *testing.T) {
	tests := []struct {
		rel, top string
		want     bool
	}{
		{"flask/app.py", "flask", true},
		{"flask.py", "flask", true},
		{"_cffi.cpython-311-x86_64-linux-gnu.so", "_cffi", true},
		{"flask_cors/__init__.py", "flask", false},
		{"flask.pth", "flask", false},
		{"flask.json/x.so", "flask", false},
	}
	for _, tt := range tests {
		if got := underTopLevel(tt.rel, tt.top); got != tt.want {
			t.Errorf("underTopLevel(%q, %q) = %t, want %t", tt.rel, tt.top, got, tt.want)
		}
	}
}

// needApt skips tests that download from Debian's mirror when the tools are missing or -short is given.
func needApt(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("downloads Debian packages")
	}
	for _, tool := range []string{"apt-get", "dpkg-deb"} {
		testutil.NeedTool(t, tool, map[string]string{"apt-get": "apt", "dpkg-deb": "dpkg"}[tool])
	}
}

func TestRepackInstall(t *testing.T) {
	needApt(t)
	if arch, err := exec.Command("dpkg", "--print-architecture").Output(); err != nil || strings.TrimSpace(string(arch)) != "amd64" {
		t.Skip("expected wheel names are for amd64")
	}
	ctx := context.Background()
	cache := testutil.CacheDir()
	out := t.TempDir()
	wheels, err := WebApp(ctx, cache, out)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, w := range wheels {
		names = append(names, filepath.Base(w))
	}
	sort.Strings(names)
	want := []string{
		"click-8.1.3-py3-none-any.whl",
		"flask-2.2.2-py3-none-any.whl",
		"itsdangerous-2.1.2-py3-none-any.whl",
		"jinja2-3.1.2-py3-none-any.whl",
		"markupsafe-2.1.2-cp311-cp311-linux_x86_64.whl",
		"werkzeug-2.2.2-py3-none-any.whl",
	}
	if !reflect.DeepEqual(names, want) {
		t.Fatalf("WebApp wheels = %q, want %q", names, want)
	}

	for _, w := range wheels {
		if err := VerifyRecord(w); err != nil {
			t.Errorf("VerifyRecord: %v", err)
		}
		checkMembers(t, w)
	}
	checkWheelFile(t, filepath.Join(out, "markupsafe-2.1.2-cp311-cp311-linux_x86_64.whl"), "Root-Is-Purelib: false", "Tag: cp311-cp311-linux_x86_64")
	checkWheelFile(t, filepath.Join(out, "flask-2.2.2-py3-none-any.whl"), "Root-Is-Purelib: true", "Tag: py3-none-any")
	// Debian links werkzeug's bundled jQuery to libjs-jquery; the wheel carries the file itself.
	_, texts := wheelMembers(t, filepath.Join(out, "werkzeug-2.2.2-py3-none-any.whl"))
	if js := texts["werkzeug/debug/shared/jquery.js"]; !strings.Contains(js, "jQuery") {
		t.Errorf("werkzeug/debug/shared/jquery.js holds %d bytes without \"jQuery\", want libjs-jquery's file", len(js))
	}

	t.Run("deterministic", func(t *testing.T) {
		again, err := WebApp(ctx, cache, t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		for i := range wheels {
			if a, b := fileSHA256(t, wheels[i]), fileSHA256(t, again[i]); a != b {
				t.Errorf("repacking twice gave %s sha256 %s then %s", filepath.Base(wheels[i]), a, b)
			}
		}
	})

	t.Run("pip install and import", func(t *testing.T) {
		v := pyvenv.New(t, pyvenv.DebianPython)
		v.Pip(t, append([]string{"install", "--no-deps", "--no-index"}, wheels...)...)
		script := `
import importlib, importlib.metadata as md
for dist in ("flask", "werkzeug", "jinja2", "markupsafe", "itsdangerous", "click"):
    for top in md.distribution(dist).read_text("top_level.txt").split():
        importlib.import_module(top)
    print(dist, md.version(dist))
import markupsafe
print("speedups", markupsafe.escape.__module__)
print("escape", markupsafe.escape("<a>"))
print("requires", md.requires("werkzeug"))
`
		got := v.Run(t, "python", "-c", script)
		for _, line := range []string{
			"flask 2.2.2", "werkzeug 2.2.2", "jinja2 3.1.2", "markupsafe 2.1.2", "itsdangerous 2.1.2", "click 8.1.3",
			"speedups markupsafe._speedups", "escape &lt;a&gt;",
		} {
			if !strings.Contains(got, line+"\n") {
				t.Errorf("importing the installed wheels printed\n%s\nwant a line %q", got, line)
			}
		}
		// The console script comes from entry_points.txt, converted from Flask's egg-info.
		if got := v.Run(t, "flask", "--version"); !strings.Contains(got, "Flask 2.2.2") {
			t.Errorf("flask --version = %q, want Flask 2.2.2", got)
		}
		if got := v.Pip(t, "check"); !strings.Contains(got, "No broken requirements") {
			t.Errorf("pip check = %q", got)
		}
	})
}

func TestWebAppLock(t *testing.T) {
	needApt(t)
	ctx := context.Background()
	out := t.TempDir()
	wheels, err := WebApp(ctx, testutil.CacheDir(), out)
	if err != nil {
		t.Fatal(err)
	}
	root, err := testutil.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	project := filepath.Join(root, "testdata", "webapp")
	pins := readPins(t, filepath.Join(project, "requirements.txt"))
	repacked := map[string]string{}
	for _, w := range wheels {
		parts := strings.SplitN(filepath.Base(w), "-", 3)
		repacked[parts[0]] = parts[1]
	}
	if !reflect.DeepEqual(pins, repacked) {
		t.Errorf("testdata/webapp/requirements.txt pins %v, Debian's packages repack to %v", pins, repacked)
	}

	v := pyvenv.New(t, pyvenv.DebianPython)
	v.InstallBuildBackend(t)
	app := v.BuildWheel(t, project, out)
	if got, want := filepath.Base(app), "webapp-1.0.0-py3-none-any.whl"; got != want {
		t.Errorf("built %s, want %s", got, want)
	}
	// Resolve the app's and Flask's dependencies against the lock only, as venvpkg will.
	v.Pip(t, "install", "--no-index", "--find-links", out, "-r", filepath.Join(project, "requirements.txt"))
	v.Pip(t, "install", "--no-index", "--no-deps", app)
	if got := v.Pip(t, "check"); !strings.Contains(got, "No broken requirements") {
		t.Errorf("pip check = %q", got)
	}
	got := v.Run(t, "webapp")
	for _, line := range []string{"webapp 1.0.0", "flask 2.2.2", "markupsafe 2.1.2", "markupsafe-speedups c", "prefix " + v.Dir} {
		if !strings.Contains(got, line+"\n") {
			t.Errorf("webapp printed\n%s\nwant a line %q", got, line)
		}
	}
	page := v.Run(t, "python", "-c", `
from webapp import create_app
client = create_app().test_client()
r = client.get("/")
print(r.status_code, r.get_data(as_text=True))
print(client.get("/versions").get_json()["werkzeug"])
`)
	for _, want := range []string{"200 ", "Hello, &lt;venvpkg&gt;!", "\n2.2.2\n"} {
		if !strings.Contains(page, want) {
			t.Errorf("serving / and /versions gave\n%s\nwant %q in it", page, want)
		}
	}
	t.Run("serve", func(t *testing.T) { checkServes(t, v) })
}

// checkServes runs `webapp --port` and fetches / once werkzeug reports it is listening.
func checkServes(t *testing.T, v *pyvenv.Venv) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmd := exec.CommandContext(ctx, v.Bin("webapp"), "--port", strconv.Itoa(port))
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	defer cancel()
	url := fmt.Sprintf("http://127.0.0.1:%d/", port)
	var log strings.Builder
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		log.WriteString(sc.Text() + "\n")
		if strings.Contains(sc.Text(), "Running on "+strings.TrimSuffix(url, "/")) {
			resp, err := http.Get(url)
			if err != nil {
				t.Fatalf("GET %s: %v", url, err)
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "Hello, &lt;venvpkg&gt;!") {
				t.Errorf("GET %s = %d %q, want 200 and the greeting", url, resp.StatusCode, body)
			}
			return
		}
	}
	t.Fatalf("webapp --port %d exited before serving:\n%s", port, log.String())
}

// readPins reads name==version lines of a requirements file into normalised name → version.
func readPins(t *testing.T, path string) map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	pins := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, version, ok := strings.Cut(line, "==")
		if !ok {
			t.Fatalf("%s: %q is not pinned with ==", path, line)
		}
		pins[escapeName(name)] = version
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return pins
}

// checkMembers checks a wheel's entries: sorted, fixed mtimes, no bytecode, one .dist-info with RECORD last.
func checkMembers(t *testing.T, wheel string) {
	t.Helper()
	zr, err := zip.OpenReader(wheel)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	var infoDirs = map[string]bool{}
	for i, f := range zr.File {
		if strings.Contains(f.Name, "__pycache__") || strings.HasSuffix(f.Name, ".pyc") {
			t.Errorf("%s contains bytecode %s", filepath.Base(wheel), f.Name)
		}
		if !f.Modified.Equal(zipTime) {
			t.Errorf("%s: %s has mtime %v, want %v", filepath.Base(wheel), f.Name, f.Modified, zipTime)
		}
		if top, _, _ := strings.Cut(f.Name, "/"); strings.HasSuffix(top, ".dist-info") {
			infoDirs[top] = true
		}
		if i == len(zr.File)-1 && !strings.HasSuffix(f.Name, ".dist-info/RECORD") {
			t.Errorf("%s: last entry is %s, want RECORD", filepath.Base(wheel), f.Name)
		}
	}
	if len(infoDirs) != 1 {
		t.Errorf("%s has .dist-info directories %v, want exactly one", filepath.Base(wheel), infoDirs)
	}
}

// checkWheelFile checks that the wheel's WHEEL file has the given lines.
func checkWheelFile(t *testing.T, wheel string, lines ...string) {
	t.Helper()
	zr, err := zip.OpenReader(wheel)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	for _, f := range zr.File {
		if !strings.HasSuffix(f.Name, ".dist-info/WHEEL") {
			continue
		}
		data, err := readZipFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range lines {
			if !strings.Contains(string(data), l+"\n") {
				t.Errorf("%s: WHEEL is\n%s\nwant a line %q", filepath.Base(wheel), data, l)
			}
		}
		return
	}
	t.Errorf("%s has no WHEEL file", filepath.Base(wheel))
}

func fileSHA256(t *testing.T, p string) string {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}
