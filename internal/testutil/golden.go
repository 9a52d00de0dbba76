package testutil

import (
	"bytes"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"testing"
)

// update is the -update flag of every test binary that compares golden
// files: go test ./internal/x -update rewrites them from the current output.
var update = flag.Bool("update", false, "rewrite the golden files from the current output")

// Updating reports whether the test run rewrites golden files.
func Updating() bool { return *update }

// Golden compares got with the golden file at path, or writes it under
// -update.
func Golden(t testing.TB, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -update writes it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test -update rewrites it; review the diff):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// GoldenDir compares a tree of generated files (slash-separated relative
// path → content) with the directory dir, file by file, failing on files
// missing from either side; under -update it replaces dir with the tree.
func GoldenDir(t testing.TB, dir string, got map[string][]byte) {
	t.Helper()
	if *update {
		if err := os.RemoveAll(dir); err != nil {
			t.Fatal(err)
		}
		for p, data := range got {
			fp := filepath.Join(dir, filepath.FromSlash(p))
			if err := os.MkdirAll(filepath.Dir(fp), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(fp, data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return
	}
	want := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		want[filepath.ToSlash(rel)] = data
		return err
	})
	if err != nil {
		t.Fatalf("reading %s (go test -update writes it): %v", dir, err)
	}
	var paths []string
	for p := range got {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		w, ok := want[p]
		switch {
		case !ok:
			t.Errorf("%s: %s is not in the golden files (go test -update writes it)", dir, p)
		case !bytes.Equal(got[p], w):
			t.Errorf("%s: %s differs from the golden file (go test -update rewrites it; review the diff):\n--- got\n%s\n--- want\n%s", dir, p, got[p], w)
		}
		delete(want, p)
	}
	var gone []string
	for p := range want {
		gone = append(gone, p)
	}
	sort.Strings(gone)
	for _, p := range gone {
		t.Errorf("%s: golden file %s is no longer generated", dir, p)
	}
}
