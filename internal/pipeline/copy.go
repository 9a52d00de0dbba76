package pipeline

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// copyProject copies the project at src into a scratch directory under dst
// and returns the directory to build in. Backends build in place, so the
// copy keeps the user's tree untouched; what it holds is decided the way
// trusted frontends decide, never by a directory's name:
//
//   - In a git work tree, the files git lists (tracked, and untracked ones
//     its ignore rules do not exclude) of the whole work tree, and the
//     repository itself as .git, so that setuptools-scm, hatch-vcs and
//     other VCS-aware backends see what `pip wheel .` shows them. Object
//     files are hard-linked where possible, so this costs little even for
//     long histories. A project in a subdirectory is built at the same
//     place in the copy.
//   - Anywhere else, everything, as pip, which builds in the tree, sees it.
//
// Either way the output directory is left out when it lies in the tree.
func copyProject(ctx context.Context, src, dst, outDir string) (string, error) {
	src, err := filepath.EvalSymlinks(src)
	if err != nil {
		return "", err
	}
	if outDir != "" {
		if o, err := filepath.EvalSymlinks(outDir); err == nil {
			outDir = o
		}
	}
	w, err := gitWorkTree(ctx, src)
	if err != nil {
		return "", err
	}
	if w == nil {
		target := filepath.Join(dst, filepath.Base(src))
		return target, copyAll(src, target, outDir)
	}
	rel, err := filepath.Rel(w.top, src)
	if err != nil {
		return "", err
	}
	top := filepath.Join(dst, filepath.Base(w.top))
	if err := os.MkdirAll(top, 0o755); err != nil {
		return "", err
	}
	for _, f := range w.files {
		from := filepath.Join(w.top, f)
		if within(from, outDir) {
			continue
		}
		to := filepath.Join(top, f)
		if info, err := os.Lstat(from); err == nil && info.IsDir() {
			// A submodule or a nested repository: git lists it whole.
			err = copyAll(from, to, outDir)
			if err != nil {
				return "", err
			}
			continue
		}
		if err := copyEntry(from, to); err != nil {
			return "", err
		}
	}
	if err := w.copyGitDir(ctx, filepath.Join(top, ".git")); err != nil {
		return "", fmt.Errorf("copying the git repository %s: %w", w.top, err)
	}
	target := filepath.Join(top, rel)
	return target, os.MkdirAll(target, 0o755)
}

// gitTree is a git work tree holding the project.
type gitTree struct {
	top       string   // the work tree's top directory
	gitDir    string   // its git directory (.git, or .git/worktrees/<name>)
	commonDir string   // the repository's shared git directory
	files     []string // what git lists, relative to top
}

// gitWorkTree returns the git work tree src belongs to, or nil when src is
// in none, git is not installed, or git ignores the project itself (a
// project inside an ignored directory of an enclosing repository).
func gitWorkTree(ctx context.Context, src string) (*gitTree, error) {
	if _, err := exec.LookPath("git"); err != nil {
		return nil, nil
	}
	out, err := gitOutput(ctx, src, "rev-parse", "--show-toplevel", "--absolute-git-dir", "--git-common-dir")
	if err != nil {
		return nil, nil // not a work tree (or a bare or unsafe repository)
	}
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	if len(lines) != 3 {
		return nil, nil
	}
	w := &gitTree{top: lines[0], gitDir: lines[1], commonDir: lines[2]}
	if !filepath.IsAbs(w.commonDir) {
		w.commonDir = filepath.Join(src, w.commonDir)
	}
	if w.top, err = filepath.EvalSymlinks(w.top); err != nil {
		return nil, err
	}
	list, err := gitOutput(ctx, w.top, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
	if err != nil {
		return nil, fmt.Errorf("listing the files of the git work tree %s: %w", w.top, err)
	}
	rel, err := filepath.Rel(w.top, src)
	if err != nil {
		return nil, err
	}
	own := false
	for _, f := range strings.Split(string(list), "\x00") {
		if f == "" {
			continue
		}
		w.files = append(w.files, f)
		for _, marker := range []string{"pyproject.toml", "setup.py", "setup.cfg"} {
			own = own || filepath.Join(rel, marker) == filepath.Clean(f)
		}
	}
	if !own {
		return nil, nil
	}
	return w, nil
}

func gitOutput(ctx context.Context, dir string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, "git", append([]string{"-C", dir}, args...)...)
	cmd.Env = append(os.Environ(), "GIT_OPTIONAL_LOCKS=0")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("git %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}

// copyGitDir copies the repository to dst as a plain .git directory: the
// shared git directory with its objects hard-linked, then, for a linked
// work tree, that tree's own HEAD and index over it. core.worktree is
// removed, so git in the copy works on the copy.
func (w *gitTree) copyGitDir(ctx context.Context, dst string) error {
	err := filepath.WalkDir(w.commonDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(w.commonDir, path)
		if err != nil {
			return err
		}
		if d.IsDir() && rel == "worktrees" {
			return filepath.SkipDir
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() || d.Type()&fs.ModeSymlink != 0 {
			return copyEntry(path, target)
		}
		if strings.HasPrefix(rel, "objects"+string(filepath.Separator)) && os.Link(path, target) == nil {
			return nil // objects are never changed in place
		}
		return copyEntry(path, target)
	})
	if err != nil {
		return err
	}
	if w.gitDir != w.commonDir {
		entries, err := os.ReadDir(w.gitDir)
		if err != nil {
			return err
		}
		for _, e := range entries {
			if n := e.Name(); !e.Type().IsRegular() || n == "commondir" || n == "gitdir" {
				continue
			}
			target := filepath.Join(dst, e.Name())
			if err := os.Remove(target); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
			if err := copyEntry(filepath.Join(w.gitDir, e.Name()), target); err != nil {
				return err
			}
		}
	}
	cmd := exec.CommandContext(ctx, "git", "config", "--file", filepath.Join(dst, "config"), "--unset-all", "core.worktree")
	if out, err := cmd.CombinedOutput(); err != nil {
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 5 { // 5: the key is not set
			return fmt.Errorf("git config --unset-all core.worktree: %w: %s", err, out)
		}
	}
	return nil
}

// copyAll copies the tree at src to dst, leaving out skip and what is
// below it.
func copyAll(src, dst, skip string) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if path != src && within(path, skip) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		return copyEntry(path, filepath.Join(dst, rel))
	})
}

// copyEntry copies one directory entry (a directory without its content),
// making the directories above it. A missing entry is left out (a tracked
// file deleted from the work tree), as are sockets, fifos and devices.
func copyEntry(from, to string) error {
	info, err := os.Lstat(from)
	if errors.Is(err, fs.ErrNotExist) {
		return nil // a tracked file deleted from the work tree
	}
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		return err
	}
	switch {
	case info.IsDir():
		return os.MkdirAll(to, 0o755)
	case info.Mode()&fs.ModeSymlink != 0:
		link, err := os.Readlink(from)
		if err != nil {
			return err
		}
		return os.Symlink(link, to)
	case info.Mode().IsRegular():
		return copyFile(from, to, info.Mode().Perm())
	}
	return nil
}

// within reports whether path is dir or below it.
func within(path, dir string) bool {
	if dir == "" {
		return false
	}
	rel, err := filepath.Rel(dir, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

func copyFile(src, dst string, mode fs.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode|0o200)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("copying %s: %w", src, err)
	}
	return out.Close()
}
