package lock

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// pylockSeed is a small PEP 751 lock with a wheel, an sdist, a marker and
// the project's own directory entry.
const pylockSeed = `lock-version = "1.0"
created-by = "fuzz"
requires-python = ">=3.8"

[[packages]]
name = "Click"
version = "8.1.7"
marker = "python_version >= '3.7'"

[[packages.wheels]]
name = "click-8.1.7-py3-none-any.whl"
url = "https://files.example.org/click-8.1.7-py3-none-any.whl"
size = 97941
hashes = {sha256 = "ae74fb96c20a0277a1d615f1e4d73c8414f5a98db8b799a7931d1582f3390c28"}

[[packages]]
name = "flask"
version = "3.0.0"

[packages.sdist]
name = "flask-3.0.0.tar.gz"
path = "dist/flask-3.0.0.tar.gz"
hashes = {sha256 = "cfadcdb638b609361d29ec22360d6070a77d7463dcb3ab08d2c2f2f168845f58"}

[[packages]]
name = "app"
directory = {path = ".", editable = true}
`

// FuzzParsePylock feeds arbitrary pylock.toml files to ParsePylock: it must
// not panic, and a lock it accepts must hold normalised names, sorted
// without duplicates, each with a version and only hashed files, leaving
// the project itself out.
func FuzzParsePylock(f *testing.F) {
	f.Add(pylockSeed)
	f.Add(`lock-version = "2.0"`)
	f.Add(`lock-version = "1.0"` + "\nenvironments = [\"sys_platform == 'darwin'\"]\n")
	f.Add(strings.Replace(pylockSeed, `marker = "python_version >= '3.7'"`, `marker = "python_version >< '3'"`, 1))
	f.Add("[[packages]]\nname = 1\n")
	dir := f.TempDir()
	path := filepath.Join(dir, "pylock.toml")
	f.Fuzz(func(t *testing.T, data string) {
		if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
		l, err := ParsePylock(path, linux311, "app")
		if err != nil {
			if err.Error() == "" {
				t.Error("empty error")
			}
			return
		}
		if !slices.IsSortedFunc(l.Requirements, func(a, b Requirement) int { return strings.Compare(a.Name, b.Name) }) {
			t.Errorf("requirements not sorted: %+v", l.Requirements)
		}
		for i, r := range l.Requirements {
			if r.Name == "" || r.Version == "" || r.Name == "app" {
				t.Errorf("requirement %d = %+v", i, r)
			}
			if i > 0 && l.Requirements[i-1].Name == r.Name {
				t.Errorf("%s listed twice", r.Name)
			}
			if len(r.Files) == 0 {
				t.Errorf("%s has no files", r.Name)
			}
			for _, file := range r.Files {
				if len(file.Hashes) == 0 {
					t.Errorf("%s: file %s has no hash", r.Name, file.Name)
				}
			}
			if _, ok := l.Lookup(strings.ToUpper(r.Name)); !ok {
				t.Errorf("Lookup(%q) failed", r.Name)
			}
		}
	})
}

// TestPylockSeedParses keeps the fuzz seed a lock ParsePylock accepts, so
// that fuzzing starts from inputs that reach the checks after parsing.
func TestPylockSeedParses(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pylock.toml")
	if err := os.WriteFile(path, []byte(pylockSeed), 0o644); err != nil {
		t.Fatal(err)
	}
	l, err := ParsePylock(path, linux311, "app")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range l.Requirements {
		names = append(names, r.Name+"=="+r.Version)
	}
	if got := strings.Join(names, " "); got != "click==8.1.7 flask==3.0.0" {
		t.Errorf("requirements = %s, want click==8.1.7 flask==3.0.0", got)
	}
}
