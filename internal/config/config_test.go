package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	src := `
[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "My_App"
version = "1.2.0rc1"
description = "An app"
license = {text = "MIT"}
classifiers = ["Private :: Do Not Upload"]
authors = [{name = "A. Author", email = "a@example.org"}]
dependencies = ["flask>=2"]
urls = {Source = "https://src.example.org", Homepage = "https://example.org"}

[project.scripts]
myapp = "myapp.cli:main"

[tool.black]
line-length = 100

[tool.venvpkg]
prefix = "/opt/venvs/myapp"
release = 3
depends = ["libpq5"]
compression = "xz"
`
	c, err := Parse("pyproject.toml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	maint, err := c.Maintainer()
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct{ name, got, want string }{
		{"package name", c.PackageName(), "my-app"},
		{"version", c.Project.Version, "1.2.0rc1"},
		{"release", c.Tool.Release, "3"},
		{"license", c.Project.License.Short(), "MIT"},
		{"maintainer", maint, "A. Author <a@example.org>"},
		{"homepage", c.Project.Homepage(), "https://example.org"},
		{"compression", c.Tool.Compression, "xz"},
		{"script", c.Project.Scripts["myapp"], "myapp.cli:main"},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("%s = %q, want %q", ch.name, ch.got, ch.want)
		}
	}
	if !c.HasBuildSystem {
		t.Error("HasBuildSystem = false, want true")
	}
}

func TestParseErrors(t *testing.T) {
	base := "[project]\nname = \"app\"\nversion = \"1\"\n"
	tests := []struct{ name, src, want string }{
		{"unknown key", base + "[tool.venvpkg]\nprefx = \"/opt/x\"\n", `pyproject.toml:5: unknown key "prefx" in [tool.venvpkg]; did you mean "prefix"?`},
		{"misspelt with underscore", base + "[tool.venvpkg]\nrpm_requires = []\n", `unknown key "rpm_requires" in [tool.venvpkg]; did you mean "rpm-requires"?`},
		{"malformed", base + "[tool.venvpkg\n", "pyproject.toml:4:"},
		{"no name", "[project]\nversion = \"1\"\n", "[project] name is missing"},
		{"bad name", "[project]\nname = \"-x\"\nversion = \"1\"\n", "not a valid project name"},
		{"no version", "[project]\nname = \"x\"\n", "version is missing"},
		{"relative prefix", base + "[tool.venvpkg]\nprefix = \"opt/x\"\n", "is relative"},
		{"system prefix", base + "[tool.venvpkg]\nprefix = \"/usr\"\n", "is a system directory"},
		{"compression", base + "[tool.venvpkg]\ncompression = \"lz4\"\n", `compression "lz4" is not one of`},
		{"package name", base + "[tool.venvpkg]\nname = \"My_App\"\n", "is invalid"},
		{"release", base + "[tool.venvpkg]\nrelease = \"x1\"\n", "must start with a digit"},
		{"license type", "[project]\nname = \"x\"\nversion = \"1\"\nlicense = 3\n", "license must be a string or a table"},
		{"bare author email", base + "authors = [{email = \"ops@example.org\"}]\n", `[project] authors: "ops@example.org" has no name; the package's maintainer field needs "Name <ops@example.org>"; or set [tool.venvpkg] maintainer`},
		{"bad author email", base + "maintainers = [{name = \"Ops\", email = \"not an address\"}]\n", `[project] maintainers: "not an address" is not an email address`},
		{"bare tool maintainer", base + "[tool.venvpkg]\nmaintainer = \"ops@example.org\"\n", `[tool.venvpkg] maintainer: "ops@example.org" has no name`},
	}
	for _, tt := range tests {
		_, err := Parse("pyproject.toml", []byte(tt.src))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: Parse error = %v, want it to contain %q", tt.name, err, tt.want)
		}
	}
}

func TestDynamicVersion(t *testing.T) {
	c, err := Parse("pyproject.toml", []byte("[project]\nname = \"x\"\ndynamic = [\"version\"]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if !c.Project.IsDynamic("version") || c.Project.Version != "" {
		t.Errorf("dynamic version not recognised: %+v", c.Project)
	}
}

func TestPythonDist(t *testing.T) {
	head := "[project]\nname = \"app\"\nversion = \"1.0\"\n[tool.venvpkg]\n"
	c, err := Parse("/src/app/pyproject.toml", []byte(head+`python-dist = { path = "vendor/cpython.tar.gz", sha256 = "ab" }`+"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if d := c.Tool.PythonDist; d == nil || d.Path != "/src/app/vendor/cpython.tar.gz" || d.SHA256 != "ab" {
		t.Errorf("python-dist = %+v, want the path made absolute against the project", d)
	}
	for _, tt := range []struct{ name, src, want string }{
		{"unknown key", `python-dist = { url = "https://x/c.tar.gz", sha = "ab" }`, `unknown key "sha" in [tool.venvpkg] python-dist (known keys: path, sha256, url)`},
		{"with python", "python = \"/usr/bin/python3\"\npython-dist = { path = \"/p\" }", "has both python and python-dist"},
	} {
		_, err := Parse("pyproject.toml", []byte(head+tt.src+"\n"))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: Parse error = %v, want one containing %q", tt.name, err, tt.want)
		}
	}
}

func TestValidDebianRelations(t *testing.T) {
	tests := []struct {
		in string
		ok bool
	}{
		{"libpq5", true},
		{"libpq5 (>= 15)", true},
		{"libpq5 (>=15)", true},
		{"libpq5 (<< 16~)", true},
		{"libc6 (>= 2.36), tzdata", true},
		{"default-mta | mail-transport-agent", true},
		{"libfoo1:amd64 (= 1:2.0-1)", true},
		{"libfoo [amd64 arm64]", true},
		{"", false},
		{"LibPQ5", false},
		{"libpq5 >= 15", false},
		{"libpq5 (> 15)", false},
		{"libpq5 (>= )", false},
		{"libpq5,", false},
		{"libpq5 | ", false},
		{"libpq5 (>= 15\n)", false},
	}
	for _, tt := range tests {
		if err := ValidDebianRelations(tt.in); (err == nil) != tt.ok {
			t.Errorf("ValidDebianRelations(%q) = %v, want ok=%v", tt.in, err, tt.ok)
		}
	}
}

// TestWithoutProjectTable: Poetry projects and setup.py projects with a
// pyproject.toml for other tools have no [project] table; their metadata
// comes from the built wheel, and [tool.venvpkg] still applies.
func TestWithoutProjectTable(t *testing.T) {
	src := "[build-system]\nrequires = [\"poetry-core\"]\nbuild-backend = \"poetry.core.masonry.api\"\n\n" +
		"[tool.poetry]\nname = \"rich\"\nversion = \"13.3.1\"\n\n[tool.venvpkg]\nprefix = \"/opt/rich\"\n"
	c, err := Parse("pyproject.toml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if c.HasProject || c.PackageName() != "" || c.Tool.Prefix != "/opt/rich" {
		t.Errorf("Parse = HasProject %v, PackageName %q, prefix %q; want false, \"\", /opt/rich", c.HasProject, c.PackageName(), c.Tool.Prefix)
	}
	if m, err := c.Maintainer(); m != "" || err != nil {
		t.Errorf("Maintainer() = %q, %v; want none", m, err)
	}
	c, err = Parse("pyproject.toml", []byte("[tool.venvpkg]\nname = \"tool-named\"\n"))
	if err != nil || c.PackageName() != "tool-named" {
		t.Errorf("Parse([tool.venvpkg] only) = %v, %v; want package name tool-named", c, err)
	}
}

func TestLoadLegacy(t *testing.T) {
	dir := t.TempDir()
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "has no pyproject.toml, setup.py or setup.cfg") {
		t.Errorf("Load(empty dir) error = %v, want one saying it is not a Python project", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "setup.py"), []byte("from setuptools import setup\nsetup()\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if c.HasProject || c.HasBuildSystem || c.Dir != dir {
		t.Errorf("Load(setup.py project) = %+v, want an empty configuration for %s", c, dir)
	}
}

func TestFormatMaintainer(t *testing.T) {
	tests := []struct{ address, name, want, err string }{
		{"Jane Doe <jane@example.org>", "", "Jane Doe <jane@example.org>", ""},
		{`"Doe, Jane" <jane@example.org>`, "", "", "may not contain"},
		{"jane@example.org", "Jane Doe", "Jane Doe <jane@example.org>", ""},
		{"Ops <ops@example.org>, Dev <dev@example.org>", "", "Ops <ops@example.org>", ""},
		{"jane@example.org", "", "", `"jane@example.org" has no name`},
		{"jane", "Jane", "", "is not an email address"},
	}
	for _, tt := range tests {
		got, err := FormatMaintainer(tt.address, tt.name)
		if got != tt.want || (err == nil) != (tt.err == "") || err != nil && !strings.Contains(err.Error(), tt.err) {
			t.Errorf("FormatMaintainer(%q, %q) = %q, %v; want %q, error containing %q", tt.address, tt.name, got, err, tt.want, tt.err)
		}
	}
}
