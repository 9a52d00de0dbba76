package audit

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestScanTreesKeepsResults scans a payload with one kept tree: the first
// scan reads the tree and keeps what it found; later scans with the same
// forbidden strings take the tree's result from the cache (a file changed
// behind the cache's back is not read again), files outside the tree are
// always read, and other forbidden strings read the tree again.
func TestScanTreesKeepsResults(t *testing.T) {
	const bad = "/tmp/venvpkg-build-7"
	root := writeTree(t, map[string]string{
		"opt/app/dep/leak.py":  "path = '" + bad + "'\n",
		"opt/app/dep/ok.py":    "x = 1\n",
		"opt/app/dep/link":     "->" + bad + "/x",
		"opt/app/bin/activate": "VIRTUAL_ENV=/opt/app\n",
	})
	trees := []Tree{{Files: []string{"/opt/app/dep/leak.py", "/opt/app/dep/ok.py", "/opt/app/dep/link"}, CacheDir: filepath.Join(t.TempDir(), "aux")}}
	leaked := func(forbidden ...string) []string {
		t.Helper()
		err := ScanTrees(root, forbidden, trees)
		var le *LeakError
		if err != nil && !errors.As(err, &le) {
			t.Fatalf("ScanTrees: %v", err)
		}
		var paths []string
		if le != nil {
			for _, l := range le.Leaks {
				paths = append(paths, l.Path)
			}
		}
		return paths
	}
	want := []string{"/opt/app/dep/leak.py", "/opt/app/dep/link"}
	if got := leaked(bad); !slices.Equal(got, want) {
		t.Fatalf("first scan: leaks %v, want %v", got, want)
	}
	if err := os.WriteFile(filepath.Join(root, "opt/app/dep/leak.py"), []byte("clean\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "opt/app/bin/activate"), []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	want = []string{"/opt/app/bin/activate", "/opt/app/dep/leak.py", "/opt/app/dep/link"}
	if got := leaked(bad); !slices.Equal(got, want) {
		t.Errorf("second scan: leaks %v, want %v (the tree's from the cache, the rest read)", got, want)
	}
	want = []string{"/opt/app/bin/activate", "/opt/app/dep/link"}
	if got := leaked(bad, "/elsewhere"); !slices.Equal(got, want) {
		t.Errorf("scan for other strings: leaks %v, want %v (the tree read again)", got, want)
	}
	if got := leaked(bad); len(got) != 3 {
		t.Errorf("the first result was lost: %v", got)
	}
}

// TestSharedLibrariesKeepsTrees: an ELF object of a kept tree is read
// once; later its kept record stands for it.
func TestSharedLibrariesKeepsTrees(t *testing.T) {
	lib := "/lib/x86_64-linux-gnu/libz.so.1"
	data, err := os.ReadFile(lib)
	if err != nil {
		t.Skipf("no ELF library to copy: %v", err)
	}
	root := t.TempDir()
	dir := filepath.Join(root, "opt/app/dep")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	obj := filepath.Join(dir, "_speedups.so")
	if err := os.WriteFile(obj, data, 0o644); err != nil {
		t.Fatal(err)
	}
	opts := ShlibOptions{Trees: []Tree{{Files: []string{"/opt/app/dep/_speedups.so"}, CacheDir: t.TempDir()}}}
	first, err := SharedLibraries(context.Background(), root, opts)
	if err != nil {
		t.Fatal(err)
	}
	if !first.HasELF {
		t.Fatal("the copied library was not seen as ELF")
	}
	if err := os.WriteFile(obj, []byte("not ELF"), 0o644); err != nil {
		t.Fatal(err)
	}
	second, err := SharedLibraries(context.Background(), root, opts)
	if err != nil {
		t.Fatal(err)
	}
	if !second.HasELF || !slices.Equal(second.Depends, first.Depends) {
		t.Errorf("second check: %+v, want the kept record %+v", second, first)
	}
	opts.Trees[0].CacheDir = ""
	if third, err := SharedLibraries(context.Background(), root, opts); err != nil || third.HasELF {
		t.Errorf("without a cache the file is read again: HasELF %v, err %v", third.HasELF, err)
	}
}
