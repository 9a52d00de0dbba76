package lock

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/venvpkg/venvpkg/internal/pep508"
)

func pyEnv(version string) pep508.Environment {
	xy := version[:strings.LastIndex(version, ".")]
	return pep508.Environment{
		"python_version": xy, "python_full_version": version, "os_name": "posix", "sys_platform": "linux",
		"platform_machine": "x86_64", "platform_system": "Linux", "implementation_name": "cpython",
		"platform_python_implementation": "CPython", "implementation_version": version,
		"platform_release": "6.1.0", "platform_version": "#1 SMP",
	}
}

func writePylock(t *testing.T, text string) string {
	t.Helper()
	dir := t.TempDir()
	p := filepath.Join(dir, "pylock.toml")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

const sha = "1111111111111111111111111111111111111111111111111111111111111111"

// twoPythons locks markupsafe differently for Python 3.11 and 3.12, as a
// locker resolving for both writes it.
const twoPythons = `lock-version = "1.0"
environments = ["sys_platform == 'linux'"]
requires-python = ">=3.11"
created-by = "hand"

[[packages]]
name = "markupsafe"
version = "2.1.2"
marker = "python_version == '3.11'"
[[packages.wheels]]
name = "MarkupSafe-2.1.2-cp311-cp311-manylinux_2_17_x86_64.whl"
url = "https://files.example/MarkupSafe-2.1.2-cp311-cp311-manylinux_2_17_x86_64.whl"
size = 25000
hashes = {sha256 = "` + sha + `"}
[[packages.wheels]]
path = "wheels/markupsafe-2.1.2-py3-none-any.whl"
hashes = {sha512 = "` + sha + sha + `", md5 = "00"}

[[packages]]
name = "MarkupSafe"
version = "2.1.5"
marker = "python_version >= '3.12'"
sdist = {url = "https://files.example/markupsafe-2.1.5.tar.gz", hashes = {sha256 = "` + sha + `"}}

[[packages]]
name = "app"
directory = {path = ".", editable = false}

[[packages]]
name = "win-only"
version = "1.0"
marker = "sys_platform == 'win32'"
vcs = {type = "git", url = "https://git.example/x.git", commit-id = "abc"}
`

func TestParsePylockMarkers(t *testing.T) {
	p := writePylock(t, twoPythons)
	for _, tc := range []struct {
		name, python, version string
		files                 []string
	}{
		{"Python 3.11 takes the wheels", "3.11.2", "2.1.2", []string{"MarkupSafe-2.1.2-cp311-cp311-manylinux_2_17_x86_64.whl", "markupsafe-2.1.2-py3-none-any.whl"}},
		{"Python 3.12 takes the sdist", "3.12.1", "2.1.5", []string{"markupsafe-2.1.5.tar.gz"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, err := ParsePylock(p, pyEnv(tc.python), "app")
			if err != nil {
				t.Fatal(err)
			}
			if !l.HashMode || len(l.Requirements) != 1 {
				t.Fatalf("requirements = %+v, want markupsafe alone in hash mode", l.Requirements)
			}
			r := l.Requirements[0]
			if r.Name != "markupsafe" || r.Version != tc.version {
				t.Errorf("got %s %s, want markupsafe %s", r.Name, r.Version, tc.version)
			}
			var names []string
			for _, f := range r.Files {
				names = append(names, f.Name)
			}
			if strings.Join(names, " ") != strings.Join(tc.files, " ") {
				t.Errorf("files = %v, want %v", names, tc.files)
			}
		})
	}
	l, err := ParsePylock(p, pyEnv("3.11.2"), "app")
	if err != nil {
		t.Fatal(err)
	}
	f := l.Requirements[0].Files
	if f[0].URL == "" || f[0].Size != 25000 || f[0].Sdist {
		t.Errorf("url wheel = %+v", f[0])
	}
	if want := filepath.Join(filepath.Dir(p), "wheels", "markupsafe-2.1.2-py3-none-any.whl"); f[1].Path != want || f[1].Size != -1 {
		t.Errorf("path wheel = %+v, want path %s", f[1], want)
	}
	if _, ok := f[1].Hashes["md5"]; ok {
		t.Errorf("md5 kept: %v", f[1].Hashes)
	}
}

func TestParsePylockErrors(t *testing.T) {
	wheel := func(name string) string {
		return `
[[packages]]
name = "` + name + `"
version = "1.0"
wheels = [{url = "https://files.example/` + name + `-1.0-py3-none-any.whl", hashes = {sha256 = "` + sha + `"}}]
`
	}
	for _, tc := range []struct {
		name, text, want string
	}{
		{"unknown lock-version", `lock-version = "2.0"` + wheel("a"), `unknown lock-version "2.0"`},
		{"missing lock-version", wheel("a"), "lock-version is missing"},
		{"requires-python", `lock-version = "1.0"` + "\nrequires-python = \">=3.12\"\n" + wheel("a"), `requires-python ">=3.12" excludes the target Python 3.11.2`},
		{"environments", `lock-version = "1.0"` + "\nenvironments = [\"sys_platform == 'darwin'\"]\n" + wheel("a"), "matches none of the lock's environments"},
		{"two entries apply", `lock-version = "1.0"` + wheel("a") + wheel("A"), "a second entry for a applies"},
		{"vcs", `lock-version = "1.0"` + "\n[[packages]]\nname = \"gitdep\"\nvcs = {type = \"git\", url = \"https://x/y.git\", commit-id = \"1\"}\n", "package gitdep is a vcs entry, which venvpkg does not support"},
		{"directory", `lock-version = "1.0"` + "\n[[packages]]\nname = \"localdep\"\ndirectory = {path = \"../localdep\"}\n", "package localdep is a directory entry, which venvpkg does not support"},
		{"no hash", `lock-version = "1.0"` + "\n[[packages]]\nname = \"a\"\nversion = \"1.0\"\nwheels = [{url = \"https://x/a-1.0-py3-none-any.whl\", hashes = {md5 = \"00\"}}]\n", "md5 and sha1 are refused"},
		{"no version", `lock-version = "1.0"` + "\n[[packages]]\nname = \"a\"\nsdist = {path = \"a-1.0.tar.gz\", hashes = {sha256 = \"" + sha + "\"}}\n", "package a has no version"},
		{"no files", `lock-version = "1.0"` + "\n[[packages]]\nname = \"a\"\nversion = \"1.0\"\n", "names no wheels, sdist or archive"},
		{"package requires-python", `lock-version = "1.0"` + "\n[[packages]]\nname = \"a\"\nversion = \"1.0\"\nrequires-python = \"<3\"\nsdist = {path = \"a-1.0.tar.gz\", hashes = {sha256 = \"" + sha + "\"}}\n", "requires Python <3"},
		{"not a wheel", `lock-version = "1.0"` + "\n[[packages]]\nname = \"a\"\nversion = \"1.0\"\nwheels = [{path = \"a-1.0.tar.gz\", hashes = {sha256 = \"" + sha + "\"}}]\n", "is not a wheel"},
		{"bad marker", `lock-version = "1.0"` + "\n[[packages]]\nname = \"a\"\nmarker = \"python_version >>> '3'\"\n", "marker"},
		{"invalid TOML", "lock-version = ", "invalid TOML"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParsePylock(writePylock(t, tc.text), pyEnv("3.11.2"), "app")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("ParsePylock error = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestIsPylock(t *testing.T) {
	for _, tc := range []struct {
		name string
		want bool
	}{
		{"pylock.toml", true},
		{"/x/pylock.dev.toml", true},
		{"pylock.a.b.toml", false},
		{"requirements.txt", false},
		{"mypylock.toml", false},
	} {
		if got := IsPylock(tc.name); got != tc.want {
			t.Errorf("IsPylock(%q) = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestParsePylockArchive reads [packages.archive] entries: a wheel archive
// counts as a wheel, anything else as an sdist.
func TestParsePylockArchive(t *testing.T) {
	p := writePylock(t, `lock-version = "1.0"
[[packages]]
name = "a"
version = "1.0"
archive = {url = "https://files.example/a-1.0-py3-none-any.whl", hashes = {sha256 = "`+sha+`"}}
[[packages]]
name = "b"
version = "2.0"
archive = {path = "vendor/b-2.0.tar.gz", size = 10, hashes = {sha384 = "`+sha+`"}}
`)
	l, err := ParsePylock(p, pyEnv("3.11.2"), "app")
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Requirements) != 2 {
		t.Fatalf("requirements = %+v", l.Requirements)
	}
	a, b := l.Requirements[0].Files[0], l.Requirements[1].Files[0]
	if a.Sdist || a.Name != "a-1.0-py3-none-any.whl" || a.URL == "" {
		t.Errorf("wheel archive = %+v", a)
	}
	if !b.Sdist || b.Size != 10 || b.Path != filepath.Join(filepath.Dir(p), "vendor", "b-2.0.tar.gz") {
		t.Errorf("sdist archive = %+v", b)
	}
}
