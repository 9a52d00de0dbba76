package atomicfile

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func entries(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

func TestWriteFile(t *testing.T) {
	dir := t.TempDir()
	dst := filepath.Join(dir, "sub", "out.txt")
	if err := WriteFile(dst, []byte("one"), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(dst, []byte("two"), 0o640); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(dst)
	if err != nil || string(data) != "two" {
		t.Fatalf("content %q, %v", data, err)
	}
	st, _ := os.Stat(dst)
	if st.Mode().Perm() != 0o640 {
		t.Errorf("mode %v, want 0640", st.Mode().Perm())
	}
	if got := entries(t, filepath.Join(dir, "sub")); len(got) != 1 {
		t.Errorf("directory holds %v, want only out.txt", got)
	}
}

// TestAbortLeavesNothing: an output abandoned half-way (a failed build)
// leaves neither the destination nor a temporary file.
func TestAbortLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	f, err := Create(filepath.Join(dir, "pkg.deb"), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte("half"))
	f.Abort()
	f.Abort() // twice is harmless
	if got := entries(t, dir); len(got) != 0 {
		t.Errorf("left behind: %v", got)
	}
	if err := f.Commit(); err == nil {
		t.Error("Commit after Abort succeeded")
	}
}

func TestCommitKeepsOldOnFailure(t *testing.T) {
	dir := t.TempDir()
	dst := filepath.Join(dir, "keep")
	if err := WriteFile(dst, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := Create(dst, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte("new"))
	// The destination is a directory now: the rename fails.
	os.Remove(dst)
	os.MkdirAll(filepath.Join(dst, "x"), 0o755)
	err = f.Commit()
	if err == nil || !strings.Contains(err.Error(), dst) {
		t.Fatalf("Commit over a directory: %v, want an error naming %s", err, dst)
	}
	if got := entries(t, dir); len(got) != 1 || got[0] != "keep" {
		t.Errorf("left behind: %v", got)
	}
}

func TestCreateTempCommitTo(t *testing.T) {
	dir := t.TempDir()
	f, err := CreateTemp(filepath.Join(dir, "tmp"), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	f.NoSync = true
	f.Write([]byte("data"))
	if err := f.Commit(); err == nil {
		t.Fatal("Commit without a destination succeeded")
	}
	f.Abort()
	f, _ = CreateTemp(filepath.Join(dir, "tmp"), 0o644)
	f.Write([]byte("data"))
	dst := filepath.Join(dir, "by-hash", "ab", "file")
	if err := f.CommitTo(dst); err != nil {
		t.Fatal(err)
	}
	if data, err := os.ReadFile(dst); err != nil || string(data) != "data" {
		t.Fatalf("%q %v", data, err)
	}
	if got := entries(t, filepath.Join(dir, "tmp")); len(got) != 0 {
		t.Errorf("temp files left: %v", got)
	}
}

func TestCreateFailsInMissingParentOfFile(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "file"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Create(filepath.Join(dir, "file", "x"), 0o644)
	if err == nil || !errors.Is(err, os.ErrExist) && !strings.Contains(err.Error(), "not a directory") {
		t.Errorf("Create below a file: %v", err)
	}
}
