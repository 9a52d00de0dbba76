package pkg

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestWriteDebTrees writes the demo tree with its package as a tree of
// its own, without a cache, with a cold cache and a warm one: the three
// packages are identical, the tree's entries follow the directories and
// the other files, and the cache keeps the tree's md5sums.
func TestWriteDebTrees(t *testing.T) {
	root := stageTree(t, time.Now())
	pkgDir := "/opt/venvs/demo/lib/python3.11/site-packages/demo"
	cache := filepath.Join(t.TempDir(), "sums")
	write := func(cacheDir string) string {
		t.Helper()
		p := testPackage(root)
		p.Trees = []Tree{{Name: "demo", Files: []string{pkgDir + "/__init__.py"}, CacheDir: cacheDir}}
		p.Files = []File{{Path: "/etc/demo/demo.conf", Data: []byte("x = 1\n"), Mode: 0o640, Config: true}}
		path, err := WriteDeb(context.Background(), p, t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		return path
	}
	ref := write("")
	listing := run(t, "dpkg-deb", "-c", ref)
	lines := strings.Split(strings.TrimSpace(listing), "\n")
	if last := lines[len(lines)-1]; !strings.HasSuffix(last, "."+pkgDir+"/__init__.py") {
		t.Errorf("the tree's file is not last in data.tar:\n%s", listing)
	}
	if !strings.Contains(listing, "./etc/demo/\n") || !strings.Contains(listing, "./etc/demo/demo.conf\n") {
		t.Errorf("the extra file or its directory is missing:\n%s", listing)
	}
	want := sha(t, ref)
	for _, name := range []string{"cold", "warm"} {
		if got := sha(t, write(cache)); got != want {
			t.Errorf("%s cache: sha256 %s, without cache %s", name, got, want)
		}
	}
	cached, _ := filepath.Glob(filepath.Join(cache, "*.json"))
	if len(cached) != 1 {
		t.Errorf("the cache holds %v, want the tree's sums", cached)
	}
	ctl := t.TempDir()
	run(t, "dpkg-deb", "-e", ref, ctl)
	sums, err := os.ReadFile(filepath.Join(ctl, "md5sums"))
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, l := range strings.Split(strings.TrimSpace(string(sums)), "\n") {
		paths = append(paths, l[34:])
	}
	wantPaths := []string{"etc/demo/demo.conf", "opt/venvs/demo/bin/demo", "opt/venvs/demo/pyvenv.cfg", pkgDir[1:] + "/__init__.py"}
	if !slices.Equal(paths, wantPaths) {
		t.Errorf("md5sums lists %v, want %v", paths, wantPaths)
	}
	if conf, _ := os.ReadFile(filepath.Join(ctl, "conffiles")); string(conf) != "/etc/demo/demo.conf\n" {
		t.Errorf("conffiles = %q", conf)
	}
}

func sha(t *testing.T, path string) string {
	t.Helper()
	return strings.Fields(run(t, "sha256sum", path))[0]
}
