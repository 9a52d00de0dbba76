package audit

import (
	"context"
	"path/filepath"
	"testing"
)

// TestSharedLibrariesWithoutVersionNeeds: an object that imports no
// versioned symbol has no SHT_GNU_verneed section; it is read, not refused.
func TestSharedLibrariesWithoutVersionNeeds(t *testing.T) {
	root := t.TempDir()
	obj := filepath.Join(root, "opt/app/plain.so")
	cc(t, obj, "int plain(void) { return 1; }\n", "-nostdlib")
	rep, err := SharedLibraries(context.Background(), root, ShlibOptions{})
	if err != nil {
		t.Fatalf("SharedLibraries: %v", err)
	}
	if !rep.HasELF {
		t.Error("the object was not seen as ELF")
	}
}
