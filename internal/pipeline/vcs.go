package pipeline

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/venvpkg/venvpkg/internal/index"
	"github.com/venvpkg/venvpkg/internal/lock"
	"github.com/venvpkg/venvpkg/internal/pep440"
	"github.com/venvpkg/venvpkg/internal/pybuild"
)

// wheelFromGit builds a requirement locked from a git commit (uv.lock, poetry.lock) into a wheel: the repository
// is cloned into the build directory, the locked commit checked out (and checked: the commit is the pin), and
// the project in it built with its PEP 517 backend like an sdist, its build requirements from the build's sources.
// The wheel is cached by repository, commit, subdirectory and interpreter, and checked to be the locked project
// and version.
func (b *builder) wheelFromGit(ctx context.Context, r lock.Requirement) (string, error) {
	v := r.VCS
	what := fmt.Sprintf("%s from git %s", r.Display, v)
	var want *pep440.Version
	if r.Version != "" {
		pv, err := pep440.Parse(r.Version)
		if err != nil {
			return "", fmt.Errorf("%s: %w", what, err)
		}
		want = &pv
	}
	check := func(whl string) error { return b.checkWheelFrom(what, whl, r.Name, want) }
	sum := sha256.Sum256([]byte("git\x00" + v.URL + "\x00" + v.Commit + "\x00" + v.Subdirectory))
	key := hex.EncodeToString(sum[:])
	cache := index.NewCache(b.cacheDir)
	if whl, ok := cache.BuiltWheel(key, interpreterKey(b.py)); ok && check(whl) == nil {
		b.log.Debugf("%s: using the wheel built earlier, %s", what, filepath.Base(whl))
		return whl, nil
	}
	b.log.Infof("building %s", what)
	b.sdistBuilds++
	dir := filepath.Join(b.tmp, "git", fmt.Sprintf("%d-%s", b.sdistBuilds, r.Name))
	repo := filepath.Join(dir, "repo")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	git := func(args ...string) (string, error) {
		cmd := exec.CommandContext(ctx, "git", args...)
		// No prompt for credentials and no system or user hooks: a build is not interactive.
		cmd.Env = append(os.Environ(), "GIT_TERMINAL_PROMPT=0", "GIT_CONFIG_NOSYSTEM=1", "GIT_ASKPASS=true")
		out, err := cmd.CombinedOutput()
		if err != nil {
			return "", fmt.Errorf("git %s: %w: %s", args[0], err, index.Redact(strings.TrimSpace(string(out))))
		}
		return strings.TrimSpace(string(out)), nil
	}
	if _, err := exec.LookPath("git"); err != nil {
		return "", fmt.Errorf("%s: git is needed to build it: install git (apt-get install git)", what)
	}
	if _, err := git("clone", "--quiet", "--no-checkout", v.URL, repo); err != nil {
		return "", fmt.Errorf("cloning %s: %w", what, err)
	}
	if _, err := git("-C", repo, "-c", "advice.detachedHead=false", "checkout", "--quiet", v.Commit); err != nil {
		return "", fmt.Errorf("%s: the locked commit is not in the repository (force-pushed away?): %w", what, err)
	}
	head, err := git("-C", repo, "rev-parse", "HEAD")
	if err != nil {
		return "", fmt.Errorf("%s: %w", what, err)
	}
	if head != v.Commit {
		return "", fmt.Errorf("%s: checked out %s, not the locked commit", what, head)
	}
	src := repo
	if v.Subdirectory != "" {
		src = filepath.Join(repo, filepath.FromSlash(v.Subdirectory))
		if st, err := os.Stat(src); err != nil || !st.IsDir() {
			return "", fmt.Errorf("%s: the commit has no directory %s", what, v.Subdirectory)
		}
	}
	fe := &pybuild.Frontend{Python: b.runner(), TempDir: b.tmp, Find: b.findBuildRequirement}
	if w := b.log.Verbose(); w != nil {
		fe.Stdout, fe.Stderr = w, w
	}
	built, err := fe.BuildWheel(ctx, src, filepath.Join(dir, "wheel"))
	if err != nil {
		return "", fmt.Errorf("building %s: %w", what, err)
	}
	if err := check(built); err != nil {
		return "", err
	}
	return cache.StoreBuiltWheel(key, interpreterKey(b.py), built)
}
