package pipeline

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/venvpkg/venvpkg/internal/testutil"
)

// listTree lists the files and symlinks below dir, relative, sorted,
// leaving out .git.
func listTree(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if info.IsDir() {
			if rel == ".git" {
				return filepath.SkipDir
			}
			return nil
		}
		out = append(out, rel)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

func gitIn(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-C", dir}, args...)...)
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_DATE=2024-01-02T03:04:05Z", "GIT_COMMITTER_DATE=2024-01-02T03:04:05Z",
		"GIT_AUTHOR_NAME=T", "GIT_AUTHOR_EMAIL=t@example.org", "GIT_COMMITTER_NAME=T", "GIT_COMMITTER_EMAIL=t@example.org")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// sourceFiles is a project whose packages are named like the directories
// build tools leave behind, deep in the tree and at its top.
var sourceFiles = map[string]string{
	"pyproject.toml":                "[project]\nname = \"app\"\nversion = \"1\"\n",
	"src/app/__init__.py":           "",
	"src/app/build/__init__.py":     "BUILD = 1\n",
	"src/app/dist/__init__.py":      "DIST = 1\n",
	"src/app/venv/__init__.py":      "VENV = 1\n",
	"src/app/node_modules/data.txt": "data\n",
	"src/app/.venv/marker":          "kept\n",
	"build/__init__.py":             "TOP = 1\n",
}

// TestCopyProjectKeepsEverySourceFile: outside version control the copy
// holds everything pip would see building in the tree (the former
// name-based skip list dropped pip's own _internal/operations/build), but
// never the output directory.
func TestCopyProjectKeepsEverySourceFile(t *testing.T) {
	src := filepath.Join(t.TempDir(), "app")
	testutil.WriteTree(t, src, sourceFiles)
	testutil.WriteTree(t, src, map[string]string{"out/app_1-1_all.deb": "old package\n"})
	dir, err := copyProject(context.Background(), src, t.TempDir(), filepath.Join(src, "out"))
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for p := range sourceFiles {
		want = append(want, p)
	}
	sort.Strings(want)
	if got := listTree(t, dir); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("copied %q\nwant %q", got, want)
	}
}

// TestCopyProjectGit: in a git work tree the copy holds what git lists —
// tracked files and untracked ones that are not ignored — whatever their
// directories are called, leaves out what .gitignore names (a stale build/
// of setuptools), and carries the repository, so git describes the copy
// exactly as the original.
func TestCopyProjectGit(t *testing.T) {
	testutil.NeedTool(t, "git", "git")
	src := filepath.Join(t.TempDir(), "app")
	testutil.WriteTree(t, src, sourceFiles)
	testutil.WriteTree(t, src, map[string]string{".gitignore": "/build/\n*.egg-info/\n__pycache__/\n"})
	gitIn(t, src, "init", "-q", "-b", "main")
	gitIn(t, src, "add", "-A")
	gitIn(t, src, "add", "-f", "build/__init__.py") // tracked although ignored: git lists it
	gitIn(t, src, "commit", "-q", "-m", "first")
	gitIn(t, src, "tag", "v1.2.3")
	testutil.WriteTree(t, src, map[string]string{
		"src/app/new.py":                              "NEW = 1\n", // untracked, not ignored
		"build/lib/app/stale.py":                      "STALE = 1\n",
		"src/app.egg-info/PKG-INFO":                   "stale\n",
		"src/app/build/__pycache__/x.cpython-311.pyc": "stale\n",
	})
	if err := os.Remove(filepath.Join(src, "src/app/.venv/marker")); err != nil { // tracked, deleted
		t.Fatal(err)
	}
	dir, err := copyProject(context.Background(), src, t.TempDir(), filepath.Join(t.TempDir(), "out"))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{".gitignore", "build/__init__.py", "pyproject.toml", "src/app/__init__.py", "src/app/build/__init__.py",
		"src/app/dist/__init__.py", "src/app/new.py", "src/app/node_modules/data.txt", "src/app/venv/__init__.py"}
	if got := listTree(t, dir); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("copied %q\nwant %q", got, want)
	}
	for _, args := range [][]string{{"describe", "--tags", "--long", "--dirty"}, {"status", "--porcelain"}, {"rev-parse", "--show-toplevel"}} {
		orig, cp := gitIn(t, src, args...), gitIn(t, dir, args...)
		if args[0] == "rev-parse" {
			orig, cp = filepath.Base(orig), filepath.Base(cp)
		}
		if orig != cp {
			t.Errorf("git %s: original %q, copy %q", strings.Join(args, " "), orig, cp)
		}
	}
	// The copy's repository is its own: committing there leaves the
	// original alone.
	gitIn(t, dir, "commit", "-q", "--allow-empty", "-m", "in the copy")
	if n := gitIn(t, src, "rev-list", "--count", "HEAD"); n != "1" {
		t.Errorf("the original has %s commits after a commit in the copy, want 1", n)
	}
}

// TestCopyProjectGitSubdirectory: a project in a subdirectory of a
// repository is built at the same place in a copy of the whole work tree,
// which git sees as clean; a project the enclosing repository ignores is
// copied whole.
func TestCopyProjectGitSubdirectory(t *testing.T) {
	testutil.NeedTool(t, "git", "git")
	repo := filepath.Join(t.TempDir(), "mono")
	testutil.WriteTree(t, repo, map[string]string{
		"README":                   "top\n",
		".gitignore":               "/ignored/\n",
		"libs/app/pyproject.toml":  "[project]\nname = \"app\"\nversion = \"1\"\n",
		"libs/app/app/__init__.py": "",
		"ignored/other/setup.py":   "from setuptools import setup\nsetup()\n",
		"ignored/other/venv/x.py":  "",
	})
	gitIn(t, repo, "init", "-q", "-b", "main")
	gitIn(t, repo, "add", "-A")
	gitIn(t, repo, "commit", "-q", "-m", "first")

	dir, err := copyProject(context.Background(), filepath.Join(repo, "libs/app"), t.TempDir(), "")
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(dir) != "app" || filepath.Base(filepath.Dir(filepath.Dir(dir))) != "mono" {
		t.Errorf("build directory %s, want <copy>/mono/libs/app", dir)
	}
	if st := gitIn(t, dir, "status", "--porcelain"); st != "" {
		t.Errorf("git status in the copy = %q, want clean", st)
	}
	if got := listTree(t, filepath.Dir(filepath.Dir(dir))); strings.Join(got, " ") != ".gitignore README libs/app/app/__init__.py libs/app/pyproject.toml" {
		t.Errorf("copied %q", got)
	}

	dir, err = copyProject(context.Background(), filepath.Join(repo, "ignored/other"), t.TempDir(), "")
	if err != nil {
		t.Fatal(err)
	}
	if got := listTree(t, dir); strings.Join(got, " ") != "setup.py venv/x.py" {
		t.Errorf("copied %q from a project the enclosing repository ignores, want all of it", got)
	}
}

// TestCopyProjectLinkedWorktree: from a linked work tree (git worktree
// add), the copy's repository is a plain one at that tree's HEAD.
func TestCopyProjectLinkedWorktree(t *testing.T) {
	testutil.NeedTool(t, "git", "git")
	repo := filepath.Join(t.TempDir(), "main")
	testutil.WriteTree(t, repo, map[string]string{"setup.py": "from setuptools import setup\nsetup()\n"})
	gitIn(t, repo, "init", "-q", "-b", "main")
	gitIn(t, repo, "add", "-A")
	gitIn(t, repo, "commit", "-q", "-m", "first")
	wt := filepath.Join(t.TempDir(), "feature")
	gitIn(t, repo, "worktree", "add", "-q", "-b", "feature", wt)
	testutil.WriteTree(t, wt, map[string]string{"feature.py": ""})
	gitIn(t, wt, "add", "feature.py")
	gitIn(t, wt, "commit", "-q", "-m", "feature")
	gitIn(t, wt, "tag", "v2.0")

	dir, err := copyProject(context.Background(), wt, t.TempDir(), "")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := gitIn(t, dir, "describe", "--tags", "--dirty"), "v2.0"; got != want {
		t.Errorf("git describe in the copy = %q, want %q", got, want)
	}
	if got := gitIn(t, dir, "rev-parse", "--abbrev-ref", "HEAD"); got != "feature" {
		t.Errorf("the copy's HEAD is %q, want feature", got)
	}
}
