package lock

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/venvpkg/venvpkg/internal/pep508"
	"github.com/venvpkg/venvpkg/internal/testutil"
)

// webappRoots are the default dependencies the Poetry fixture's project declares.
var webappRoots = []string{
	"flask>=3",
	"internal-auth>=2",
	"numpy>=1.26",
	"pywin32; sys_platform == 'win32'",
	"requests[socks]>=2.31",
}

func windows311() pep508.Environment {
	e := pyEnv("3.11.9")
	e["sys_platform"], e["platform_system"], e["os_name"], e["platform_machine"] = "win32", "Windows", "nt", "AMD64"
	return e
}

// checkGolden compares l as JSON with a golden file next to the lock, written by -update.
func checkGolden(t *testing.T, l *Lock, golden string) {
	t.Helper()
	abs, err := filepath.Abs("testdata")
	if err != nil {
		t.Fatal(err)
	}
	got, err := json.MarshalIndent(l, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(bytes.ReplaceAll(got, []byte(abs), []byte("<testdata>")), '\n')
	testutil.Golden(t, golden, got)
}

func names(l *Lock) []string {
	var out []string
	for _, r := range l.Requirements {
		out = append(out, r.Name+"=="+r.Version)
	}
	return out
}

func TestUVLock(t *testing.T) {
	file := "testdata/uvlock/uv.lock"
	tests := []struct {
		name   string
		env    pep508.Environment
		extras []string
		want   []string
		golden string
	}{
		{
			name: "linux-3.11",
			env:  pyEnv("3.11.2"),
			// Not colorama (Windows), pywin32 (Windows), pytest and pluggy (development group), numpy 2 (3.12 fork).
			want: []string{"blinker==1.9.0", "click==8.1.7", "flask==3.0.3", "internal-auth==2.1.0", "itsdangerous==2.2.0",
				"jinja2==3.1.4", "markupsafe==2.1.5", "numpy==1.26.4", "vendored-tool==0.3.0", "werkzeug==3.0.6"},
			golden: "testdata/uvlock/linux-3.11.golden.json",
		},
		{
			name: "linux-3.12-speedups",
			env:  pyEnv("3.12.7"),
			// The extra adds nothing new here (markupsafe is reached through jinja2) but must be accepted.
			extras: []string{"Speedups"},
			want: []string{"blinker==1.9.0", "click==8.1.7", "flask==3.0.3", "internal-auth==2.1.0", "itsdangerous==2.2.0",
				"jinja2==3.1.4", "markupsafe==2.1.5", "numpy==2.1.3", "vendored-tool==0.3.0", "werkzeug==3.0.6"},
		},
		{
			name: "windows-3.11",
			env:  windows311(),
			want: []string{"blinker==1.9.0", "click==8.1.7", "colorama==0.4.6", "flask==3.0.3", "internal-auth==2.1.0", "itsdangerous==2.2.0",
				"jinja2==3.1.4", "markupsafe==2.1.5", "numpy==1.26.4", "pywin32==308", "vendored-tool==0.3.0", "werkzeug==3.0.6"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := ParseUVLock(file, tt.env, "webapp", tt.extras)
			if err != nil {
				t.Fatalf("ParseUVLock: %v", err)
			}
			if got := names(l); !slices.Equal(got, tt.want) {
				t.Errorf("ParseUVLock selected\n%v\nwant\n%v", got, tt.want)
			}
			if !l.HashMode {
				t.Error("a uv.lock must put the build in hash-checking mode")
			}
			if !slices.Equal(l.ExtraIndexURLs, []string{"https://pypi.acme.example/simple"}) {
				t.Errorf("ExtraIndexURLs = %v, want the second registry only", l.ExtraIndexURLs)
			}
			if tt.golden != "" {
				checkGolden(t, l, tt.golden)
			}
		})
	}
	l, err := ParseUVLock(file, pyEnv("3.11.2"), "webapp", nil)
	if err != nil {
		t.Fatal(err)
	}
	// A registry package is pinned by every hash the lock records for it (sdist and wheels), so any of its files
	// found in --find-links or an index passes, and no other.
	if r, _ := l.Lookup("markupsafe"); len(r.Hashes) != 3 || len(r.Files) != 0 {
		t.Errorf("markupsafe: Hashes %v Files %v, want the 3 recorded hashes and no files", r.Hashes, r.Files)
	}
	// A path source keeps its file, resolved against the lock's directory.
	r, _ := l.Lookup("vendored-tool")
	abs, _ := filepath.Abs("testdata/uvlock/wheels/vendored_tool-0.3.0-py3-none-any.whl")
	if len(r.Files) != 1 || r.Files[0].Path != abs || r.Files[0].Hashes["sha256"] == "" {
		t.Errorf("vendored-tool files = %+v, want the wheel at %s with its sha256", r.Files, abs)
	}
}

func TestPoetryLock(t *testing.T) {
	file := "testdata/poetrylock/poetry.lock"
	l, err := ParsePoetryLock(file, pyEnv("3.11.2"), webappRoots)
	if err != nil {
		t.Fatalf("ParsePoetryLock: %v", err)
	}
	want := []string{"blinker==1.9.0", "click==8.1.7", "flask==3.0.3", "internal-auth==2.1.0", "itsdangerous==2.2.0",
		"jinja2==3.1.4", "markupsafe==2.1.5", "numpy==1.26.4", "pysocks==1.7.1", "requests==2.32.3", "werkzeug==3.0.6"}
	if got := names(l); !slices.Equal(got, want) {
		t.Errorf("ParsePoetryLock selected\n%v\nwant\n%v", got, want)
	}
	if r, _ := l.Lookup("requests"); !slices.Equal(r.Extras, []string{"socks"}) {
		t.Errorf("requests extras = %v, want [socks]", r.Extras)
	}
	if !slices.Equal(l.ExtraIndexURLs, []string{"https://pypi.acme.example/simple"}) {
		t.Errorf("ExtraIndexURLs = %v", l.ExtraIndexURLs)
	}
	checkGolden(t, l, "testdata/poetrylock/linux-3.11.golden.json")

	// Without the socks extra, the optional PySocks is not installed.
	roots := slices.Clone(webappRoots)
	roots[len(roots)-1] = "requests>=2.31"
	l, err = ParsePoetryLock(file, pyEnv("3.12.7"), roots)
	if err != nil {
		t.Fatal(err)
	}
	want = []string{"blinker==1.9.0", "click==8.1.7", "flask==3.0.3", "internal-auth==2.1.0", "itsdangerous==2.2.0",
		"jinja2==3.1.4", "markupsafe==2.1.5", "numpy==2.1.3", "requests==2.32.3", "werkzeug==3.0.6"}
	if got := names(l); !slices.Equal(got, want) {
		t.Errorf("3.12 without extras selected\n%v\nwant\n%v", got, want)
	}

	l, err = ParsePoetryLock(file, windows311(), webappRoots)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"colorama", "pywin32"} {
		if _, ok := l.Lookup(n); !ok {
			t.Errorf("Windows: %s is missing from %v", n, names(l))
		}
	}
	if _, ok := l.Lookup("pytest"); ok {
		t.Error("the development group's pytest was selected")
	}
}

func TestToolLockErrors(t *testing.T) {
	write := func(t *testing.T, name, text string) string {
		p := filepath.Join(t.TempDir(), name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	h := "sha256:" + sha
	uvHead := "version = 1\nrequires-python = \">=3.8\"\n\n[[package]]\nname = \"app\"\nversion = \"1.0\"\nsource = { editable = \".\" }\n"
	tests := []struct {
		name, file, text string
		want             []string
	}{
		{"uv no version", "uv.lock", "[[package]]\nname = \"a\"\n", []string{"version is missing"}},
		{"uv future version", "uv.lock", "version = 2\n", []string{"unknown uv.lock version 2"}},
		{"uv requires-python", "uv.lock", "version = 1\nrequires-python = \">=3.12\"\n", []string{`requires-python ">=3.12" excludes the target Python 3.11.2`}},
		{"uv project missing", "uv.lock", "version = 1\n", []string{"the project app is not in the lock"}},
		{"uv missing entry and git", "uv.lock", uvHead + "dependencies = [{ name = \"flask\" }, { name = \"tool\" }]\n\n" +
			"[[package]]\nname = \"tool\"\nversion = \"0.1\"\nsource = { git = \"https://user:pw@git.example/tool?rev=main#0123abcd\" }\n",
			[]string{"the lock has no entry for flask (needed by flask)", `tool is locked from git (https://***@git.example/tool) without a full commit ("0123abcd")`}},
		{"uv two entries apply", "uv.lock", uvHead + "dependencies = [{ name = \"x\" }]\n\n" +
			"[[package]]\nname = \"x\"\nversion = \"1\"\nsource = { registry = \"https://pypi.org/simple\" }\nwheels = [{ url = \"https://h/x-1-py3-none-any.whl\", hash = \"" + h + "\" }]\n\n" +
			"[[package]]\nname = \"x\"\nversion = \"2\"\nsource = { registry = \"https://pypi.org/simple\" }\nwheels = [{ url = \"https://h/x-2-py3-none-any.whl\", hash = \"" + h + "\" }]\n",
			[]string{"the lock has 2 entries for x that apply to the target (1, 2)"}},
		{"uv weak hash", "uv.lock", uvHead + "dependencies = [{ name = \"x\" }]\n\n" +
			"[[package]]\nname = \"x\"\nversion = \"1\"\nsource = { registry = \"https://pypi.org/simple\" }\nwheels = [{ url = \"https://h/x-1-py3-none-any.whl\", hash = \"md5:00\" }]\n",
			[]string{"md5 is too weak"}},
		{"uv no hash", "uv.lock", uvHead + "dependencies = [{ name = \"x\" }]\n\n" +
			"[[package]]\nname = \"x\"\nversion = \"1\"\nsource = { registry = \"https://pypi.org/simple\" }\nwheels = [{ url = \"https://h/x-1-py3-none-any.whl\" }]\n",
			[]string{"a file of x has no hash"}},
		{"uv unknown extra", "uv.lock", uvHead + "dependencies = [{ name = \"x\", extra = [\"fast\"] }]\n\n" +
			"[[package]]\nname = \"x\"\nversion = \"1\"\nsource = { registry = \"https://pypi.org/simple\" }\nwheels = [{ url = \"https://h/x-1-py3-none-any.whl\", hash = \"" + h + "\" }]\n",
			[]string{`x 1 has no extra "fast" (needed by x)`}},
		{"uv bad toml", "uv.lock", "version = = 1\n", []string{"uv.lock:1:", "invalid TOML"}},
		{"poetry no metadata", "poetry.lock", "[[package]]\nname = \"a\"\nversion = \"1\"\n", []string{"lock-version is missing"}},
		{"poetry future", "poetry.lock", "[metadata]\nlock-version = \"3.0\"\n", []string{`unknown lock-version "3.0"`}},
		{"poetry python", "poetry.lock", "[metadata]\nlock-version = \"2.1\"\npython-versions = \"^3.12\"\n", []string{`requires-python ">=3.12,<4" excludes`}},
		{"poetry missing dep", "poetry.lock", "[[package]]\nname = \"flask\"\nversion = \"3.0.3\"\nfiles = [{file = \"flask-3.0.3-py3-none-any.whl\", hash = \"" + h + "\"}]\n\n[package.dependencies]\nWerkzeug = \">=3.0.0\"\n\n[metadata]\nlock-version = \"2.1\"\n",
			[]string{"the lock has no entry for werkzeug (needed by flask → werkzeug)"}},
		{"poetry no files", "poetry.lock", "[[package]]\nname = \"flask\"\nversion = \"3.0.3\"\nfiles = []\n\n[metadata]\nlock-version = \"2.0\"\n",
			[]string{"flask 3.0.3 records no files with hashes"}},
		{"poetry git", "poetry.lock", "[[package]]\nname = \"flask\"\nversion = \"3.0.3\"\nfiles = []\n\n[package.source]\ntype = \"git\"\nurl = \"https://github.com/pallets/flask\"\nreference = \"main\"\nresolved_reference = \"abc123\"\n\n[metadata]\nlock-version = \"2.0\"\n",
			[]string{`flask is locked from git (https://github.com/pallets/flask) without a full commit ("abc123")`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := write(t, tt.file, tt.text)
			var err error
			if tt.file == "uv.lock" {
				_, err = ParseUVLock(p, pyEnv("3.11.2"), "app", nil)
			} else {
				_, err = ParsePoetryLock(p, pyEnv("3.11.2"), []string{"flask"})
			}
			if err == nil {
				t.Fatalf("no error, want %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error\n%v\ndoes not contain %q", err, w)
				}
			}
		})
	}
}

func TestPoetryConstraint(t *testing.T) {
	tests := []struct{ in, want string }{
		{"*", ""},
		{">=2.0", ">=2.0"},
		{">=3.7,<4.0", ">=3.7,<4.0"},
		{"^3.10", ">=3.10,<4"},
		{"^0.2.3", ">=0.2.3,<0.3"},
		{"^0.0.3", ">=0.0.3,<0.0.4"},
		{"~1.2.3", ">=1.2.3,<1.3"},
		{"~1", ">=1,<2"},
		{"1.2.3", "==1.2.3"},
		{"~=1.4", "~=1.4"},
	}
	for _, tt := range tests {
		got, ok := poetryConstraint(tt.in)
		if !ok || got != tt.want {
			t.Errorf("poetryConstraint(%q) = %q, %v; want %q", tt.in, got, ok, tt.want)
		}
	}
	if _, ok := poetryConstraint(">=1.5.6,<1.5.7 || >1.5.7"); ok {
		t.Error("a union must not be turned into one specifier set")
	}
}

// TestToolLockGit: a package locked from git at a full commit becomes a VCS pin (repository, commit, subdirectory)
// that the build clones and builds; it needs no file hashes, the commit is the pin.
func TestToolLockGit(t *testing.T) {
	const commit = "0123456789abcdef0123456789abcdef01234567"
	write := func(name, text string) string {
		p := filepath.Join(t.TempDir(), name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	uv := write("uv.lock", "version = 1\n\n[[package]]\nname = \"app\"\nversion = \"1.0\"\nsource = { editable = \".\" }\ndependencies = [{ name = \"tool\" }]\n\n"+
		"[[package]]\nname = \"tool\"\nversion = \"0.1\"\nsource = { git = \"https://git.example/mono?subdirectory=libs%2Ftool&rev=main#"+commit+"\" }\n")
	l, err := ParseUVLock(uv, pyEnv("3.11.2"), "app", nil)
	if err != nil {
		t.Fatal(err)
	}
	r, _ := l.Lookup("tool")
	if r.VCS == nil || r.VCS.URL != "https://git.example/mono" || r.VCS.Commit != commit || r.VCS.Subdirectory != "libs/tool" || r.Version != "0.1" {
		t.Errorf("uv.lock git source = %+v (version %s), want https://git.example/mono at %s in libs/tool", r.VCS, r.Version, commit)
	}
	poetry := write("poetry.lock", "[[package]]\nname = \"tool\"\nversion = \"0.1\"\nfiles = []\n\n[package.source]\ntype = \"git\"\n"+
		"url = \"https://user:pw@git.example/tool.git\"\nreference = \"main\"\nresolved_reference = \""+strings.ToUpper(commit)+"\"\n\n[metadata]\nlock-version = \"2.1\"\n")
	l, err = ParsePoetryLock(poetry, pyEnv("3.11.2"), []string{"tool"})
	if err != nil {
		t.Fatal(err)
	}
	r, _ = l.Lookup("tool")
	if r.VCS == nil || r.VCS.Commit != commit || r.VCS.String() != "https://***@git.example/tool.git@"+commit {
		t.Errorf("poetry.lock git source = %+v, want the commit in lower case and the password hidden", r.VCS)
	}
}
