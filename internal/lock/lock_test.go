package lock

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/venvpkg/venvpkg/internal/pep508"
)

// linux311 is the marker environment of Debian 12's python3.11 on x86_64.
var linux311 = pep508.Environment{
	"python_version":                 "3.11",
	"python_full_version":            "3.11.2",
	"os_name":                        "posix",
	"sys_platform":                   "linux",
	"platform_release":               "6.1.0-18-amd64",
	"platform_system":                "Linux",
	"platform_version":               "#1 SMP PREEMPT_DYNAMIC Debian 6.1.76-1 (2024-02-01)",
	"platform_machine":               "x86_64",
	"platform_python_implementation": "CPython",
	"implementation_name":            "cpython",
	"implementation_version":         "3.11.2",
}

// TestGolden parses requirements files in the shapes pip-compile, uv
// export and pip freeze write, and a tree of includes and constraints.
func TestGolden(t *testing.T) {
	dirs, err := filepath.Glob("testdata/*/requirements.txt")
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no testdata: %v", err)
	}
	for _, path := range dirs {
		dir := filepath.Dir(path)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			l, err := ParseRequirementsFile(path, linux311)
			if err != nil {
				t.Fatalf("ParseRequirementsFile(%q) error: %v", path, err)
			}
			checkGolden(t, l, filepath.Join(dir, "lock.golden.json"))
		})
	}
}

// TestPipCompileDetails checks what the golden file shows for the pip-compile
// shape, so that a bad -update cannot pass unnoticed.
func TestPipCompileDetails(t *testing.T) {
	l, err := ParseRequirementsFile("testdata/pip-compile/requirements.txt", linux311)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range l.Requirements {
		names = append(names, r.Name)
	}
	want := []string{"blinker", "click", "flask", "itsdangerous", "jinja2", "markupsafe", "werkzeug"}
	if !reflect.DeepEqual(names, want) {
		t.Errorf("names = %v, want %v (colorama is Windows-only)", names, want)
	}
	click, ok := l.Lookup("Click")
	if !ok || click.Version != "8.1.7" || len(click.Hashes) != 2 || click.Source != "testdata/pip-compile/requirements.txt:15" {
		t.Errorf("Lookup(\"Click\") = %+v, %v; want 8.1.7 with 2 hashes from line 15", click, ok)
	}
	if !l.HashMode {
		t.Errorf("HashMode = false for a file with --hash")
	}
	if !reflect.DeepEqual(l.IndexURLs, []string{"https://pypi.org/simple"}) || !reflect.DeepEqual(l.ExtraIndexURLs, []string{"https://example.org/simple"}) {
		t.Errorf("IndexURLs = %v, ExtraIndexURLs = %v", l.IndexURLs, l.ExtraIndexURLs)
	}
	win := pep508.Environment{"platform_system": "Windows"}
	lw, err := ParseRequirementsFile("testdata/pip-compile/requirements.txt", win)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := lw.Lookup("colorama"); !ok {
		t.Errorf("colorama missing when platform_system is Windows")
	}
}

func TestIncludesDetails(t *testing.T) {
	l, err := ParseRequirementsFile("testdata/includes/requirements.txt", linux311)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, r := range l.Requirements {
		got[r.Name] = r.Version
	}
	want := map[string]string{"click": "8.1.7", "flask": "3.0.0", "gunicorn": "21.2.0", "packaging": "23.2", "requests": "2.31.0"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("versions = %v, want %v (urllib3 is only a constraint)", got, want)
	}
	flask, _ := l.Lookup("flask")
	if !reflect.DeepEqual(flask.Extras, []string{"async", "dotenv"}) || flask.Display != "flask" || flask.Source != "testdata/includes/base/web.txt:2" {
		t.Errorf("flask = %+v", flask)
	}
	wd, _ := os.Getwd()
	wantLinks := []string{
		filepath.Join(wd, "testdata/includes/more-wheels"), // read first: base/web.txt is included on line 3
		filepath.Join(wd, "testdata/includes/wheels"),
		"/srv/wheels",
	}
	if !reflect.DeepEqual(l.FindLinks, wantLinks) {
		t.Errorf("FindLinks = %v, want %v", l.FindLinks, wantLinks)
	}
	if !l.NoIndex || !l.PreferBinary || !reflect.DeepEqual(l.OnlyBinary, []string{":all:"}) || l.HashMode {
		t.Errorf("NoIndex %v, PreferBinary %v, OnlyBinary %v, HashMode %v", l.NoIndex, l.PreferBinary, l.OnlyBinary, l.HashMode)
	}
}

const (
	hashA = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	hashB = "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
)

// writeFiles creates files (relative name → content) in a temp dir and
// changes into it, so paths in messages are as a user would write them.
func writeFiles(t *testing.T, files map[string]string) {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Chdir(dir)
}

func TestParse(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		want  []Requirement
		check func(t *testing.T, l *Lock)
	}{
		{
			name:  "pin normalised",
			files: map[string]string{"requirements.txt": "Zope.Interface==v6.1.0\n"},
			want:  []Requirement{{Name: "zope-interface", Display: "Zope.Interface", Version: "6.1.0", Source: "requirements.txt:1"}},
		},
		{
			name:  "arbitrary equality",
			files: map[string]string{"requirements.txt": "foo===1.0-custom\n"},
			want:  []Requirement{{Name: "foo", Display: "foo", Version: "1.0-custom", Exact: true, Source: "requirements.txt:1"}},
		},
		{
			name:  "hash with space and upper case",
			files: map[string]string{"requirements.txt": "a==1 --hash sha256:" + strings.ToUpper(hashA[7:]) + " --hash=" + hashB + "\n"},
			want:  []Requirement{{Name: "a", Display: "a", Version: "1", Hashes: []string{hashA, hashB}, Source: "requirements.txt:1"}},
		},
		{
			name:  "sha512",
			files: map[string]string{"requirements.txt": "a==1 --hash=sha512:" + strings.Repeat("0f", 64) + "\n"},
			want:  []Requirement{{Name: "a", Display: "a", Version: "1", Hashes: []string{"sha512:" + strings.Repeat("0f", 64)}, Source: "requirements.txt:1"}},
		},
		{
			name:  "parenthesised pin and comments",
			files: map[string]string{"requirements.txt": "# header\n\n  a (==1.0)   # why\nb==2\t# tab comment\n"},
			want: []Requirement{
				{Name: "a", Display: "a", Version: "1.0", Source: "requirements.txt:3"},
				{Name: "b", Display: "b", Version: "2", Source: "requirements.txt:4"},
			},
		},
		{
			name:  "continuation reports first line",
			files: map[string]string{"requirements.txt": "x==1 --hash=" + hashB + "\nb==2 \\\n  ; python_version >= '3' \\\n  --hash=" + hashA + "\n"},
			want: []Requirement{
				{Name: "b", Display: "b", Version: "2", Hashes: []string{hashA}, Marker: `python_version >= "3"`, Source: "requirements.txt:2"},
				{Name: "x", Display: "x", Version: "1", Hashes: []string{hashB}, Source: "requirements.txt:1"},
			},
			check: func(t *testing.T, l *Lock) {
				if !l.HashMode {
					t.Errorf("HashMode = false")
				}
			},
		},
		{
			name:  "crlf and bom",
			files: map[string]string{"requirements.txt": "\uFEFFa==1 --hash=" + hashB + "\r\nb==2 \\\r\n  --hash=" + hashA + "\r\n"},
			want: []Requirement{
				{Name: "a", Display: "a", Version: "1", Hashes: []string{hashB}, Source: "requirements.txt:1"},
				{Name: "b", Display: "b", Version: "2", Hashes: []string{hashA}, Source: "requirements.txt:2"},
			},
			check: func(t *testing.T, l *Lock) {
				if !l.HashMode {
					t.Errorf("HashMode = false")
				}
			},
		},
		{
			name:  "marker false drops even unpinned",
			files: map[string]string{"requirements.txt": "a==1\npywin32>=300 ; sys_platform == 'win32'\n"},
			want:  []Requirement{{Name: "a", Display: "a", Version: "1", Source: "requirements.txt:1"}},
		},
		{
			name:  "same pin twice merges",
			files: map[string]string{"requirements.txt": "a[x]==1.0\nA[Y]==1.0.0\n"},
			want:  []Requirement{{Name: "a", Display: "a", Version: "1.0", Extras: []string{"x", "y"}, Source: "requirements.txt:1"}},
		},
		{
			name:  "constraint pins and checks",
			files: map[string]string{"requirements.txt": "-c c.txt\na>=1\nb\n", "c.txt": "a==1.5\nb==2 ; python_version >= '3'\nb<3\nunused==9\n"},
			want: []Requirement{
				{Name: "a", Display: "a", Version: "1.5", Source: "requirements.txt:2"},
				{Name: "b", Display: "b", Version: "2", Source: "requirements.txt:3"},
			},
		},
		{
			name:  "constraint with false marker does not pin",
			files: map[string]string{"requirements.txt": "-c c.txt\na==1\n", "c.txt": "a==2 ; sys_platform == 'win32'\n"},
			want:  []Requirement{{Name: "a", Display: "a", Version: "1", Source: "requirements.txt:2"}},
		},
		{
			name:  "constraint hashes fill and narrow",
			files: map[string]string{"requirements.txt": "-c c.txt\na==1\nb==2 --hash=" + hashA + " --hash=" + hashB + "\n", "c.txt": "a==1 --hash=" + hashA + "\nb==2 --hash=" + hashB + "\n"},
			want: []Requirement{
				{Name: "a", Display: "a", Version: "1", Hashes: []string{hashA}, Source: "requirements.txt:2"},
				{Name: "b", Display: "b", Version: "2", Hashes: []string{hashB}, Source: "requirements.txt:3"},
			},
		},
		{
			name:  "include in subdirectory is relative to the including file",
			files: map[string]string{"req/top.txt": "-r sub/inner.txt\n", "req/sub/inner.txt": "-r ../leaf.txt\n", "req/leaf.txt": "leaf==1\n"},
			want:  []Requirement{{Name: "leaf", Display: "leaf", Version: "1", Source: "req/leaf.txt:1"}},
		},
		{
			name:  "diamond includes are not circular",
			files: map[string]string{"requirements.txt": "-r a.txt\n-r b.txt\n", "a.txt": "-r c.txt\n", "b.txt": "-r c.txt\n", "c.txt": "c==1\n"},
			want:  []Requirement{{Name: "c", Display: "c", Version: "1", Source: "c.txt:1"}},
		},
		{
			name:  "ignored options",
			files: map[string]string{"requirements.txt": "--trusted-host example.org --pre\n--use-feature=truststore\n--no-binary=:none:\na==1\n"},
			want:  []Requirement{{Name: "a", Display: "a", Version: "1", Source: "requirements.txt:4"}},
			check: func(t *testing.T, l *Lock) {
				if !reflect.DeepEqual(l.NoBinary, []string{":none:"}) {
					t.Errorf("NoBinary = %v", l.NoBinary)
				}
			},
		},
		{
			name:  "require hashes alone",
			files: map[string]string{"requirements.txt": "--require-hashes\na==1 --hash=" + hashA + "\n"},
			want:  []Requirement{{Name: "a", Display: "a", Version: "1", Hashes: []string{hashA}, Source: "requirements.txt:2"}},
		},
		{
			name:  "empty file",
			files: map[string]string{"requirements.txt": "# nothing\n\n"},
			want:  nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			writeFiles(t, tt.files)
			path := "requirements.txt"
			if _, ok := tt.files[path]; !ok {
				path = "req/top.txt"
			}
			l, err := ParseRequirementsFile(path, linux311)
			if err != nil {
				t.Fatalf("ParseRequirementsFile error: %v", err)
			}
			if !reflect.DeepEqual(l.Requirements, tt.want) {
				t.Errorf("ParseRequirementsFile(%q).Requirements =\n%+v\nwant\n%+v", path, l.Requirements, tt.want)
			}
			if l.Path != path {
				t.Errorf("Path = %q, want %q", l.Path, path)
			}
			if tt.check != nil {
				tt.check(t, l)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		want  []string // substrings of the error, in order
	}{
		{"not pinned", map[string]string{"requirements.txt": "a==1\n\nflask>=2\n"},
			[]string{`requirements.txt:3: "flask>=2" is not pinned; write flask==<version> (pip-compile or uv export write exact pins)`}},
		{"bare name", map[string]string{"requirements.txt": "flask\n"},
			[]string{`requirements.txt:1: "flask" is not pinned`}},
		{"wildcard", map[string]string{"requirements.txt": "flask==1.*\n"},
			[]string{`requirements.txt:1: "flask==1.*" is a wildcard, not a pin`}},
		{"pinned twice", map[string]string{"requirements.txt": "a==1\nb==1\na==2\n"},
			[]string{`requirements.txt:3: a is pinned to different versions: "a==1" (requirements.txt:1) and "a==2" (requirements.txt:3)`}},
		{"constraint pin differs", map[string]string{"requirements.txt": "-c c.txt\na==1\n", "c.txt": "a==2\n"},
			[]string{`c.txt:1: a is pinned to different versions: "a==1" (requirements.txt:2) and "a==2" (c.txt:1)`}},
		{"constraint range excludes", map[string]string{"requirements.txt": "-c c.txt\na==1\n", "c.txt": "a>=2\n"},
			[]string{`requirements.txt:2: a==1 conflicts with "a>=2" (c.txt:1)`}},
		{"own range excludes", map[string]string{"requirements.txt": "a==1,>=2\n"},
			[]string{`requirements.txt:1: a==1 conflicts with "a==1,>=2" (requirements.txt:1)`}},
		{"constraint never adds", map[string]string{"requirements.txt": "-c c.txt\nb>=1\n", "c.txt": "a==1\n"},
			[]string{`requirements.txt:2: "b>=1" is not pinned`}},
		{"md5", map[string]string{"requirements.txt": "a==1 --hash=md5:d41d8cd98f00b204e9800998ecf8427e\n"},
			[]string{`requirements.txt:1: a==1: --hash "md5:d41d8cd98f00b204e9800998ecf8427e": md5 is too weak and is refused; use sha256`}},
		{"sha1", map[string]string{"requirements.txt": "a==1 --hash=sha1:da39a3ee5e6b4b0d3255bfef95601890afd80709\n"},
			[]string{`requirements.txt:1: a==1: --hash "sha1:`, "sha1 is too weak"}},
		{"bad hex", map[string]string{"requirements.txt": "a==1 --hash=sha256:xyz\n"},
			[]string{`requirements.txt:1: a==1: --hash "sha256:xyz": a sha256 digest is 64 hexadecimal digits`}},
		{"short hex", map[string]string{"requirements.txt": "a==1 --hash=sha256:" + strings.Repeat("a", 63) + "\n"},
			[]string{"a sha256 digest is 64 hexadecimal digits"}},
		{"hash without algorithm", map[string]string{"requirements.txt": "a==1 --hash=" + strings.Repeat("a", 64) + "\n"},
			[]string{"requirements.txt:1: a==1: invalid --hash", "write --hash=sha256:<hex digest>"}},
		{"unknown algorithm", map[string]string{"requirements.txt": "a==1 --hash=blake2b:" + strings.Repeat("a", 64) + "\n"},
			[]string{`unknown algorithm "blake2b"`}},
		{"editable", map[string]string{"requirements.txt": "a==1\n-e .\n"},
			[]string{`requirements.txt:2: editable requirement "-e ." is not supported`, "uv export --no-emit-project"}},
		{"editable long", map[string]string{"requirements.txt": "--editable=git+https://example.org/x.git#egg=x\n"},
			[]string{`requirements.txt:1: editable requirement "--editable git+https://example.org/x.git#egg=x" is not supported`}},
		{"direct url", map[string]string{"requirements.txt": "pkg @ https://example.org/pkg-1.0-py3-none-any.whl\n"},
			[]string{`requirements.txt:1: direct reference "pkg @ https://example.org/pkg-1.0-py3-none-any.whl" is not supported: pin the package as pkg==<version>`}},
		{"bare path", map[string]string{"requirements.txt": "./vendor/pkg\n"},
			[]string{`requirements.txt:1: "./vendor/pkg" is a path or URL, which is not supported`}},
		{"bare dot", map[string]string{"requirements.txt": ".\n"},
			[]string{`requirements.txt:1: "." is a path or URL`, "uv export --no-emit-project"}},
		{"wheel file", map[string]string{"requirements.txt": "pkg-1.0-py3-none-any.whl\n"},
			[]string{`requirements.txt:1: "pkg-1.0-py3-none-any.whl" is a path to an archive`}},
		{"vcs url", map[string]string{"requirements.txt": "git+https://example.org/x.git@v1#egg=x\n"},
			[]string{`requirements.txt:1: "git+https://example.org/x.git@v1#egg=x" is a path or URL`}},
		{"circular", map[string]string{"requirements.txt": "-r a.txt\n", "a.txt": "x==1\n-r b.txt\n", "b.txt": "\n-r a.txt\n"},
			[]string{"b.txt:2: circular include: a.txt -> b.txt -> a.txt"}},
		{"self include", map[string]string{"requirements.txt": "-r ./requirements.txt\n"},
			[]string{"requirements.txt:1: circular include: requirements.txt -> requirements.txt"}},
		{"missing include", map[string]string{"requirements.txt": "a==1\n-r nope.txt\n"},
			[]string{"requirements.txt:2: reading included file: open nope.txt: no such file or directory"}},
		{"missing constraint", map[string]string{"requirements.txt": "-c sub/nope.txt\n"},
			[]string{"requirements.txt:1: reading included file: open sub/nope.txt"}},
		{"include url", map[string]string{"requirements.txt": "-r https://example.org/r.txt\n"},
			[]string{"requirements.txt:1: -r https://example.org/r.txt: including requirements from a URL is not supported"}},
		{"include directory", map[string]string{"requirements.txt": "-r sub\n", "sub/x": ""},
			[]string{"requirements.txt:1: reading included file: sub is not a regular file"}},
		{"invalid marker", map[string]string{"requirements.txt": "a==1 ; python_version >> '3'\n"},
			[]string{`requirements.txt:1: invalid requirement "a==1 ; python_version >> '3'": column 24: in marker: unexpected`}},
		{"unknown marker variable", map[string]string{"requirements.txt": "a==1 ; python == '3'\n"},
			[]string{`requirements.txt:1: invalid requirement`, `unknown marker variable "python"`}},
		{"invalid requirement", map[string]string{"requirements.txt": "a=1\n"},
			[]string{`requirements.txt:1: invalid requirement "a=1"`}},
		{"unknown option", map[string]string{"requirements.txt": "a==1\n--frobnicate\n"},
			[]string{`requirements.txt:2: unknown option "--frobnicate"`}},
		{"unknown short option", map[string]string{"requirements.txt": "-Z x\n"},
			[]string{`requirements.txt:1: unknown option "-Z"`}},
		{"option on requirement line", map[string]string{"requirements.txt": "a==1 --index-url https://x\n"},
			[]string{`requirements.txt:1: option --index-url must be on a line of its own, not after the requirement "a==1"`}},
		{"option needs value", map[string]string{"requirements.txt": "--index-url\n"},
			[]string{`requirements.txt:1: option --index-url needs a value`}},
		{"flag with value", map[string]string{"requirements.txt": "--no-index=yes\n"},
			[]string{`requirements.txt:1: option --no-index takes no value`}},
		{"hash alone", map[string]string{"requirements.txt": "--hash=" + hashA + "\n"},
			[]string{"requirements.txt:1: --hash " + hashA + " must follow a requirement"}},
		{"unterminated quote", map[string]string{"requirements.txt": "--index-url 'https://x\n"},
			[]string{"requirements.txt:1: unterminated ' quote"}},
		{"hash mode lists missing", map[string]string{"requirements.txt": "a==1 --hash=" + hashA + "\nb==2\nc==3\n"},
			[]string{"requirements.txt: hash-checking mode is on (requirements.txt:1 has --hash) but 2 requirement(s) have no --hash: b==2 (requirements.txt:2), c==3 (requirements.txt:3)"}},
		{"require hashes", map[string]string{"requirements.txt": "--require-hashes\nb==2\n"},
			[]string{"hash-checking mode is on (requirements.txt:1 has --require-hashes) but 1 requirement(s) have no --hash: b==2 (requirements.txt:2)"}},
		{"hash mode from include", map[string]string{"requirements.txt": "-r sub/h.txt\nb==2\n", "sub/h.txt": "a==1 --hash=" + hashA + "\n"},
			[]string{"hash-checking mode is on (sub/h.txt:1 has --hash)", "b==2 (requirements.txt:2)"}},
		{"constraint hashes disjoint", map[string]string{"requirements.txt": "-c c.txt\na==1 --hash=" + hashA + "\n", "c.txt": "a==1 --hash=" + hashB + "\n"},
			[]string{"requirements.txt:2: a: none of its hashes appears in the constraint at c.txt:1"}},
		{"percent in file name", map[string]string{"requirements.txt": "-r 50%d.txt\n", "50%d.txt": "a>=1\n"},
			[]string{`50%d.txt:1: "a>=1" is not pinned`}},
		{"several problems", map[string]string{"requirements.txt": "a>=1\nb==1.*\n--bogus\n"},
			[]string{`requirements.txt:3: unknown option "--bogus"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			writeFiles(t, tt.files)
			l, err := ParseRequirementsFile("requirements.txt", linux311)
			if err == nil {
				t.Fatalf("ParseRequirementsFile = %+v, want an error containing %q", l, tt.want)
			}
			msg := err.Error()
			rest := msg
			for _, w := range tt.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Fatalf("ParseRequirementsFile error:\n%s\nwant it to contain (in order) %q", msg, tt.want)
				}
				rest = rest[i+len(w):]
			}
		})
	}
}

func TestParseErrorsAllReported(t *testing.T) {
	writeFiles(t, map[string]string{"requirements.txt": "a>=1\n-e .\nc==1 --hash=md5:x\nd==1\nd==2\n"})
	_, err := ParseRequirementsFile("requirements.txt", linux311)
	if err == nil {
		t.Fatal("ParseRequirementsFile succeeded, want errors")
	}
	// Line errors are reported together; pin checks run once the lines parse.
	for _, want := range []string{"requirements.txt:2: editable", "requirements.txt:3: c==1: --hash"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
}

func TestMissingFile(t *testing.T) {
	writeFiles(t, nil)
	_, err := ParseRequirementsFile("nope.txt", linux311)
	if err == nil || !strings.Contains(err.Error(), "reading requirements file: open nope.txt: no such file or directory") {
		t.Errorf("ParseRequirementsFile(\"nope.txt\") error = %v, want a missing-file error", err)
	}
}

func TestMissing(t *testing.T) {
	l := &Lock{Requirements: []Requirement{{Name: "click"}, {Name: "flask"}, {Name: "zope-interface"}}}
	got := l.Missing([]string{"Flask", "Zope.Interface", "Requests", "requests", "typing_extensions", "click"})
	want := []string{"requests", "typing-extensions"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Missing() = %v, want %v", got, want)
	}
	if got := l.Missing(nil); got != nil {
		t.Errorf("Missing(nil) = %v, want nil", got)
	}
	if _, ok := l.Lookup("ZOPE_interface"); !ok {
		t.Errorf("Lookup(\"ZOPE_interface\") not found")
	}
	if _, ok := l.Lookup("zzz"); ok {
		t.Errorf("Lookup(\"zzz\") found")
	}
}

func TestLogicalLines(t *testing.T) {
	tests := []struct {
		name, in string
		want     []logicalLine
	}{
		{"plain", "a\nb\n", []logicalLine{{1, "a"}, {2, "b"}}},
		{"continuation", "a \\\n  b \\\nc\nd", []logicalLine{{1, "a   b c"}, {4, "d"}}},
		{"comment ends continuation", "a \\\n# c\nb", []logicalLine{{1, "a"}, {3, "b"}}},
		{"trailing continuation", "a \\", []logicalLine{{1, "a"}}},
		{"comment after space", "a # c\nb\t# c\n#c\n", []logicalLine{{1, "a"}, {2, "b"}}},
		{"hash inside word", "a#b\nx @ https://h/p.whl#sha256=00", []logicalLine{{1, "a#b"}, {2, "x @ https://h/p.whl#sha256=00"}}},
	}
	for _, tt := range tests {
		if got := logicalLines(tt.in); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: logicalLines(%q) = %v, want %v", tt.name, tt.in, got, tt.want)
		}
	}
}

func FuzzParseRequirements(f *testing.F) {
	for _, path := range []string{"testdata/pip-compile/requirements.txt", "testdata/uv-export/requirements.txt", "testdata/pip-freeze/requirements.txt"} {
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(data))
	}
	f.Add("-c c.txt\na>=1 ; python_version >= '3'\n-r requirements.txt\n")
	f.Add("a==1 --hash sha256:" + strings.Repeat("A", 64) + " \\\n --hash=sha512:00\n-e .\n")
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, content string) {
		path := filepath.Join(dir, "requirements.txt")
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		l, err := ParseRequirementsFile(path, linux311)
		if err != nil {
			if !strings.Contains(err.Error(), path) {
				t.Fatalf("error %q does not name the file %s", err, path)
			}
			return
		}
		for i, r := range l.Requirements {
			if i > 0 && l.Requirements[i-1].Name >= r.Name {
				t.Fatalf("requirements not sorted or duplicated: %q then %q", l.Requirements[i-1].Name, r.Name)
			}
			if r.Name == "" || r.Version == "" || !strings.HasPrefix(r.Source, path+":") {
				t.Fatalf("incomplete requirement %+v", r)
			}
			if l.HashMode && len(r.Hashes) == 0 {
				t.Fatalf("hash mode but %s has no hash", r.Name)
			}
		}
	})
}

// TestProjectLineSkipped: uv export writes "-e ." for the project itself;
// with the project's directory known, that line (in any spelling that
// names the directory) is skipped, while other paths are still refused.
func TestProjectLineSkipped(t *testing.T) {
	tests := []struct {
		name    string
		files   map[string]string
		want    string // error substring; "" means the lock parses to a==1
		notWant string // must not be in the error
	}{
		{name: "editable dot", files: map[string]string{"proj/requirements.txt": "-e .\na==1\n"}},
		{name: "editable long form", files: map[string]string{"proj/requirements.txt": "--editable=./\na==1\n"}},
		{name: "editable with extras", files: map[string]string{"proj/requirements.txt": "-e .[dev]\na==1\n"}},
		{name: "editable egg fragment", files: map[string]string{"proj/requirements.txt": "-e .#egg=app\na==1\n"}},
		{name: "non-editable dot", files: map[string]string{"proj/requirements.txt": ".\na==1\n"}},
		{name: "file URL", files: map[string]string{"proj/requirements.txt": "-e file://$PROJ\na==1\n"}},
		{name: "from an included file", files: map[string]string{"proj/requirements.txt": "-r locks/base.txt\n", "proj/locks/base.txt": "-e ..\na==1\n"}},
		{name: "other directory", files: map[string]string{"proj/requirements.txt": "-e ./sub\na==1\n"},
			want: `requirements.txt:1: editable requirement "-e ./sub" is not supported`},
		{name: "parent directory", files: map[string]string{"proj/requirements.txt": "-e ..\na==1\n"},
			want: `requirements.txt:1: editable requirement "-e .." is not supported`},
		{name: "non-editable other path", files: map[string]string{"proj/requirements.txt": "./vendor/x\na==1\n"},
			want:    `requirements.txt:1: "./vendor/x" is a path or URL, which is not supported: pin the package as name==<version> and put its wheel in a --find-links directory`,
			notWant: "if it is the project itself"},
		{name: "VCS editable", files: map[string]string{"proj/requirements.txt": "-e git+https://example.org/app.git#egg=app\na==1\n"},
			want: `editable requirement "-e git+https://example.org/app.git#egg=app" is not supported`},
		{name: "remote file URL", files: map[string]string{"proj/requirements.txt": "-e file://host/proj\na==1\n"},
			want: "is not supported"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			writeFiles(t, nil)
			dir, err := os.Getwd()
			if err != nil {
				t.Fatal(err)
			}
			proj := filepath.Join(dir, "proj")
			for name, content := range tt.files {
				p := filepath.Join(dir, name)
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, []byte(strings.ReplaceAll(content, "$PROJ", proj)), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			l, err := ParseRequirementsFileWith("proj/requirements.txt", linux311, Options{ProjectDir: proj})
			if tt.want != "" {
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("ParseRequirementsFileWith = %v, want an error containing %q", err, tt.want)
				}
				if tt.notWant != "" && strings.Contains(err.Error(), tt.notWant) {
					t.Errorf("ParseRequirementsFileWith = %v, want no %q: the project is known", err, tt.notWant)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(l.Requirements) != 1 || l.Requirements[0].Name != "a" {
				t.Errorf("requirements = %+v, want only a==1", l.Requirements)
			}
			// Without the project directory the same line is refused.
			if _, err := ParseRequirementsFile("proj/requirements.txt", linux311); err == nil {
				t.Error("ParseRequirementsFile without Options accepted the project line")
			}
		})
	}
}
