package treecache

import (
	"archive/zip"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/venvpkg/venvpkg/internal/compile"
	"github.com/venvpkg/venvpkg/internal/interp"
	"github.com/venvpkg/venvpkg/internal/testutil"
	"github.com/venvpkg/venvpkg/internal/wheel"
)

// makeWheel writes a small wheel of distribution name with one module per
// entry of modules (file name → source) and returns its path.
func makeWheel(t *testing.T, dir, name string, modules map[string]string) string {
	t.Helper()
	p := filepath.Join(dir, name+"-1.0-py3-none-any.whl")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	info := name + "-1.0.dist-info/"
	files := map[string]string{
		info + "METADATA": "Metadata-Version: 2.1\nName: " + name + "\nVersion: 1.0\n",
		info + "WHEEL":    "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
	}
	for m, src := range modules {
		files[m] = src
	}
	var record strings.Builder
	for n, body := range files {
		w, err := zw.Create(n)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(body))
		sum := sha256.Sum256([]byte(body))
		fmt.Fprintf(&record, "%s,sha256=%s,%d\n", n, base64.RawURLEncoding.EncodeToString(sum[:]), len(body))
	}
	record.WriteString(info + "RECORD,,\n")
	w, _ := zw.Create(info + "RECORD")
	w.Write([]byte(record.String()))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	return p
}

const python = "/usr/bin/python3.11"

func target(t *testing.T, prefix string) (*interp.Info, wheel.Destination) {
	t.Helper()
	testutil.NeedFile(t, python, "python3.11")
	py := &interp.Info{Executable: python, RealPath: python, Version: "3.11.2", VersionXY: "3.11", CacheTag: "cpython-311"}
	sp := prefix + "/lib/python3.11/site-packages"
	return py, wheel.Destination{
		Scheme:    wheel.Scheme{Purelib: sp, Platlib: sp, Headers: prefix + "/include", Scripts: prefix + "/bin", Data: prefix},
		Python:    prefix + "/bin/python",
		Installer: "venvpkg",
	}
}

func TestKeys(t *testing.T) {
	dir := t.TempDir()
	w := makeWheel(t, dir, "alpha", map[string]string{"alpha.py": "X = 1\n"})
	other := makeWheel(t, dir, "beta", map[string]string{"beta.py": "X = 1\n"})
	py, dest := target(t, "/opt/venvs/app")
	key := func(t *testing.T, py *interp.Info, dest wheel.Destination, compiled bool, whl string) Key {
		t.Helper()
		c, err := New(filepath.Join(dir, "cache"), py, dest, compiled)
		if err != nil {
			t.Fatal(err)
		}
		k, err := c.Key(whl)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	base := key(t, py, dest, true, w)
	if again := key(t, py, dest, true, w); again != base {
		t.Fatalf("the same inputs gave keys %s and %s", base, again)
	}
	_, otherDest := target(t, "/opt/venvs/other")
	py312 := *py
	py312.Version, py312.CacheTag = "3.12.1", "cpython-312"
	shebang := dest
	shebang.Python = "/usr/bin/python3"
	for _, tc := range []struct {
		name string
		key  Key
	}{
		{name: "another wheel", key: key(t, py, dest, true, other)},
		{name: "another prefix", key: key(t, py, otherDest, true, w)},
		{name: "another interpreter", key: key(t, &py312, dest, true, w)},
		{name: "another shebang", key: key(t, py, shebang, true, w)},
		{name: "not compiled", key: key(t, py, dest, false, w)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.key == base {
				t.Errorf("key %s did not change", base)
			}
		})
	}
}

// TestInstallMissThenHit installs a wheel through an empty cache, compiles
// and commits it, then installs it again into a fresh root: the second
// root must hold the same files with the same bytes, the .pyc included,
// and the compile failure must be remembered.
func TestInstallMissThenHit(t *testing.T) {
	dir := t.TempDir()
	whl := makeWheel(t, dir, "alpha", map[string]string{
		"alpha/__init__.py": "from .core import f\n",
		"alpha/core.py":     "def f():\n    return {'a': 1}\n",
		"alpha/bad.py":      "def broken(:\n",
		"alpha/data.txt":    "data\n",
	})
	py, dest := target(t, "/opt/venvs/app")
	c, err := New(filepath.Join(dir, "cache"), py, dest, true)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	first := filepath.Join(dir, "first")
	d1 := dest
	d1.Root = first
	inst, pending, failed, err := c.Install(ctx, whl, d1, nil)
	if err != nil {
		t.Fatal(err)
	}
	if pending == nil || failed != nil {
		t.Fatalf("an empty cache gave pending %v, failed %v; want a pending entry", pending, failed)
	}
	var py3 []string
	for _, f := range inst.Files {
		if strings.HasSuffix(f, ".py") {
			py3 = append(py3, f)
		}
	}
	res, err := compile.Compile(ctx, py, first, py3, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Failed) != 1 {
		t.Fatalf("compile failures %v, want bad.py", res.Failed)
	}
	if err := pending.Commit(first, inst, res.Failed, true); err != nil {
		t.Fatal(err)
	}

	second := filepath.Join(dir, "second")
	d2 := dest
	d2.Root = second
	inst2, pending2, failed2, err := c.Install(ctx, whl, d2, nil)
	if err != nil {
		t.Fatal(err)
	}
	if pending2 != nil {
		t.Fatal("the committed entry was not found")
	}
	if len(failed2) != 1 || !strings.HasSuffix(failed2[0].Path, "alpha/bad.py") {
		t.Errorf("cached failures %v, want alpha/bad.py", failed2)
	}
	if strings.Join(inst2.Files, "\n") != strings.Join(inst.Files, "\n") {
		t.Errorf("cached files %q, want %q", inst2.Files, inst.Files)
	}
	a, b := listTree(t, first), listTree(t, second)
	if a != b {
		t.Errorf("the tree linked from the cache differs from the installed one:\n%s\nvs\n%s", b, a)
	}
	if !strings.Contains(a, "alpha/__pycache__/core.cpython-311.pyc") {
		t.Errorf("no core.pyc in\n%s", a)
	}

	// A third install into the second root collides with its files.
	if _, _, _, err := c.Install(ctx, whl, d2, nil); err == nil || !strings.Contains(err.Error(), "two distributions must not write the same file") {
		t.Errorf("installing over existing files: %v, want a collision error", err)
	}
	left, _ := filepath.Glob(filepath.Join(dir, "cache", ".pending-*"))
	if len(left) != 0 {
		t.Errorf("pending entries left behind: %v", left)
	}
}

// listTree describes every file under root with its size and content hash.
func listTree(t *testing.T, root string) string {
	t.Helper()
	var b strings.Builder
	err := filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if fi.IsDir() {
			fmt.Fprintf(&b, "%s/\n", rel)
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "%s %o %x\n", rel, fi.Mode().Perm(), sha256.Sum256(data))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}
