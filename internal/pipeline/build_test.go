package pipeline_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/venvpkg/venvpkg/internal/logging"
	"github.com/venvpkg/venvpkg/internal/pipeline"
	"github.com/venvpkg/venvpkg/internal/testutil"
	"github.com/venvpkg/venvpkg/internal/testutil/debwheel"
)

const python = "/usr/bin/python3.11"

// pythonWheels is Debian's directory of pip/setuptools/wheel wheels: the
// build backend of the test projects comes from there.
const pythonWheels = "/usr/share/python-wheels"

func needTools(t *testing.T) {
	t.Helper()
	testutil.NeedFile(t, python, "python3.11")
	testutil.NeedFile(t, pythonWheels, "python3-pip-whl")
	testutil.NeedTool(t, "dpkg-deb", "dpkg")
}

func repoPath(t *testing.T, rel string) string {
	t.Helper()
	root, err := testutil.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(root, rel)
}

// copyTree copies a project into dir so builds run from a path of the test's
// choosing (and outside the repository's git history).
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	cmd := exec.Command("cp", "-a", src+"/.", dst)
	if err := os.MkdirAll(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("cp: %v\n%s", err, out)
	}
}

func runBuild(t *testing.T, o pipeline.Options) *pipeline.Result {
	t.Helper()
	var log bytes.Buffer
	o.Log = logging.NewLogger(&log, logging.LevelDebug)
	if o.Python == "" {
		o.Python = python
	}
	if o.CacheDir == "" {
		o.CacheDir = t.TempDir()
	}
	res, err := pipeline.Run(context.Background(), o)
	if err != nil {
		t.Fatalf("pipeline.Run: %v\nlog:\n%s", err, log.String())
	}
	return res
}

func sha256File(t *testing.T, p string) string {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// webappWheels repacks the web app's wheels from Debian (cached).
func webappWheels(t *testing.T) string {
	t.Helper()
	dir := debwheel.WebAppDir(testutil.CacheDir())
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := debwheel.WebApp(context.Background(), testutil.CacheDir(), dir); err != nil {
		t.Fatalf("repacking the web app's wheels from Debian: %v", err)
	}
	return dir
}

// TestReproducible builds the example from two different directories at
// different times and expects byte-identical packages with no build path
// anywhere in the payload.
func TestReproducible(t *testing.T) {
	needTools(t)
	t.Setenv("SOURCE_DATE_EPOCH", "")
	os.Unsetenv("SOURCE_DATE_EPOCH")
	var debs []string
	var dirs []string
	for _, name := range []string{"first", "second-build-dir"} {
		dir := filepath.Join(t.TempDir(), name, "hello")
		copyTree(t, repoPath(t, "examples/hello"), dir)
		out := filepath.Join(t.TempDir(), "out")
		res := runBuild(t, pipeline.Options{ProjectDir: dir, FindLinks: []string{pythonWheels}, NoIndex: true, OutDir: out, Jobs: len(debs) + 1})
		if len(res.Packages) != 1 {
			t.Fatalf("packages = %v, want one", res.Packages)
		}
		debs = append(debs, res.Packages[0])
		dirs = append(dirs, dir)
	}
	if filepath.Base(debs[0]) != "hello_1.0.0-1_all.deb" {
		t.Errorf("package file = %s, want hello_1.0.0-1_all.deb", filepath.Base(debs[0]))
	}
	a, b := sha256File(t, debs[0]), sha256File(t, debs[1])
	if a != b {
		msg := ""
		if _, err := exec.LookPath("diffoscope"); err == nil {
			out, _ := exec.Command("diffoscope", "--text", "-", debs[0], debs[1]).Output()
			msg = string(out)
		}
		t.Fatalf("two builds differ: %s vs %s\n%s", a, b, msg)
	}
	x := t.TempDir()
	if out, err := exec.Command("dpkg-deb", "-x", debs[0], x).CombinedOutput(); err != nil {
		t.Fatalf("dpkg-deb -x: %v\n%s", err, out)
	}
	for _, d := range dirs {
		out, err := exec.Command("grep", "-rlF", "--", d, x).CombinedOutput()
		if err == nil {
			t.Errorf("build path %s found in the payload:\n%s", d, out)
		}
	}
	out, err := exec.Command("grep", "-rlE", "venvpkg-build-|/tmp/", x).CombinedOutput()
	if err == nil {
		t.Errorf("temp paths found in the payload:\n%s", out)
	}
}

// TestHashMismatch pins a wheel with a wrong hash: the build fails naming
// the file and both digests, and writes nothing.
func TestHashMismatch(t *testing.T) {
	needTools(t)
	dir := filepath.Join(t.TempDir(), "hello")
	copyTree(t, repoPath(t, "examples/hello"), dir)
	lock := filepath.Join(dir, "requirements.txt")
	wrong := strings.Repeat("0", 64)
	if err := os.WriteFile(lock, []byte("setuptools==66.1.1 --hash=sha256:"+wrong+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "out")
	_, err := pipeline.Run(context.Background(), pipeline.Options{ProjectDir: dir, Python: python, FindLinks: []string{pythonWheels}, NoIndex: true, OutDir: out, CacheDir: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "hash mismatch") || !strings.Contains(err.Error(), wrong) {
		t.Fatalf("err = %v, want a hash mismatch naming %s", err, wrong)
	}
	if entries, _ := os.ReadDir(out); len(entries) != 0 {
		t.Errorf("--out holds %d entries after a failed build, want none", len(entries))
	}
}
