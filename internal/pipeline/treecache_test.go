package pipeline_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/venvpkg/venvpkg/internal/pipeline"
)

// TestTreeCacheByteIdentical builds the web app with the tree cache cold,
// warm, and warm again after a one-line change of the app, and each time
// compares the package with the reference path (Options.NoTreeCache, every
// wheel installed and compiled afresh): the bytes must be the same.
func TestTreeCacheByteIdentical(t *testing.T) {
	needTools(t)
	t.Setenv("SOURCE_DATE_EPOCH", "1700000000")
	wheels := webappWheels(t)
	project := filepath.Join(t.TempDir(), "webapp")
	copyTree(t, repoPath(t, "testdata/webapp"), project)
	cache := t.TempDir()
	build1 := func(noCache bool) string {
		t.Helper()
		out := t.TempDir()
		res := runBuild(t, pipeline.Options{
			ProjectDir: project, FindLinks: []string{wheels, pythonWheels}, NoIndex: true, OutDir: out,
			CacheDir: cache, NoTreeCache: noCache,
		})
		if len(res.Packages) != 1 {
			t.Fatalf("packages = %v, want one", res.Packages)
		}
		return sha256File(t, res.Packages[0])
	}
	entries := func() int {
		des, _ := os.ReadDir(filepath.Join(cache, "trees"))
		n := 0
		for _, de := range des {
			if !strings.HasPrefix(de.Name(), ".") {
				n++
			}
		}
		return n
	}

	ref := build1(true)
	if n := entries(); n != 0 {
		t.Fatalf("the reference build made %d tree cache entries, want none", n)
	}
	if cold := build1(false); cold != ref {
		t.Errorf("cold tree cache: sha256 %s, reference %s", cold, ref)
	}
	if n := entries(); n != 6 {
		t.Errorf("%d tree cache entries after the cold build, want one per dependency wheel (6)", n)
	}
	if warm := build1(false); warm != ref {
		t.Errorf("warm tree cache: sha256 %s, reference %s", warm, ref)
	}
	// Each tree keeps its md5sums for the package writer and its audit
	// results (build paths, ELF objects).
	if sums, _ := filepath.Glob(filepath.Join(cache, "trees", "*", "aux", "deb", "*.json")); len(sums) != 6 {
		t.Errorf("the tree cache keeps md5sums %v, want one per dependency tree (6)", sums)
	}
	if kept, _ := filepath.Glob(filepath.Join(cache, "trees", "*", "aux", "audit", "*.json")); len(kept) != 12 {
		t.Errorf("the tree cache keeps audit results %v, want two per dependency tree (12)", kept)
	}

	cli := filepath.Join(project, "src", "webapp", "cli.py")
	data, err := os.ReadFile(cli)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cli, append(data, []byte("\n# a one-line change\n")...), 0o644); err != nil {
		t.Fatal(err)
	}
	changedRef := build1(true)
	if changedRef == ref {
		t.Fatal("changing the app's source did not change the package")
	}
	if warm := build1(false); warm != changedRef {
		t.Errorf("warm tree cache after a change: sha256 %s, reference %s", warm, changedRef)
	}

	// Warm builds stage into a root kept between builds: a module the
	// project no longer has must not survive there.
	if roots, _ := filepath.Glob(filepath.Join(cache, "stage", "*", "root")); len(roots) != 1 {
		t.Fatalf("kept staging roots %v, want one", roots)
	}
	extra := filepath.Join(project, "src", "webapp", "extra.py")
	if err := os.WriteFile(extra, []byte("EXTRA = 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if withExtra := build1(false); withExtra == changedRef {
		t.Fatal("adding a module did not change the package")
	}
	if err := os.Remove(extra); err != nil {
		t.Fatal(err)
	}
	if warm := build1(false); warm != changedRef {
		t.Errorf("warm build after a module was added and removed again: sha256 %s, reference %s", warm, changedRef)
	}
}
