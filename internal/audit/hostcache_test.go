package audit

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestHostCacheKeepsOwners: with HostCacheDir, the package owning a
// needed library is looked up once; later checks take it from the kept
// file (edited here to prove it is read) until the host state changes.
func TestHostCacheKeepsOwners(t *testing.T) {
	root := t.TempDir()
	cc(t, filepath.Join(root, "opt/app/_z.so"), "#include <zlib.h>\nconst char *v(void) { return zlibVersion(); }\n", "-lz")
	dir := t.TempDir()
	opts := ShlibOptions{HostCacheDir: dir}
	first, err := SharedLibraries(context.Background(), root, opts)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(first.Depends, "zlib1g") {
		t.Fatalf("Depends = %v, want zlib1g", first.Depends)
	}
	kept, _ := filepath.Glob(filepath.Join(dir, "host-*.json"))
	if len(kept) != 1 {
		t.Fatalf("kept host files: %v, want one", kept)
	}
	data, err := os.ReadFile(kept[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(kept[0], bytes.ReplaceAll(data, []byte(`"zlib1g"`), []byte(`"zlib-kept"`)), 0o644); err != nil {
		t.Fatal(err)
	}
	second, err := SharedLibraries(context.Background(), root, opts)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(second.Depends, "zlib-kept") {
		t.Errorf("second check: Depends = %v, want the kept owner zlib-kept", second.Depends)
	}
	if third, err := SharedLibraries(context.Background(), root, ShlibOptions{}); err != nil || !slices.Contains(third.Depends, "zlib1g") {
		t.Errorf("without HostCacheDir: Depends = %v (%v), want zlib1g from dpkg", third.Depends, err)
	}
}
