package repo

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestDir(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	d := Dir{Root: root}
	for _, name := range []string{"a/b/c.txt", "a/d.txt", "e.txt"} {
		if err := d.Put(ctx, name, strings.NewReader(name)); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := d.List(ctx, ""); err != nil || !slices.Equal(got, []string{"a/b/c.txt", "a/d.txt", "e.txt"}) {
		t.Errorf("List(\"\") = %v, %v", got, err)
	}
	if got, err := d.List(ctx, "a/b"); err != nil || !slices.Equal(got, []string{"a/b/c.txt"}) {
		t.Errorf("List(a/b) = %v, %v", got, err)
	}
	if got, err := d.List(ctx, "missing"); err != nil || len(got) != 0 {
		t.Errorf("List(missing) = %v, %v", got, err)
	}
	st, err := os.Stat(filepath.Join(root, "a/b/c.txt"))
	if err != nil || st.Mode().Perm() != 0o644 {
		t.Errorf("Put wrote mode %v, %v; want 0644", st.Mode(), err)
	}
	if err := d.Rename(ctx, "a/b/c.txt", "x/y.txt"); err != nil {
		t.Fatal(err)
	}
	r, err := d.Open(ctx, "x/y.txt")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(r)
	r.Close()
	if string(b) != "a/b/c.txt" {
		t.Errorf("renamed file holds %q", b)
	}
	if _, err := d.Open(ctx, "a/b/c.txt"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Open of a renamed file = %v, want fs.ErrNotExist", err)
	}
	// Removing the last file of a directory removes the directory.
	if err := d.Remove(ctx, "x/y.txt"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "x")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("empty directory x is left: %v", err)
	}
	if err := d.Remove(ctx, "x/y.txt"); err != nil {
		t.Errorf("removing a missing file = %v, want nil", err)
	}
	for _, bad := range []string{"../escape", "/abs", "a/../../b", "a//b", ""} {
		if err := d.Put(ctx, bad, strings.NewReader("x")); err == nil || !strings.Contains(err.Error(), "not a clean relative path") {
			t.Errorf("Put(%q) = %v, want a path error", bad, err)
		}
	}
}

func TestDirLockWaits(t *testing.T) {
	d := Dir{Root: t.TempDir()}
	unlock, err := d.Lock(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := d.Lock(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Lock while another holder has it, with a cancelled context = %v, want context.Canceled", err)
	}
	if err := unlock(); err != nil {
		t.Fatal(err)
	}
	unlock, err = d.Lock(context.Background())
	if err != nil {
		t.Fatalf("Lock after unlock: %v", err)
	}
	if err := unlock(); err != nil {
		t.Fatal(err)
	}
}
