package pipeline_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/venvpkg/venvpkg/internal/logging"
	"github.com/venvpkg/venvpkg/internal/pipeline"
	"github.com/venvpkg/venvpkg/internal/testutil"
)

// TestAuditRefusesBuildPaths installs a wheel one of whose files names a
// venvpkg build directory: the audit refuses the payload, naming the file,
// and nothing reaches --out. A second build, which reuses the cached tree of
// that wheel, is refused too: the audit looks for every build's directory,
// not only its own.
func TestAuditRefusesBuildPaths(t *testing.T) {
	testutil.NeedFile(t, python, "python3.11")
	base := t.TempDir()
	tmp := filepath.Join(base, "tmp")
	proj := filepath.Join(base, "proj")
	wheels := filepath.Join(base, "wheels")
	out := filepath.Join(base, "out")
	for _, d := range []string{tmp, proj, wheels, out} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("TMPDIR", tmp)
	leak := filepath.Join(tmp, "venvpkg-build-123456", "root", "opt", "venvs", "proj", "lib")
	w := hostileWheel{members: with(member{name: "bad/paths.txt", data: []byte("sys_path = " + leak + "\n")})}
	if err := os.WriteFile(filepath.Join(wheels, badWheel), w.bytes(t), 0o644); err != nil {
		t.Fatal(err)
	}
	for name, text := range map[string]string{
		"pyproject.toml":   hostileProject,
		"backend.py":       inTreeBackend,
		"requirements.txt": "bad==1.0\n",
	} {
		if err := os.WriteFile(filepath.Join(proj, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cache := t.TempDir()
	for _, run := range []string{"first", "cached tree"} {
		var log bytes.Buffer
		_, err := pipeline.Run(context.Background(), pipeline.Options{
			ProjectDir: proj, Python: python, FindLinks: []string{wheels}, NoIndex: true,
			OutDir: out, CacheDir: cache, NoCompile: true, Log: logging.NewLogger(&log, logging.LevelDebug),
		})
		if err == nil || !strings.Contains(err.Error(), "audit:") || !strings.Contains(err.Error(), "bad/paths.txt") {
			t.Fatalf("%s build: err = %v, want an audit error naming bad/paths.txt\nlog:\n%s", run, err, log.String())
		}
		if left := treeEntries(t, out); len(left) > 0 {
			t.Errorf("%s build: --out holds %q, want nothing", run, left)
		}
		if left := treeEntries(t, tmp); len(left) > 0 {
			t.Errorf("%s build: TMPDIR holds %q, want nothing", run, left)
		}
	}
}
