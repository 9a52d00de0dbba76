package repo

import (
	"bytes"
	"context"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/venvpkg/venvpkg/internal/testutil"
)

// TestPackagesMatchesDpkgScanpackages compares the Packages index publish
// writes with dpkg-scanpackages' for the same pool, field by field (less
// the MD5sum and SHA1 publish leaves out and the SHA512 dpkg-scanpackages
// does).
func TestPackagesMatchesDpkgScanpackages(t *testing.T) {
	testutil.NeedTool(t, "dpkg-scanpackages", "dpkg-dev")
	s, _ := testSigner(t)
	pkgs := t.TempDir()
	files := []string{
		testDeb(t, pkgs, "hello", "1.0.0-1", "all", "v1"),
		testDeb(t, pkgs, "hello", "1:1.1.0~rc1-1", "all", "v2"),
		testDeb(t, pkgs, "libfoo", "0.5-2", "amd64", "foo"),
	}
	root := t.TempDir()
	if _, err := Publish(context.Background(), Dir{Root: root}, files, Options{Signer: s}); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("dpkg-scanpackages", "--multiversion", "pool")
	cmd.Dir = filepath.Join(root, "apt")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("dpkg-scanpackages: %v", err)
	}
	index := func(data []byte) map[string]map[string]string {
		ps, err := parseDeb822(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]map[string]string{}
		for _, p := range ps {
			fields := map[string]string{}
			for _, f := range p.without("MD5sum", "SHA1", "SHA512") {
				fields[f.Name] = f.Value
			}
			m[p.Get("Filename")] = fields
		}
		return m
	}
	theirs := index(out)
	ours, err := os.ReadFile(filepath.Join(root, "apt/dists/stable/main/binary-amd64/Packages"))
	if err != nil {
		t.Fatal(err)
	}
	mine := index(ours)
	if len(mine) != len(files) || len(theirs) != len(files) {
		t.Fatalf("publish lists %d packages, dpkg-scanpackages %d, want %d", len(mine), len(theirs), len(files))
	}
	for name, fields := range mine {
		if !maps.Equal(fields, theirs[name]) {
			t.Errorf("%s differs from dpkg-scanpackages:\n ours:   %v\n theirs: %v", name, fields, theirs[name])
		}
	}
}
