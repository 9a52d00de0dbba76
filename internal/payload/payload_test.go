package payload

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func write(t *testing.T, root, p, content string) {
	t.Helper()
	full := filepath.Join(root, p)
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestDistributions reads a staged tree: RECORD gives each distribution
// its files, bytecode follows its source, and the virtualenv's own files
// belong to none.
func TestDistributions(t *testing.T) {
	root := t.TempDir()
	site := "opt/venvs/app/lib/python3.11/site-packages/"
	write(t, root, site+"flask/__init__.py", "x = 1\n")
	write(t, root, site+"flask/__pycache__/__init__.cpython-311.pyc", "0123456789")
	write(t, root, site+"Flask-2.2.2.dist-info/METADATA", "Metadata-Version: 2.1\nName: Flask\nVersion: 2.2.2\nLicense: BSD-3-Clause\n\nbody\n")
	write(t, root, site+"Flask-2.2.2.dist-info/RECORD", "flask/__init__.py,sha256=x,6\nFlask-2.2.2.dist-info/METADATA,,\nFlask-2.2.2.dist-info/RECORD,,\n../../../bin/flask,sha256=y,3\n")
	write(t, root, site+"Flask-2.2.2.dist-info/INSTALLER", "venvpkg\n")
	write(t, root, "opt/venvs/app/bin/flask", "#!/\n")
	write(t, root, "opt/venvs/app/pyvenv.cfg", "home = /usr/bin\n")
	if err := os.Symlink("/usr/bin/python3.11", filepath.Join(root, "opt/venvs/app/bin/python")); err != nil {
		t.Fatal(err)
	}
	tree, err := ScanDir(root)
	if err != nil {
		t.Fatal(err)
	}
	dists, err := tree.Distributions()
	if err != nil {
		t.Fatal(err)
	}
	if len(dists) != 1 || dists[0].Name != "Flask" || dists[0].Metadata.License != "BSD-3-Clause" {
		t.Fatalf("Distributions = %+v", dists)
	}
	var rel []string
	for _, f := range dists[0].Files {
		rel = append(rel, strings.TrimPrefix(f, "/opt/venvs/app/"))
	}
	want := []string{
		"bin/flask",
		"lib/python3.11/site-packages/Flask-2.2.2.dist-info/INSTALLER",
		"lib/python3.11/site-packages/Flask-2.2.2.dist-info/METADATA",
		"lib/python3.11/site-packages/Flask-2.2.2.dist-info/RECORD",
		"lib/python3.11/site-packages/flask/__init__.py",
		"lib/python3.11/site-packages/flask/__pycache__/__init__.cpython-311.pyc",
	}
	if !slices.Equal(rel, want) {
		t.Errorf("Flask files = %q, want %q", rel, want)
	}
	owner := Owner(dists)
	if owner["/opt/venvs/app/pyvenv.cfg"] != nil || owner["/opt/venvs/app/bin/python"] != nil {
		t.Error("the virtualenv's own files were given to a distribution")
	}
}

func TestReadFileRefusesOtherFiles(t *testing.T) {
	p := filepath.Join(t.TempDir(), "x.deb")
	write(t, filepath.Dir(p), "x.deb", "!<arch>\ngarbage")
	if _, err := ReadFile(p); err == nil || !strings.Contains(err.Error(), "x.deb") {
		t.Errorf("ReadFile(corrupt .deb) = %v, want an error naming it", err)
	}
	write(t, filepath.Dir(p), "x.deb", "hello")
	if _, err := ReadFile(p); err == nil || !strings.Contains(err.Error(), "neither a .deb nor an .rpm") {
		t.Errorf("ReadFile(text) = %v", err)
	}
}
