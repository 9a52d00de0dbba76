package pybuild

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/venvpkg/venvpkg/internal/interp"
	"github.com/venvpkg/venvpkg/internal/pep440"
	"github.com/venvpkg/venvpkg/internal/pep503"
	"github.com/venvpkg/venvpkg/internal/pep508"
	"github.com/venvpkg/venvpkg/internal/testutil"
	"github.com/venvpkg/venvpkg/internal/wheel"
)

const (
	debianPython = "/usr/bin/python3.11"
	debianWheels = "/usr/share/python-wheels"
)

func probe(t *testing.T) *interp.Info {
	t.Helper()
	testutil.NeedFile(t, debianPython, "python3.11")
	py, err := interp.Probe(context.Background(), debianPython, t.TempDir())
	if err != nil {
		t.Fatalf("Probe(%s): %v", debianPython, err)
	}
	return py
}

// finder returns a Find that picks the newest matching wheel in dirs.
func finder(dirs ...string) func(context.Context, pep508.Requirement) (string, error) {
	return func(_ context.Context, req pep508.Requirement) (string, error) {
		want := pep503.Normalize(req.Name)
		best, bestPath := pep440.Version{}, ""
		for _, dir := range dirs {
			paths, err := filepath.Glob(filepath.Join(dir, "*.whl"))
			if err != nil {
				return "", err
			}
			for _, p := range paths {
				fn, err := wheel.ParseFilename(filepath.Base(p))
				if err != nil || pep503.Normalize(fn.Distribution) != want {
					continue
				}
				v, err := pep440.Parse(fn.Version)
				if err != nil || !req.Specifier.Contains(v, true) {
					continue
				}
				if bestPath == "" || v.Compare(best) > 0 {
					best, bestPath = v, p
				}
			}
		}
		if bestPath == "" {
			return "", fmt.Errorf("no wheel for %s%s in %s", req.Name, req.Specifier, strings.Join(dirs, ", "))
		}
		return bestPath, nil
	}
}

func needSetuptools(t *testing.T) {
	t.Helper()
	testutil.NeedGlob(t, filepath.Join(debianWheels, "setuptools-*.whl"), "python3-setuptools-whl")
}

// copyProject copies testdata/<name> to a scratch directory, as the build
// pipeline does before building.
func copyProject(t *testing.T, name string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), name)
	if err := os.CopyFS(dst, os.DirFS(filepath.Join("testdata", name))); err != nil {
		t.Fatal(err)
	}
	return dst
}

// readWheel returns the members of a wheel.
func readWheel(t *testing.T, path string) map[string]string {
	t.Helper()
	zr, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	out := map[string]string{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		out[f.Name] = string(data)
	}
	return out
}

// makeWheel writes a pure wheel with one module and the given Requires-Dist.
func makeWheel(t *testing.T, dir, name, version string, requires ...string) {
	t.Helper()
	distInfo := name + "-" + version + ".dist-info"
	meta := "Metadata-Version: 2.1\nName: " + name + "\nVersion: " + version + "\n"
	for _, r := range requires {
		meta += "Requires-Dist: " + r + "\n"
	}
	files := [][2]string{
		{name + ".py", "NAME = " + fmt.Sprintf("%q", name) + "\n"},
		{distInfo + "/METADATA", meta},
		{distInfo + "/WHEEL", "Wheel-Version: 1.0\nGenerator: venvpkg-test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"},
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	var record strings.Builder
	for _, f := range files {
		w, err := zw.Create(f[0])
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(w, f[1]); err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256([]byte(f[1]))
		fmt.Fprintf(&record, "%s,sha256=%s,%d\n", f[0], base64.RawURLEncoding.EncodeToString(sum[:]), len(f[1]))
	}
	record.WriteString(distInfo + "/RECORD,,\n")
	w, err := zw.Create(distInfo + "/RECORD")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(w, record.String()); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+"-"+version+"-py3-none-any.whl"), buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestReadBuildSystem(t *testing.T) {
	tests := []struct {
		name    string
		files   map[string]string
		want    *BuildSystem
		wantErr string
	}{
		{
			name: "no pyproject.toml",
			want: &BuildSystem{Requires: []string{"setuptools>=40.8.0"}, Backend: LegacyBackend, Legacy: true},
		},
		{
			name:  "no build-system table",
			files: map[string]string{"pyproject.toml": "[project]\nname = \"x\"\n"},
			want:  &BuildSystem{Requires: []string{"setuptools>=40.8.0"}, Backend: LegacyBackend, Legacy: true},
		},
		{
			name:  "backend and requires",
			files: map[string]string{"pyproject.toml": "[build-system]\nrequires = [\"flit_core >=3.2,<4\"]\nbuild-backend = \"flit_core.buildapi\"\n"},
			want:  &BuildSystem{Requires: []string{"flit_core >=3.2,<4"}, Backend: "flit_core.buildapi"},
		},
		{
			name:  "requires without backend",
			files: map[string]string{"pyproject.toml": "[build-system]\nrequires = [\"setuptools\", \"cython\"]\n"},
			want:  &BuildSystem{Requires: []string{"setuptools", "cython"}, Backend: LegacyBackend},
		},
		{
			name: "backend-path",
			files: map[string]string{
				"pyproject.toml":  "[build-system]\nrequires = []\nbuild-backend = \"local:api\"\nbackend-path = [\"_build\"]\n",
				"_build/local.py": "",
			},
			want: &BuildSystem{Requires: []string{}, Backend: "local:api", BackendPath: []string{"_build"}},
		},
		{
			name:    "no requires",
			files:   map[string]string{"pyproject.toml": "[build-system]\nbuild-backend = \"x\"\n"},
			wantErr: "has no requires key",
		},
		{
			name:    "backend-path outside",
			files:   map[string]string{"pyproject.toml": "[build-system]\nrequires = []\nbuild-backend = \"x\"\nbackend-path = [\"..\"]\n"},
			wantErr: "is outside the source tree",
		},
		{
			name:    "backend-path absolute",
			files:   map[string]string{"pyproject.toml": "[build-system]\nrequires = []\nbuild-backend = \"x\"\nbackend-path = [\"/usr/lib\"]\n"},
			wantErr: "is absolute",
		},
		{
			name:    "bad backend",
			files:   map[string]string{"pyproject.toml": "[build-system]\nrequires = []\nbuild-backend = \"x y\"\n"},
			wantErr: "is not a module path",
		},
		{
			name:    "bad toml",
			files:   map[string]string{"pyproject.toml": "[build-system]\nrequires = [\n"},
			wantErr: "pyproject.toml:",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, err := filepath.EvalSymlinks(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			testutil.WriteTree(t, dir, tt.files)
			got, err := ReadBuildSystem(dir)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ReadBuildSystem(%s) = %v, want an error containing %q", tt.name, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ReadBuildSystem(%s): %v", tt.name, err)
			}
			for i, p := range tt.want.BackendPath {
				tt.want.BackendPath[i] = filepath.Join(dir, p)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ReadBuildSystem(%s) = %+v, want %+v", tt.name, got, tt.want)
			}
		})
	}
}

func TestBuildSetuptoolsProject(t *testing.T) {
	py := probe(t)
	needSetuptools(t)
	src := copyProject(t, "setuptools-project")
	out := t.TempDir()
	f := &Frontend{Python: py, Find: finder(debianWheels), TempDir: t.TempDir()}
	got, err := f.BuildWheel(context.Background(), src, out)
	if err != nil {
		t.Fatalf("BuildWheel: %v", err)
	}
	if want := filepath.Join(out, "demo_app-1.2.0-py3-none-any.whl"); got != want {
		t.Fatalf("BuildWheel = %s, want %s", got, want)
	}
	members := readWheel(t, got)
	meta := members["demo_app-1.2.0.dist-info/METADATA"]
	// setuptools 66 still writes "click (>=8.0)"; newer ones "click>=8.0".
	for _, line := range []string{"Name: demo-app\n", "Version: 1.2.0\n", "Requires-Python: >=3.8\n", "Requires-Dist: click"} {
		if !strings.Contains(meta, line) {
			t.Errorf("METADATA lacks %q:\n%s", line, meta)
		}
	}
	if !strings.Contains(meta, ">=8.0") {
		t.Errorf("METADATA lacks the click>=8.0 requirement:\n%s", meta)
	}
	eps := members["demo_app-1.2.0.dist-info/entry_points.txt"]
	if !strings.Contains(eps, "[console_scripts]\ndemo = demo_app.cli:main\n") {
		t.Errorf("entry_points.txt = %q, want a console script demo = demo_app.cli:main", eps)
	}
	if _, ok := members["demo_app/cli.py"]; !ok {
		t.Errorf("wheel members %v lack demo_app/cli.py", keys(members))
	}
	if left, _ := filepath.Glob(filepath.Join(f.TempDir, "*")); len(left) != 0 {
		t.Errorf("BuildWheel left %v in its temp dir", left)
	}
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func TestBuildLegacyProject(t *testing.T) {
	py := probe(t)
	needSetuptools(t)
	src := copyProject(t, "legacy-project")
	var log bytes.Buffer
	f := &Frontend{Python: py, Find: finder(debianWheels), TempDir: t.TempDir(), Stdout: &log}
	got, err := f.BuildWheel(context.Background(), src, t.TempDir())
	if err != nil {
		t.Fatalf("BuildWheel: %v", err)
	}
	if base := filepath.Base(got); base != "legacy_demo-0.3-py3-none-any.whl" {
		t.Errorf("BuildWheel = %s, want legacy_demo-0.3-py3-none-any.whl", base)
	}
	members := readWheel(t, got)
	if members["legacy_demo.py"] != "VALUE = 3\n" {
		t.Errorf("wheel members %v lack legacy_demo.py", keys(members))
	}
	if !strings.Contains(log.String(), "running bdist_wheel") {
		t.Errorf("Stdout got %q, want setuptools' output", log.String())
	}
}

// recordingBackend is an in-tree backend that records what it sees.
const recordingBackend = `import json, os, sys, zipfile

def get_requires_for_build_wheel(config_settings=None):
    return ["beta"]

def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    import alpha, beta, gamma
    info = {
        "cwd": os.getcwd(),
        "sde": os.environ.get("SOURCE_DATE_EPOCH"),
        "path": sys.path,
        "prefix": sys.prefix,
        "alpha": alpha.__file__,
        "config_settings": config_settings,
        "metadata_directory": metadata_directory,
    }
    name = "recorded-1.0-py3-none-any.whl"
    with zipfile.ZipFile(os.path.join(wheel_directory, name), "w") as z:
        z.writestr("info.json", json.dumps(info))
    print("recording backend ran")
    return name
`

func TestBuildInTreeBackend(t *testing.T) {
	py := probe(t)
	wheels := t.TempDir()
	makeWheel(t, wheels, "alpha", "1.0", "gamma>=2", `delta ; extra == "x"`)
	makeWheel(t, wheels, "beta", "0.5", "gamma")
	makeWheel(t, wheels, "gamma", "2.1")
	makeWheel(t, wheels, "gamma", "1.0")
	src, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	testutil.WriteTree(t, src, map[string]string{
		"pyproject.toml":      "[build-system]\nrequires = [\"alpha\"]\nbuild-backend = \"recorder\"\nbackend-path = [\"backend\"]\n",
		"backend/recorder.py": recordingBackend,
	})
	t.Setenv("SOURCE_DATE_EPOCH", "1234")
	t.Setenv("PYTHONPATH", "/usr/lib/python3/dist-packages")
	var log bytes.Buffer
	var asked []string
	find := finder(wheels)
	f := &Frontend{
		Python: py,
		Find: func(ctx context.Context, req pep508.Requirement) (string, error) {
			asked = append(asked, req.Name+req.Specifier.String())
			return find(ctx, req)
		},
		TempDir: t.TempDir(),
		Stdout:  &log,
		Stderr:  &log,
	}
	got, err := f.BuildWheel(context.Background(), src, t.TempDir())
	if err != nil {
		t.Fatalf("BuildWheel: %v", err)
	}
	if want := []string{"alpha", "gamma>=2", "beta"}; !reflect.DeepEqual(asked, want) {
		t.Errorf("Find was asked for %q, want %q", asked, want)
	}
	if !strings.Contains(log.String(), "recording backend ran") {
		t.Errorf("Stdout got %q, want the backend's output", log.String())
	}
	var info struct {
		CWD, SDE, Prefix, Alpha string
		Path                    []string
		ConfigSettings          any `json:"config_settings"`
		MetadataDirectory       any `json:"metadata_directory"`
	}
	if err := json.Unmarshal([]byte(readWheel(t, got)["info.json"]), &info); err != nil {
		t.Fatal(err)
	}
	if info.CWD != src {
		t.Errorf("backend ran in %s, want %s", info.CWD, src)
	}
	if info.SDE != "1234" {
		t.Errorf("backend saw SOURCE_DATE_EPOCH=%q, want 1234", info.SDE)
	}
	if len(info.Path) == 0 || info.Path[0] != filepath.Join(src, "backend") {
		t.Errorf("backend sys.path = %q, want backend-path first", info.Path)
	}
	for _, p := range info.Path {
		if strings.Contains(p, "dist-packages") || p == src {
			t.Errorf("backend sys.path = %q, want neither the source tree nor dist-packages", info.Path)
		}
	}
	if !strings.HasPrefix(info.Alpha, info.Prefix+"/lib/python3.11/site-packages/") || !strings.HasPrefix(info.Prefix, f.TempDir) {
		t.Errorf("alpha imported from %s with sys.prefix %s, want the build environment in %s", info.Alpha, info.Prefix, f.TempDir)
	}
	if info.ConfigSettings != nil || info.MetadataDirectory != nil {
		t.Errorf("config_settings, metadata_directory = %v, %v, want None", info.ConfigSettings, info.MetadataDirectory)
	}
}

func TestBuildErrors(t *testing.T) {
	py := probe(t)
	tests := []struct {
		name    string
		files   map[string]string
		want    []string
		capture bool
	}{
		{
			name: "backend raises",
			files: map[string]string{
				"pyproject.toml": "[build-system]\nrequires = []\nbuild-backend = \"failing\"\nbackend-path = [\".\"]\n",
				"failing.py":     "def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):\n    print('about to fail')\n    raise RuntimeError('boom from backend')\n",
			},
			want:    []string{"build_wheel of backend failing: the backend failed", "about to fail", "Traceback (most recent call last)", "RuntimeError: boom from backend"},
			capture: true,
		},
		{
			name: "backend raises, output streamed",
			files: map[string]string{
				"pyproject.toml": "[build-system]\nrequires = []\nbuild-backend = \"failing\"\nbackend-path = [\".\"]\n",
				"failing.py":     "def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):\n    raise RuntimeError('boom from backend')\n",
			},
			want: []string{"Traceback (most recent call last)", "RuntimeError: boom from backend"},
		},
		{
			name:    "no backend",
			files:   map[string]string{"pyproject.toml": "[build-system]\nrequires = []\nbuild-backend = \"no_such_backend\"\n"},
			want:    []string{"cannot import the backend", "ModuleNotFoundError: No module named 'no_such_backend'"},
			capture: true,
		},
		{
			name: "backend not from backend-path",
			files: map[string]string{
				"pyproject.toml": "[build-system]\nrequires = []\nbuild-backend = \"json\"\nbackend-path = [\"b\"]\n",
				"b/other.py":     "",
			},
			want:    []string{"backend 'json' was imported from", "not from backend-path"},
			capture: true,
		},
		{
			name:    "requirement not found",
			files:   map[string]string{"pyproject.toml": "[build-system]\nrequires = [\"nonexistent>=1\"]\nbuild-backend = \"x\"\n"},
			want:    []string{"finding build requirement nonexistent>=1 (from [build-system] requires): no wheel for nonexistent>=1"},
			capture: true,
		},
		{
			name: "no build_wheel hook",
			files: map[string]string{
				"pyproject.toml": "[build-system]\nrequires = []\nbuild-backend = \"empty\"\nbackend-path = [\".\"]\n",
				"empty.py":       "",
			},
			want:    []string{"has no build_wheel hook"},
			capture: true,
		},
		{
			name: "bad return value",
			files: map[string]string{
				"pyproject.toml": "[build-system]\nrequires = []\nbuild-backend = \"liar\"\nbackend-path = [\".\"]\n",
				"liar.py":        "def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):\n    return '../x.whl'\n",
			},
			want:    []string{`returned "../x.whl" from build_wheel`},
			capture: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := t.TempDir()
			testutil.WriteTree(t, src, tt.files)
			f := &Frontend{Python: py, Find: finder(t.TempDir()), TempDir: t.TempDir()}
			var log bytes.Buffer
			if !tt.capture {
				f.Stderr = &log
			}
			_, err := f.BuildWheel(context.Background(), src, t.TempDir())
			if err == nil {
				t.Fatalf("BuildWheel(%s) succeeded, want an error", tt.name)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("BuildWheel(%s) = %v\nwant it to contain %q", tt.name, err, w)
				}
			}
			if !tt.capture && !strings.Contains(log.String(), "RuntimeError: boom from backend") {
				t.Errorf("Stderr got %q, want the traceback", log.String())
			}
		})
	}
}

func TestLegacyWithoutWheel(t *testing.T) {
	py := probe(t)
	needSetuptools(t)
	only := t.TempDir()
	m, _ := filepath.Glob(filepath.Join(debianWheels, "setuptools-*.whl"))
	data, err := os.ReadFile(m[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(only, filepath.Base(m[0])), data, 0o644); err != nil {
		t.Fatal(err)
	}
	var asked []string
	find := finder(only)
	f := &Frontend{
		Python: py,
		Find: func(ctx context.Context, req pep508.Requirement) (string, error) {
			asked = append(asked, req.Name+req.Specifier.String())
			return find(ctx, req)
		},
		TempDir: t.TempDir(),
	}
	// Without wheel, the legacy defaults still install setuptools; the
	// setuptools of Debian 12 then asks for wheel itself.
	_, err = f.BuildWheel(context.Background(), copyProject(t, "legacy-project"), t.TempDir())
	want := "finding build requirement wheel (from get_requires_for_build_wheel)"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("BuildWheel = %v, want an error containing %q", err, want)
	}
	if wantAsked := []string{"wheel", "setuptools>=40.8.0", "wheel"}; !reflect.DeepEqual(asked, wantAsked) {
		t.Errorf("Find was asked for %q, want %q", asked, wantAsked)
	}
}
