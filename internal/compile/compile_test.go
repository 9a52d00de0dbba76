package compile

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/venvpkg/venvpkg/internal/interp"
	"github.com/venvpkg/venvpkg/internal/testutil"
)

const debianPython = "/usr/bin/python3.11"

func debian311(t *testing.T) *interp.Info {
	t.Helper()
	testutil.NeedFile(t, debianPython, "python3.11")
	return &interp.Info{
		Executable: debianPython, RealPath: debianPython, Implementation: "cpython",
		Version: "3.11.2", VersionXY: "3.11", Major: 3, Minor: 11, CacheTag: "cpython-311",
	}
}

// sources is a small package whose constants exercise marshal: a frozenset
// (ordered by string hashes), shared strings, nested code and a docstring.
var sources = map[string]string{
	"mod.py": `"""A module."""
import os

CHOICES = ("alpha", "beta", "gamma")

def f(x):
    if x in {"alpha", "beta", "gamma", "delta", "epsilon"}:
        return [y * 2 for y in range(3)]
    return os.path.join("a", "b")

class C:
    def m(self):
        return lambda: "alpha"
`,
	"pkg/__init__.py": "from .sub import g\n",
	"pkg/sub.py":      "def g():\n    return {'k': frozenset({'a', 'b', 'c'})}\n",
	"bad.py":          "def broken(:\n    pass\n",
}

// stage writes sources, plus a copy of the stdlib's json package, under
// filepath.Join(root, prefix) and returns their final paths, sorted.
func stage(t *testing.T, root, prefix string) []string {
	t.Helper()
	var finals []string
	write := func(rel string, data []byte) {
		final := filepath.Join(prefix, rel)
		staged := filepath.Join(root, final)
		if err := os.MkdirAll(filepath.Dir(staged), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(staged, data, 0o644); err != nil {
			t.Fatal(err)
		}
		finals = append(finals, final)
	}
	for rel, text := range sources {
		write(rel, []byte(text))
	}
	stdJSON, err := filepath.Glob("/usr/lib/python3.11/json/*.py")
	if err != nil || len(stdJSON) == 0 {
		t.Fatalf("no /usr/lib/python3.11/json/*.py to compile: %v", err)
	}
	for _, src := range stdJSON {
		data, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		write(filepath.Join("json", filepath.Base(src)), data)
	}
	sort.Strings(finals)
	return finals
}

// pycs maps each .pyc under dir, by path relative to dir, to its bytes.
func pycs(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !strings.HasSuffix(p, ".pyc") {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		out[rel] = data
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestCompileIsReproducible(t *testing.T) {
	py := debian311(t)
	const prefix = "/opt/venvs/app/lib/python3.11/site-packages"
	tmp := t.TempDir()
	tests := []struct {
		name    string
		root    string
		workers int
	}{
		{name: "one worker", root: filepath.Join(tmp, "a"), workers: 1},
		{name: "four workers, longer root", root: filepath.Join(tmp, "staging-root-with-a-longer-name"), workers: 4},
	}
	var trees []map[string][]byte
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := stage(t, tt.root, prefix)
			res, err := Compile(context.Background(), py, tt.root, files, tt.workers)
			if err != nil {
				t.Fatalf("Compile: %v", err)
			}
			if res.Compiled != len(files)-1 || len(res.Failed) != 1 {
				t.Fatalf("Compile = %d compiled, failures %v; want %d compiled and bad.py failed", res.Compiled, res.Failed, len(files)-1)
			}
			tree := pycs(t, filepath.Join(tt.root, prefix))
			if len(tree) != res.Compiled {
				t.Errorf("found %d .pyc files, want %d", len(tree), res.Compiled)
			}
			for rel, data := range tree {
				if bytes.Contains(data, []byte(tt.root)) {
					t.Errorf("%s names the staging root %s", rel, tt.root)
				}
				if flags := binary.LittleEndian.Uint32(data[4:8]); flags != 3 {
					t.Errorf("%s has flags %d, want 3 (checked hash)", rel, flags)
				}
			}
			for _, want := range []string{"__pycache__/mod.cpython-311.pyc", "pkg/__pycache__/sub.cpython-311.pyc", "json/__pycache__/decoder.cpython-311.pyc"} {
				if _, ok := tree[want]; !ok {
					t.Errorf("no %s among %d .pyc files", want, len(tree))
				}
			}
			trees = append(trees, tree)
		})
	}
	if len(trees) != 2 {
		t.Fatal("a compile failed")
	}
	for rel, a := range trees[0] {
		if b := trees[1][rel]; !bytes.Equal(a, b) {
			t.Errorf("%s differs between roots and worker counts", rel)
		}
	}

	// A fresh interpreter per file, with py_compile's own defaults for a
	// reproducible build and the same hash seed, must give the same bytes.
	ref := filepath.Join(tmp, "ref")
	files := stage(t, ref, prefix)
	for _, f := range files {
		if strings.HasSuffix(f, "bad.py") {
			continue
		}
		cmd := exec.Command(debianPython, "-s", "-B", "-c",
			"import sys, py_compile; py_compile.compile(sys.argv[1], dfile=sys.argv[2], doraise=True)",
			filepath.Join(ref, f), f)
		cmd.Env = append(os.Environ(), "SOURCE_DATE_EPOCH=0", "PYTHONHASHSEED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("py_compile %s: %v\n%s", f, err, out)
		}
	}
	for rel, want := range pycs(t, filepath.Join(ref, prefix)) {
		if got := trees[0][rel]; !bytes.Equal(got, want) {
			t.Errorf("%s differs from what py_compile writes in a fresh interpreter", rel)
		}
	}
}

func TestCompiledCodeNamesFinalPath(t *testing.T) {
	py := debian311(t)
	tmp := t.TempDir()
	final := filepath.Join(tmp, "final", "site-packages")
	root := filepath.Join(tmp, "stage")
	files := stage(t, root, final)
	if _, err := Compile(context.Background(), py, root, files, 2); err != nil {
		t.Fatalf("Compile: %v", err)
	}
	// Install the staged tree at its final path, as a package would.
	if err := os.CopyFS(final, os.DirFS(filepath.Join(root, final))); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(debianPython, "-I", "-B", "-v", "-c",
		"import sys; sys.path.insert(0, sys.argv[1]); import mod; print(mod.__file__); print(mod.f.__code__.co_filename)", final)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("importing mod: %v\n%s", err, stderr.String())
	}
	src := filepath.Join(final, "mod.py")
	if want := src + "\n" + src + "\n"; stdout.String() != want {
		t.Errorf("mod.__file__, co_filename = %q, want %q", stdout.String(), want)
	}
	pyc := filepath.Join(final, "__pycache__", "mod.cpython-311.pyc")
	if !strings.Contains(stderr.String(), "code object from '"+pyc+"'") {
		t.Errorf("python -v did not load %s:\n%s", pyc, stderr.String())
	}
}

func TestCompileFailures(t *testing.T) {
	py := debian311(t)
	root := t.TempDir()
	files := stage(t, root, "/srv/app")
	files = append(files, "/srv/app/missing.py")
	res, err := Compile(context.Background(), py, root, files, 3)
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	if res.Compiled != len(files)-2 {
		t.Errorf("Compile compiled %d files, want %d", res.Compiled, len(files)-2)
	}
	want := []struct{ path, msg string }{
		{"/srv/app/bad.py", "SyntaxError"},
		{"/srv/app/missing.py", "No such file"},
	}
	if len(res.Failed) != len(want) {
		t.Fatalf("Compile failures = %v, want %d", res.Failed, len(want))
	}
	for i, w := range want {
		f := res.Failed[i]
		if f.Path != w.path || !strings.Contains(f.Message, w.msg) {
			t.Errorf("failure %d = %v, want %s with %q", i, f, w.path, w.msg)
		}
	}
	if !strings.Contains(res.Failed[0].Message, `"/srv/app/bad.py", line 1`) {
		t.Errorf("syntax error message %q does not name the final path", res.Failed[0].Message)
	}
	if _, err := os.Stat(filepath.Join(root, "srv/app/__pycache__/bad.cpython-311.pyc")); err == nil {
		t.Error("bad.py has a .pyc")
	}
}

func TestCompileErrors(t *testing.T) {
	py := debian311(t)
	tests := []struct {
		name  string
		py    *interp.Info
		files []string
		want  string
	}{
		{name: "relative path", py: py, files: []string{"mod.py"}, want: "not a final absolute path"},
		{name: "no interpreter", files: []string{"/x.py"}, want: "no interpreter"},
		{name: "missing interpreter", py: &interp.Info{Executable: "/nonexistent/python3"}, files: []string{"/x.py"}, want: "/nonexistent/python3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Compile(context.Background(), tt.py, t.TempDir(), tt.files, 1)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Compile(%q) = %v, want an error containing %q", tt.files, err, tt.want)
			}
		})
	}
	res, err := Compile(context.Background(), py, t.TempDir(), nil, 4)
	if err != nil || res.Compiled != 0 || len(res.Failed) != 0 {
		t.Errorf("Compile(no files) = %+v, %v, want an empty result", res, err)
	}
}

func TestCompileOtherInterpreters(t *testing.T) {
	tests := []struct {
		name   string
		python string
		tag    string
	}{
		{name: "3.7", python: "/root/.pyenv/versions/3.7.16/bin/python3.7", tag: "cpython-37"},
		{name: "3.10", python: "/root/.pyenv/versions/3.10.13/bin/python3.10", tag: "cpython-310"},
		{name: "3.13", python: "/root/.pyenv/versions/3.13.0/bin/python3.13", tag: "cpython-313"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := os.Stat(tt.python); err != nil {
				t.Skipf("%s is not installed: %v", tt.python, err)
			}
			root := t.TempDir()
			files := stage(t, root, "/opt/app")
			res, err := Compile(context.Background(), &interp.Info{Executable: tt.python}, root, files, 2)
			if err != nil {
				t.Fatalf("Compile: %v", err)
			}
			if res.Compiled != len(files)-1 {
				t.Errorf("Compile compiled %d files (failures %v), want %d", res.Compiled, res.Failed, len(files)-1)
			}
			data, err := os.ReadFile(filepath.Join(root, "opt/app/__pycache__/mod."+tt.tag+".pyc"))
			if err != nil {
				t.Fatal(err)
			}
			if flags := binary.LittleEndian.Uint32(data[4:8]); flags != 3 {
				t.Errorf("mod.%s.pyc has flags %d, want 3 (checked hash)", tt.tag, flags)
			}
		})
	}
}

// TestBatchesMatchFreshInterpreters compiles a corpus of real modules (some
// of the target's standard library, with broken files in between) in
// batches and compares every .pyc with what py_compile writes in a fresh
// interpreter per file: a child that compiles file after file must give
// the same bytes as a process that compiled nothing before.
func TestBatchesMatchFreshInterpreters(t *testing.T) {
	tests := []struct {
		name, python, lib string
	}{
		{name: "3.11", python: debianPython, lib: "/usr/lib/python3.11"},
		{name: "3.13", python: "/root/.pyenv/versions/3.13.0/bin/python3.13", lib: "/root/.pyenv/versions/3.13.0/lib/python3.13"},
		{name: "3.12", python: "/root/.pyenv/versions/3.12.1/bin/python3.12", lib: "/root/.pyenv/versions/3.12.1/lib/python3.12"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := os.Stat(tt.python); err != nil {
				t.Skipf("%s is not installed: %v", tt.python, err)
			}
			const prefix = "/opt/venvs/corpus/lib/site-packages"
			var rels []string
			for _, pattern := range []string{"email/*.py", "json/*.py", "http/*.py", "logging/*.py", "xml/dom/*.py", "concurrent/futures/*.py", "importlib/*.py", "asyncio/[a-f]*.py"} {
				m, err := filepath.Glob(filepath.Join(tt.lib, pattern))
				if err != nil {
					t.Fatal(err)
				}
				for _, p := range m {
					rels = append(rels, strings.TrimPrefix(p, tt.lib+"/"))
				}
			}
			if len(rels) < 40 {
				t.Fatalf("only %d modules found under %s", len(rels), tt.lib)
			}
			write := func(root, rel string, data []byte) {
				p := filepath.Join(root, prefix, rel)
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, data, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			batched, fresh := t.TempDir(), t.TempDir()
			var files []string
			for i, rel := range rels {
				data, err := os.ReadFile(filepath.Join(tt.lib, rel))
				if err != nil {
					t.Fatal(err)
				}
				for _, root := range []string{batched, fresh} {
					write(root, rel, data)
				}
				files = append(files, filepath.Join(prefix, rel))
				if i%15 == 7 {
					bad := fmt.Sprintf("broken%d.py", i)
					write(batched, bad, []byte("def broken(:\n    pass\n"))
					files = append(files, filepath.Join(prefix, bad))
				}
			}
			res, err := Compile(context.Background(), &interp.Info{Executable: tt.python}, batched, files, 2)
			if err != nil {
				t.Fatalf("Compile: %v", err)
			}
			if res.Compiled != len(rels) {
				t.Fatalf("compiled %d of %d modules; failures %v", res.Compiled, len(rels), res.Failed)
			}
			for _, rel := range rels {
				final := filepath.Join(prefix, rel)
				cmd := exec.Command(tt.python, "-s", "-B", "-c",
					"import sys, py_compile; py_compile.compile(sys.argv[1], dfile=sys.argv[2], doraise=True)",
					filepath.Join(fresh, final), final)
				cmd.Env = append(os.Environ(), "SOURCE_DATE_EPOCH=0", "PYTHONHASHSEED=0")
				if out, err := cmd.CombinedOutput(); err != nil {
					t.Fatalf("py_compile %s: %v\n%s", rel, err, out)
				}
			}
			want := pycs(t, filepath.Join(fresh, prefix))
			got := pycs(t, filepath.Join(batched, prefix))
			if len(want) != len(rels) || len(got) != len(rels) {
				t.Fatalf("%d fresh and %d batched .pyc files, want %d each", len(want), len(got), len(rels))
			}
			for rel, w := range want {
				if !bytes.Equal(got[rel], w) {
					t.Errorf("%s differs from what py_compile writes in a fresh interpreter", rel)
				}
			}
		})
	}
}
