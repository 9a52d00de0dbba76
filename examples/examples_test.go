// Package examples_test checks the example projects venvpkg's README builds: their configuration loads, setuptools
// from Debian's /usr/share/python-wheels builds them offline, and the installed console script works.
package examples_test

import (
	"archive/zip"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/venvpkg/venvpkg/internal/config"
	"github.com/venvpkg/venvpkg/internal/testutil/pyvenv"
)

func TestHelloConfig(t *testing.T) {
	cfg, err := config.Load("hello")
	if err != nil {
		t.Fatalf("config.Load(hello): %v", err)
	}
	checks := []struct{ name, got, want string }{
		{"project.name", cfg.Project.Name, "hello"},
		{"project.version", cfg.Project.Version, "1.0.0"},
		{"project.scripts.hello", cfg.Project.Scripts["hello"], "hello.cli:main"},
		{"tool.venvpkg.python", cfg.Tool.Python, "/usr/bin/python3.11"},
		{"tool.venvpkg.maintainer", cfg.Tool.Maintainer, "venvpkg example <hello@example.invalid>"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("hello %s = %q, want %q", c.name, c.got, c.want)
		}
	}
	if len(cfg.Project.Dependencies) != 0 {
		t.Errorf("hello dependencies = %q, want none: the example must build offline", cfg.Project.Dependencies)
	}
}

func TestHelloLockPinsNothing(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("hello", "requirements.txt"))
	if err != nil {
		t.Fatal(err)
	}
	for i, line := range strings.Split(string(data), "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			t.Errorf("hello/requirements.txt:%d: %q; hello has no dependencies, so its lock pins nothing", i+1, line)
		}
	}
	if !strings.Contains(string(data), "pins nothing") {
		t.Error("hello/requirements.txt lacks the header saying why it pins nothing")
	}
}

func TestHelloBuildsAndRuns(t *testing.T) {
	v := pyvenv.New(t, pyvenv.DebianPython)
	v.InstallBuildBackend(t)
	src, err := filepath.Abs("hello")
	if err != nil {
		t.Fatal(err)
	}
	wheel := v.BuildWheel(t, src, t.TempDir())
	if got, want := filepath.Base(wheel), "hello-1.0.0-py3-none-any.whl"; got != want {
		t.Fatalf("built %s, want %s", got, want)
	}
	meta := readMember(t, wheel, "hello-1.0.0.dist-info/METADATA")
	for _, line := range []string{"Name: hello", "Version: 1.0.0", "License: MIT", "Requires-Python: >=3.8", "Author-email: venvpkg example <hello@example.invalid>"} {
		if !strings.Contains(meta, line+"\n") {
			t.Errorf("METADATA is\n%s\nwant a line %q", meta, line)
		}
	}
	if strings.Contains(meta, "Requires-Dist:") {
		t.Errorf("METADATA has Requires-Dist; hello must have no runtime dependencies:\n%s", meta)
	}
	if ep := readMember(t, wheel, "hello-1.0.0.dist-info/entry_points.txt"); !strings.Contains(ep, "hello = hello.cli:main") {
		t.Errorf("entry_points.txt = %q, want the hello console script", ep)
	}
	if _, err := os.Stat(filepath.Join(src, "src", "hello.egg-info")); !os.IsNotExist(err) {
		t.Errorf("building left src/hello.egg-info in the example (stat: %v)", err)
	}

	v.Pip(t, "install", "--no-deps", wheel)
	version := strings.TrimSpace(v.Run(t, "python", "-c", "import platform; print(platform.python_version())"))
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"plain", nil, []string{"Hello from hello 1.0.0!", "Python " + version + " at " + v.Dir}},
		{"named", []string{"--name", "Debian"}, []string{"Hello, Debian, from hello 1.0.0!"}},
		{"version", []string{"--version"}, []string{"hello 1.0.0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := v.Run(t, "hello", tt.args...)
			for _, w := range tt.want {
				if !strings.Contains(got, w+"\n") {
					t.Errorf("hello %q printed %q, want a line %q", tt.args, got, w)
				}
			}
		})
	}
	if got := v.Run(t, "python", "-m", "hello"); !strings.HasPrefix(got, "Hello from hello 1.0.0!\n") {
		t.Errorf("python -m hello printed %q", got)
	}
}

// readMember returns the text of one file in a wheel.
func readMember(t *testing.T, wheel, name string) string {
	t.Helper()
	zr, err := zip.OpenReader(wheel)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	f, err := zr.Open(name)
	if err != nil {
		t.Fatalf("%s: %v", filepath.Base(wheel), err)
	}
	defer f.Close()
	data, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}
