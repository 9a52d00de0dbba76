package pep508

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// linux311 is the environment of Debian 12's python3.11 on x86_64.
var linux311 = Environment{
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

func with(env Environment, kv ...string) Environment {
	out := Environment{}
	for k, v := range env {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

func TestParseRequirement(t *testing.T) {
	tests := []struct {
		name       string
		in         string
		wantName   string
		wantExtras []string
		wantSpec   string
		wantURL    string
		wantMarker string
		wantString string
	}{
		{"bare name", "flask", "flask", nil, "", "", "", "flask"},
		{"surrounding space", "  flask  ", "flask", nil, "", "", "", "flask"},
		{"pin", "Flask==2.3.3", "Flask", nil, "==2.3.3", "", "", "Flask==2.3.3"},
		{"spaced pin", "flask == 2.3.3", "flask", nil, "==2.3.3", "", "", "flask==2.3.3"},
		{"range", "requests>=2.8.1,<3", "requests", nil, ">=2.8.1,<3", "", "", "requests>=2.8.1,<3"},
		{"parens", "requests (>=2.8.1, ==2.8.*)", "requests", nil, ">=2.8.1,==2.8.*", "", "", "requests>=2.8.1,==2.8.*"},
		{"extras", "requests[security,tests] >= 2.8.1", "requests", []string{"security", "tests"}, ">=2.8.1", "", "", "requests[security,tests]>=2.8.1"},
		{"spaced extras", "name[ a , b ]", "name", []string{"a", "b"}, "", "", "", "name[a,b]"},
		{"empty extras", "name[]", "name", []string{}, "", "", "", "name"},
		{"marker", `name; python_version<"2.7"`, "name", nil, "", "", `python_version < "2.7"`, `name; python_version < "2.7"`},
		{"spec and marker", `name>=3 ; python_version < "2.7" and platform_version=='2'`, "name", nil, ">=3", "", `python_version < "2.7" and platform_version == "2"`, `name>=3; python_version < "2.7" and platform_version == "2"`},
		{"url", "pip @ https://github.com/pypa/pip/archive/1.3.1.zip#sha1=da9234ee9982d4bbb3c72346a6de940a148ea686", "pip", nil, "", "https://github.com/pypa/pip/archive/1.3.1.zip#sha1=da9234ee9982d4bbb3c72346a6de940a148ea686", "", "pip @ https://github.com/pypa/pip/archive/1.3.1.zip#sha1=da9234ee9982d4bbb3c72346a6de940a148ea686"},
		{"url marker", `name[quux] @ file:///w/x.whl ; os_name=="a"`, "name", []string{"quux"}, "", "file:///w/x.whl", `os_name == "a"`, `name[quux] @ file:///w/x.whl ; os_name == "a"`},
		{"identity", "name===foo-1", "name", nil, "===foo-1", "", "", "name===foo-1"},
		{"dotted name", "zope.interface~=5.0", "zope.interface", nil, "~=5.0", "", "", "zope.interface~=5.0"},
	}
	for _, tt := range tests {
		r, err := ParseRequirement(tt.in)
		if err != nil {
			t.Errorf("%s: ParseRequirement(%q) error: %v", tt.name, tt.in, err)
			continue
		}
		if r.Name != tt.wantName || !reflect.DeepEqual(r.Extras, tt.wantExtras) || r.Specifier.String() != tt.wantSpec || r.URL != tt.wantURL || r.Marker.String() != tt.wantMarker {
			t.Errorf("%s: ParseRequirement(%q) = name %q extras %#v spec %q url %q marker %q, want %q %#v %q %q %q",
				tt.name, tt.in, r.Name, r.Extras, r.Specifier, r.URL, r.Marker, tt.wantName, tt.wantExtras, tt.wantSpec, tt.wantURL, tt.wantMarker)
		}
		if got := r.String(); got != tt.wantString {
			t.Errorf("%s: ParseRequirement(%q).String() = %q, want %q", tt.name, tt.in, got, tt.wantString)
		}
	}
}

func TestParseRequirementErrors(t *testing.T) {
	tests := []struct {
		name, in   string
		wantColumn int
		wantMsg    string
	}{
		{"empty", "", 1, "empty requirement"},
		{"no name", ">=1.0", 1, "expected a project name"},
		{"bad name end", "name-", 1, "invalid project name"},
		{"version without operator", "flask 2.0", 7, "expected extras"},
		{"bad specifier", "flask>=2.0.*", 6, "allowed only with == and !="},
		{"second bad clause", "flask>=2, <=x", 11, "invalid version"},
		{"empty clause", "flask>=2,,<3", 10, "empty version specifier"},
		{"unclosed extras", "flask[a,b", 6, "unclosed"},
		{"bad extra", "flask[a b]", 9, "expected \",\" or \"]\""},
		{"unclosed parens", "flask (>=2", 7, "unclosed parenthesis"},
		{"empty url", "flask @ ", 9, "expected a URL"},
		{"not a url", "flask @ ./flask", 9, "is not a URL"},
		{"junk after spec", "flask (==2) junk", 13, "expected \";\""},
		{"space in version", "flask==2 junk", 6, `invalid version "2 junk"`},
		{"bad marker", "flask; python_version >> '3'", 24, "unexpected \"> '3'\""},
		{"unknown variable", "flask; python >= '3'", 8, "unknown marker variable \"python\""},
		{"junk after marker", "flask; os_name == 'a' os_name", 23, "expected \"and\", \"or\""},
		{"missing marker", "flask;", 7, "unexpected end"},
		// PEP 508's whitespace is wsp = ' ' | '\t'; a line break is none.
		{"name then newline", "name\n", 5, "unexpected \"\\n\""},
		{"name then CRLF", "name\r\n", 5, "unexpected \"\\r\\n\""},
		{"specifier then CRLF", "name[bar]>=3\r\n", 13, "unexpected '\\r'"},
		{"newline inside specifiers", "name>=1,\n<2", 9, "unexpected '\\n'"},
		{"parenthesised specifier newline", "name (>=1\n)", 10, "unexpected '\\n'"},
		{"newline before marker", "name\n; os_name == 'a'", 5, "unexpected"},
		{"marker then newline", "name; os_name == 'a'\n", 21, "expected \"and\", \"or\""},
		{"newline inside marker", "name; os_name\n== 'a'", 14, "expected a comparison operator"},
		{"url then newline", "name @ https://example.com/name.whl\n", 36, "control character"},
	}
	for _, tt := range tests {
		r, err := ParseRequirement(tt.in)
		if err == nil {
			t.Errorf("%s: ParseRequirement(%q) = %v, want an error", tt.name, tt.in, r)
			continue
		}
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("%s: ParseRequirement(%q) error %v is not a *SyntaxError", tt.name, tt.in, err)
			continue
		}
		if se.Column != tt.wantColumn || !strings.Contains(se.Msg, tt.wantMsg) || se.What != "requirement" {
			t.Errorf("%s: ParseRequirement(%q) error %q (column %d), want column %d and %q", tt.name, tt.in, err, se.Column, tt.wantColumn, tt.wantMsg)
		}
	}
}

func TestParseMarkerString(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"simple", `python_version>='3.8'`, `python_version >= "3.8"`},
		{"string left", `'3.8' <= python_version`, `"3.8" <= python_version`},
		{"in", `"linux" in sys_platform`, `"linux" in sys_platform`},
		{"not in", `'win'  not   in sys_platform`, `"win" not in sys_platform`},
		{"double quote kept single", `os_name == 'a"b'`, `os_name == 'a"b'`},
		{"alias", `os.name == "posix" and python_implementation == "CPython"`, `os_name == "posix" and platform_python_implementation == "CPython"`},
		{"and or precedence", `os_name == "a" or os_name == "b" and os_name == "c"`, `os_name == "a" or os_name == "b" and os_name == "c"`},
		{"parens needed", `(os_name == "a" or os_name == "b") and os_name == "c"`, `(os_name == "a" or os_name == "b") and os_name == "c"`},
		{"redundant parens", `((os_name == "a"))`, `os_name == "a"`},
		{"right group kept", `os_name == "a" and (os_name == "b" and os_name == "c")`, `os_name == "a" and (os_name == "b" and os_name == "c")`},
		{"no spaces", `python_version>"3"and(os_name=="a"or os_name=="b")`, `python_version > "3" and (os_name == "a" or os_name == "b")`},
		{"extras set", `"test" in extras`, `"test" in extras`},
	}
	for _, tt := range tests {
		m, err := ParseMarker(tt.in)
		if err != nil {
			t.Errorf("%s: ParseMarker(%q) error: %v", tt.name, tt.in, err)
			continue
		}
		if got := m.String(); got != tt.want {
			t.Errorf("%s: ParseMarker(%q).String() = %q, want %q", tt.name, tt.in, got, tt.want)
		}
	}
}

func TestParseMarkerErrors(t *testing.T) {
	tests := []struct {
		name, in   string
		wantColumn int
		wantMsg    string
	}{
		{"empty", "", 1, "unexpected end"},
		{"unterminated", `os_name == "posix`, 12, "unterminated string"},
		{"unclosed paren", `(os_name == "a"`, 1, "unclosed parenthesis"},
		{"missing op", `os_name "a"`, 9, "expected a comparison operator"},
		{"single equals", `os_name = "a"`, 9, "expected a comparison operator"},
		{"not without in", `"a" not sys_platform`, 9, "expected \"in\" after \"not\""},
		{"dangling and", `os_name == "a" and`, 19, "unexpected end"},
		{"bare word", `os_name == posix`, 12, "unknown marker variable \"posix\""},
		{"extra close", `os_name == "a")`, 15, "expected \"and\", \"or\""},
		{"bad operand", `os_name == ==`, 12, "expected a marker variable"},
		{"trailing newline", "os_name == 'a'\n", 15, "expected \"and\", \"or\""},
		// python_str_c in PEP 508's grammar has no backslash.
		{"backslash before quote", `os_name == "C:\"`, 15, "backslash"},
		{"backslash escape", `os_name == "\x"`, 13, "backslash"},
		{"trailing CRLF", "os_name == 'a'\r\n", 15, "expected \"and\", \"or\""},
		{"newline before operator", "os_name\n== 'a'", 8, "expected a comparison operator"},
		{"newline after and", "os_name == 'a' and\nos_name == 'b'", 19, "expected a marker variable"},
	}
	for _, tt := range tests {
		m, err := ParseMarker(tt.in)
		if err == nil {
			t.Errorf("%s: ParseMarker(%q) = %v, want an error", tt.name, tt.in, m)
			continue
		}
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("%s: ParseMarker(%q) error %v is not a *SyntaxError", tt.name, tt.in, err)
			continue
		}
		if se.Column != tt.wantColumn || !strings.Contains(se.Msg, tt.wantMsg) || se.What != "marker" {
			t.Errorf("%s: ParseMarker(%q) error %q (column %d), want column %d and %q", tt.name, tt.in, err, se.Column, tt.wantColumn, tt.wantMsg)
		}
	}
}

func TestEvaluate(t *testing.T) {
	tests := []struct {
		name   string
		marker string
		env    Environment
		want   bool
	}{
		{"version ge", `python_version >= "3.8"`, linux311, true},
		{"version numeric not string", `python_version > "3.9"`, linux311, true},
		{"version lt", `python_version < "3.10"`, linux311, false},
		{"version reversed", `"3.10" <= python_version`, linux311, true},
		{"full version", `python_full_version >= "3.11.1"`, linux311, true},
		{"version wildcard", `python_version == "3.*"`, linux311, true},
		{"version compatible", `python_full_version ~= "3.11.0"`, linux311, true},
		{"version not equal", `python_version != "3.11"`, linux311, false},
		{"prerelease interpreter", `python_full_version >= "3.13"`, with(linux311, "python_full_version", "3.13.0rc1"), false},
		{"prerelease interpreter accepted", `python_full_version >= "3.13.0a1"`, with(linux311, "python_full_version", "3.13.0rc1"), true},
		{"string equal", `sys_platform == "linux"`, linux311, true},
		{"string not equal", `sys_platform != "win32"`, linux311, true},
		{"string case sensitive", `platform_system == "linux"`, linux311, false},
		{"string ordering", `platform_machine > "aarch64"`, linux311, true},
		{"string compatible is false", `platform_machine ~= "x86"`, linux311, false},
		{"identity", `platform_machine === "x86_64"`, linux311, true},
		{"in substring", `"linux" in sys_platform`, linux311, true},
		{"in reversed", `sys_platform in "linux darwin"`, linux311, true},
		{"not in", `"win" not in sys_platform`, linux311, true},
		{"not in false", `"lin" not in sys_platform`, linux311, false},
		{"release version string", `platform_release >= "5"`, linux311, true},
		{"and", `os_name == "posix" and python_version >= "3.8"`, linux311, true},
		{"and false", `os_name == "nt" and python_version >= "3.8"`, linux311, false},
		{"or", `os_name == "nt" or python_version >= "3.8"`, linux311, true},
		{"precedence", `os_name == "posix" or os_name == "nt" and python_version < "3"`, linux311, true},
		{"parens", `(os_name == "posix" or os_name == "nt") and python_version < "3"`, linux311, false},
		{"extra absent", `extra == "test"`, linux311, false},
		{"extra present", `extra == "test"`, with(linux311, "extra", "test"), true},
		{"extra normalised", `extra == "Dev_Tools"`, with(linux311, "extra", "dev.tools"), true},
		{"extras set member", `"Test" in extras`, with(linux311, "extras", "docs,test"), true},
		{"extras set not substring", `"tes" in extras`, with(linux311, "extras", "docs,test"), false},
		{"groups not in", `"dev" not in dependency_groups`, with(linux311, "dependency_groups", "lint"), true},
		{"missing variable", `platform_release == ""`, Environment{}, true},
	}
	for _, tt := range tests {
		m, err := ParseMarker(tt.marker)
		if err != nil {
			t.Errorf("%s: ParseMarker(%q) error: %v", tt.name, tt.marker, err)
			continue
		}
		if got := m.Evaluate(tt.env); got != tt.want {
			t.Errorf("%s: ParseMarker(%q).Evaluate() = %v, want %v", tt.name, tt.marker, got, tt.want)
		}
	}
	var nilMarker *Marker
	if !nilMarker.Evaluate(linux311) {
		t.Errorf("(*Marker)(nil).Evaluate() = false, want true")
	}
}

func TestVariablesKnown(t *testing.T) {
	for _, v := range Variables() {
		m, err := ParseMarker(v + ` == "x"`)
		if err != nil {
			t.Errorf("ParseMarker(%q) error: %v", v+` == "x"`, err)
			continue
		}
		if !m.Evaluate(Environment{v: "x"}) {
			t.Errorf("%s == \"x\" with %s=x evaluated false", v, v)
		}
		if _, ok := linux311[v]; !ok {
			t.Errorf("test environment lacks %s", v)
		}
	}
}

var fuzzEnvs = []Environment{
	linux311,
	with(linux311, "extra", "test", "python_version", "3.8", "sys_platform", "win32", "os_name", "nt"),
	{},
}

func FuzzParseMarker(f *testing.F) {
	for _, s := range []string{
		`python_version >= "3.8"`,
		`os_name == "a" or os_name == "b" and (extra == "c" or "x" not in sys_platform)`,
		`os_name == 'a"b'`,
		`(("a" in extras))`,
		`python_full_version ~= "3.11.0" and platform_machine === "x86_64"`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseMarker(s)
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) || se.Column < 1 || se.Column > len(s)+1 {
				t.Fatalf("ParseMarker(%q) error %v: want a *SyntaxError with a column in 1..%d", s, err, len(s)+1)
			}
			return
		}
		norm := m.String()
		m2, err := ParseMarker(norm)
		if err != nil {
			t.Fatalf("ParseMarker(%q).String() = %q, which fails: %v", s, norm, err)
		}
		if got := m2.String(); got != norm {
			t.Fatalf("ParseMarker(%q).String() = %q, want %q", norm, got, norm)
		}
		for _, env := range fuzzEnvs {
			if m.Evaluate(env) != m2.Evaluate(env) {
				t.Fatalf("%q and its normal form %q evaluate differently in %v", s, norm, env)
			}
		}
	})
}

func FuzzParseRequirement(f *testing.F) {
	for _, s := range []string{
		"flask",
		"requests[security,tests] >= 2.8.1, == 2.8.* ; python_version < \"2.7\"",
		"name (>=1.0)",
		"pip @ https://example.com/pip-1.3.1.zip ; os_name == 'posix'",
		"name===foo",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRequirement(s)
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) || se.Column < 1 || se.Column > len(s)+1 {
				t.Fatalf("ParseRequirement(%q) error %v: want a *SyntaxError with a column in 1..%d", s, err, len(s)+1)
			}
			return
		}
		norm := r.String()
		r2, err := ParseRequirement(norm)
		if err != nil {
			t.Fatalf("ParseRequirement(%q).String() = %q, which fails: %v", s, norm, err)
		}
		if got := r2.String(); got != norm {
			t.Fatalf("ParseRequirement(%q).String() = %q, want %q", norm, got, norm)
		}
		if r2.Name != r.Name || r2.URL != r.URL || r2.Specifier.String() != r.Specifier.String() {
			t.Fatalf("ParseRequirement(%q) = %#v, its normal form %q gives %#v", s, r, norm, r2)
		}
	})
}
